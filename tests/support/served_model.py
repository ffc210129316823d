"""Helpers for the serving tests: a small trained model directory, laid out like the image's.

Tests train their own small candidate (fast, deterministic) on synthetic rows of the project's
schema instead of depending on a registry run.
"""

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from churn_model.config import load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, load_model
from churn_model.model.card import ModelCard, read_card, write_card

from model_support import ROOT, small_candidate

THRESHOLD = load_model_config(ROOT / "configs/model.toml").decision.threshold


def sample(rows: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """A small synthetic table of the project's schema (id and label included)."""
    return synthetic_frame(rows, seed)


@cache
def _candidate() -> Path:
    """Train one small real candidate per test process (every serving test module reuses it).

    It goes through the real training path (validation, fit, evaluation, card), so the card the
    service reads is exactly what `just train` writes.
    """
    scratch = Path(tempfile.mkdtemp(prefix="served-model-"))
    atexit.register(shutil.rmtree, scratch, True)
    return small_candidate(scratch)


def trained_candidate() -> Path:
    """The complete candidate folder those helpers train (once per process): gate it, promote it."""
    return _candidate()


def make_model_dir(target: Path, model_id: str = "test-model") -> tuple[Pipeline, ModelCard]:
    """Lay out ``model.skops`` + ``card.json`` in ``target`` as the image does (id ``model_id``)."""
    folder = _candidate()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / MODEL_FILE, target / MODEL_FILE)
    card = read_card(folder / CARD_FILE).model_copy(update={"id": model_id})
    write_card(card, target / CARD_FILE)
    return load_model(target / MODEL_FILE), card


@cache
def laid_out_model() -> Path:
    """That candidate laid out by :func:`make_model_dir` (id ``test-model``), once per process.

    For the tests that only read a model folder (serve it, score with it): a test that changes
    one lays out its own with :func:`make_model_dir`.
    """
    scratch = Path(tempfile.mkdtemp(prefix="model-dir-"))
    atexit.register(shutil.rmtree, scratch, True)
    make_model_dir(scratch / "model")
    return scratch / "model"


def laid_out_pipeline() -> tuple[Path, Pipeline]:
    """:func:`laid_out_model` and its pipeline, loaded: to compare scoring with the pipeline's."""
    folder = laid_out_model()
    return folder, load_model(folder / MODEL_FILE)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn rows of a schema frame into JSON request records: the features, NaN as null."""
    features = frame[SCHEMA.feature_names()].astype(object)
    features = features.where(features.notna(), None)
    return [
        {str(name): value for name, value in row.items()}
        for row in features.to_dict(orient="records")
    ]
