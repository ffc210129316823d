"""Scoring the records of a request: the HTTP service's side of the compiled model.

A request's records arrive validated (:mod:`churn_model.serving.contract`), one
attribute per column. :func:`score_records` scores them through the compiled fast path
(:mod:`churn_model.serving.fast_path`) when the model has one, and through the pipeline
otherwise, with the same probabilities: the model's loader
(:func:`~churn_model.serving.served_model.load_compiled_model`) keeps a
compiled path only when it reproduced the pipeline's probabilities exactly
on the probe rows at load time.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel

from churn_model.domain.schema import SCHEMA
from churn_model.serving.contract import record_fields
from churn_model.serving.served_model import CompiledModel, score_frame
from churn_model.table import Column


def _dtype(column: Column) -> type[np.generic] | None:
    """The dtype a validated training frame gives ``column`` (``None``: strings, as they are)."""
    if column.kind == "category":
        return None
    if column.nullable or column.kind == "float":
        return np.float64  # a missing whole number or boolean is NaN, as in validation
    return np.int64 if column.kind == "int" else np.bool_


def records_frame(records: Sequence[BaseModel]) -> pd.DataFrame:
    """Build the pipeline's input frame from validated records, column by column.

    Columns get the dtypes the validated training frame has (int64, float64 with NaN for
    missing, bool, strings), built straight from arrays: cheaper than
    ``pd.DataFrame(list_of_dicts)``, which infers every dtype again.
    """
    columns: dict[str, object] = {}
    attributes = record_fields(SCHEMA)
    for column in SCHEMA.features:
        attribute = attributes[column.name]
        values = [getattr(record, attribute) for record in records]
        dtype = _dtype(column)
        columns[column.name] = values if dtype is None else np.array(values, dtype=dtype)
    return pd.DataFrame(columns)


def record_columns(records: Sequence[BaseModel]) -> dict[str, npt.NDArray[np.generic]]:
    """The feature columns of validated records as arrays, as the compiled path takes them.

    Numbers and booleans become float64 (``None`` becomes NaN), categories stay Python strings.
    """
    attributes = record_fields(SCHEMA)
    return {
        column.name: np.array(
            [getattr(record, attributes[column.name]) for record in records],
            dtype=object if column.kind == "category" else np.float64,
        )
        for column in SCHEMA.features
    }


def score_records(
    model: CompiledModel, records: Sequence[BaseModel]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Like :func:`score_frame` on the records' frame, through the compiled path when there is one.

    This is the service's path: on one record the compiled path costs ~1.2 ms against ~5.5 ms
    for building a frame and calling the pipeline, with the same probabilities.
    """
    if model.compiled is None:
        return score_frame(model, records_frame(records))
    probability = model.compiled.positive_probability(record_columns(records))
    return probability, (probability >= model.card.threshold).astype(np.int64)
