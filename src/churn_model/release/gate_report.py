"""The gate's report: a verdict as a table for the terminal and as Markdown for people.

``just gate`` prints :func:`render_table`; :func:`render_markdown` is written beside the candidate
(``gate.md``), appended to the CI job summary, and published with the champion (``docs/model/``),
rendered from the verdict promotion checked.
"""

from rich.markup import escape
from rich.table import Table

from churn_model.model.artifact import MODEL_FILE
from churn_model.release.gate_rows import GateRow, skipped_slices
from churn_model.release.verdict import Verdict

SUMMARY_FILE = "gate.md"


def skipped_text(rows: list[GateRow]) -> str:
    """One sentence naming the slices the gate did not judge, or ``""`` when it judged them all."""
    names = skipped_slices(rows)
    if not names:
        return ""
    return (
        f"Not judged: the floors of {', '.join(names)}: too few held-out rows or positives "
        "for the `[slices]` minimum of the gate config (each row's note gives the counts)."
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value.is_integer() and abs(value) >= 1_000:
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.4f}"


def _cells(row: GateRow) -> list[str]:
    limit = "-" if row.limit is None else f"{row.op} {_fmt(row.limit)}"
    return [row.check, row.metric, _fmt(row.value), _fmt(row.baseline), limit, row.status.upper()]


_HEADERS = ["check", "metric", "value", "baseline", "limit", "result"]


def render_markdown(verdict: Verdict) -> str:
    """Return the verdict as a Markdown section (for the PR and ``$GITHUB_STEP_SUMMARY``)."""
    outcome = "PASSED" if verdict.passed else "FAILED"
    baseline = f"`{verdict.baseline_id}`" if verdict.baseline_id else "none"
    lines = [
        f"## Model gate {outcome}: `{verdict.candidate_id}`",
        "",
        f"Baseline: {baseline}. Figures re-derived from `{MODEL_FILE}` (SHA-256 "
        f"`{verdict.model_sha256[:12]}`) on the {verdict.split.test_rows} held-out rows of "
        f"`{verdict.data.source}` ({verdict.data.version}), at threshold "
        f"{verdict.metrics.threshold:g}.",
        "",
        "| " + " | ".join(_HEADERS) + " | note |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"**{cells[-1]}**" if row.status == "fail" else cells[-1]
        lines.append("| " + " | ".join([*cells, row.note.replace("|", "\\|")]) + " |")
    skipped = skipped_text(verdict.rows)
    if skipped:
        lines += ["", skipped]
    return "\n".join(lines) + "\n"


def render_table(verdict: Verdict) -> Table:
    """Return the verdict as a rich table for the terminal."""
    outcome = "[green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    skipped = skipped_text(verdict.rows)
    table = Table(
        title=f"Model gate {outcome}: {verdict.candidate_id}",
        caption=f"[yellow]{escape(skipped)}[/]" if skipped else None,
        caption_justify="left",
    )
    for header in _HEADERS:
        table.add_column(header, justify="right" if header in {"value", "baseline"} else "left")
    table.add_column("note")
    styles = {"fail": "bold red", "skip": "yellow"}  # anything else passed: green
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"[{styles.get(row.status, 'green')}]{cells[-1]}[/]"
        table.add_row(*cells, row.note)
    return table
