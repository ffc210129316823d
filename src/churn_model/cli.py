"""The command-line interface: one sub-command per stage of the ML path.

The justfile calls these commands; each one is a thin shell over a plain function in its own module,
so the same logic is reachable from tests and notebooks without going through the CLI.
"""

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from churn_model import __version__
from churn_model.errors import UserError

app = typer.Typer(
    name="churn-model",
    help="Train, gate, promote and serve the customer-churn model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    """Print the package version and stop, for ``--version``."""
    if value:
        typer.echo(f"churn-model {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Train, gate, promote and serve the customer-churn model."""


# ---------------------------------------------------------------- serving (issue 4)

DEFAULT_MODEL_DIR = Path("dist/model")
"""Where `just package` gathers the champion's model and card: `serve` and `predict` read it."""


def _exit_on_user_error(error: UserError) -> NoReturn:
    """Print a user-fixable problem without a traceback and exit 1."""
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=1)


@app.command()
def predict(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV or Parquet to score.")],
    output_path: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="Where to write it (.csv or .parquet).")
    ],
    model_dir: Annotated[
        Path, typer.Option(help="Folder with model.skops and card.json.")
    ] = DEFAULT_MODEL_DIR,
) -> None:
    """Score a table: the input columns plus churn_probability and churn_label."""
    from churn_model.predict import predict_file  # noqa: PLC0415 -- keep `--help` fast

    try:
        rows = predict_file(input_path, output_path, model_dir)
    except UserError as error:
        _exit_on_user_error(error)
    typer.echo(f"scored {rows} rows -> {output_path}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env PORT).")] = None,
    model_dir: Annotated[
        Path | None, typer.Option(help="Folder with model.skops and card.json (env MODEL_DIR).")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the model over HTTP (defaults: 127.0.0.1:8000, model from dist/model)."""
    from churn_model.serve import run, settings_from_env  # noqa: PLC0415 -- keep `--help` fast

    try:
        settings = settings_from_env(host=host, port=port, model_dir=model_dir)
        run(settings, access_log=access_log)
    except UserError as error:
        _exit_on_user_error(error)
