"""Features that alone tell the label apart: what ``infer-schema`` asks the reviewer about.

A column that restates the label (``alive`` beside ``survived``), or that is known only after the
outcome (a closing date, a cancellation reason), trains a model that scores perfectly and then
fails on the rows it is meant for. Nothing downstream can tell it from a good feature, so the
draft asks. A column is asked about when, on the labelled rows:

- whether it is missing is the label (missing with one label value, present with the other);
- a boolean or category column takes at least two values and each goes with one label value;
- a number column separates the labels alone: a single-column ROC AUC (either way round) of at
  least :data:`SEPARATES`, over the rows where it has a value.

So that chance is never called a leak, the rows judged must hold :data:`MIN_EACH` rows of each
label value; for a category, in values seen at least :data:`MIN_VALUE_ROWS` times (a value seen
once always goes with one label value). Each column is read once.
"""

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score

from churn_model.data.parsing import BOOL_TOKENS
from churn_model.table import Column, Label

SEPARATES = 0.99
"""A number column whose single-column ROC AUC (or 1 minus it) reaches this separates the labels."""

MIN_EACH = 10
"""The fewest rows of each label value the judged rows must hold (fewer: never called a leak)."""

MIN_VALUE_ROWS = 5
"""A category's value counts towards :data:`MIN_EACH` only when seen at least this many times."""

QUESTION = (
    "Is it the label restated, or known only after the outcome? Leave it out unless it is known "
    "when you predict, by deleting its Column line (no slice is drafted on it)"
)
"""What the reviewer is asked about a possible leak."""


def label_leaks(
    frame: pd.DataFrame,
    features: tuple[Column, ...],
    positives: npt.NDArray[np.bool_],
    label: Label,
) -> dict[str, str]:
    """Each feature that alone tells the label apart on ``frame``'s rows, and the remark on it.

    Args:
        frame: The labelled rows, as text (a blank field is missing).
        features: The drafted feature columns.
        positives: Whether each row of ``frame`` is labelled ``label.positive``.
        label: The label (its values name the classes in the remarks).

    Returns:
        The remark on each possible leak, by column name: how it tells the label apart, and
        what to do about it.
    """
    found = {}
    for column in features:
        how = _how(column, frame[column.name], positives, label)
        if how is not None:
            found[column.name] = (
                f"possible leak: it alone tells the label apart on the labelled rows ({how}). "
                + QUESTION
            )
    return found


def _enough(positives: npt.NDArray[np.bool_]) -> bool:
    """Whether ``positives`` holds :data:`MIN_EACH` of each label value."""
    hits = int(positives.sum())
    return min(hits, len(positives) - hits) >= MIN_EACH


def _how(
    column: Column, values: pd.Series, positives: npt.NDArray[np.bool_], label: Label
) -> str | None:
    """How ``column`` tells the label apart, in words, or ``None`` if it does not alone."""
    text = values.astype(str).str.strip().where(values.notna())
    present = np.asarray(text.notna() & (text != ""), dtype=bool)
    if _enough(positives) and (
        np.array_equal(present, positives) or np.array_equal(present, ~positives)
    ):
        missing_with = label.negative if present[positives].all() else label.positive
        present_with = label.positive if missing_with == label.negative else label.negative
        return (
            f"it is missing in every {missing_with!r} row and present in every {present_with!r} row"
        )
    judged, given = text[present], positives[present]
    if column.kind in ("int", "float"):
        return _separated(np.asarray(judged.astype("float64"), dtype=np.float64), given, label)
    keys = judged.str.lower().map(BOOL_TOKENS) if column.kind == "bool" else judged
    return _one_label_each(keys, given, label)


def _separated(
    numbers: npt.NDArray[np.float64], positives: npt.NDArray[np.bool_], label: Label
) -> str | None:
    """Whether the numbers alone rank the labels apart (see :data:`SEPARATES`), in words."""
    if not _enough(positives):
        return None
    auc = float(roc_auc_score(positives, numbers))
    if max(auc, 1 - auc) < SEPARATES:
        return None
    higher = label.positive if auc >= 0.5 else label.negative
    return (
        f"a single-column ROC AUC of {max(auc, 1 - auc):.3f} over its {len(numbers):,} labelled "
        f"rows with a value; higher values go with {higher!r}"
    )


def _one_label_each(keys: pd.Series, positives: npt.NDArray[np.bool_], label: Label) -> str | None:
    """Whether each of two or more values goes with one label value (on enough rows), in words."""
    counts = pd.Series(positives).groupby(keys.to_numpy()).agg(["sum", "count"])
    hits, rows = counts["sum"], counts["count"]
    if len(rows) < 2 or not ((hits == 0) | (hits == rows)).all():
        return None
    often = rows >= MIN_VALUE_ROWS
    if min(int(hits[often].sum()), int((rows - hits)[often].sum())) < MIN_EACH:
        return None
    if len(rows) > 4:
        return f"each of its {len(rows):,} values goes with one label value"
    pairs = ", ".join(
        f"{key!r} with {(label.positive if hit else label.negative)!r}"
        for key, hit in (hits > 0).items()
    )
    return f"each value goes with one label value: {pairs}"
