"""The gate's rows: every threshold of ``ci/gates.toml`` applied to a candidate's measured figures.

One :class:`GateRow` per threshold, in order: absolute floors on the overall metrics, floors per
slice (skipped, with the counts in its note, for a slice with too few held-out rows), the allowed
drop against the baseline (the promoted model's figures, ``ci/baseline.json``), a latency budget
and a size budget; then the serving row (:func:`serving_row`). A row passes, fails, or is skipped
when it has no limit (a relative budget with no baseline yet). The same function gives the rows
when the gate runs and when promotion recomputes a stored verdict's rows
(:mod:`churn_model.release.verdict`), so the two cannot disagree about a rule.

Each quality row also states its metric's resolution on these held-out rows (the smallest change
they can tell from noise, :mod:`churn_model.model.resolution`). A row whose figure sits
nearer to its limit than that, on either side, cannot tell a model that meets the limit from one
that misses it: a floor the figure barely clears, or an allowed drop smaller than the resolution
(a small drop and none at all look alike). Nor can a figure whose resamples cannot measure its
noise (too few positives). Such a row says so in its note ("undetectable at this size", with the
held-out counts), and one that met its limit is a warning (``warn``), not a pass. A warning does
not fail the gate: the limit is met, and the noise is a property of the table's size, which only
more held-out rows (or a limit further from the figure) change; failing on it would fail every
model of a small table at random. A failing row stays failed, with the same note.
"""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from churn_model.config import GateConfig
from churn_model.errors import UserError
from churn_model.model.evaluation import ClassificationMetrics, Metrics, flatten
from churn_model.records import Record, read_record
from churn_model.release.serving_check import ServingCheck

BASELINE_FILE = Path("ci/baseline.json")

GateCheck = Literal["floor", "slice floor", "regression", "latency", "size", "serving"]
"""What a gate row checks: the kind of threshold it applies."""
Status = Literal["pass", "warn", "fail", "skip"]
"""A row's outcome: ``warn`` met its limit, but the limit sits inside its metric's noise."""
Resolution = Mapping[str, float | None]
"""The resolution of each quality figure under its flattened name (``None``: unmeasurable)."""

AT_THRESHOLD = frozenset({"accuracy", "precision", "recall", "f1"})
"""The quality metrics of the hard labels, which the decision threshold moves (ROC AUC is of the
scores: the threshold does not move it)."""

UNDETECTABLE = "undetectable at this size"
"""How a row whose limit sits inside its metric's noise says so (in its note)."""


class Baseline(Record):
    """The metrics of the promoted model, which candidates are compared against."""

    model_id: str
    promoted_at: datetime
    metrics: Metrics


class GateRow(Record):
    """One threshold applied to one metric."""

    check: GateCheck
    metric: str
    value: float | None
    baseline: float | None
    limit: float | None
    op: Literal[">=", "<="]
    status: Status
    note: str = ""
    resolution: float | None = None
    """The smallest change of ``value`` the held-out rows can tell from noise (quality rows of a
    verdict that measured it; ``None`` otherwise)."""


def read_baseline(path: Path = BASELINE_FILE) -> Baseline | None:
    """Read the baseline, or ``None`` when there is none yet (nothing promoted)."""
    try:
        return read_record(path, Baseline, "baseline")
    except FileNotFoundError:
        return None


def _row(
    check: GateCheck,
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
        said = f"gate config names metric {name!r}, which the candidate does not have"
        if name.startswith("latency."):
            timed = sorted({key.split(".")[1] for key in flat if key.startswith("latency.")})
            said += (
                f": its latency runs are {', '.join(timed) or 'none'}, the runs `[timing.runs]` "
                "in configs/model.toml names; time the batch there, or drop its budget"
            )
        raise UserError(said)
    return flat[name]


def _counts(metrics: Metrics, key: str) -> ClassificationMetrics:
    """The figures of the group (overall or a slice) metric ``key`` is measured on."""
    if key.startswith("overall."):
        return metrics.overall
    return metrics.slices[key.removeprefix("slices.").rpartition(".")[0]]


def _with_noise(row: GateRow, metrics: Metrics, resolution: Resolution | None) -> GateRow:
    """``row`` with its metric's resolution, flagged when the figure is that near its limit.

    The figure and the limit nearer than the resolution (either side) cannot be told apart on
    these rows: for a floor, the model may as well be under it; for an allowed drop, a drop it
    allows and one it forbids look alike (always so when the allowed drop is smaller than the
    resolution). Without a resolution for the metric (a verdict that did not measure one) the row
    is left as it is.
    """
    if resolution is None or row.metric not in resolution:
        return row
    found = resolution[row.metric]
    update: dict[str, object] = {"resolution": found}
    if row.status not in {"pass", "fail"} or row.value is None or row.limit is None:
        return row.model_copy(update=update)
    group = _counts(metrics, row.metric)
    counts = f"{group.rows} held-out rows, {group.positives} positives"
    gap = round(abs(row.value - row.limit), 6)  # as limits and resolutions are rounded
    if found is None:
        why = f"{row.value:.3f} has no resolution: "
        if row.value in {0.0, 1.0}:  # every resample of a perfect (or null) figure is the same
            why += f"no resample of its {counts} moves a figure at {row.value:g}"
        else:
            why += f"resampling its {counts} cannot measure its noise"
    elif gap < found:
        side = "over" if row.value >= row.limit else "under"
        why = f"{row.value:.3f} is {gap:.3f} {side} its limit, inside the noise ±{found:.3f}"
        why += f" ({counts})"
    else:
        return row.model_copy(update=update)
    note = f"{row.note}; " if row.note else ""
    update["note"] = f"{note}{UNDETECTABLE}: {why}"
    if row.status == "pass":
        update["status"] = "warn"
    return row.model_copy(update=update)


def threshold_rows(
    metrics: Metrics,
    config: GateConfig,
    baseline: Baseline | None,
    resolution: Resolution | None = None,
) -> list[GateRow]:
    """Apply every threshold of ``config`` to ``metrics``; return one row per threshold.

    ``resolution`` (the held-out figures' noise, see
    :mod:`churn_model.model.resolution`) puts each quality row's resolution on it and
    flags a limit inside that noise; without it, no row is.
    """
    flat = flatten(metrics)
    base = flatten(baseline.metrics) if baseline else {}
    rows = [
        _with_noise(
            _row("floor", f"overall.{name}", metric_value(flat, f"overall.{name}"), floor, ">="),
            metrics,
            resolution,
        )
        for name, floor in config.floors.items()
    ]
    rows += [_with_noise(row, metrics, resolution) for row in _slice_rows(metrics, flat, config)]
    for name, drop in config.max_drop.items():
        key = f"overall.{name}"
        reference = base.get(key)
        limit = None if reference is None else round(reference - drop, 6)
        note = "no baseline" if reference is None else f"allowed drop {drop:g}"
        if reference is not None and baseline is not None and name in AT_THRESHOLD:
            note += _other_threshold(baseline.metrics.threshold, metrics.threshold)
        row = _row(
            "regression", key, metric_value(flat, key), limit, ">=", baseline=reference, note=note
        )
        rows.append(_with_noise(row, metrics, resolution))
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


def _other_threshold(baseline: float, candidate: float) -> str:
    """A note's clause when the baseline labelled its rows at another threshold ("" when not).

    A figure of the hard labels moves with the threshold as much as with the model: a drop (or a
    gain) against a baseline measured at another threshold is partly the threshold's.
    """
    if baseline == candidate:
        return ""
    return f"; the baseline's labels are at threshold {baseline:g}, these at {candidate:g}"


def _slice_rows(
    metrics: Metrics, flat: dict[str, float | None], config: GateConfig
) -> list[GateRow]:
    """The slice floors' rows; a slice whose held-out rows are under the minimum is skipped.

    Its floor and figure stay on the row, and the note gives its counts and the minimum: a
    floor on a handful of rows would judge which rows the split drew, not the model.
    """
    rows = []
    for slice_name, floors in config.slice_floors.items():
        for name, floor in floors.items():
            key = f"slices.{slice_name}.{name}"
            value = metric_value(flat, key)
            counts = metrics.slices[slice_name]
            under = config.slices.shortfall(counts.rows, counts.positives)
            row = _row("slice floor", key, value, floor, ">=")
            skipped = {"status": "skip", "note": under}
            rows.append(row if under is None else row.model_copy(update=skipped))
    return rows


def undetectable(rows: list[GateRow]) -> list[GateRow]:
    """The rows whose limit sits inside their metric's noise (warned, or failed inside it)."""
    return [row for row in rows if UNDETECTABLE in row.note]


def floored_slices(rows: list[GateRow], *, skipped: bool = False) -> list[str]:
    """The slices ``rows`` put a floor on, in order, each named once.

    With ``skipped``, only those whose floors were skipped (under the slice minimum).
    """
    metrics = (
        r.metric for r in rows if r.check == "slice floor" and (r.status == "skip" or not skipped)
    )
    # ``slices.<name>.<metric>``: the name itself may hold dots.
    return list(dict.fromkeys(m.removeprefix("slices.").rpartition(".")[0] for m in metrics))


def serving_row(serving: ServingCheck) -> GateRow:
    """The row of the serving check: every path's probabilities must be the batch scoring's."""
    return _row("serving", "probability_gap", serving.gap, 0.0, "<=", note=serving.summary())


def gate_rows(
    metrics: Metrics,
    serving: ServingCheck,
    config: GateConfig,
    baseline: Baseline | None,
    resolution: Resolution | None = None,
) -> list[GateRow]:
    """Every row of a verdict: the thresholds on ``metrics``, then the serving check's row."""
    return [*threshold_rows(metrics, config, baseline, resolution), serving_row(serving)]
