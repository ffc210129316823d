"""The request models follow any schema: one rule for booleans, optional ids echoed back."""

from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from churn_model.contract import prediction_model, record_model
from churn_model.spec import Column, SchemaError

from schemas import OTHER

RECORD = record_model(OTHER)
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
    assert RECORD.model_validate({**GOOD, "member": sent}).member is read  # type: ignore[attr-defined] # a field of the built model


@pytest.mark.parametrize("sent", ["true", "1", 2, 0.5, -1, [], {}])
def test_anything_else_is_not_a_boolean(sent: object) -> None:
    with pytest.raises(ValidationError) as caught:
        RECORD.model_validate({**GOOD, "member": sent})
    assert [error["loc"] for error in caught.value.errors()] == [("member",)]
    assert "true, false, 1 or 0" in caught.value.errors()[0]["msg"]


def test_the_document_says_so() -> None:
    member = RECORD.model_json_schema()["properties"]["member"]
    assert member["anyOf"] == [{"type": "boolean"}, {"enum": [0, 1]}, {"type": "null"}]


def test_without_an_id_a_record_has_none_and_an_answer_echoes_none() -> None:
    assert "order" not in RECORD.model_fields
    assert set(prediction_model(OTHER).model_fields) == {"churn_probability", "churn_label"}
    with pytest.raises(ValidationError):
        RECORD.model_validate({**GOOD, "order": "A1"})


def test_with_an_id_a_record_may_carry_it_and_the_answer_echoes_it() -> None:
    with_id = replace(OTHER, id=Column("order", "id", "The order."))
    record = record_model(with_id)
    assert "order" not in record.model_json_schema()["required"]
    for value in ("A-001", 7, None, "x" * 64, -(2**63)):
        assert record.model_validate({**GOOD, "order": value}).order == value  # type: ignore[attr-defined] # a field of the built model
    assert record.model_validate({**GOOD, "order": 30.0}).order == 30  # type: ignore[attr-defined] # JSON Schema's integer
    for wrong in (True, 1.5, ["A"], "x" * 65, 2**63):
        with pytest.raises(ValidationError):
            record.model_validate({**GOOD, "order": wrong})
    answer = prediction_model(with_id)(churn_probability=0.3, churn_label=0, order="A-001")
    assert answer.model_dump()["order"] == "A-001"


def test_an_id_may_not_take_the_name_of_a_field_of_the_answer() -> None:
    with pytest.raises(SchemaError, match="may not be called 'model_id'"):
        record_model(replace(OTHER, id=Column("model_id", "id", "?")))
