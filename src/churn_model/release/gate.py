"""The gate: a candidate passes only if it meets every threshold in ``ci/gates.toml`` and serves.

Checks, in order: absolute floors on the overall metrics, floors per slice, the allowed drop against
the baseline (the promoted model's metrics, ``ci/baseline.json``), a latency budget, a size budget,
and that the model is servable. The gate judges the model, not the model's report of itself: the
figures it checks are re-derived from ``model.skops`` and the pinned held-out split
(:mod:`churn_model.release.remeasure`), and a card that states other figures is
refused.

The serving row proves that the service can load the candidate and answers what was gated
(:mod:`churn_model.release.serving_check`): the candidate folder is loaded through the
service's own load path (card against schema, safe load, probe rows, the fast path or its fallback),
the probe rows go through the service's app (``POST /predict`` and ``POST /predict/batch``) and
through batch scoring, and every path must give the same probabilities, bit for bit. A candidate the
service would refuse, crash on or answer differently fails that row, with the reason in one
sentence.

The verdict (every row, pass or fail, the figures and the serving check they were computed from,
and the SHA-256 of every file of the candidate it judged or that promotion publishes) is written
beside the candidate. Promotion trusts none of it blindly: it re-hashes the files and recomputes
the rows from the figures and the serving check against the current ``ci/gates.toml`` and baseline
(:func:`check_verdict`).
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from rich.markup import escape
from rich.table import Table

from churn_model.config import (
    DEFAULT_GATE_CONFIG,
    GateConfig,
    ModelConfig,
    load_model_config,
)
from churn_model.data.pinning import DataInfo
from churn_model.errors import UserError
from churn_model.files import sha256_of, write_atomic
from churn_model.model.artifact import CARD_FILE, METRICS_FILE, MODEL_FILE
from churn_model.model.card import SplitInfo, problems, read_card
from churn_model.model.evaluation import Metrics, flatten
from churn_model.model.report import CONFUSION_FILE, REPORT_FILE, ROC_FILE
from churn_model.release.remeasure import disagreements, remeasure
from churn_model.release.serving_check import ServingCheck, check_serving

BASELINE_FILE = Path("ci/baseline.json")
VERDICT_FILE = "verdict.json"
SUMMARY_FILE = "gate.md"
BOUND_FILES = (MODEL_FILE, CARD_FILE, METRICS_FILE, REPORT_FILE, ROC_FILE, CONFUSION_FILE)
"""The files of a candidate a verdict binds: what the gate read, and what promotion publishes."""

Check = Literal["floor", "slice floor", "regression", "latency", "size", "serving"]
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
    """The gate's decision on one candidate, bound to the exact files it judged.

    ``files`` holds the SHA-256 of each of :data:`BOUND_FILES` (``model_sha256`` repeats the
    model's, which MLflow tags carry); ``data`` and ``split`` say which held-out rows the figures
    were re-derived on; ``metrics`` are the figures the gate measured (quality and size equal to
    the card's, latency timed by the gate), and the ones promotion puts into the baseline;
    ``serving`` is what loading the candidate as the service does found (``None`` in a verdict
    written before the gate checked it, which promotion sends back to the gate). ``rows`` follow
    from ``metrics``, ``serving``, the gate config and the baseline; ``passed`` from the rows.
    """

    candidate_id: str
    model_sha256: str
    files: dict[str, str]
    data: DataInfo
    split: SplitInfo
    baseline_id: str | None
    checked_at: datetime
    passed: bool
    metrics: Metrics
    rows: list[GateRow]
    serving: ServingCheck | None = None

    @model_validator(mode="after")
    def _binds_every_file(self) -> Self:
        missing = [name for name in BOUND_FILES if name not in self.files]
        if missing:
            raise ValueError(f"files lacks {', '.join(missing)}")
        if self.files[MODEL_FILE] != self.model_sha256:
            raise ValueError(f"model_sha256 differs from files.{MODEL_FILE}")
        return self


def read_baseline(path: Path = BASELINE_FILE) -> Baseline | None:
    """Read the baseline, or ``None`` when there is none yet (nothing promoted)."""
    try:
        return Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValidationError as error:
        raise UserError(f"{path}: invalid baseline ({problems(error)})") from None


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
    rows += _slice_rows(metrics, flat, config)
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
            if under is None:
                rows.append(_row("slice floor", key, value, floor, ">="))
                continue
            skipped = GateRow(
                check="slice floor",
                metric=key,
                value=value,
                baseline=None,
                limit=floor,
                op=">=",
                status="skip",
                note=under,
            )
            rows.append(skipped)
    return rows


def skipped_slices(rows: list[GateRow]) -> list[str]:
    """The slices whose floors ``rows`` skip (under the minimum), in order, each named once."""
    metrics = (r.metric for r in rows if r.check == "slice floor" and r.status == "skip")
    # ``slices.<name>.<metric>``: the name itself may hold dots.
    return list(dict.fromkeys(m.removeprefix("slices.").rpartition(".")[0] for m in metrics))


def skipped_text(rows: list[GateRow]) -> str:
    """One sentence naming the slices the gate did not judge, or ``""`` when it judged them all."""
    names = skipped_slices(rows)
    if not names:
        return ""
    return (
        f"Not judged: the floors of {', '.join(names)}: too few held-out rows or positives "
        "for the `[slices]` minimum of the gate config (each row's note gives the counts)."
    )


def serving_row(serving: ServingCheck) -> GateRow:
    """The row of the serving check: every path's probabilities must be the batch scoring's."""
    return _row("serving", "probability_gap", serving.gap, 0.0, "<=", note=serving.summary())


def gate_rows(
    metrics: Metrics, serving: ServingCheck, config: GateConfig, baseline: Baseline | None
) -> list[GateRow]:
    """Every row of a verdict: the thresholds on ``metrics``, then the serving check's row."""
    return [*check_metrics(metrics, config, baseline), serving_row(serving)]


def hash_files(folder: Path) -> dict[str, str]:
    """Return the SHA-256 of each of :data:`BOUND_FILES` in ``folder`` (each must exist)."""
    hashes = {}
    for name in BOUND_FILES:
        path = folder / name
        if not path.is_file():
            raise UserError(f"{path}: not found (a candidate holds {', '.join(BOUND_FILES)})")
        hashes[name] = sha256_of(path)
    return hashes


def run_gate(
    candidate: Path,
    config: GateConfig,
    baseline: Baseline | None,
    model_config: ModelConfig | None = None,
) -> Verdict:
    """Judge the candidate in folder ``candidate``; write ``verdict.json`` and ``gate.md`` there.

    The figures are re-derived from the model file and the held-out split its card names
    (``model_config`` defaults to ``configs/model.toml``, which the card's split and threshold must
    match); a card that does not describe its model is a :class:`UserError`, and then no verdict is
    written. Then the candidate is loaded and asked as the service would be
    (:func:`churn_model.release.serving_check.check_serving`): one that cannot be
    served gets a failing row.
    """
    files = hash_files(candidate)
    measured = remeasure(candidate, model_config or load_model_config())
    serving = check_serving(candidate)
    if hash_files(candidate) != files:
        raise UserError(f"{candidate}: its files changed while it was being gated; gate it again")
    rows = gate_rows(measured.metrics, serving, config, baseline)
    verdict = Verdict(
        candidate_id=measured.card.id,
        model_sha256=files[MODEL_FILE],
        files=files,
        data=measured.card.data,
        split=measured.card.split,
        baseline_id=baseline.model_id if baseline else None,
        checked_at=datetime.now(UTC),
        passed=all(row.status != "fail" for row in rows),
        metrics=measured.metrics,
        rows=rows,
        serving=serving,
    )
    write_atomic(candidate / VERDICT_FILE, (verdict.model_dump_json(indent=2) + "\n").encode())
    write_atomic(candidate / SUMMARY_FILE, render_markdown(verdict).encode())
    return verdict


def read_verdict(folder: Path) -> Verdict:
    """Read and validate the verdict in ``folder``; a missing or malformed one is a UserError."""
    path = folder / VERDICT_FILE
    try:
        return Verdict.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{folder.name}: no verdict ({path}): run `just gate` first") from None
    except ValidationError as error:
        raise UserError(f"{path}: invalid verdict ({problems(error)})") from None


def changed_files(folder: Path, verdict: Verdict) -> list[str]:
    """Name the files ``verdict`` binds that are missing from ``folder`` or differ from it."""
    return [
        name
        for name, digest in verdict.files.items()
        if not (folder / name).is_file() or sha256_of(folder / name) != digest
    ]


def check_files(folder: Path, verdict: Verdict) -> None:
    """Refuse ``folder`` unless its files are byte for byte the ones ``verdict`` judged."""
    changed = changed_files(folder, verdict)
    if changed:
        raise UserError(
            f"{folder}: {', '.join(changed)} changed (or went missing) after the gate judged "
            "it: run `just gate` again"
        )


def _row_text(row: GateRow) -> str:
    limit = "no limit" if row.limit is None else f"{row.op} {row.limit:g}"
    return f"{row.check} {row.metric} {row.status} ({limit})"


def check_judgement(
    verdict: Verdict,
    config: GateConfig,
    baseline: Baseline | None,
    config_path: Path = DEFAULT_GATE_CONFIG,
) -> None:
    """Recompute the verdict's rows from its figures; refuse unless they are its rows and pass.

    So neither an edited ``passed`` nor an edited row (a status, a limit, a value) is believed,
    and a verdict reached under another gate config or baseline, or before the gate checked that
    the model is servable, is sent back to the gate.
    """
    name = verdict.candidate_id
    if verdict.serving is None:
        raise UserError(
            f"{name}: its verdict does not say whether the service can load it (gated by an "
            "older version of the gate): run `just gate` again"
        )
    current = baseline.model_id if baseline else None
    if verdict.baseline_id != current:
        raise UserError(
            f"{name}: gated against baseline {verdict.baseline_id!r}, but the baseline is "
            f"now {current!r}: run `just gate` again"
        )
    expected = gate_rows(verdict.metrics, verdict.serving, config, baseline)
    if len(expected) != len(verdict.rows):
        raise UserError(
            f"{name}: the verdict has {len(verdict.rows)} rows, {config_path} and the baseline "
            f"give {len(expected)}: the gate config changed since (or the verdict was edited); "
            "run `just gate` again"
        )
    for found, wanted in zip(verdict.rows, expected, strict=True):
        if found != wanted:
            raise UserError(
                f"{name}: the verdict's row '{_row_text(found)}' is not what {config_path} and "
                f"the baseline give for its figures, '{_row_text(wanted)}': the gate config "
                "changed since (or the verdict was edited); run `just gate` again"
            )
    failed = [row.metric for row in expected if row.status == "fail"]
    if failed:
        edited = " (its verdict.json says it passed: edited)" if verdict.passed else ""
        raise UserError(
            f"{name}: the gate failed this candidate on {', '.join(failed)}{edited}; "
            "it cannot be promoted"
        )
    if not verdict.passed:
        raise UserError(
            f"{name}: verdict.json says it failed, but its rows pass (edited): "
            "run `just gate` again"
        )


def check_verdict(
    folder: Path,
    verdict: Verdict,
    config: GateConfig,
    baseline: Baseline | None,
    config_path: Path = DEFAULT_GATE_CONFIG,
) -> None:
    """Refuse to promote ``folder`` unless ``verdict`` judged exactly it and it passes today.

    The verdict must name the folder, every file it binds must be unchanged, the card must still
    be valid and state the figures the gate measured (quality and size), and its rows must be
    what the figures give under ``config`` and ``baseline``, all passing.
    """
    if verdict.candidate_id != folder.name:
        raise UserError(f"{folder}: the verdict belongs to candidate {verdict.candidate_id!r}")
    check_files(folder, verdict)
    card = read_card(folder / CARD_FILE)
    differ = disagreements(card.metrics, verdict.metrics)
    if differ:
        raise UserError(
            f"{folder / VERDICT_FILE}: its figures are not the ones the gate measured and the "
            f"card states (edited): {'; '.join(differ[:3])}; run `just gate` again"
        )
    check_judgement(verdict, config, baseline, config_path)


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
