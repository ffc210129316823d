"""The resolution of the held-out figures: the smallest change they can tell from noise.

A figure measured on a few hundred held-out rows would come out differently on another draw of
that many rows from the same population, by an amount fixed by the rows, not by the model. A gate
threshold closer to the figure than that amount judges which rows the split drew. This module
measures the amount for every quality metric, overall and per slice, by a seeded bootstrap of the
held-out rows: :data:`RESAMPLES` resamples of the rows with replacement (within each slice for a
slice), the metric recomputed on each from the model's own scores, and the resolution is
:data:`Z` times the standard deviation over the resamples, the half-width of a 95 % interval.

Why a bootstrap of the candidate's own scores: it needs nothing but the held-out scores the gate
re-derives anyway (no calibration file, no baseline model), works for any table and any slice,
takes tens of milliseconds, and is deterministic (the seed of each group is derived from its name),
so training's report and the gate state the same figure, and anyone re-scoring the model gets it
again. It measures the noise of the held-out sample only; retraining under another seed adds its
own spread on top (``just calibrate`` measures that one).

The resamples are drawn as counts per row (how often each row was drawn), so every metric is a
weighted count: one matrix product per metric, and ROC AUC from cumulative weights over the sorted
scores (ties count half, as :func:`sklearn.metrics.roc_auc_score` counts them).
"""

import zlib
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

RESAMPLES = 400
"""Bootstrap resamples per group (overall, each slice): the resolution's own noise is about 4 %."""

Z = 1.96
"""Standard normal quantile of a two-sided 95 % interval."""

SEED = 20_261_204
"""Base seed of every bootstrap; each group's stream adds the CRC-32 of its name."""

MEASURED_SHARE = 0.5
"""A metric the rows leave undefined in more than this share of resamples has no resolution (nor
does one that never varies over them)."""

CHANCE_ROC_AUC = 0.5
"""The ROC AUC of a model that ranks rows at random, or scores every row alike: what a floor, a
drop or a figure's noise is measured against for that metric (the other quality metrics' is 0)."""

QUALITY = ("accuracy", "precision", "recall", "f1", "roc_auc")
"""The metrics given a resolution, as
:class:`~churn_model.model.evaluation.ClassificationMetrics` names them."""

Floats = npt.NDArray[np.float64]


def _weights(rows: int, name: str) -> Floats:
    """``RESAMPLES`` bootstrap resamples of ``rows`` rows, as a count per row (rows x resamples).

    Rows run down the matrix, so the running sums along the sorted scores (:func:`_auc`) add whole
    contiguous rows of counts, one resample per column.
    """
    rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
    cells = rng.integers(0, rows, size=(RESAMPLES, rows))
    cells *= RESAMPLES
    cells += np.arange(RESAMPLES)[:, None]
    counts = np.bincount(cells.ravel(), minlength=rows * RESAMPLES)
    return counts.reshape(rows, RESAMPLES).astype(np.float64)


def _ratio(numerator: Floats, denominator: Floats) -> Floats:
    """``numerator / denominator``, NaN where the denominator is 0 (the metric is undefined)."""
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _running_sum(matrix: Floats) -> Floats:
    """The running sum down the rows of ``matrix``, as ``np.cumsum(matrix, axis=0)`` gives it.

    Row by row: numpy's ``cumsum`` walks a C-ordered matrix column by column down the rows, a
    strided read three times slower than adding each contiguous row to the sum so far.
    """
    out = np.empty_like(matrix)
    if len(matrix):
        out[0] = matrix[0]
    for row in range(1, len(matrix)):
        np.add(out[row - 1], matrix[row], out=out[row])
    return out


def _auc(weights: Floats, y_true: npt.NDArray[np.bool_], y_score: Floats) -> Floats:
    """ROC AUC of each weighted resample: the chance a positive outscores a negative, ties half."""
    order = np.argsort(y_score, kind="stable")
    scores, positive = y_score[order], y_true[order]
    w = weights[order]
    negatives_so_far = _running_sum(np.where(positive[:, None], 0.0, w))
    # Each positive wins over the negatives scored below it and half of those tied with it.
    rows = np.flatnonzero(positive)
    first = np.searchsorted(scores, scores[rows], side="left")
    last = np.searchsorted(scores, scores[rows], side="right") - 1
    below = np.where((first > 0)[:, None], negatives_so_far[first - 1], 0.0)
    tied = negatives_so_far[last] - below
    wins = np.einsum("ir,ir->r", w[rows], below + 0.5 * tied)
    pairs = (positive.astype(np.float64) @ w) * ((~positive).astype(np.float64) @ w)
    return _ratio(wins, pairs)


def resampled_metrics(
    y_true: npt.NDArray[np.int64], y_score: Floats, threshold: float, weights: Floats
) -> dict[str, Floats]:
    """Every metric of :data:`QUALITY` on each resample ``weights`` describes (NaN: undefined).

    ``weights`` holds one row per held-out row and one count per resample; the labels are
    predicted positive where ``y_score >= threshold``, as the evaluation predicts them.
    """
    positive = y_true.astype(bool)
    flagged = y_score >= threshold
    tp = (positive & flagged).astype(np.float64) @ weights
    fp = (~positive & flagged).astype(np.float64) @ weights
    fn = (positive & ~flagged).astype(np.float64) @ weights
    total = weights.sum(axis=0)
    return {
        "accuracy": _ratio(total - fp - fn, total),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": _auc(weights, positive, y_score),
    }


def _spread(values: Floats) -> float | None:
    """:data:`Z` standard deviations of the defined values, or ``None`` when they cannot say.

    Too few defined values say nothing; nor do values that never vary (a figure at 0 or 1 on a
    handful of positives resamples to itself, though another draw of rows would move it).
    """
    defined = values[~np.isnan(values)]
    if len(defined) < max(2, MEASURED_SHARE * len(values)):
        return None
    spread = float(np.std(defined, ddof=1))
    return round(Z * spread, 6) if spread > 0 else None


def group_resolution(
    y_true: npt.NDArray[np.int64], y_score: Floats, threshold: float, name: str
) -> dict[str, float | None]:
    """The resolution of each metric of :data:`QUALITY` on these rows (``None``: unmeasurable).

    ``name`` seeds the bootstrap, so a group's figure does not depend on the other groups.
    """
    if len(y_true) == 0:
        return dict.fromkeys(QUALITY)
    weights = _weights(len(y_true), name)
    found = resampled_metrics(y_true, y_score, threshold, weights)
    return {metric: _spread(found[metric]) for metric in QUALITY}


def resolution(
    y_true: npt.NDArray[np.int64],
    y_score: Floats,
    threshold: float,
    slice_masks: Mapping[str, npt.NDArray[np.bool_]],
) -> dict[str, float | None]:
    """The resolution of every quality metric, overall and per slice, under its flattened name.

    Names are those of :func:`churn_model.model.evaluation.flatten`
    (``overall.recall``, ``slices.<slice>.roc_auc``); a slice is resampled within its own
    held-out rows.
    """
    groups = {"overall": np.ones(len(y_true), dtype=bool)}
    groups |= {f"slices.{name}": np.asarray(mask, dtype=bool) for name, mask in slice_masks.items()}
    found: dict[str, float | None] = {}
    for group, mask in groups.items():
        for metric, value in group_resolution(
            y_true[mask], y_score[mask], threshold, group
        ).items():
            found[f"{group}.{metric}"] = value
    return found
