"""A slice with no held-out rows, or one class, is measured as far as it can be, never a crash.

A slice of a real table can be tiny (11 rows with a missing value): some splits hold none of its
rows, others only negatives. Evaluation then reports its counts and ``None`` for what the rows
cannot measure, and everything that reads metrics (the report, the card, ``metrics.json``, the
tracker's flattening, the re-derivation check, the gate) takes that in its stride. The gate skips
a slice's floors, visibly, when its held-out rows are under the minimum of ``ci/gates.toml``
``[slices]``.
"""

from pathlib import Path

import numpy as np
import pytest

from churn_model.config import GateConfig, SliceMinimum, load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.errors import UserError
from churn_model.model import evaluation
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, save_model
from churn_model.model.card import read_card
from churn_model.model.evaluation import Metrics, classification_metrics
from churn_model.model.report import render_markdown as render_report
from churn_model.model.training import split_table, train
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import render_markdown, render_table
from churn_model.release.gate_rows import threshold_rows
from churn_model.release.remeasure import disagreements

# >>> tracking
from churn_model.release.tracking import flat_numbers

# <<< tracking
from churn_model.release.verdict import (
    require_promotable,
    require_rows_still_pass,
)

from model_support import RowSlices, fast_config, lenient_gates, small_candidate
from verdicts import verdict_for

MINIMUM = SliceMinimum()


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Metrics:
    """A model's metrics with three more slices: no held-out row, negatives only, positives only."""
    folder = tmp_path_factory.mktemp("small-slices")
    config = load_model_config(fast_config(folder / "model.toml"))
    frame = synthetic_frame(1_200, seed=4)
    trained = train(frame, config)
    held_out = set(trained.x_test.index)
    y_test = trained.y_test
    slices = RowSlices(
        empty=[label for label in frame.index if label not in held_out][:11],
        negatives=y_test.index[y_test == 0][:3].tolist(),
        positives=y_test.index[y_test == 1][:3].tolist(),
    )
    save_model(trained.pipeline, folder / MODEL_FILE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "SCHEMA", slices)
        found = evaluation.evaluate(
            trained.pipeline,
            trained.x_test,
            y_test,
            config.decision.threshold,
            folder / MODEL_FILE,
            timing=config.timing,
        )
    return found.metrics


def test_an_empty_slice_has_its_counts_and_nothing_else(metrics: Metrics) -> None:
    empty = metrics.slices["empty"]
    assert (empty.rows, empty.positives) == (0, 0)
    assert empty.accuracy is empty.precision is empty.recall is empty.f1 is empty.roc_auc is None


def test_a_single_class_slice_measures_what_its_class_allows(metrics: Metrics) -> None:
    negatives = metrics.slices["negatives"]
    assert (negatives.rows, negatives.positives) == (3, 0)
    assert negatives.recall is None
    assert negatives.roc_auc is None
    assert negatives.accuracy is not None
    positives = metrics.slices["positives"]
    assert (positives.rows, positives.positives) == (3, 3)
    assert positives.recall is not None
    assert positives.roc_auc is None


@pytest.mark.parametrize(
    ("truth", "scores", "expected"),
    [
        # No row: nothing is measurable.
        ([], [], {"accuracy": None, "precision": None, "recall": None, "f1": None}),
        # Negatives only, none flagged: recall, precision and F1 are 0/0.
        ([0, 0], [0.1, 0.2], {"accuracy": 1.0, "precision": None, "recall": None, "f1": None}),
        # Negatives only, one flagged: precision and F1 are 0 (a false positive), recall 0/0.
        ([0, 0], [0.9, 0.2], {"accuracy": 0.5, "precision": 0.0, "recall": None, "f1": 0.0}),
        # Positives only, none flagged: recall 0, precision 0/0, F1 0 (a miss).
        ([1, 1], [0.1, 0.2], {"accuracy": 0.0, "precision": None, "recall": 0.0, "f1": 0.0}),
    ],
)
def test_what_is_zero_over_zero_is_none(
    truth: list[int], scores: list[float], expected: dict[str, float | None]
) -> None:
    found = classification_metrics(
        np.asarray(truth, dtype=np.int64), np.asarray(scores, dtype=np.float64), 0.5
    )
    assert found.roc_auc is None
    assert {name: getattr(found, name) for name in expected} == expected


def test_the_report_card_and_metrics_file_carry_an_empty_slice(metrics: Metrics) -> None:
    report = render_report("m", metrics, {})
    assert "| empty | 0 | 0 | n/a | n/a | n/a | n/a | n/a |" in report
    again = Metrics.model_validate_json(metrics.model_dump_json())
    assert again == metrics
    assert again.slices["empty"].recall is None


def test_a_schema_without_slices_gets_a_sentence_not_an_empty_table(metrics: Metrics) -> None:
    report = render_report("m", metrics.model_copy(update={"slices": {}}), {})
    slices = report.split("## Slices\n", 1)[1].split("\n## ", 1)[0]
    assert "The schema declares no slice: add `Slice(...)` entries" in slices
    assert "| slice |" not in slices


# >>> tracking
def test_mlflow_gets_the_counts_and_no_undefined_figure(metrics: Metrics) -> None:
    flat = flat_numbers(metrics.model_dump())
    assert flat["slices.empty.rows"] == 0.0
    assert "slices.empty.recall" not in flat
    assert "slices.negatives.roc_auc" not in flat
    assert all(np.isfinite(value) for value in flat.values())


# <<< tracking
def test_the_rederivation_check_compares_undefined_figures(metrics: Metrics) -> None:
    assert disagreements(metrics, metrics) == []
    empty = metrics.slices["empty"].model_copy(update={"recall": 0.0})
    claimed = metrics.model_copy(update={"slices": {**metrics.slices, "empty": empty}})
    assert disagreements(claimed, metrics) == ["slices.empty.recall: claimed 0.0, measured None"]


def _gates(minimum: SliceMinimum = MINIMUM) -> GateConfig:
    floors = {name: {"recall": 0.0, "roc_auc": 0.5} for name in ("empty", "negatives")}
    return lenient_gates().model_copy(update={"slice_floors": floors, "slices": minimum})


def test_the_gate_skips_the_floors_of_a_slice_under_the_minimum_and_says_why(
    metrics: Metrics,
) -> None:
    rows = [r for r in threshold_rows(metrics, _gates(), None) if r.check == "slice floor"]
    assert [row.status for row in rows] == ["skip"] * 4
    assert rows[0].limit == 0.0  # the floor stays on the row: what was not judged, and why
    minimum = f"under the minimum of {MINIMUM.min_rows} rows and {MINIMUM.min_positives} positives"
    assert rows[0].note == f"0 held-out rows, 0 positives: {minimum}"
    assert rows[2].note == f"3 held-out rows, 0 positives: {minimum}"


def test_over_the_minimum_an_unmeasurable_figure_still_fails(metrics: Metrics) -> None:
    loose = SliceMinimum(min_rows=1, min_positives=1)
    config = _gates(loose).model_copy(update={"slice_floors": {"positives": {"roc_auc": 0.5}}})
    row = next(r for r in threshold_rows(metrics, config, None) if r.check == "slice floor")
    assert (row.status, row.note) == ("fail", "not measurable on these rows")


def test_skipped_slices_are_shown_and_promotion_recomputes_them(metrics: Metrics) -> None:
    config = _gates()
    verdict = verdict_for(metrics, config)
    assert verdict.passed
    summary = render_markdown(verdict)
    row = "| slice floor | slices.empty.recall | - | - | - | >= 0.0000 | SKIP | 0 held-out rows,"
    assert row in summary
    assert "Not judged: the floors of empty, negatives" in summary
    assert "Not judged: the floors of empty, negatives" in str(render_table(verdict).caption)
    require_rows_still_pass(verdict, config, None)  # the same rows from the same figures: accepted
    stricter = config.model_copy(update={"slices": SliceMinimum(min_rows=1, min_positives=1)})
    with pytest.raises(UserError, match="the gate config changed since"):
        require_rows_still_pass(verdict, stricter, None)
    passed = [
        row.model_copy(update={"status": "pass"}) if row.status == "skip" else row
        for row in verdict.rows
    ]
    edited = verdict.model_copy(update={"rows": passed})
    with pytest.raises(UserError, match="is not what"):
        require_rows_still_pass(edited, config, None)


def test_a_candidate_with_an_empty_slice_is_written_gated_and_promotable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_model_config(fast_config(tmp_path / "model.toml"))
    _, x_test, _, _ = split_table(
        synthetic_frame(1_200, seed=4), config.split.test_size, config.seed
    )
    trained_on = [label for label in range(1_200) if label not in set(x_test.index)][:11]
    monkeypatch.setattr(evaluation, "SCHEMA", RowSlices(tiny=trained_on))
    folder = small_candidate(tmp_path, rows=1_200, seed=4)
    card = read_card(folder / CARD_FILE)
    assert (card.metrics.slices["tiny"].rows, card.metrics.slices["tiny"].recall) == (0, None)
    assert "| tiny | 0 | 0 | n/a |" in (folder / "report.md").read_text()
    gates = lenient_gates().model_copy(update={"slice_floors": {"tiny": {"recall": 0.5}}})
    verdict = run_gate(folder, gates, None, config)  # re-derives the figures: None equals None
    (row,) = [row for row in verdict.rows if row.check == "slice floor"]
    assert row.status == "skip"
    assert verdict.passed
    require_promotable(folder, verdict, gates, None)  # what promotion asks
