"""Column names that are no Python identifiers serve: JSON keys are exactly the column names.

:data:`schemas.ODD` has names with spaces, dashes, capitals, a leading digit, a leading
underscore, pydantic's own names (``model_config``, ``copy``, ``json``, ``schema``), the names of
the attributes the contract generates (``feature_0``, ``record_id``), and a text label. In
process: the request and answer models, the OpenAPI schemas and the body limits built from it. In
a child process whose domain it is (``odd_names_project.py``, through :mod:`fresh_domain`): a
model trained on it is served and batch-scored.
"""

import csv
import io
import json
from typing import Any

import pytest
from pydantic import BaseModel

from churn_model import PROJECT_NAME
from churn_model.data.synthetic import synthetic_frame
from churn_model.serving.contract import (
    ID_LENGTH,
    prediction_model,
    record_fields,
    record_model,
)
from churn_model.serving.request_limits import (
    RecordValidator,
    parse_json,
    record_bytes,
)

from fresh_domain import run_in_domain, schema_source
from schemas import ODD

NAMES = [column.name for column in ODD.features]
ID = "Record ID"
PROBABILITY, PREDICTED = "Default status_probability", "Default status_predicted"


def _records(rows: int, seed: int) -> list[dict[str, Any]]:
    """Rows of the schema's synthetic data as JSON records (id, features and label)."""
    frame = synthetic_frame(rows, seed, schema=ODD).astype(object)
    values = frame.where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in values.to_dict(orient="records")]


def _values(record: BaseModel) -> dict[str, object]:
    """A validated record's values by column name, read through the generated attributes."""
    return {name: getattr(record, attribute) for name, attribute in record_fields(ODD).items()}


def test_the_request_model_reads_every_column_by_its_exact_name() -> None:
    model = record_model(ODD)
    for sent in _records(20, seed=1):
        read = _values(model.model_validate(sent))
        assert read == {name: sent[name] for name in [*NAMES, ID]}
    document = model.model_json_schema()
    assert list(document["properties"]) == [ID, *NAMES]
    assert document["required"] == NAMES


def test_an_attribute_name_sent_as_a_key_reads_its_own_column_only() -> None:
    """``feature_0`` is a column here: it fills that column, never the first feature."""
    sent = _records(1, seed=2)[0]
    read = _values(record_model(ODD).model_validate(sent))
    assert read["feature_0"] == sent["feature_0"]
    assert read["monthly charges"] == sent["monthly charges"]
    without = {k: v for k, v in sent.items() if k != "monthly charges"}
    with pytest.raises(ValueError, match="monthly charges"):
        record_model(ODD).model_validate({**without, "feature_0": 1.0})


def test_the_answer_is_named_after_the_label_with_its_text_values() -> None:
    model = prediction_model(ODD)
    answer = model.model_validate({PROBABILITY: 0.7, PREDICTED: "bad", ID: "r1"})
    assert answer.model_dump() == {PROBABILITY: 0.7, PREDICTED: "bad", ID: "r1"}
    described = model.model_json_schema(mode="serialization")["properties"][PREDICTED]
    assert described["enum"] == ["bad", "good"]


def test_the_largest_legitimate_record_fits_the_body_limit() -> None:
    """Every field at its longest JSON (the id fully escaped), indented, and as much again."""
    longest: dict[str, object] = {
        ID: "\u2028" * ID_LENGTH,  # written \\u2028: six characters each
        **{c.name: -1.7976931348623157e308 for c in ODD.features if c.kind == "float"},
        **{c.name: -(2**53) for c in ODD.features if c.kind == "int"},
        **{c.name: False for c in ODD.features if c.kind == "bool"},
        **{c.name: max(c.categories, key=len) for c in ODD.features if c.kind == "category"},
    }
    own = len(json.dumps(longest).encode())
    ignored = {f"other {i}": "y" * 10 for i in range(own // 30)}  # about as many bytes again
    body = json.dumps({**longest, **ignored}, indent=2).encode()
    assert len(body) <= record_bytes(ODD)
    validator = RecordValidator(record_model(ODD), unread=[ODD.label.name])
    valid = {**_records(1, seed=3)[0], **ignored}
    assert _values(validator.record(parse_json(json.dumps(valid).encode())))[ID] == valid[ID]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a project whose schema is ODD saw: a model of it, served and batch-scored."""
    folder = tmp_path_factory.mktemp("odd")
    outcome = run_in_domain(schema_source(ODD), folder, "odd_names_project:run", folder)
    assert outcome.error is None, outcome.error
    assert isinstance(outcome.value, dict)
    return outcome.value


def _decided(probability: float, threshold: float) -> str:
    return "bad" if probability >= threshold else "good"


def test_a_model_of_odd_names_serves_one_record(served: dict[str, Any]) -> None:
    status, answer = served["predict"]
    assert status == 200, answer
    assert set(answer) == {PROBABILITY, PREDICTED, ID, "model_id", "threshold"}
    assert answer[PROBABILITY] == served["expected"][0]
    assert answer[PREDICTED] == _decided(answer[PROBABILITY], answer["threshold"])
    assert answer[ID] == served["records"][0][ID]


def test_a_model_of_odd_names_serves_a_batch(served: dict[str, Any]) -> None:
    status, answer = served["batch"]
    assert status == 200, answer
    predictions = answer["predictions"]
    assert [p[PROBABILITY] for p in predictions] == served["expected"]
    assert [p[PREDICTED] for p in predictions] == [
        _decided(p, answer["threshold"]) for p in served["expected"]
    ]
    assert [p[ID] for p in predictions] == [r[ID] for r in served["records"]]


def test_a_missing_odd_name_is_named_with_the_misspelling(served: dict[str, Any]) -> None:
    status, answer = served["missing"]
    assert status == 422
    assert (
        answer["message"]
        == "2nd-line: Field required (the record's other keys are ignored: '2nd line')"
    )


def test_the_document_uses_the_column_names(served: dict[str, Any]) -> None:
    document = served["openapi"]
    assert document["info"]["summary"] == "Predicts Default status: Whether the loan went bad."
    # The example's words are nowhere: only the project's name (which copier renames) remains.
    assert "churn" not in json.dumps(document).lower().replace(PROJECT_NAME, "")
    schemas = document["components"]["schemas"]
    assert list(schemas["Record"]["properties"]) == [ID, *NAMES]
    assert schemas["Record"]["required"] == NAMES
    answer = schemas["PredictionResponse"]
    assert answer["required"] == [PROBABILITY, PREDICTED, "model_id", "threshold"]
    assert answer["properties"][PREDICTED]["enum"] == ["bad", "good"]


def test_the_served_body_limit_is_the_schemas(served: dict[str, Any]) -> None:
    assert served["limit+0"] == [served["record_bytes"], 200]
    assert served["limit+1"] == [served["record_bytes"] + 1, 413]


def test_batch_scoring_adds_the_labels_columns_in_its_values(served: dict[str, Any]) -> None:
    rows = list(csv.reader(io.StringIO(served["scored"])))
    header, body = rows[0], rows[1:]
    assert header == [ID, *NAMES, "Default status", PROBABILITY, PREDICTED]
    assert [float(row[-2]) for row in body] == served["expected"]
    threshold = served["predict"][1]["threshold"]
    assert [row[-1] for row in body] == [_decided(p, threshold) for p in served["expected"]]
