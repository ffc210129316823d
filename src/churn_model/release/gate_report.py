"""The gate's report: a verdict as a table for the terminal and as Markdown for people.

``just gate`` prints :func:`render_table`; :func:`render_markdown` is written beside the candidate
(``gate.md``), appended to the CI job summary, and published with the champion (``docs/model/``),
rendered from the verdict promotion checked.
"""

from rich.markup import escape
from rich.table import Table

from churn_model.model.artifact import MODEL_FILE
from churn_model.model.resolution import CHANCE_ROC_AUC
from churn_model.release.gate_rows import (
    UNDETECTABLE,
    GateRow,
    floored_slices,
    undetectable,
)
from churn_model.release.verdict import Verdict

SUMMARY_FILE = "gate.md"


def skipped_text(rows: list[GateRow]) -> str:
    """One sentence naming the slices the gate did not judge, or ``""`` when it judged them all."""
    names = floored_slices(rows, skipped=True)
    if not names:
        return ""
    return (
        f"Not judged: the floors of {', '.join(names)}: too few held-out rows or positives "
        "for the `[slices]` minimum of the gate config (each row's note gives the counts)."
    )


def unfloored_text(verdict: Verdict) -> str:
    """One sentence naming the slices measured with no floor in the gate config, or ``""``.

    ``just calibrate`` drafts no floor for a slice too small to measure: no row of the table
    names it, and only the model report shows its figures.
    """
    floored = set(floored_slices(verdict.rows))
    counts = verdict.metrics.slices
    names = [name for name in counts if name not in floored]
    if not names:
        return ""
    listed = ", ".join(
        f"{name} ({counts[name].rows} held-out rows, {counts[name].positives} positives)"
        for name in names
    )
    return (
        f"No floor: {listed}: the schema declares these slices, the gate config puts no floor on "
        "them (too small to judge, or left out); their figures are in the model report."
    )


def undetectable_text(rows: list[GateRow]) -> str:
    """One sentence naming the rows whose limit sits inside their noise, or ``""`` if none does."""
    found = undetectable(rows)
    if not found:
        return ""
    names = ", ".join(f"{row.check} {row.metric}" for row in found)
    unmeasured = any(row.resolution is None for row in found)
    why = "the limit sits inside the noise of the figure on these held-out rows"
    if unmeasured:  # a figure at 0 or 1 on a few dozen rows resamples to itself
        why += ", or the figure's noise cannot be measured there (n/a: it never varies)"
    return (
        f"Undetectable at this size: {names}: {why} (the resolution column; each row's note "
        "gives the counts), so the row cannot tell a model that meets it from one that misses "
        "it. More held-out rows, or a wider limit, make it sharper."
    )


def chance_text(verdict: Verdict) -> str:
    """One sentence when the held-out figures do not show the model beats chance, else ``""``.

    Whatever its rows say, a model whose ROC AUC is not above 0.5 by more than its resolution
    may have learned nothing: floors on recall or F1 pass a model that flags every row, and a
    table too small or too weak for a ROC AUC floor gets none from `just calibrate`.
    """
    auc = verdict.metrics.overall.roc_auc
    found = verdict.resolution.get("overall.roc_auc")
    if auc is None or auc - (found or 0.0) > CHANCE_ROC_AUC:
        return ""
    spread = "" if found is None else f" ± {found:.3f}"
    return (
        f"Not shown to beat chance: overall ROC AUC {auc:.3f}{spread} on "
        f"{verdict.metrics.overall.rows} held-out rows, where {CHANCE_ROC_AUC} ranks rows at "
        "random. Whatever the rows above say, this model may have learned nothing: more "
        "labelled rows, or features that carry the label, are needed before its figures mean "
        "anything."
    )


def perfect_text(verdict: Verdict) -> str:
    """One sentence when the model ranks the held-out rows perfectly (ROC AUC 1), else ``""``.

    Every row then passes: a leak (a feature that restates the label, or is known only after the
    outcome) scores so, and ``infer-schema`` sees only a single column that does it alone. A
    question, not a verdict: some tables are that easy.
    """
    if verdict.metrics.overall.roc_auc != 1.0:
        return ""
    return (
        f"Perfect on the held-out rows: overall ROC AUC 1 on {verdict.metrics.overall.rows} "
        "rows, every positive scored above every negative. Real tables rarely allow it: before "
        "trusting it, check that no feature restates the label or is known only after the "
        "outcome (docs/adapting.md, columns to leave out)."
    )


def missing_unseen_text(verdict: Verdict) -> str:
    """One sentence naming the features never missing in the training rows, though they may be.

    Every row passes: the held-out rows miss them no more than the training rows do. Served, a
    row missing one is scored on a gap the model never learned (``""`` when there is none).
    """
    if not verdict.missing_unseen:
        return ""
    names = ", ".join(verdict.missing_unseen)
    return (
        f"Never missing in the training rows, though the schema lets them be: {names}. The model "
        "never learned what their absence means: a row missing one is scored on the value the "
        "pipeline fills in, which this gate did not test. Train on rows that miss them (an "
        "extract's blanks may all be in rows without a label), or make them not nullable so such "
        "a row is refused."
    )


def _caption(verdict: Verdict) -> str:
    """What the table leaves unsaid, a paragraph each.

    Chance or perfection, features training never saw missing, noise, slices skipped or without
    a floor.
    """
    rows = verdict.rows
    texts = (
        chance_text(verdict),
        perfect_text(verdict),
        missing_unseen_text(verdict),
        undetectable_text(rows),
        skipped_text(rows),
        unfloored_text(verdict),
    )
    return "\n\n".join(text for text in texts if text)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value.is_integer() and abs(value) >= 1_000:
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.4f}"


def _cells(row: GateRow) -> list[str]:
    limit = "-" if row.limit is None else f"{row.op} {_fmt(row.limit)}"
    resolution = "-" if row.resolution is None else f"±{row.resolution:.4f}"
    if row.resolution is None and UNDETECTABLE in row.note:
        resolution = "n/a"
    cells = [row.check, row.metric, _fmt(row.value), resolution, _fmt(row.baseline), limit]
    return [*cells, row.status.upper()]


_RESOLUTION = (
    " Resolution: the smallest change of a figure these held-out rows tell from noise (the "
    "half-width of its 95 % bootstrap interval); a limit nearer than that is undetectable."
)

_HEADERS = ["check", "metric", "value", "resolution", "baseline", "limit", "result"]


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
        f"{verdict.metrics.threshold:g}.{_RESOLUTION if verdict.resolution else ''}",
        "",
        "| " + " | ".join(_HEADERS) + " | note |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"**{cells[-1]}**" if row.status in {"fail", "warn"} else cells[-1]
        lines.append("| " + " | ".join([*cells, row.note.replace("|", "\\|")]) + " |")
    caption = _caption(verdict)
    if caption:
        lines += ["", caption]
    return "\n".join(lines) + "\n"


def render_table(verdict: Verdict) -> Table:
    """Return the verdict as a rich table for the terminal."""
    outcome = "[green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    caption = _caption(verdict)
    table = Table(
        title=f"Model gate {outcome}: {verdict.candidate_id}",
        caption=f"[yellow]{escape(caption)}[/]" if caption else None,
        caption_justify="left",
    )
    numbers = {"value", "resolution", "baseline"}
    # Folded, never cut: a slice's metric names differ only at their end, so a cut name hides
    # which row is which, and a narrow console (80 columns without a terminal) cuts them all.
    for header in _HEADERS:
        table.add_column(header, justify="right" if header in numbers else "left", overflow="fold")
    table.add_column("note", overflow="fold")
    styles = {"fail": "bold red", "warn": "bold yellow", "skip": "yellow"}  # else passed: green
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"[{styles.get(row.status, 'green')}]{cells[-1]}[/]"
        table.add_row(*cells, row.note)
    return table
