"""The gate fails on each kind of shortfall, and only then."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from churn_model.config import (
    GateConfig,
    SizeBudget,
    SliceMinimum,
    load_gate_config,
    load_slice_minimum,
)
from churn_model.errors import UserError
from churn_model.files import sha256_of
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.card import ModelCard, read_card
from churn_model.model.evaluation import ClassificationMetrics, Metrics
from churn_model.release.calibration import gates_toml
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import (
    Baseline,
    GateRow,
    read_baseline,
    threshold_rows,
)
from churn_model.release.verdict import VERDICT_FILE, Verdict

from model_support import FAST_TIMING, above, fast_model_config, lenient_gates, small_candidate

FAST_MODEL = fast_model_config()
SLICE = "a slice"
TIMED = next(iter(FAST_TIMING.runs))
"""A latency run the project times (the first of ``configs/model.toml [timing.runs]``)."""
"""A slice fabricated into the metrics, for the rules about slices whatever the schema declares."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gate")
    return small_candidate(tmp, rows=2_500)


@pytest.fixture(scope="module")
def card(folder: Path) -> ModelCard:
    """The candidate's card, its metrics with one more slice (the whole split, named SLICE)."""
    written = read_card(folder / CARD_FILE)
    slices = {**written.metrics.slices, SLICE: written.metrics.overall}
    return written.model_copy(
        update={"metrics": written.metrics.model_copy(update={"slices": slices})}
    )


def lenient() -> GateConfig:
    """Thresholds every model clears (see ``lenient_gates``), SLICE's recall floor among them."""
    config = lenient_gates()
    return config.model_copy(
        update={"slice_floors": {**config.slice_floors, SLICE: {"recall": 0.0}}}
    )


def shifted(metrics: Metrics, delta: float) -> Metrics:
    """``metrics`` with every overall quality metric raised by ``delta`` (a better baseline)."""
    keys = ("accuracy", "precision", "recall", "f1", "roc_auc")
    figures: dict[str, float | None] = {key: getattr(metrics.overall, key) for key in keys}
    unmeasured = [key for key, value in figures.items() if value is None]
    assert not unmeasured, (
        f"{unmeasured} not measurable at the threshold {metrics.threshold} (no row flagged?): "
        "set the project's threshold with `just calibrate` first"
    )
    overall = metrics.overall.model_copy(
        update={key: value + delta for key, value in figures.items() if value is not None}
    )
    return metrics.model_copy(update={"overall": overall})


def baseline_of(metrics: Metrics) -> Baseline:
    return Baseline(
        model_id="champion", promoted_at=datetime(2026, 1, 1, tzinfo=UTC), metrics=metrics
    )


def failed(rows: list[GateRow]) -> set[tuple[str, str]]:
    return {(r.check, r.metric) for r in rows if r.status == "fail"}


def test_a_good_model_passes_and_the_verdict_is_bound_to_its_model(
    folder: Path, card: ModelCard
) -> None:
    verdict = run_gate(folder, lenient_gates(), baseline_of(card.metrics), FAST_MODEL)
    assert verdict.passed, render_markdown(verdict)
    assert verdict.candidate_id == card.id
    assert verdict.model_sha256 == sha256_of(folder / MODEL_FILE)
    assert Verdict.model_validate_json((folder / VERDICT_FILE).read_text()) == verdict
    summary = (folder / SUMMARY_FILE).read_text()
    assert f"Model gate PASSED: `{card.id}`" in summary
    assert "FAIL" not in summary
    kinds = {row.check for row in verdict.rows}
    assert kinds == {"floor", "regression", "latency", "size", "serving"} | (
        {"slice floor"} if card.metrics.slices.keys() - {SLICE} else set()
    )
    assert verdict.rows[-1].check == "serving"
    assert verdict.serving is not None
    assert verdict.serving.gap == 0.0
    # The synthetic rows miss every nullable feature now and then, the training rows too.
    assert verdict.missing_unseen == []
    assert "Never missing in the training rows" not in summary


def test_an_absolute_floor_fails(card: ModelCard) -> None:
    floor = above(card.metrics.overall.roc_auc)
    config = lenient().model_copy(update={"floors": {"roc_auc": floor}})
    assert failed(threshold_rows(card.metrics, config, None)) == {("floor", "overall.roc_auc")}


def test_a_slice_floor_fails(card: ModelCard) -> None:
    floor = above(card.metrics.slices[SLICE].recall)
    config = lenient().model_copy(update={"slice_floors": {SLICE: {"recall": floor}}})
    assert failed(threshold_rows(card.metrics, config, None)) == {
        ("slice floor", f"slices.{SLICE}.recall")
    }


def test_a_regression_beyond_the_tolerance_fails_and_noise_does_not(card: ModelCard) -> None:
    config = lenient().model_copy(update={"max_drop": {"roc_auc": 0.05, "recall": 0.1, "f1": 0.1}})
    smallest = min(config.max_drop.values())
    within = threshold_rows(card.metrics, config, baseline_of(shifted(card.metrics, smallest / 2)))
    assert failed(within) == set()
    beyond = threshold_rows(card.metrics, config, baseline_of(shifted(card.metrics, 0.2)))
    assert failed(beyond) == {("regression", f"overall.{name}") for name in config.max_drop}


def test_a_drop_against_a_baseline_at_another_threshold_says_so(card: ModelCard) -> None:
    # The hard labels' figures move with the threshold: the row says the two were not measured
    # alike. ROC AUC, of the scores, and a baseline at the same threshold say nothing of it.
    config = lenient().model_copy(update={"max_drop": {"roc_auc": 0.05, "recall": 0.1}})
    ours = card.metrics.threshold
    other = round(ours / 2, 3)
    elsewhere = baseline_of(card.metrics.model_copy(update={"threshold": other}))
    notes = {row.metric: row.note for row in threshold_rows(card.metrics, config, elsewhere)}
    assert notes["overall.recall"] == (
        f"allowed drop 0.1; the baseline's labels are at threshold {other:g}, these at {ours:g}"
    )
    assert notes["overall.roc_auc"] == "allowed drop 0.05"
    alike = {
        r.metric: r.note for r in threshold_rows(card.metrics, config, baseline_of(card.metrics))
    }
    assert alike["overall.recall"] == "allowed drop 0.1"


def test_without_a_baseline_regressions_and_latency_are_skipped(card: ModelCard) -> None:
    # Both budgets are relative to the promoted model: the first model of a project has none.
    tight = lenient().model_copy(
        update={"latency": lenient().latency.model_copy(update={"floor_ms": {TIMED: 1e-6}})}
    )
    rows = threshold_rows(card.metrics, tight, None)
    relative = [row for row in rows if row.check in {"regression", "latency"}]
    assert {row.check for row in relative} == {"regression", "latency"}
    assert all(row.status == "skip" and row.note == "no baseline" for row in relative)


def test_latency_over_the_budget_fails(card: ModelCard) -> None:
    fast = {
        name: stats.model_copy(update={"cpu_p50_ms": stats.cpu_p50_ms / 100})
        for name, stats in card.metrics.latency.items()
    }
    baseline = baseline_of(card.metrics.model_copy(update={"latency": fast}))
    config = lenient().model_copy(
        update={"latency": lenient().latency.model_copy(update={"floor_ms": {TIMED: 1e-6}})}
    )
    rows = threshold_rows(card.metrics, config, baseline)
    assert failed(rows) == {("latency", f"latency.{TIMED}.cpu_p50_ms")}
    latency = next(row for row in rows if row.check == "latency")
    limit = config.latency.factor * fast[TIMED].cpu_p50_ms
    assert latency.limit == pytest.approx(limit, abs=1e-3)


def test_size_over_the_ceiling_or_the_growth_budget_fails(card: ModelCard) -> None:
    tiny = lenient().model_copy(update={"size": SizeBudget(max_loaded_bytes=1_000, max_growth=1.5)})
    assert failed(threshold_rows(card.metrics, tiny, None)) == {("size", "model_loaded_bytes")}
    # A baseline so small that this model is twice the growth allowed, whatever its own size.
    allowed = lenient().size.max_growth
    smaller = card.metrics.model_copy(
        update={"model_loaded_bytes": int(card.metrics.model_loaded_bytes / (2 * allowed))}
    )
    rows = threshold_rows(card.metrics, lenient(), baseline_of(smaller))
    growth = [row for row in rows if row.check == "size" and row.status == "fail"]
    assert [row.note for row in growth] == [f"{allowed:g} x baseline"]


def test_an_unmeasurable_metric_fails(card: ModelCard) -> None:
    single = ClassificationMetrics(
        rows=3, positives=3, accuracy=1.0, precision=1.0, recall=1.0, f1=1.0, roc_auc=None
    )
    metrics = card.metrics.model_copy(update={"slices": {**card.metrics.slices, SLICE: single}})
    config = lenient().model_copy(
        update={
            "slice_floors": {SLICE: {"roc_auc": 0.5}},
            "slices": SliceMinimum(min_rows=1, min_positives=1),  # judged, however few its rows
        }
    )
    row = next(r for r in threshold_rows(metrics, config, None) if r.check == "slice floor")
    assert (row.status, row.note) == ("fail", "not measurable on these rows")


def test_an_unknown_metric_in_the_config_is_a_user_error(card: ModelCard) -> None:
    config = lenient().model_copy(update={"slice_floors": {"vip": {"recall": 0.5}}})
    with pytest.raises(UserError, match=r"'slices\.vip\.recall'"):
        threshold_rows(card.metrics, config, None)


def test_a_latency_budget_for_a_batch_not_timed_points_at_the_timing_plan(
    card: ModelCard,
) -> None:
    untimed = lenient().model_copy(
        update={"latency": lenient().latency.model_copy(update={"floor_ms": {"batch_7": 5.0}})}
    )
    timed = ", ".join(sorted(card.metrics.latency))
    with pytest.raises(UserError, match=r"'latency\.batch_7\.cpu_p50_ms'") as caught:
        threshold_rows(card.metrics, untimed, baseline_of(card.metrics))
    assert f"its latency runs are {timed}" in str(caught.value)
    assert "[timing.runs]` in configs/model.toml" in str(caught.value)


def test_the_config_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "gates.toml"
    good = gates_toml(lenient_gates())
    bad.write_text(good)
    assert load_gate_config(bad) == lenient_gates()
    impossible = lenient_gates().model_copy(update={"floors": {"roc_auc": 1.5}})
    bad.write_text(gates_toml(impossible) + "\n[extra]\nkey = 1\n")
    with pytest.raises(UserError) as caught:
        load_gate_config(bad)
    assert "floors.roc_auc" in str(caught.value)
    assert "extra" in str(caught.value)


def test_the_slice_minimum_has_defaults_and_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    text = gates_toml(lenient_gates())
    without = text[: text.index("[slices]")] + text[text.index("[slice_floors") :]
    path.write_text(without)
    assert load_gate_config(path).slices == SliceMinimum()
    assert load_slice_minimum(path) == SliceMinimum()
    assert load_slice_minimum(tmp_path / "absent.toml") == SliceMinimum()
    path.write_text(text.replace("min_rows = 50", "min_rows = 30"))
    assert load_gate_config(path).slices.min_rows == 30
    for bad, field in (("min_rows = 0", "slices.min_rows"), ("min_rows = 1.5", "slices.min_rows")):
        path.write_text(text.replace("min_rows = 50", bad))
        for load in (load_gate_config, load_slice_minimum):
            with pytest.raises(UserError, match=re.escape(field)):
                load(path)
    path.write_text(text.replace("min_positives = 20", "min_positives = 20\nmin_negatives = 3"))
    with pytest.raises(UserError, match=r"slices\.min_negatives"):
        load_slice_minimum(path)


def test_the_baseline_file_is_optional_but_must_be_valid(tmp_path: Path, card: ModelCard) -> None:
    assert read_baseline(tmp_path / "missing.json") is None
    path = tmp_path / "baseline.json"
    path.write_text(baseline_of(card.metrics).model_dump_json())
    assert read_baseline(path) == baseline_of(card.metrics)
    path.write_text('{"model_id": 3}')
    with pytest.raises(UserError, match="invalid baseline"):
        read_baseline(path)


def test_a_candidate_without_its_model_is_refused(tmp_path: Path, folder: Path) -> None:
    copy = tmp_path / folder.name
    copy.mkdir()
    (copy / CARD_FILE).write_bytes((folder / CARD_FILE).read_bytes())
    with pytest.raises(UserError, match=r"model\.skops: not found"):
        run_gate(copy, lenient(), None, FAST_MODEL)
