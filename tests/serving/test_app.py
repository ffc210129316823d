"""The HTTP service, in process: every endpoint, every kind of bad request, readiness."""

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from churn_model import PROJECT_NAME, __version__
from churn_model.data.pinning import read_table
from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import FeatureSpec, ModelCard, read_card, write_card
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.app import create_app
from churn_model.serving.request_limits import batch_bytes
from churn_model.serving.served_model import load_served_model
from churn_model.table import Column

from model_support import spare_name
from served_model import THRESHOLD, make_model_dir, records, sample

MAX_BATCH = 50


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Pipeline, ModelCard]:
    model_dir = tmp_path_factory.mktemp("serve") / "model"
    pipeline, card = make_model_dir(model_dir)
    return model_dir, pipeline, card


@pytest.fixture(scope="module")
def client(trained: tuple[Path, Pipeline, ModelCard]) -> Iterator[TestClient]:
    with TestClient(create_app(trained[0], max_batch=MAX_BATCH)) as started:
        yield started


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    return records(sample(1, seed=11))[0]


def expected(pipeline: Pipeline, rows: list[dict[str, Any]]) -> np.ndarray:
    """The probabilities the pipeline gives for ``rows`` when called directly, in process."""
    frame = sample(3_000, seed=11)[SCHEMA.feature_names()].iloc[: len(rows)]
    return np.asarray(pipeline.predict_proba(frame)[:, 1])


def _first(*kinds: str, nullable: bool | None = None) -> Column | None:
    """The first feature of one of ``kinds`` (and of that nullability), if the schema has one."""
    return next(
        (
            c
            for c in SCHEMA.features
            if c.kind in kinds and (nullable is None or c.nullable is nullable)
        ),
        None,
    )


FIRST = SCHEMA.features[0].name
NUMBER = (_first("float", "int") or SCHEMA.features[0]).name
PROBABILITY, PREDICTED = probability_field(), predicted_field()
LABEL = SCHEMA.label


def decided(probability: float) -> object:
    """The label value the answer must carry for ``probability`` at the threshold."""
    return LABEL.positive if probability >= THRESHOLD else LABEL.negative


# ------------------------------------------------------------------------------ endpoints


def test_health_is_live_and_ready(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "ready": True,
        "model_id": "test-model",
        "version": __version__,
    }
    assert client.get("/health/ready").status_code == 200


def test_metadata_is_the_model_card(
    client: TestClient, trained: tuple[Path, Pipeline, ModelCard]
) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    assert ModelCard.model_validate(response.json()) == trained[2]
    assert [f["name"] for f in response.json()["features"]] == SCHEMA.feature_names()


def test_predict_matches_the_pipeline_called_directly(
    client: TestClient, trained: tuple[Path, Pipeline, ModelCard]
) -> None:
    rows = records(sample(3_000, seed=11).iloc[:1])
    response = client.post("/predict", json=rows[0])
    assert response.status_code == 200
    body = response.json()
    assert body[PROBABILITY] == expected(trained[1], rows)[0]
    assert body[PREDICTED] == decided(body[PROBABILITY])
    assert type(body[PREDICTED]) is type(LABEL.positive)  # the label's own type: 1 is not true
    assert body["model_id"] == "test-model"
    assert body["threshold"] == THRESHOLD


def test_batch_matches_the_pipeline_row_for_row(
    client: TestClient, trained: tuple[Path, Pipeline, ModelCard]
) -> None:
    rows = records(sample(3_000, seed=11).iloc[:MAX_BATCH])
    response = client.post("/predict/batch", json={"records": rows})
    assert response.status_code == 200
    probabilities = [p[PROBABILITY] for p in response.json()["predictions"]]
    # Exact equality: the frame built from JSON records is the one the pipeline was trained on.
    assert probabilities == expected(trained[1], rows).tolist()
    labels = [p[PREDICTED] for p in response.json()["predictions"]]
    assert labels == [decided(p) for p in probabilities]
    assert {LABEL.positive, LABEL.negative} == set(labels), (
        f"the premise: both values occur in {len(labels)} rows, but at the threshold {THRESHOLD} "
        f"only {set(labels)} does (set the project's threshold with `just calibrate` first)"
    )
    nullable = [c.name for c in SCHEMA.features if c.nullable]
    assert all(any(r[name] is None for r in rows) for name in nullable)  # missing values covered


def test_concurrent_single_predictions_are_each_exact(
    client: TestClient, trained: tuple[Path, Pipeline, ModelCard]
) -> None:
    rows = records(sample(3_000, seed=11).iloc[:40])
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda row: client.post("/predict", json=row), rows))
    assert [r.status_code for r in responses] == [200] * len(rows)
    got = [r.json()[PROBABILITY] for r in responses]
    assert got == expected(trained[1], rows).tolist()


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert set(document["paths"]) == {
        "/health",
        "/health/ready",
        "/metadata",
        "/predict",
        "/predict/batch",
    }
    assert document["info"]["title"] == PROJECT_NAME
    assert document["info"]["summary"] == f"Predicts {LABEL.name}: {LABEL.description}"
    record_schema = document["components"]["schemas"]["Record"]
    assert record_schema["required"] == SCHEMA.feature_names()
    assert record_schema.get("additionalProperties", True) is True  # other keys are ignored
    for column in SCHEMA.features:
        described = record_schema["properties"][column.name]
        assert described["description"] == column.description
        if column.kind == "category" and not column.nullable:
            assert described["enum"] == list(column.categories)
    batch = document["components"]["schemas"]["BatchRequest"]["properties"]["records"]
    assert (batch["minItems"], batch["maxItems"]) == (1, MAX_BATCH)
    answer = document["components"]["schemas"]["PredictionResponse"]
    assert answer["required"][:2] == [PROBABILITY, PREDICTED]
    assert answer["properties"][PREDICTED]["enum"] == [LABEL.positive, LABEL.negative]
    assert "swagger" in client.get("/docs").text.lower()


# ------------------------------------------------------------------------------ bad requests


def _changed(record: dict[str, Any], **changes: object) -> dict[str, Any]:
    return {**record, **changes}


Breaker = Callable[[dict[str, Any]], dict[str, Any]]


def _set(name: str, value: object) -> Breaker:
    return lambda r: _changed(r, **{name: value})


def _drop(name: str) -> Breaker:
    return lambda r: {k: v for k, v in r.items() if k != name}


def _bad_records() -> dict[str, tuple[Breaker, str]]:
    """kind: (how to break a good record, the field the message must name).

    Built from the schema's columns: a kind of mistake the schema has no column for (a boolean
    sent as a string, without a boolean column) is not listed.
    """
    cases: dict[str, tuple[Breaker, str]] = {
        "missing field": (_drop(FIRST), FIRST),
        "misspelt field": (lambda r: {**_drop(FIRST)(r), FIRST.upper() + "_": r[FIRST]}, FIRST),
    }
    if (column := _first("int", "float", "bool", "category", nullable=True)) is not None:
        cases["missing nullable field"] = (_drop(column.name), column.name)
    if (column := _first("int", "float", "bool", "category", nullable=False)) is not None:
        cases["null where required"] = (_set(column.name, None), column.name)
    if (column := _first("int")) is not None:
        low = column.ge if column.ge is not None else (column.gt or 0) + 1
        fraction = low + 0.5 if column.le is None or low + 0.5 <= column.le else low - 0.5
        cases["string for integer"] = (_set(column.name, "12"), column.name)
        cases["fraction for integer"] = (_set(column.name, fraction), column.name)
        cases["boolean for integer"] = (_set(column.name, True), column.name)
    if (column := _first("float")) is not None:
        cases["string for number"] = (_set(column.name, "cheap"), column.name)
    for column in SCHEMA.features:
        if column.le is not None:
            cases.setdefault("above maximum", (_set(column.name, column.le + 1), column.name))
        if column.ge is not None:
            cases.setdefault("below minimum", (_set(column.name, column.ge - 1), column.name))
        if column.gt is not None:
            cases.setdefault(
                "at the exclusive minimum", (_set(column.name, column.gt), column.name)
            )
    if (column := _first("bool")) is not None:
        cases["number for boolean"] = (_set(column.name, 2), column.name)
        cases["string for boolean"] = (_set(column.name, "true"), column.name)
    if (column := _first("category")) is not None:
        cases["unknown category"] = (_set(column.name, "not-a-known-category"), column.name)
    return cases


BAD_RECORDS = _bad_records()


@pytest.mark.parametrize("kind", list(BAD_RECORDS))
@pytest.mark.parametrize("endpoint", ["/predict", "/predict/batch"])
def test_a_bad_record_is_a_422_naming_the_field(
    client: TestClient, record: dict[str, Any], kind: str, endpoint: str
) -> None:
    breaker, field = BAD_RECORDS[kind]
    bad = breaker(record)
    body = bad if endpoint == "/predict" else {"records": [record, bad]}
    response = client.post(endpoint, json=body)
    assert response.status_code == 422, response.text
    expected_field = field if endpoint == "/predict" else f"records.1.{field}"
    assert [p["field"] for p in response.json()["detail"]] == [expected_field]
    assert response.json()["message"].startswith(f"{expected_field}: ")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(
    client: TestClient, record: dict[str, Any], literal: str
) -> None:
    # JSON has no NaN/Infinity, but Python's parser accepts the literals: they must not get through.
    text = json.dumps({**record, NUMBER: "@"}).replace('"@"', literal)
    response = client.post("/predict", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert {p["field"] for p in response.json()["detail"]} == {NUMBER}


def test_a_bad_record_in_a_json_flavoured_media_type_is_a_422(
    client: TestClient, record: dict[str, Any]
) -> None:
    body = json.dumps(_changed(record, **{FIRST: {"not": "a value"}}))
    headers = {"content-type": "application/merge-patch+json"}
    response = client.post("/predict", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert {p["field"] for p in response.json()["detail"]} == {FIRST}


def test_every_problem_is_reported_at_once(client: TestClient, record: dict[str, Any]) -> None:
    broken = SCHEMA.feature_names()[:2]
    bad = _changed(record, **{name: {"not": "a value"} for name in broken}, bogus=1)
    response = client.post("/predict", json=bad)
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["detail"]} == set(broken)  # bogus is ignored


@pytest.mark.parametrize("endpoint", ["/predict", "/predict/batch"])
def test_keys_that_are_not_columns_of_the_model_are_ignored(
    client: TestClient, record: dict[str, Any], endpoint: str
) -> None:
    """The label, a column the schema does not know, an attribute's name: accepted, not read."""
    extras: dict[str, object] = {
        LABEL.name: LABEL.positive,
        spare_name("note"): "x" * 100,
        spare_name("feature_0"): None,
        spare_name("records"): [],
    }
    answers = []
    for sent in (record, {**record, **extras}):
        body = sent if endpoint == "/predict" else {"records": [sent]}
        response = client.post(endpoint, json=body)
        assert response.status_code == 200, response.text
        answer = response.json() if endpoint == "/predict" else response.json()["predictions"][0]
        answers.append(answer)
    assert answers[0] == answers[1]
    assert not set(extras) & set(answers[1])  # nothing of them is echoed


def test_a_misspelt_feature_is_missing_and_the_message_names_the_misspelling(
    client: TestClient, record: dict[str, Any]
) -> None:
    misspelt = {**_drop(FIRST)(record), LABEL.name: LABEL.negative, FIRST + "s": record[FIRST]}
    for endpoint, body, field in [
        ("/predict", misspelt, FIRST),
        ("/predict/batch", {"records": [record, misspelt]}, f"records.1.{FIRST}"),
    ]:
        response = client.post(endpoint, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["message"] == (
            f"{field}: Field required (the record's other keys are ignored: {FIRST + 's'!r})"
        )


def test_the_batch_envelope_still_refuses_unknown_keys(
    client: TestClient, record: dict[str, Any]
) -> None:
    response = client.post("/predict/batch", json={"records": [record], "record": [record]})
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["detail"]] == ["record"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"records": []}, 422, "records"),
        ({}, 422, "records"),
        ({"records": "all"}, 422, "records"),
        ([], 422, ""),
    ],
)
def test_a_bad_batch_is_a_4xx(client: TestClient, body: object, status: int, field: str) -> None:
    response = client.post("/predict/batch", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["field"] == field


def test_an_oversized_batch_is_a_413(client: TestClient, record: dict[str, Any]) -> None:
    response = client.post("/predict/batch", json={"records": [record] * (MAX_BATCH + 1)})
    assert response.status_code == 413
    assert response.json()["message"].startswith("records: List should have at most 50 items")


def test_a_body_too_large_is_a_413_before_parsing(client: TestClient) -> None:
    junk = b"[" + b" " * batch_bytes(MAX_BATCH) + b"]"
    response = client.post(
        "/predict/batch", content=junk, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content", [b"{", f'{{"{FIRST}": 1,}}'.encode(), b"\xff\xfe", b"", b"null"]
)
def test_malformed_json_is_a_4xx(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/predict", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code in {400, 422}, response.text
    assert response.json()["message"]


def test_malformed_json_says_where(client: TestClient) -> None:
    body = f'{{"{FIRST}": }}'.encode()
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    where = len(body)  # the closing brace (columns count from 1), where a value was expected
    expected = f"(body): malformed JSON: expected value at line 1 column {where}"
    assert response.json()["message"] == expected


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_a_415(
    client: TestClient, record: dict[str, Any], content_type: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/predict", content=json.dumps(record).encode(), headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


def test_a_json_content_type_with_charset_is_accepted(
    client: TestClient, record: dict[str, Any]
) -> None:
    response = client.post(
        "/predict",
        content=json.dumps(record).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_unknown_paths_and_methods_are_4xx_with_the_same_shape(client: TestClient) -> None:
    assert client.get("/nope").json()["message"] == "Not Found"
    response = client.get("/predict")
    assert response.status_code == 405
    assert response.json()["detail"][0]["type"] == "http"


def test_a_record_as_read_from_a_training_file_is_accepted(
    client: TestClient, trained: tuple[Path, Pipeline, ModelCard], tmp_path: Path
) -> None:
    # A training file may write booleans as 1.0/0.0 (a float column): validation accepts it for
    # training, so the API must accept the same row, and score it as the pipeline does.
    frame = sample(3_000, seed=11).iloc[:20]
    as_numbers = {c.name: frame[c.name].astype(float) for c in SCHEMA.features if c.kind == "bool"}
    write_csv(frame.assign(**as_numbers), tmp_path / "train.csv")
    read = read_table(tmp_path / "train.csv")
    rows = records(read)
    response = client.post("/predict/batch", json={"records": rows})
    assert response.status_code == 200, response.text
    probabilities = [p[PROBABILITY] for p in response.json()["predictions"]]
    valid = validate(read, "train.csv", require_label=False)[SCHEMA.feature_names()]
    assert probabilities == trained[1].predict_proba(valid)[:, 1].tolist()


def test_the_id_is_echoed_when_the_schema_has_one(
    client: TestClient, record: dict[str, Any]
) -> None:
    if SCHEMA.id is None:
        answer = client.post("/predict", json=record).json()
        assert set(answer) == {PROBABILITY, PREDICTED, "model_id", "threshold"}
        return
    name = SCHEMA.id.name
    assert client.post("/predict", json=record).json()[name] is None
    for value in ("C-0042", 42):
        answer = client.post("/predict", json={**record, name: value})
        assert answer.status_code == 200, answer.text
        assert answer.json()[name] == value
    batch = client.post("/predict/batch", json={"records": [{**record, name: "a"}, record]})
    assert [p[name] for p in batch.json()["predictions"]] == ["a", None]
    refused = client.post("/predict", json={**record, name: 4.5})
    assert refused.status_code == 422
    assert {p["field"] for p in refused.json()["detail"]} >= {name}


# ------------------------------------------------------------------------------ readiness


def test_before_the_model_is_loaded_the_service_is_live_but_not_ready(
    trained: tuple[Path, Pipeline, ModelCard], record: dict[str, Any]
) -> None:
    client = TestClient(create_app(trained[0]))  # no `with`: the lifespan has not run
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["ready"] is False
    assert client.get("/health/ready").status_code == 503
    assert client.get("/metadata").status_code == 503
    response = client.post("/predict", json=record)
    assert response.status_code == 503
    assert response.json()["message"] == "model not loaded yet"


def test_a_missing_model_fails_startup_with_a_clear_error(tmp_path: Path) -> None:
    with (
        pytest.raises(UserError, match="model directory not found"),
        TestClient(create_app(tmp_path / "absent")),
    ):
        pass  # pragma: no cover -- startup fails before the body runs


def _with_features(
    trained: tuple[Path, Pipeline, ModelCard], model_dir: Path, features: list[FeatureSpec]
) -> Path:
    """Copy the trained model to ``model_dir`` with a card claiming other ``features``."""
    model_dir.mkdir()
    (model_dir / "model.skops").write_bytes((trained[0] / "model.skops").read_bytes())
    card = read_card(trained[0] / CARD_FILE)
    write_card(card.model_copy(update={"features": features}), model_dir / CARD_FILE)
    return model_dir


def test_a_model_trained_on_other_features_is_refused(
    trained: tuple[Path, Pipeline, ModelCard], tmp_path: Path
) -> None:
    model_dir = _with_features(trained, tmp_path / "model", trained[2].features[:-1])
    with pytest.raises(UserError, match="trained on features"):
        load_served_model(model_dir)


@pytest.mark.parametrize("field", ["nullable", "categories", "le", "kind", "ordered"])
def test_a_model_trained_on_another_spec_of_a_column_is_refused(
    trained: tuple[Path, Pipeline, ModelCard], tmp_path: Path, field: str
) -> None:
    first, *rest = trained[2].features
    other = {
        "nullable": not first.nullable,
        "categories": (*first.categories, "another"),
        "le": (first.le or 0.0) - 1.0,
        "kind": "int" if first.kind == "float" else "float",
        "ordered": not first.ordered,
    }
    features = [first.model_copy(update={field: other[field]}), *rest]
    model_dir = _with_features(trained, tmp_path / "model", features)
    with pytest.raises(UserError, match=f"schema changed since the model was trained: {FIRST}"):
        load_served_model(model_dir)
