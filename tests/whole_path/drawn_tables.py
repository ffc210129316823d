"""A drawn table: a whole schema, and the synthetic rows of it that the machinery is run on.

The rows come from :func:`churn_model.data.synthetic.synthetic_frame` (given the
schema explicitly, so this module works in any process, whatever its domain), then the columns
named in ``sparse`` lose their value in most rows. :meth:`DrawnTable.source` is the schema as the
Python source of a ``schema.py``, which :mod:`fresh_domain` installs as a child process's domain.

Slices that depend on the rows (a slice holding at most a few rows) are built from the frame with
:func:`rare_slice`, their thresholds as a file writes numbers (:func:`as_written`), so they hold
what they claim once the rows went through a file.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import FLOAT_FORMAT
from churn_model.table import Schema, Slice

from fresh_domain import schema_source

SPARSE_SHARE = 0.85
"""Share of rows in which a ``sparse`` column is missing (besides the synthetic missing values)."""


@dataclass(frozen=True)
class DrawnTable:
    """A schema and how to draw its rows.

    Attributes:
        schema: The whole schema (features, label, id, slices, dataset rules).
        rows: How many rows the training table has.
        seed: The seed of the synthetic rows.
        sparse: Nullable columns missing in most rows (:data:`SPARSE_SHARE`).
    """

    schema: Schema
    rows: int
    seed: int
    sparse: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The training table: id (if any), features and label, deterministic."""
        return table_frame(self.schema, self.rows, self.seed, self.sparse)

    def source(self) -> str:
        """The schema as the source of a ``schema.py`` (:func:`fresh_domain.schema_source`)."""
        return schema_source(self.schema)


def table_frame(schema: Schema, rows: int, seed: int, sparse: tuple[str, ...] = ()) -> pd.DataFrame:
    """Synthetic rows of ``schema``; each column in ``sparse`` blanked in most of them."""
    frame = synthetic_frame(rows, seed, schema=schema)
    rng = np.random.default_rng(seed + 1)
    for name in sparse:
        column = schema.feature(name)
        assert column.nullable, f"{name!r} cannot be missing: it is not nullable"
        numeric = column.kind in {"int", "float"}  # a nullable whole number is a float with NaN
        values = frame[name].to_numpy(dtype=np.float64 if numeric else object, copy=True)
        values[rng.random(rows) < SPARSE_SHARE] = np.nan if numeric else None
        frame[name] = values
    return frame


def as_written(value: float) -> float:
    """``value`` as a CSV file holds it (15 digits, as ``tables.write_csv`` writes it)."""
    return float(FLOAT_FORMAT % value)


def rare_slice(frame: pd.DataFrame, name: str, column: str, most: int) -> Slice:
    """A slice on the numeric ``column`` holding between 0 and ``most`` rows of ``frame``.

    ``ge v`` for the smallest value ``v`` present with at most ``most`` rows at or above it; with
    ``most`` 0, or when even the largest value is in more rows, ``gt`` the largest value, which no
    row passes. Thresholds are values as written (rounding keeps the order of the values).
    """
    values = frame[column].dropna().astype(float)
    chosen: float | None = None
    for value in sorted(values.unique(), reverse=True):
        if int((values >= value).sum()) > most:
            break
        chosen = as_written(value)
    if chosen is None:
        return Slice(name, column, "gt", as_written(values.max()) if len(values) else 0.0)
    return Slice(name, column, "ge", chosen)
