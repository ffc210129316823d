"""The command-line interface: one sub-command per stage of the ML path.

The justfile calls these commands; each one is a thin shell over a plain function in its own module,
so the same logic is reachable from tests and notebooks without going through the CLI. Each command
imports its module when it runs: `--help` stays instant, and `serve` (the image's entry point) loads
only what serving needs, not the training, validation and reporting stack.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
    from churn_model.data import DVC_FILE, load_dataset

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
    from churn_model.data import read_table
    from churn_model.validation import validate

    with reporting_user_errors():
        frame = validate(read_table(path), str(path), require_label=not scoring)
    typer.echo(f"{path}: valid, {len(frame)} rows, {len(frame.columns)} columns")


# ---------------------------------------------------------------- the model path (train ... export)
# Logs (CI, pipes) are not terminals: give tables room there instead of rich's 80-column default.
_console = Console(highlight=False)
if not _console.is_terminal:
    _console.width = 140
CandidateOption = Annotated[
    str | None, typer.Option("--candidate", help="Candidate id (default: the newest).")
]


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Argument(help="A CSV or Parquet file (default: the pinned sample).")
    ] = None,
) -> None:
    """Validate the data, train, evaluate and write a new candidate with its card and report."""
    from churn_model.artifact import CARD_FILE
    from churn_model.candidate import create_candidate
    from churn_model.card import read_card

    with reporting_user_errors():
        folder = create_candidate(data)
        metrics = read_card(folder / CARD_FILE).metrics
        typer.echo(f"candidate {folder.name} written to {folder}")
        for name in ("roc_auc", "recall", "f1", "accuracy"):
            typer.echo(f"  {name:<9} {getattr(metrics.overall, name):.4f}")


@app.command()
def gate(candidate: CandidateOption = None) -> None:
    """Check a candidate against ci/gates.toml and ci/baseline.json; exit 1 on any failure."""
    from churn_model.candidate import find_candidate
    from churn_model.config import load_gate_config
    from churn_model.gate import (
        VERDICT_FILE,
        read_baseline,
        render_markdown,
        render_table,
        run_gate,
    )

    with reporting_user_errors():
        folder = find_candidate(candidate)
        verdict = run_gate(folder, load_gate_config(), read_baseline())
        _console.print(render_table(verdict))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(render_markdown(verdict) + "\n")
        typer.echo(f"verdict written to {folder / VERDICT_FILE}")
        if not verdict.passed:
            failed = [row.metric for row in verdict.rows if row.status == "fail"]
            raise UserError(f"gate failed on: {', '.join(failed)}")


@app.command()
def promote(candidate: CandidateOption = None) -> None:
    """Make a candidate that passed the gate the champion; refresh ci/baseline.json and docs."""
    from churn_model import registry

    with reporting_user_errors():
        pointer = registry.promote(candidate)
        typer.echo(f"champion: {pointer.champion} (history: {len(pointer.history)} promotions)")


@app.command()
def rollback() -> None:
    """Restore the previous champion, its baseline and its docs report."""
    from churn_model import registry

    with reporting_user_errors():
        pointer = registry.rollback()
        typer.echo(f"champion: {pointer.champion} (rolled back)")


@app.command()
def export(
    dest: Annotated[Path, typer.Argument(help="Folder to copy model.skops and card.json into.")],
) -> None:
    """Copy the champion's model and card into DEST (what the serving image ships)."""
    from churn_model import registry

    with reporting_user_errors():
        folder = registry.export(dest)
        typer.echo(f"exported {folder.name} to {dest}")


@app.command()
def calibrate(
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="How many seeds to train.")] = 5,
    data: Annotated[
        Path | None, typer.Argument(help="A CSV or Parquet file (default: the pinned sample).")
    ] = None,
) -> None:
    """Train several seeds and print each gated metric's spread, to set tolerances above noise."""
    from churn_model.calibrate import calibrate as run_calibration
    from churn_model.calibrate import render_table
    from churn_model.config import load_gate_config, load_model_config
    from churn_model.data import load_dataset

    with reporting_user_errors():
        config = load_model_config()
        frame, _ = load_dataset(data)
        seed_list = [config.seed + i for i in range(seeds)]
        spreads = run_calibration(frame, config, load_gate_config(), seed_list)
        _console.print(render_table(spreads, seed_list))


# ---------------------------------------------------------------- serving (issue 4)


@app.command()
def predict(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV or Parquet to score.")],
    output_path: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="Where to write it (.csv or .parquet).")
    ],
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Folder with model.skops and card.json [default: dist/model]."),
    ] = None,
) -> None:
    """Score a table: the input columns plus churn_probability and churn_label."""
    from churn_model.artifact import DEFAULT_MODEL_DIR
    from churn_model.predict import predict_file

    with reporting_user_errors():
        rows = predict_file(input_path, output_path, model_dir or DEFAULT_MODEL_DIR)
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
    from churn_model.serve import run, settings_from_env

    with reporting_user_errors():
        settings = settings_from_env(host=host, port=port, model_dir=model_dir)
        run(settings, access_log=access_log)


@app.command()
def smoke(
    url: Annotated[str, typer.Argument(help="Base URL of the running service.")],
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="The model it should serve (model.skops + card.json) [default: dist/model]."
        ),
    ] = None,
) -> None:
    """Smoke-test a running service: health, readiness, model id, a known prediction, a 4xx."""
    from churn_model.artifact import DEFAULT_MODEL_DIR
    from churn_model.smoke import render, run_smoke

    with reporting_user_errors():
        checks = run_smoke(url, model_dir or DEFAULT_MODEL_DIR)
        typer.echo(render(checks))
        failed = [check.name for check in checks if not check.passed]
        if failed:
            raise UserError(f"smoke test of {url} failed: {', '.join(failed)} (see above)")
        typer.echo(f"smoke test of {url} passed")
