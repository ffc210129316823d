"""Scoring a packaged model: loading a model directory, checked, and scoring frames with it.

What every way of scoring the model shares (``churn-model predict`` and the gate among
them). This module imports only what scoring needs (no file readers, no data validation
library), so a scorer starts fast. A *model directory* holds ``model.skops`` and
``card.json`` side by side (what ``just package`` gathers into ``dist/model``). The
probability comes from the pipeline, the label from the card's threshold, so the
decision is the one that was gated.
"""

import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError, first_line
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, load_model
from churn_model.model.card import ModelCard, feature_specs, read_card
from churn_model.serving.fast_path import (
    CompiledPipeline,
    compile_pipeline,
    matches_pipeline,
)
from churn_model.threads import limited

PROBE_ROWS = 256
"""Synthetic rows of the schema (:mod:`churn_model.data.synthetic`) every loaded
model must score (a model that cannot is refused)."""


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A loaded pipeline with the card that describes it."""

    pipeline: Pipeline
    card: ModelCard


def load_served_model(model_dir: Path) -> ServedModel:
    """Load the pipeline and card from ``model_dir``, refusing a card whose features differ.

    Raises:
        UserError: a file is missing or unreadable, or the model was trained on other columns,
            types, bounds or categories than the schema declares (scoring with it would silently
            misread rows: an unknown category would score as "none of the known ones").
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
    if pipeline not in _PROBED:
        with limited(1):  # one OpenMP thread: no team to wake for a few rows
            check_scores(pipeline, probe_rows(), model_dir / MODEL_FILE)
        _PROBED.add(pipeline)
    return ServedModel(pipeline=pipeline, card=card)


_PROBED: "weakref.WeakSet[Pipeline]" = weakref.WeakSet()
"""The loaded pipelines that scored the probe rows. The loader hands the same pipeline out again
for the same bytes (:func:`~.artifact.load_model`), and nothing modifies a loaded pipeline or
the probe rows: one that scored them once scores them again."""


@cache
def probe_rows() -> pd.DataFrame:
    """The :data:`PROBE_ROWS` feature rows every model is tried on at load, drawn from the schema.

    Missing values and every category are included. Built once per process; nothing may modify it.
    """
    return synthetic_frame(PROBE_ROWS, seed=0, label=False)[SCHEMA.feature_names()]


def check_scores(pipeline: Pipeline, probe: pd.DataFrame, path: Path) -> None:
    """Score the probe rows, refusing a model that cannot: ready must mean able to score.

    An allow-listed pipeline may still be unable to score (never fitted, fitted on other columns,
    a single class): found here, at load, it stops a scorer from starting instead of failing on
    every row it is given.

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


@dataclass(frozen=True, slots=True)
class CompiledModel(ServedModel):
    """A served model with the same scoring on plain arrays, when that agreed with the pipeline."""

    compiled: CompiledPipeline | None = None
    """The fast path (:mod:`churn_model.serving.fast_path`), when it reproduced the
    pipeline's probabilities exactly on the probe rows at load time; else None."""


def load_compiled_model(model_dir: Path) -> CompiledModel:
    """Load ``model_dir`` as every scorer does, then compile and verify the service's fast path.

    A pipeline is compiled and verified once per process: the loader hands the same one out again
    for the same bytes.

    The checks of :func:`~churn_model.serving.served_model.load_served_model` come
    first; the array scoring path the service uses per request only ever declines
    (``compiled`` is None).

    Raises:
        UserError: as ``load_served_model``.
    """
    model = load_served_model(model_dir)
    if model.pipeline not in _COMPILED:
        _COMPILED[model.pipeline] = verified_compiled(model.pipeline)
    return CompiledModel(model.pipeline, model.card, _COMPILED[model.pipeline])


_COMPILED: "weakref.WeakKeyDictionary[Pipeline, CompiledPipeline | None]" = (
    weakref.WeakKeyDictionary()
)
"""Each loaded pipeline's verified fast path (or None), as :data:`_PROBED` keeps the probe: the
same pipeline compiled and checked against the same probe rows again gives the same answer."""


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
    with limited(1):
        try:
            matches = matches_pipeline(compiled, pipeline, probe_rows() if probe is None else probe)
        except Exception:  # the compiled path cannot score the probe rows: the pipeline serves
            return None
    return compiled if matches else None


def score_frame(
    model: ServedModel, frame: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the positive class's probability, and 1 where it reaches the card's threshold, else 0.

    The 1/0 says whether the label's positive value is predicted: the answer spells it as the
    label's own value (:mod:`churn_model.serving.batch_scoring` does).
    """
    probability = model.pipeline.predict_proba(frame[SCHEMA.feature_names()])[:, 1]
    probability = probability.astype(np.float64)
    label = (probability >= model.card.threshold).astype(np.int64)
    return probability, label
