"""Stand-in: replaced by the data branch at merge.

Reading tables from disk for the commands that score or train on files.
"""

from pathlib import Path

import pandas as pd

from churn_model.errors import UserError


def read_table(path: Path) -> pd.DataFrame:
    """Stand-in: replaced by the data branch at merge.

    Read a CSV or Parquet file (chosen by suffix), turning the usual failures into a UserError.
    """
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, ImportError, OSError) as error:
        raise UserError(f"{path}: cannot read the table ({error})") from None
    raise UserError(f"{path}: unsupported file type {suffix!r} (expected .csv or .parquet)")
