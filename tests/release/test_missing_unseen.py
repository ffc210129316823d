"""A feature the schema lets be missing but no training row misses is named under the gate's table.

The model never learned what its absence means; the held-out rows, split from the same table,
rarely test it. On a public table whose only blanks were in rows without a label, such rows were
scored with confident probabilities and no word from any step.
"""

import numpy as np
import pandas as pd

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.release.remeasure import missing_unseen

NULLABLE = [column.name for column in SCHEMA.features if column.nullable]


def filled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every blank of each nullable feature filled with a value it holds."""
    values = {name: frame[name].dropna().iloc[0] for name in NULLABLE}
    return frame.fillna(values).infer_objects()


def test_the_nullable_features_no_training_row_misses_are_named_in_schema_order() -> None:
    frame = synthetic_frame(200, seed=5)
    assert missing_unseen(filled(frame)) == NULLABLE
    assert missing_unseen(frame) == []  # the synthetic rows miss each one somewhere
    if NULLABLE:  # one blank is enough for the model to have seen it
        partly = filled(frame)
        partly.loc[partly.index[0], NULLABLE[0]] = np.nan
        assert missing_unseen(partly) == NULLABLE[1:]
