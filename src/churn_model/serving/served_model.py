"""Scoring a packaged model: what the service and ``churn-model predict`` share.

This module imports only what serving needs (no file readers, no data validation library), so the
service starts fast. A *model directory* holds ``model.skops`` and ``card.json`` side by side
(what ``just package`` gathers into ``dist/model`` and the image copies to ``/app/model``). The
probability comes from the pipeline, the label from the card's threshold, so the served decision
is the one that was gated.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError, first_line
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, load_model
from churn_model.model.card import ModelCard, feature_specs, read_card
from churn_model.serving.contract import record_fields
from churn_model.serving.fast_path import (
    CompiledPipeline,
    compile_pipeline,
    matches_pipeline,
)
from churn_model.table import Column

PROBE_ROWS = 256
"""Synthetic rows of the schema (:mod:`churn_model.data.synthetic`) every loaded
model must score (a model that cannot is refused), and that the compiled path must score as
the pipeline does."""


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A loaded pipeline with the card that describes it."""

    pipeline: Pipeline
    card: ModelCard
    compiled: CompiledPipeline | None = None
    """The same scoring on plain arrays (:mod:`churn_model.serving.fast_path`), when it
    reproduced the pipeline's probabilities exactly on the probe rows at load time; else None."""


def load_served_model(model_dir: Path, *, fast_path: bool = True) -> ServedModel:
    """Load the pipeline and card from ``model_dir``, refusing a card whose features differ.

    ``fast_path`` also compiles (and verifies) the array scoring path that serving uses per
    request; batch scoring of a file gains nothing from it and skips it.

    Raises:
        UserError: a file is missing or unreadable, or the model was trained on other columns,
            types, bounds or categories than the schema declares (serving it would silently
            misread requests: an unknown category would score as "none of the known ones").
    """
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: model directory not found (run `just package`?)")
    card = read_card(model_dir / CARD_FILE)
    trained_on = [feature.name for feature in card.features]
    if trained_on != SCHEMA.feature_names():
        raise UserError(
            f"{model_dir / CARD_FILE}: model was trained on features {trained_on}, "
            f"but the schema declares {SCHEMA.feature_names()}"
        )
    differing = [
        f"{trained.name} (trained on {trained.model_dump()}, schema says {today.model_dump()})"
        for trained, today in zip(card.features, feature_specs(), strict=True)
        if trained != today
    ]
    if differing:
        raise UserError(
            f"{model_dir / CARD_FILE}: the schema changed since the model was trained: "
            + "; ".join(differing)
        )
    pipeline = load_model(model_dir / MODEL_FILE)
    with threadpool_limits(limits=1):  # as below, and as on the model thread
        check_scores(pipeline, probe_rows(), model_dir / MODEL_FILE)
    compiled = verified_compiled(pipeline) if fast_path else None
    return ServedModel(pipeline=pipeline, card=card, compiled=compiled)


@cache
def probe_rows() -> pd.DataFrame:
    """The :data:`PROBE_ROWS` feature rows every model is tried on at load, drawn from the schema.

    Missing values and every category are included. Built once per process; nothing may modify it.
    """
    return synthetic_frame(PROBE_ROWS, seed=0, label=False)[SCHEMA.feature_names()]


def check_scores(pipeline: Pipeline, probe: pd.DataFrame, path: Path) -> None:
    """Score the probe rows, refusing a model that cannot: ready must mean able to score.

    An allow-listed pipeline may still be unable to score (never fitted, fitted on other columns,
    a single class): found here, at load, it stops the service from starting instead of turning
    every request into a 500.

    Raises:
        UserError: one sentence naming the model file and why it cannot score.
    """
    try:
        scores = np.asarray(pipeline.predict_proba(probe), dtype=np.float64)
    except NotFittedError:
        raise UserError(f"{path}: this model cannot score: it was never fitted") from None
    except Exception as error:  # any failure means the same: this model cannot serve
        kind, reason = type(error).__name__, first_line(error)[:200]
        said = kind if reason == kind else f"{kind}: {reason}"
        raise UserError(f"{path}: this model cannot score a probe row ({said})") from None
    if scores.shape != (len(probe), 2):
        raise UserError(
            f"{path}: this model cannot score: it gives probabilities of shape {scores.shape} "
            f"for {len(probe)} rows, not one per class of two"
        )
    if not np.isfinite(scores).all():
        raise UserError(f"{path}: this model cannot score: it gives non-finite probabilities")


def verified_compiled(
    pipeline: Pipeline, probe: pd.DataFrame | None = None
) -> CompiledPipeline | None:
    """Compile ``pipeline`` for fast scoring, keeping it only if it matches the pipeline exactly.

    The check scores the probe rows (``probe``, by default :func:`probe_rows`) both ways and
    requires equal probabilities, bit for bit: a pipeline the compiler misreads is served by the
    pipeline itself, never by a drifted copy. The fast path only ever declines: a compiled path
    that raises on the probe rows is dropped too, so it cannot stop the service from starting.
    """
    compiled = compile_pipeline(pipeline)
    if compiled is None:
        return None
    # One OpenMP thread, as on the model thread: on a busy two-core machine a two-thread team can
    # wait a scheduler slice per tree, which would add seconds to the start.
    with threadpool_limits(limits=1):
        try:
            matches = matches_pipeline(compiled, pipeline, probe_rows() if probe is None else probe)
        except Exception:  # the compiled path cannot score the probe rows: the pipeline serves
            return None
    return compiled if matches else None


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
    model: ServedModel, records: Sequence[BaseModel]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Like :func:`score_frame` on the records' frame, through the compiled path when there is one.

    This is the service's path: on one record the compiled path costs ~1.2 ms against ~5.5 ms
    for building a frame and calling the pipeline, with the same probabilities.
    """
    if model.compiled is None:
        return score_frame(model, records_frame(records))
    probability = model.compiled.positive_probability(record_columns(records))
    return probability, (probability >= model.card.threshold).astype(np.int64)


def score_frame(
    model: ServedModel, frame: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the positive class's probability, and 1 where it reaches the card's threshold, else 0.

    The 1/0 says whether the label's positive value is predicted: the answer spells it as the
    label's own value (:func:`churn_model.serving.contract.prediction`,
    :mod:`churn_model.serving.batch_scoring`).
    """
    probability = model.pipeline.predict_proba(frame[SCHEMA.feature_names()])[:, 1]
    probability = probability.astype(np.float64)
    label = (probability >= model.card.threshold).astype(np.int64)
    return probability, label
