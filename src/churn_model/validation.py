"""Stand-in: replaced by the data branch at merge.

Checks only that the schema's columns are present and that the table is not too small.
"""

import pandas as pd

from churn_model.errors import UserError
from churn_model.schema import COLUMNS, MIN_ROWS, TARGET


def validate(frame: pd.DataFrame, source: str, *, require_label: bool = True) -> pd.DataFrame:
    """Return ``frame`` if it has every schema column and enough rows, else raise UserError."""
    wanted = [c.name for c in COLUMNS if require_label or c.name != TARGET.name]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise UserError(f"{source}: missing required columns: {', '.join(missing)}")
    if len(frame) < MIN_ROWS:
        raise UserError(f"{source}: {len(frame)} rows, at least {MIN_ROWS} required")
    return frame
