"""Synthetic tables for any schema: valid records with a learnable label, from a seed.

This module is *machinery*: it knows nothing about the example's columns. Given a
:class:`~churn_model.table.Schema` it draws every column within its declared rules
(numbers within their bounds, every category, booleans, missing values in nullable columns, a unique
id when the schema has one) and a label that depends on the features, so a model trained on it
reaches a non-trivial ROC AUC (about 0.8 to 0.9). Tests, serving's probe rows, the load test and the
benchmarks use it; a domain may use it to generate a sample of its own.
"""

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.domain.schema import SCHEMA
from churn_model.table import Column, Schema

MISSING_SHARE = 0.15
"""Share of missing values drawn in each nullable column."""

SIGNAL_SD = 2.2
"""Standard deviation of the label's log-odds across rows: how learnable the label is."""

MISSING_EFFECT = 1.0
"""Log-odds added when a value is missing (a missing value is itself informative, as in life)."""

_DEFAULT_SPAN = 100.0
_NO_SPREAD = 1e-9


def _bounds(column: Column) -> tuple[float, float]:
    """The interval values of ``column`` are drawn from (a default span where a bound is open)."""
    low = column.ge if column.ge is not None else column.gt
    high = column.le
    if low is None:
        low = (_DEFAULT_SPAN if high is None else high) - _DEFAULT_SPAN
    return low, low + _DEFAULT_SPAN if high is None else high


def _numbers(column: Column, rows: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Draw ``rows`` values within the column's bounds (whole numbers for an ``int`` column)."""
    low, high = _bounds(column)
    if column.kind == "int":
        first = math.floor(low) + 1 if column.gt is not None else math.ceil(low)
        return rng.integers(first, math.floor(high) + 1, size=rows).astype(np.float64)
    # 1 - random() lies in (0, 1]: never the lower bound (which may be exclusive), maybe the upper.
    return low + (1.0 - rng.random(rows)) * (high - low)


def _codes(count: int, rows: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Category codes in ``[0, count)``, every one present when there are enough rows."""
    codes = np.arange(rows, dtype=np.int64) % count
    return rng.permutation(codes)


def _categories(
    column: Column, missing: npt.NDArray[np.bool_], rng: np.random.Generator
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """A category column's values (``None`` where ``missing``) and their effect on the label."""
    # Drawn for the present rows: a missing value never takes a category's only row.
    codes = np.zeros(len(missing), dtype=np.int64)
    codes[~missing] = _codes(len(column.categories), int((~missing).sum()), rng)
    effects = rng.normal(0.0, 1.0, size=len(column.categories))
    # A scale's levels push the label one way, step by step, each step at least half a standard
    # deviation (sorted draws alone can sit as close as noise).
    if column.ordered:
        effects = np.sort(effects) + 0.5 * np.arange(len(effects))
    values = np.asarray(column.categories, dtype=object)[codes]
    values[missing] = None
    return values, np.where(missing, 0.0, effects[codes])


def _standardised(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Centre and scale ``values`` (NaN becomes 0: missingness gets its own effect)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.zeros_like(values)
    spread = float(present.std()) or 1.0
    return np.nan_to_num((values - float(present.mean())) / spread, nan=0.0)


def _bias_for(logit: npt.NDArray[np.float64], rate: float) -> float:
    """The constant that makes the mean probability ``rate`` (bisection: it is monotone)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        middle = (low + high) / 2
        if float(np.mean(1.0 / (1.0 + np.exp(-(logit + middle))))) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _within_rate(
    margin: npt.NDArray[np.float64], rate: tuple[float, float]
) -> npt.NDArray[np.bool_]:
    """Positive where ``margin`` (the draw less the probability) is negative, kept within ``rate``.

    A draw's share of positives strays from the middle of the range; on a narrow range or few
    rows it can leave it, and validation would refuse the frame. Then the count is moved to the
    nearest one inside (the middle's, when no count of these rows is), and the rows the model
    makes likeliest are the positive ones.
    """
    rows = len(margin)
    positive = margin < 0
    if rows == 0:
        return positive
    low, high = rate
    # The counts whose share validation accepts (its test, exactly: low <= count / rows <= high).
    least = max(0, math.ceil(low * rows) - 1)
    while least / rows < low:
        least += 1
    most = min(rows, math.floor(high * rows) + 1)
    while most / rows > high:
        most -= 1
    count = int(positive.sum())
    wanted = round((low + high) / 2 * rows) if least > most else min(max(count, least), most)
    if wanted == count:
        return positive
    chosen = np.zeros(rows, dtype=bool)
    chosen[np.argsort(margin, kind="stable")[:wanted]] = True
    return chosen


def synthetic_frame(
    rows: int, seed: int = 0, *, schema: Schema = SCHEMA, label: bool = True
) -> pd.DataFrame:
    """Draw ``rows`` valid rows of ``schema``, deterministically from ``seed``.

    Columns come in schema order (id, features, label). Numbers are uniform within their bounds,
    categories evenly spread (each appears once there are as many present values as categories;
    the levels of an ordered one have effects on the label in their order), about
    :data:`MISSING_SHARE` of each nullable column is missing (at least one value, from two rows
    on). The label is drawn from a logistic model of the features with random weights, so it is
    learnable, and its positive rate sits in the middle of the schema's ``positive_rate`` range,
    its share of positives always within it (the frame passes the rule validation applies).

    Args:
        rows: How many rows to draw.
        seed: The seed; the same seed and schema give the same frame.
        schema: The schema to follow (the project's by default).
        label: Whether to draw the label column (``False`` for scoring input).
    """
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    logit = np.zeros(rows)
    for column in schema.features:
        missing = np.zeros(rows, dtype=bool)
        if column.nullable:
            missing = rng.random(rows) < MISSING_SHARE
            if rows >= 2:
                missing[rng.integers(rows)] = True
        if column.kind in {"int", "float"}:
            numbers = _numbers(column, rows, rng)
            numbers[missing] = np.nan
            signal = _standardised(numbers)
            if column.kind == "int" and not column.nullable:
                data[column.name] = numbers.astype(np.int64)
            else:
                data[column.name] = numbers
        elif column.kind == "bool":
            flags = rng.random(rows) < 0.4
            signal = _standardised(flags.astype(np.float64))
            if column.nullable:
                values = flags.astype(object)
                values[missing] = None
                data[column.name] = values
            else:
                data[column.name] = flags
        else:
            data[column.name], signal = _categories(column, missing, rng)
        logit += rng.normal(0.0, 1.0) * signal + MISSING_EFFECT * missing
    frame = pd.DataFrame(data)
    if schema.id is not None:
        ids = "r" + pd.Series(np.arange(rows)).astype("str").str.zfill(7)
        frame.insert(0, schema.id.name, ids.to_numpy(dtype=object))
    if label:
        # Features that never vary give a constant up to rounding: no signal, not a huge one.
        spread = float(logit.std())
        logit = logit * (SIGNAL_SD / spread) if spread > _NO_SPREAD else np.zeros(rows)
        logit += _bias_for(logit, sum(schema.positive_rate) / 2)
        probability = 1.0 / (1.0 + np.exp(-logit))
        positive = _within_rate(rng.random(rows) - probability, schema.positive_rate)
        values = np.where(positive, schema.label.positive, schema.label.negative)
        kinds = {"int": np.int64, "bool": bool, "str": object}
        frame[schema.label.name] = values.astype(kinds[schema.label.kind])
    return frame
