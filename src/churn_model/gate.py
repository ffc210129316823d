"""The gate: a candidate passes only if it meets every threshold in ``ci/gates.toml``.

Checks, in order: absolute floors on the overall metrics, floors per slice, the allowed drop
against the baseline (the promoted model's metrics, ``ci/baseline.json``), a latency budget and a
size budget. The verdict (every row, pass or fail, and a hash of the exact model file it judged)
is written beside the candidate; promotion trusts nothing else.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from rich.table import Table

from churn_model.artifact import CARD_FILE, MODEL_FILE
from churn_model.card import read_card
from churn_model.config import GateConfig
from churn_model.errors import UserError
from churn_model.evaluate import Metrics, flatten
from churn_model.files import sha256_of, write_atomic

BASELINE_FILE = Path("ci/baseline.json")
VERDICT_FILE = "verdict.json"
SUMMARY_FILE = "gate.md"

Check = Literal["floor", "slice floor", "regression", "latency", "size"]
Status = Literal["pass", "fail", "skip"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Baseline(_Record):
    """The metrics of the promoted model, which candidates are compared against."""

    model_id: str
    promoted_at: datetime
    metrics: Metrics


class GateRow(_Record):
    """One threshold applied to one metric."""

    check: Check
    metric: str
    value: float | None
    baseline: float | None
    limit: float | None
    op: Literal[">=", "<="]
    status: Status
    note: str = ""


class Verdict(_Record):
    """The gate's decision on one candidate, bound to its exact model file."""

    candidate_id: str
    model_sha256: str
    baseline_id: str | None
    checked_at: datetime
    passed: bool
    rows: list[GateRow]


def read_baseline(path: Path = BASELINE_FILE) -> Baseline | None:
    """Read the baseline, or ``None`` when there is none yet (nothing promoted)."""
    try:
        return Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValidationError as error:
        raise UserError(f"{path}: invalid baseline ({error.error_count()} problems)") from None


def _row(
    check: Check,
    metric: str,
    value: float | None,
    limit: float | None,
    op: Literal[">=", "<="],
    *,
    baseline: float | None = None,
    note: str = "",
) -> GateRow:
    """Build a row, deciding pass/fail; an unmeasurable value (``None``) fails."""
    if limit is None:
        status: Status = "skip"
    elif value is None:
        status, note = "fail", note or "not measurable on these rows"
    else:
        ok = value >= limit if op == ">=" else value <= limit
        status = "pass" if ok else "fail"
    return GateRow(
        check=check,
        metric=metric,
        value=value,
        baseline=baseline,
        limit=limit,
        op=op,
        status=status,
        note=note,
    )


def metric_value(flat: dict[str, float | None], name: str) -> float | None:
    """Return metric ``name`` from flattened metrics; a name the metrics lack is a config error."""
    if name not in flat:
        raise UserError(f"gate config names metric {name!r}, which the candidate does not have")
    return flat[name]


def check_metrics(metrics: Metrics, config: GateConfig, baseline: Baseline | None) -> list[GateRow]:
    """Apply every threshold of ``config`` to ``metrics``; return one row per threshold."""
    flat = flatten(metrics)
    base = flatten(baseline.metrics) if baseline else {}
    rows = [
        _row("floor", f"overall.{name}", metric_value(flat, f"overall.{name}"), floor, ">=")
        for name, floor in config.floors.items()
    ]
    for slice_name, floors in config.slice_floors.items():
        for name, floor in floors.items():
            key = f"slices.{slice_name}.{name}"
            rows.append(_row("slice floor", key, metric_value(flat, key), floor, ">="))
    for name, drop in config.max_drop.items():
        key = f"overall.{name}"
        reference = base.get(key)
        limit = None if reference is None else round(reference - drop, 6)
        note = "no baseline" if reference is None else f"allowed drop {drop:g}"
        rows.append(
            _row(
                "regression",
                key,
                metric_value(flat, key),
                limit,
                ">=",
                baseline=reference,
                note=note,
            )
        )
    for run, floor_ms in config.latency.floor_ms.items():
        key = f"latency.{run}.cpu_p50_ms"
        reference = base.get(key)
        # The budget is relative (the floors only absorb a tiny baseline's timer noise): with no
        # baseline yet, as for the first model of a project, there is nothing to judge against.
        limit = None if reference is None else max(config.latency.factor * reference, floor_ms)
        note = f"max({config.latency.factor:g}x baseline, {floor_ms:g} ms)"
        rows.append(
            _row(
                "latency",
                key,
                metric_value(flat, key),
                None if limit is None else round(limit, 3),
                "<=",
                baseline=reference,
                note=note if reference is not None else "no baseline",
            )
        )
    key = "model_loaded_bytes"
    size = float(metrics.model_loaded_bytes)
    rows.append(_row("size", key, size, config.size.max_loaded_bytes, "<=", note="ceiling"))
    if baseline is not None:
        reference = float(baseline.metrics.model_loaded_bytes)
        limit = round(config.size.max_growth * reference)
        note = f"{config.size.max_growth:g} x baseline"
        rows.append(_row("size", key, size, limit, "<=", baseline=reference, note=note))
    return rows


def run_gate(candidate: Path, config: GateConfig, baseline: Baseline | None) -> Verdict:
    """Judge the candidate in folder ``candidate``; write ``verdict.json`` and ``gate.md`` there."""
    card = read_card(candidate / CARD_FILE)
    model = candidate / MODEL_FILE
    if not model.is_file():
        raise UserError(f"{model}: model file not found")
    rows = check_metrics(card.metrics, config, baseline)
    verdict = Verdict(
        candidate_id=card.id,
        model_sha256=sha256_of(model),
        baseline_id=baseline.model_id if baseline else None,
        checked_at=datetime.now(UTC),
        passed=all(row.status != "fail" for row in rows),
        rows=rows,
    )
    write_atomic(candidate / VERDICT_FILE, (verdict.model_dump_json(indent=2) + "\n").encode())
    write_atomic(candidate / SUMMARY_FILE, render_markdown(verdict).encode())
    return verdict


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
        f"Baseline: {baseline}.",
        "",
        "| " + " | ".join(_HEADERS) + " | note |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"**{cells[-1]}**" if row.status == "fail" else cells[-1]
        lines.append("| " + " | ".join([*cells, row.note]) + " |")
    return "\n".join(lines) + "\n"


def render_table(verdict: Verdict) -> Table:
    """Return the verdict as a rich table for the terminal."""
    outcome = "[green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    table = Table(title=f"Model gate {outcome}: {verdict.candidate_id}")
    for header in _HEADERS:
        table.add_column(header, justify="right" if header in {"value", "baseline"} else "left")
    table.add_column("note")
    styles = {"fail": "bold red", "skip": "yellow"}  # anything else passed: green
    for row in verdict.rows:
        cells = _cells(row)
        cells[-1] = f"[{styles.get(row.status, 'green')}]{cells[-1]}[/]"
        table.add_row(*cells, row.note)
    return table
