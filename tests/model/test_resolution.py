"""The counting behind every figure and its resolution: sklearn's metrics, seeded, by rows."""

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from churn_model.model import resolution
from churn_model.model.evaluation import classification_metrics
from churn_model.model.resolution import QUALITY, group_resolution, resampled_metrics


def scored(rows: int, seed: int = 1) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``rows`` labels (30 % positive) and scores that separate them imperfectly, with ties."""
    rng = np.random.default_rng(seed)
    y_true = (rng.random(rows) < 0.3).astype(np.int64)
    scores = np.clip(rng.normal(0.3 + 0.3 * y_true, 0.2), 0.0, 1.0)
    return y_true, np.round(scores, 2)  # rounded: many ties, which ROC AUC counts half


def test_each_resample_is_scored_as_sklearn_scores_it() -> None:
    y_true, y_score = scored(600)
    weights = resolution._weights(len(y_true), "group")
    found = resampled_metrics(y_true, y_score, 0.35, weights)
    sklearn = {
        "accuracy": accuracy_score,
        "precision": precision_score,
        "recall": recall_score,
        "f1": f1_score,
    }
    for draw in range(5):
        rows = np.repeat(np.arange(len(y_true)), weights[:, draw].astype(np.int64))
        truth, score = y_true[rows], y_score[rows]
        predicted = (score >= 0.35).astype(np.int64)
        for name, metric in sklearn.items():
            assert found[name][draw] == pytest.approx(metric(truth, predicted), abs=1e-12)
        assert found["roc_auc"][draw] == pytest.approx(roc_auc_score(truth, score), abs=1e-12)


def test_it_is_seeded_by_the_group_name_alone() -> None:
    y_true, y_score = scored(400)
    masks = {"a": np.arange(400) < 200, "b": np.arange(400) >= 200}
    first = resolution.resolution(y_true, y_score, 0.35, masks)
    assert resolution.resolution(y_true, y_score, 0.35, masks) == first
    alone = resolution.resolution(y_true, y_score, 0.35, {"b": masks["b"]})
    assert {k: v for k, v in first.items() if k.startswith("slices.b.")} == {
        k: v for k, v in alone.items() if k.startswith("slices.b.")
    }
    assert set(first) == {
        f"{group}.{m}" for group in ("overall", "slices.a", "slices.b") for m in QUALITY
    }


def test_it_halves_with_four_times_the_rows() -> None:
    small = group_resolution(*scored(500), 0.35, "g")
    large = group_resolution(*scored(2_000), 0.35, "g")
    for metric in QUALITY:
        wide, narrow = small[metric], large[metric]
        assert wide is not None
        assert narrow is not None
        assert 1.6 < wide / narrow < 2.5, metric


def test_what_the_rows_cannot_measure_has_no_resolution() -> None:
    assert group_resolution(np.zeros(0, np.int64), np.zeros(0), 0.5, "g") == dict.fromkeys(QUALITY)
    negatives = group_resolution(np.zeros(50, np.int64), np.linspace(0, 1, 50), 0.5, "g")
    assert negatives["recall"] is None
    assert negatives["roc_auc"] is None
    assert negatives["accuracy"] is not None
    # One positive, always found: every resample holding it says 1, which measures no noise.
    one = np.zeros(200, np.int64)
    one[0] = 1
    lonely = group_resolution(one, np.linspace(1, 0, 200), 0.5, "g")
    assert lonely["recall"] is None
    assert lonely["roc_auc"] is None
    assert lonely["accuracy"] is not None


@settings(max_examples=60, deadline=None, database=None)
@given(
    labels=st.lists(st.booleans(), min_size=1, max_size=40),
    levels=st.integers(1, 6),
    threshold=st.sampled_from([0.0, 0.35, 0.5, 1.0]),
    data=st.data(),
)
def test_the_figures_themselves_are_sklearns(
    labels: list[bool], levels: int, threshold: float, data: st.DataObject
) -> None:
    # Few score levels: ties everywhere, as a model scoring a small slice gives.
    steps = data.draw(st.lists(st.integers(0, levels), min_size=len(labels), max_size=len(labels)))
    y_true = np.array(labels, dtype=np.int64)
    y_score = np.array(steps, dtype=np.float64) / levels
    found = classification_metrics(y_true, y_score, threshold)
    predicted = (y_score >= threshold).astype(np.int64)
    expected = {
        "accuracy": accuracy_score(y_true, predicted),
        "precision": precision_score(y_true, predicted) if predicted.any() else None,
        "recall": recall_score(y_true, predicted) if y_true.any() else None,
        "f1": f1_score(y_true, predicted) if (y_true.any() or predicted.any()) else None,
        "roc_auc": roc_auc_score(y_true, y_score) if 0 < y_true.sum() < len(y_true) else None,
    }
    for name, value in expected.items():
        assert getattr(found, name) == (None if value is None else pytest.approx(value, abs=1e-12))
    assert (found.rows, found.positives) == (len(labels), int(y_true.sum()))
