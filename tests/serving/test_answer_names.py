"""The columns scoring adds are named after the label, and no feature may take their names."""

from dataclasses import replace

import pytest

from churn_model.serving.answer_names import (
    check_added_columns,
    predicted_field,
    probability_field,
)
from churn_model.table import SchemaError

from schemas import OTHER


def test_the_added_columns_are_named_after_the_label() -> None:
    assert (probability_field(OTHER), predicted_field(OTHER)) == (
        f"{OTHER.label.name}_probability",
        f"{OTHER.label.name}_predicted",
    )
    check_added_columns(OTHER)  # no feature takes either name


@pytest.mark.parametrize("added", ["outcome_probability", "outcome_predicted"])
def test_a_feature_may_not_take_the_name_of_a_column_scoring_adds(added: str) -> None:
    renamed = replace(OTHER.features[1], name=added)
    schema = replace(OTHER, features=(OTHER.features[0], renamed, *OTHER.features[2:]), slices=())
    with pytest.raises(SchemaError) as caught:
        check_added_columns(schema)
    assert str(caught.value) == (
        f"invalid schema: column {added!r}: batch scoring adds a column of that name (named "
        "after the label 'outcome'); rename the feature"
    )
