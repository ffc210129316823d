"""Stand-in: replaced by the data branch at merge.

Loads the training table: the generated sample when no path is given, otherwise a CSV file. Both
pass through :func:`churn_model.validation.validate`.
"""

from pathlib import Path

import pandas as pd

from churn_model.card import DataInfo
from churn_model.errors import UserError
from churn_model.sample import SAMPLE_SEED, generate_sample
from churn_model.validation import validate


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file into a frame, turning a missing or unreadable file into a UserError."""
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not a readable CSV table ({error})") from None


def load_dataset(path: Path | None = None) -> tuple[pd.DataFrame, DataInfo]:
    """Return the validated training table and where it came from."""
    if path is None:
        frame = validate(generate_sample(), "sample")
        return frame, DataInfo(version=f"sample:{SAMPLE_SEED}", source="generated", rows=len(frame))
    frame = validate(read_table(path), str(path))
    return frame, DataInfo(version=f"file:{path.name}", source=str(path), rows=len(frame))
