"""The command-line interface: one sub-command per stage of the ML path.

The justfile calls these commands; each one is a thin shell over a plain function in its own module,
so the same logic is reachable from tests and notebooks without going through the CLI. Each command
imports its module when it runs: `--help` stays instant, and a command that scores loads only what
scoring needs, not the training, validation and reporting stack.
"""

import importlib
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
    help="Train, gate, promote and serve the model the domain's schema describes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    """Print the package version and stop, for ``--version``."""
    if value:
        typer.echo(f"churn-model {__version__}")
        raise typer.Exit


# ---------------------------------------------------------------- user errors
@contextmanager
def reporting_user_errors() -> Iterator[None]:
    """Turn a :class:`UserError` into ``error: <message>`` on stderr and exit status 1.

    A user error is something the user can fix, so it gets a message, not a traceback; any other
    exception is a bug and keeps its traceback. A full disk is the user's to fix too, wherever the
    write happened (the writers that know the file name it; this is the net under them).
    """
    from churn_model.files import disk_full, is_disk_full

    try:
        yield
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        if not is_disk_full(error):
            raise
        typer.echo(f"error: {disk_full(error.filename)}", err=True)
        raise typer.Exit(1) from None


@app.callback()
def main(
    context: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Train, gate, promote and serve the model the domain's schema describes."""
    # The domain's schema checks itself on import (a slice naming an unknown column, ...): load it
    # here, so every command reports such a mistake as one sentence. Drafting a new schema does
    # not need the current one, which may be the broken one.
    if context.invoked_subcommand != "infer-schema":
        with reporting_user_errors():
            schema = importlib.import_module("churn_model.domain.schema").SCHEMA
            # The answer's names come from the label: a column that would clash with them is
            # refused here too, before training a model that could never be scored.
            from churn_model.serving.answer_names import check_added_columns

            check_added_columns(schema)
            # >>> serving
            importlib.import_module("churn_model.serving.contract")  # and the answer's
            # <<< serving


# ---------------------------------------------------------------- data: materialise and validate
@app.command()
def data() -> None:
    """Materialise the DVC-pinned sample, verify it against data.dvc, and validate it."""
    from churn_model.data.pinning import DVC_FILE, load_dataset

    with reporting_user_errors():
        frame, info = load_dataset()
    typer.echo(
        f"{info.source}: {info.rows} rows, {len(frame.columns)} columns, valid; "
        f"version {info.version} (verified against {DVC_FILE})"
    )


@app.command("refresh-data")
def refresh_data() -> None:
    """Update data.dvc from the team's source (`dvc update` of a DVC import); say if it changed.

    In GitHub Actions it also writes ``changed=true`` or ``changed=false`` to the step's outputs:
    Retrain trains and opens a pull request only when the data changed.
    """
    from churn_model.data.pinning import refresh_pin
    from churn_model.files import append_text

    with reporting_user_errors():
        refresh = refresh_pin()
    typer.echo(refresh.message)
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with reporting_user_errors():
            append_text(Path(outputs), f"changed={str(refresh.changed).lower()}\n")


@app.command("validate")
def validate_file(
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file to check.")],
    scoring: Annotated[
        bool,
        typer.Option(
            "--scoring",
            help="Check batch-scoring input: the label is optional and may be blank in any row "
            "(a value present is one of its two); row count and class balance are not checked.",
        ),
    ] = False,
) -> None:
    """Validate any CSV or Parquet file against the schema, reporting every problem at once."""
    from churn_model.data.tables import require_arrow

    with reporting_user_errors():
        require_arrow()
        from churn_model.data.problems import names_text
        from churn_model.data.validation import validate_file  # reads through pyarrow

        valid = validate_file(path, require_label=not scoring)
    rows, columns = len(valid.frame), len(valid.frame.columns)
    # What the schema left out is named: a column dropped on purpose, or by a misspelling.
    if valid.ignored:  # "13 of 15 columns": the schema's, of the file's
        read = f"{columns} of {columns + len(valid.ignored)} columns"
        read += f" (not in the schema, ignored: {names_text(valid.ignored)})"
    else:
        read = f"{columns} columns"
    typer.echo(f"{path}: valid, {rows} rows, {read}")


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
    from churn_model.model.artifact import CARD_FILE
    from churn_model.model.candidate import create_candidate
    from churn_model.model.card import read_card

    with reporting_user_errors():
        # >>> tracking
        from churn_model.release import tracking

        tracker = tracking.connect()  # before any work: a bad server is reported at once
        # <<< tracking
        folder = create_candidate(
            data,
            # >>> tracking
            log_staged=None if tracker is None else tracking.staged_log(tracker),
            # <<< tracking
        )
        metrics = read_card(folder / CARD_FILE).metrics
        typer.echo(f"candidate {folder.name} written to {folder}")
        for name in ("roc_auc", "recall", "f1", "accuracy"):
            value = getattr(metrics.overall, name)
            typer.echo(f"  {name:<9} {'n/a' if value is None else f'{value:.4f}'}")
        # >>> tracking
        if tracker is not None:
            typer.echo(f"MLflow: run {folder.name} logged to {tracking.describe(tracker)}")
        # <<< tracking


@app.command()
def gate(candidate: CandidateOption = None) -> None:
    """Check a candidate against ci/gates.toml and ci/baseline.json; exit 1 on any failure."""
    from churn_model.config import load_gate_config
    from churn_model.files import append_text
    from churn_model.model.candidate import find_candidate
    from churn_model.release import registry
    from churn_model.release.gate import run_gate
    from churn_model.release.gate_report import render_markdown, render_table
    from churn_model.release.gate_rows import read_baseline
    from churn_model.release.verdict import VERDICT_FILE

    with reporting_user_errors():
        # >>> tracking
        from churn_model.release import tracking

        tracker = tracking.connect()
        # <<< tracking
        folder = find_candidate(candidate)
        registry.settle()  # a promotion a crash interrupted is finished before its baseline is read
        verdict = run_gate(folder, load_gate_config(), read_baseline())
        _console.print(render_table(verdict))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            append_text(Path(summary), render_markdown(verdict) + "\n")
        typer.echo(f"verdict written to {folder / VERDICT_FILE}")
        # >>> tracking
        if tracker is not None:
            typer.echo(tracking.verdict_note(tracker, folder, verdict))
        # <<< tracking
        if not verdict.passed:
            failed = [
                f"{row.metric} ({row.note})" if row.check == "serving" else row.metric
                for row in verdict.rows
                if row.status == "fail"
            ]
            raise UserError(f"gate failed on: {', '.join(failed)}")


@app.command()
def promote(
    candidate: CandidateOption = None,
    allow_dirty: Annotated[
        bool,
        typer.Option(
            "--allow-dirty",
            help="Promote a candidate trained from a work tree with uncommitted changes (its "
            "card says dirty), which is refused otherwise.",
        ),
    ] = False,
) -> None:
    """Make a candidate that passed the gate the champion; refresh ci/baseline.json and docs."""
    from churn_model.release import registry

    with reporting_user_errors():
        # >>> tracking
        from churn_model.release import tracking

        tracker = tracking.connect()
        # <<< tracking
        pointer = registry.promote(candidate, allow_dirty=allow_dirty)
        promotions = len(pointer.history)
        typer.echo(
            f"champion: {pointer.champion} (history: {promotions} "
            f"promotion{'' if promotions == 1 else 's'})"
        )
        # >>> tracking
        if tracker is not None:
            typer.echo(tracking.baseline_note(tracker, f"promoted {pointer.champion} locally"))
        # <<< tracking


@app.command()
def rollback() -> None:
    """Restore the previous champion, its baseline and its docs report."""
    from churn_model.release import registry

    with reporting_user_errors():
        # >>> tracking
        from churn_model.release import tracking

        tracker = tracking.connect()
        # <<< tracking
        pointer = registry.rollback()
        typer.echo(f"champion: {pointer.champion} (rolled back)")
        # >>> tracking
        if tracker is not None:
            typer.echo(
                tracking.baseline_note(tracker, f"rolled back to {pointer.champion} locally")
            )
        # <<< tracking


# >>> tracking
@app.command()
def register() -> None:
    """Point MLflow's champion alias at the model ci/baseline.json names (with tracking on).

    Registers that model's version first if it has none. Idempotent: the retry after a failed
    registration, and what the Check workflow runs on main once a promotion has merged.
    """
    from churn_model.release import registry, tracking

    with reporting_user_errors():
        tracker = tracking.connect()
        registry.settle()
        if tracker is None:
            typer.echo(f"{tracking.URI_ENV} is not set: no MLflow registry to update")
            return
        typer.echo(tracking.baseline_note(tracker, "ci/baseline.json is the source of truth"))


# <<< tracking
@app.command()
def export(
    dest: Annotated[Path, typer.Argument(help="Folder to copy model.skops and card.json into.")],
) -> None:
    """Copy the champion's model and card into DEST (what `just package` gathers to score with)."""
    from churn_model.release import registry

    with reporting_user_errors():
        folder = registry.export(dest)
        typer.echo(f"exported {folder.name} to {dest}")


@app.command()
def calibrate(
    data: Annotated[
        Path | None, typer.Argument(help="A CSV or Parquet file (default: the pinned data).")
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=2, help="How many seeds to train.")] = 5,
    draft: Annotated[
        Path | None,
        typer.Option(help="Also write a gates.toml drafted from the spreads to this path."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite the --draft file if it exists.")] = False,
) -> None:
    """Train several seeds and print every metric's spread, to set ci/gates.toml above noise.

    Also proposes the decision threshold for the objective of configs/model.toml [decision],
    from each seed's held-out scores, and says whether the configured one was chosen on this data.
    """
    from churn_model.config import DEFAULT_MODEL_CONFIG
    from churn_model.files import write_atomic
    from churn_model.release.calibration import calibrate as measure

    with reporting_user_errors():
        if draft is not None and draft.exists() and not force:
            raise UserError(f"{draft}: already exists; pass --force to overwrite it")
        found = measure(data, seeds, draft)
        _console.print(found.table)
        for line in found.said:
            typer.echo(line)
        if draft is not None and found.draft is not None:
            write_atomic(draft, found.draft.encode())
            typer.echo(
                f"drafted gates written to {draft}: review it, then copy it to ci/gates.toml"
                f" (its last lines hold the threshold proposed for {DEFAULT_MODEL_CONFIG})"
            )


@app.command("infer-schema")
def infer_schema(
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet extract of your table.")],
    *,
    label: Annotated[
        str | None, typer.Option(help="The label column (default: guessed, and said so).")
    ] = None,
    positive: Annotated[
        str | None, typer.Option(help="The label's positive value (default: guessed).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="The id column (default: a unique text column).")
    ] = None,
    max_categories: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Keep a text column with up to N distinct values as a category (default: 100); "
            "one with more is left out as free text, and said.",
        ),
    ] = None,
    output: Annotated[Path, typer.Option(help="Where to write the draft.")] = Path(
        "build/schema.py"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite OUTPUT if it exists.")] = False,
) -> None:
    """Draft the domain's schema.py from a real extract, for review (never overwrites silently)."""
    from churn_model.data.infer_schema import MAX_CATEGORIES, infer, render
    from churn_model.files import write_atomic

    with reporting_user_errors():
        if output.exists() and not force:
            raise UserError(f"{output}: already exists; pass --force to overwrite it")
        inferred = infer(
            path,
            label=label,
            positive=positive,
            id_column=id_column,
            max_categories=MAX_CATEGORIES if max_categories is None else max_categories,
        )
        write_atomic(output, render(inferred, source=path.name).encode())
    for note in inferred.notes:
        typer.echo(f"note: {note}")
    typer.echo(
        f"schema drafted to {output}: review it (bounds, descriptions, slices), "
        "then move it to src/churn_model/domain/schema.py"
    )


# ---------------------------------------------------------------- scoring


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
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            min=1, help="Rows read, validated and scored at a time (memory) [default: 100000]."
        ),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(min=0, help="Threads the model scores with; 0: every core [default: 1]."),
    ] = 1,
) -> None:
    """Score a table in chunks: every input column, plus <label>_probability and <label>_predicted.

    The probability is the label's positive value's; the predicted value is one of the label's
    own values (1/0, true/false, Yes/No), as the training data spells it.
    """
    from churn_model.data.tables import require_arrow
    from churn_model.model.artifact import DEFAULT_MODEL_DIR

    with reporting_user_errors():
        require_arrow()
        # Imported once pyarrow is known to be there: batch scoring reads through it.
        from churn_model.serving.batch_scoring import CHUNK_ROWS, predict_file

        rows = predict_file(
            input_path,
            output_path,
            model_dir or DEFAULT_MODEL_DIR,
            chunk_rows=chunk_rows or CHUNK_ROWS,
            threads=threads or None,
        )
    typer.echo(f"scored {rows} rows -> {output_path}")


# >>> serving
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
    from churn_model.serving.server import run
    from churn_model.serving.settings import settings_from_env

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
    from churn_model.model.artifact import DEFAULT_MODEL_DIR
    from churn_model.serving.smoke import render, run_smoke

    with reporting_user_errors():
        checks = run_smoke(url, model_dir or DEFAULT_MODEL_DIR)
        typer.echo(render(checks))
        failed = [check.name for check in checks if not check.passed]
        if failed:
            raise UserError(f"smoke test of {url} failed: {', '.join(failed)} (see above)")
        typer.echo(f"smoke test of {url} passed")


# <<< serving
