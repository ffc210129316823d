"""``churn-model predict``: score a CSV/Parquet table with a packaged model.

The input is validated against the schema like training data (without requiring the label), and
the output, written atomically, is the input plus ``churn_probability`` and ``churn_label``.
"""

from pathlib import Path

import pandas as pd

from churn_model.data import read_table
from churn_model.errors import UserError
from churn_model.files import atomic_path
from churn_model.scoring import load_served_model, score_frame
from churn_model.validation import validate

PROBABILITY = "churn_probability"
LABEL = "churn_label"
OUTPUT_SUFFIXES = (".csv", ".parquet")


def _write_atomically(frame: pd.DataFrame, output: Path) -> None:
    """Write ``frame`` as CSV or Parquet (by suffix) without ever leaving a half-written file."""
    try:
        with atomic_path(output) as temporary:
            if output.suffix.lower() == ".csv":
                frame.to_csv(temporary, index=False)
            else:
                frame.to_parquet(temporary, index=False)
    except ImportError as error:
        raise UserError(f"{output}: cannot write Parquet ({error})") from None


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
    model = load_served_model(model_dir, fast_path=False)
    probability, label = score_frame(model, frame)
    _write_atomically(frame.assign(**{PROBABILITY: probability, LABEL: label}), output_path)
    return len(frame)
