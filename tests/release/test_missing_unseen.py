"""A feature the schema lets be missing but no training row misses is named under the gate's table.

The model never learned what its absence means; the held-out rows, split from the same table,
rarely test it. On a public table whose only blanks were in rows without a label, such rows were
scored with confident probabilities and no word from any step.
"""

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.release.remeasure import missing_unseen

NULLABLE = [column.name for column in SCHEMA.features if column.nullable]


def test_the_nullable_features_no_training_row_misses_are_named_in_schema_order() -> None:
    frame = synthetic_frame(200, seed=5)
    assert missing_unseen(frame) == []  # the synthetic rows miss each one somewhere
    complete = frame[NULLABLE].notna().all(axis=1).to_numpy()
    assert missing_unseen(frame[complete]) == NULLABLE
    for name in NULLABLE:  # one row missing a feature is enough for the model to have seen it
        chosen = frame.index == frame.index[frame[name].isna()][0]
        seen = [n for n in NULLABLE if frame.loc[chosen, n].isna().any()]
        assert missing_unseen(frame[complete | chosen]) == [n for n in NULLABLE if n not in seen]
