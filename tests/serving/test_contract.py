"""The request and answer models follow any schema: booleans, ids, the label's names and values."""

from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.contract import (
    check_names,
    prediction_model,
    record_fields,
    record_model,
)
from churn_model.table import Column, Label, LabelValue, Schema, SchemaError

from schemas import OTHER

RECORD = record_model(OTHER)
MEMBER = record_fields(OTHER)["member"]
GOOD: dict[str, Any] = {
    "amount": 12.5,
    "visits": 3,
    "region": "east",
    "member": True,
    "score": -0.25,
}


@pytest.mark.parametrize(
    ("sent", "read"),
    [(True, True), (False, False), (1, True), (0, False), (1.0, True), (0.0, False), (None, None)],
)
def test_a_boolean_is_true_false_1_or_0_as_in_a_training_file(sent: object, read: object) -> None:
    assert getattr(RECORD.model_validate({**GOOD, "member": sent}), MEMBER) is read


@pytest.mark.parametrize("sent", ["true", "1", 2, 0.5, -1, [], {}])
def test_anything_else_is_not_a_boolean(sent: object) -> None:
    with pytest.raises(ValidationError) as caught:
        RECORD.model_validate({**GOOD, "member": sent})
    assert [error["loc"] for error in caught.value.errors()] == [("member",)]
    assert "true, false, 1 or 0" in caught.value.errors()[0]["msg"]


def test_the_document_says_so() -> None:
    member = RECORD.model_json_schema()["properties"]["member"]
    assert member["anyOf"] == [{"type": "boolean"}, {"enum": [0, 1]}, {"type": "null"}]


def _answer(schema: Schema, **values: object) -> dict[str, Any]:
    """An answer of ``schema`` built from its JSON keys, and dumped back as JSON keys."""
    return prediction_model(schema).model_validate(values).model_dump()


def test_without_an_id_a_record_has_none_and_an_answer_echoes_none() -> None:
    record = RECORD.model_validate({**GOOD, "order": "A1"})  # not a column: ignored
    assert "order" not in record.model_dump(by_alias=True)
    answer = _answer(OTHER, outcome_probability=0.3, outcome_predicted="no")
    assert answer == {"outcome_probability": 0.3, "outcome_predicted": "no"}


def test_with_an_id_a_record_may_carry_it_and_the_answer_echoes_it() -> None:
    with_id = replace(OTHER, id=Column("order", "id", "The order."))
    record = record_model(with_id)
    order = record_fields(with_id)["order"]
    assert "order" not in record.model_json_schema()["required"]
    for value in ("A-001", 7, None, "x" * 64, -(2**63)):
        assert getattr(record.model_validate({**GOOD, "order": value}), order) == value
    assert getattr(record.model_validate({**GOOD, "order": 30.0}), order) == 30  # JSON's integer
    for wrong in (True, 1.5, ["A"], "x" * 65, 2**63):
        with pytest.raises(ValidationError):
            record.model_validate({**GOOD, "order": wrong})
    answer = _answer(with_id, outcome_probability=0.3, outcome_predicted="no", order="A-001")
    assert answer["order"] == "A-001"


def test_an_id_may_not_take_the_name_of_a_field_of_the_answer() -> None:
    for name in ("model_id", "threshold", "outcome_probability", "outcome_predicted"):
        with pytest.raises(SchemaError) as caught:
            record_model(replace(OTHER, id=Column(name, "id", "?")))
        assert str(caught.value).startswith(
            f"invalid schema: the id column may not be called {name!r}"
        )


@pytest.mark.parametrize("added", ["outcome_probability", "outcome_predicted"])
def test_a_feature_may_not_take_the_name_of_a_column_scoring_adds(added: str) -> None:
    renamed = replace(OTHER.features[1], name=added)
    schema = replace(OTHER, features=(OTHER.features[0], renamed, *OTHER.features[2:]), slices=())
    expected = (
        f"invalid schema: column {added!r}: batch scoring adds a column of that name (named "
        "after the label 'outcome'); rename the feature"
    )
    for build in (check_names, record_model, prediction_model):
        with pytest.raises(SchemaError) as caught:
            build(schema)
        assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("positive", "negative", "kind"),
    [(1, 0, "integer"), (4, 2, "integer"), (True, False, "boolean"), ("good", "bad", "string")],
)
def test_the_answer_is_named_after_the_label_and_speaks_its_values(
    positive: LabelValue, negative: LabelValue, kind: str
) -> None:
    schema = replace(OTHER, label=Label("Risk class", positive, negative, "How risky it is."))
    assert (probability_field(schema), predicted_field(schema)) == (
        "Risk class_probability",
        "Risk class_predicted",
    )
    document = prediction_model(schema).model_json_schema(mode="serialization")
    assert document["required"] == ["Risk class_probability", "Risk class_predicted"]
    predicted = document["properties"]["Risk class_predicted"]
    assert (predicted["type"], predicted["enum"]) == (kind, [positive, negative])
    for value in (positive, negative):
        answer = _answer(schema, **{"Risk class_probability": 0.5, "Risk class_predicted": value})
        assert answer["Risk class_predicted"] == value
        assert type(answer["Risk class_predicted"]) is type(value)
    with pytest.raises(ValidationError):  # a value the label does not have
        _answer(schema, **{"Risk class_probability": 0.5, "Risk class_predicted": "maybe"})


def test_bounds_are_stated_as_json_schema_does_whatever_the_kind_or_nullability() -> None:
    # A nullable whole number once came out as {"ge": 11, "le": 87}: words JSON Schema does not
    # have, so a client generating requests from the document sent values the service refused.
    bounded = Schema(
        features=(
            Column("count", "int", "Nullable whole number.", ge=11, le=87, nullable=True),
            Column("rank", "int", "Whole number.", gt=0, le=5),
            Column("share", "float", "Nullable number.", ge=0, le=1, nullable=True),
        ),
        label=Label("left", positive=1, negative=0, description="Whether they left."),
    )
    properties = record_model(bounded).model_json_schema(by_alias=True)["properties"]
    count, share = (properties[name]["anyOf"] for name in ("count", "share"))
    assert count == [{"type": "integer", "minimum": 11, "maximum": 87}, {"type": "null"}]
    assert share == [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]
    rank = {key: properties["rank"][key] for key in ("type", "exclusiveMinimum", "maximum")}
    assert rank == {"type": "integer", "exclusiveMinimum": 0, "maximum": 5}
