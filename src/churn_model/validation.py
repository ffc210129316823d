"""Stand-in: replaced by the data branch at merge.

Checks that a table has the schema's columns before it is used.
"""

import pandas as pd

from churn_model.errors import UserError
from churn_model.schema import COLUMNS, TARGET


def validate(frame: pd.DataFrame, source: str, *, require_label: bool = True) -> pd.DataFrame:
    """Stand-in: replaced by the data branch at merge.

    Check that every schema column is present (the label only when ``require_label``) and that
    non-nullable columns have no missing values; raise a UserError listing every problem.
    """
    problems: list[str] = []
    for column in COLUMNS:
        if column is TARGET and not require_label:
            continue
        if column.name not in frame.columns:
            problems.append(f"  {column.name}: required column is missing")
        elif not column.nullable and frame[column.name].isna().any():
            problems.append(f"  {column.name}: missing values where none are allowed")
    if problems:
        raise UserError("\n".join([f"{source}: invalid data", *problems]))
    return frame
