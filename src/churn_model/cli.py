"""The command-line interface: one sub-command per stage of the ML path.

The justfile calls these commands; each one is a thin shell over a plain function in its own module,
so the same logic is reachable from tests and notebooks without going through the CLI.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from churn_model import __version__
from churn_model.data import DVC_FILE, load_dataset, read_table
from churn_model.errors import UserError
from churn_model.validation import validate

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


# ---------------------------------------------------------------- user errors
@contextmanager
def reporting_user_errors() -> Iterator[None]:
    """Turn a :class:`UserError` into ``error: <message>`` on stderr and exit status 1.

    A user error is something the user can fix, so it gets a message, not a traceback; any other
    exception is a bug and keeps its traceback.
    """
    try:
        yield
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


# ---------------------------------------------------------------- data: materialise and validate
@app.command()
def data() -> None:
    """Materialise the DVC-pinned sample, verify it against data.dvc, and validate it."""
    with reporting_user_errors():
        frame, info = load_dataset()
    typer.echo(
        f"{info.source}: {info.rows} rows, {len(frame.columns)} columns, valid; "
        f"version {info.version} (verified against {DVC_FILE})"
    )


@app.command("validate")
def validate_file(
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file to check.")],
    scoring: Annotated[
        bool,
        typer.Option(
            "--scoring",
            help="Check batch-scoring input: the label is optional; row count and class balance "
            "are not checked.",
        ),
    ] = False,
) -> None:
    """Validate any CSV or Parquet file against the schema, reporting every problem at once."""
    with reporting_user_errors():
        frame = validate(read_table(path), str(path), require_label=not scoring)
    typer.echo(f"{path}: valid, {len(frame)} rows, {len(frame.columns)} columns")
