"""Scoring with a packaged model: the shared core of the HTTP service and ``churn-model predict``.

A *model directory* holds ``model.skops`` and ``card.json`` side by side (what ``just package``
gathers into ``dist/model`` and the image copies to ``/app/model``). The probability comes from the
pipeline, the label from the card's threshold, so the served decision is the one that was gated.
"""

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel
from sklearn.pipeline import Pipeline

from churn_model.artifact import CARD_FILE, MODEL_FILE, load_model
from churn_model.card import ModelCard, read_card
from churn_model.data import read_table
from churn_model.errors import UserError
from churn_model.schema import FEATURES, feature_names
from churn_model.validation import validate

PROBABILITY = "churn_probability"
LABEL = "churn_label"
OUTPUT_SUFFIXES = (".csv", ".parquet")

_DTYPES: dict[str, type[np.generic]] = {"int": np.int64, "float": np.float64, "bool": np.bool_}


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A loaded pipeline with the card that describes it."""

    pipeline: Pipeline
    card: ModelCard


def load_served_model(model_dir: Path) -> ServedModel:
    """Load the pipeline and card from ``model_dir``, refusing a card whose features differ.

    Raises:
        UserError: a file is missing or unreadable, or the model was trained on other columns than
            the schema declares (serving it would silently misread every request).
    """
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: model directory not found (run `just package`?)")
    card = read_card(model_dir / CARD_FILE)
    pipeline = load_model(model_dir / MODEL_FILE)
    trained_on = [feature.name for feature in card.features]
    if trained_on != feature_names():
        raise UserError(
            f"{model_dir / CARD_FILE}: model was trained on features {trained_on}, "
            f"but the schema declares {feature_names()}"
        )
    return ServedModel(pipeline=pipeline, card=card)


def records_frame(records: Sequence[BaseModel]) -> pd.DataFrame:
    """Build the pipeline's input frame from validated records, column by column.

    Columns get the dtypes the training frame has (int64, float64 with NaN for missing, bool,
    strings), built straight from arrays: cheaper than ``pd.DataFrame(list_of_dicts)``, which
    infers every dtype again.
    """
    columns: dict[str, object] = {}
    for column in FEATURES:
        values = [getattr(record, column.name) for record in records]
        dtype = _DTYPES.get(column.kind)
        columns[column.name] = values if dtype is None else np.array(values, dtype=dtype)
    return pd.DataFrame(columns)


def score_frame(
    model: ServedModel, frame: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return the churn probability and the 0/1 label at the card's threshold for every row."""
    probability = model.pipeline.predict_proba(frame[feature_names()])[:, 1].astype(np.float64)
    label = (probability >= model.card.threshold).astype(np.int64)
    return probability, label


def _write_atomically(frame: pd.DataFrame, output: Path) -> None:
    """Write ``frame`` to a temporary file beside ``output``, then rename it into place.

    A crash or a failed write never leaves a half-written file at ``output``, nor touches a file
    already there.
    """
    handle, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        if output.suffix.lower() == ".csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
        temporary.replace(output)
    except ImportError as error:
        raise UserError(f"{output}: cannot write Parquet ({error})") from None
    finally:
        temporary.unlink(missing_ok=True)


def predict_file(input_path: Path, output_path: Path, model_dir: Path) -> int:
    """Score every row of a CSV/Parquet table and write it with the two prediction columns added.

    The input is validated against the schema (without requiring the label) before the model is
    loaded; the output keeps every input column and gains ``churn_probability`` and ``churn_label``.
    Returns the number of rows scored.

    Raises:
        UserError: unsupported output type, missing output folder, invalid input or model.
    """
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UserError(
            f"{output_path}: unsupported output type {output_path.suffix!r} "
            f"(expected {' or '.join(OUTPUT_SUFFIXES)})"
        )
    if not output_path.parent.is_dir():
        raise UserError(f"{output_path.parent}: output folder does not exist")
    frame = validate(read_table(input_path), str(input_path), require_label=False)
    model = load_served_model(model_dir)
    probability, label = score_frame(model, frame)
    _write_atomically(frame.assign(**{PROBABILITY: probability, LABEL: label}), output_path)
    return len(frame)
