"""One request must not stall the service: bodies are bounded, errors are small and specific.

In process (fast): per-route body limits (a 413 in the documented JSON shape, decided on
``Content-Length`` or while reading), at most 20 problems in an error body, one specific 400 for
each way JSON can be unreadable, a 408 for a body that stops arriving. Against the real server
(slow): the review's attack (a 9.4 MB body of 950,000 unknown keys, three at once, beside bad
batches at the batch limit) is refused while ``/health`` keeps answering; an idle connection is
closed.
"""

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.types import Message

from churn_model.domain.schema import SCHEMA
from churn_model.serving import request_limits
from churn_model.serving.app import create_app
from churn_model.serving.contract import MAX_PROBLEMS, ErrorResponse, record_model
from churn_model.serving.request_limits import (
    BadRequest,
    RecordValidator,
    batch_bytes,
    read_body,
    record_bytes,
)
from churn_model.serving.server import IDLE_TIMEOUT_S

from running_service import running_service
from schemas import OTHER
from served_model import records, sample

MAX_BATCH = 50
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(model_dir, max_batch=MAX_BATCH)) as started:
        yield started


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    return records(sample(1, seed=11))[0]


def unknown_keys(count: int) -> bytes:
    """A JSON object of ``count`` fields no schema has (about ten bytes each)."""
    return b"{" + b",".join(b'"%x":1' % i for i in range(count)) + b"}"


def refused(response: httpx.Response | httpx2.Response, status: int) -> ErrorResponse:
    """The response is a ``status`` in the documented JSON shape; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return ErrorResponse.model_validate_json(response.content)


# ------------------------------------------------------------------------------ body size


def test_the_limits_are_what_a_record_can_legitimately_carry(record: dict[str, Any]) -> None:
    one = len(json.dumps(record, indent=4).encode())
    assert one < record_bytes()
    # Bounded by what the schema's longest record needs: its longest category values, any number's
    # text, ignored keys (request_limits.IGNORED_MIN_BYTES at least), whitespace, a wrapper.
    longest = {
        **record,
        **{c.name: max(c.categories, key=len) for c in SCHEMA.features if c.kind == "category"},
    }
    columns = len(SCHEMA.features) + 1
    assert record_bytes() <= 4 * (
        request_limits.IGNORED_MIN_BYTES + len(json.dumps(longest)) + 32 * columns
    )
    # Room for keys the model ignores: as many bytes again as its own fields, 512 at least.
    wider = {**record, **{f"column {i}": "x" * 20 for i in range(30)}}
    assert len(json.dumps(wider, indent=4).encode()) < record_bytes()
    assert batch_bytes(MAX_BATCH) >= MAX_BATCH * record_bytes()
    assert len(json.dumps({"records": [record] * MAX_BATCH}).encode()) < batch_bytes(MAX_BATCH)


def test_a_body_over_the_record_limit_is_a_small_413(client: TestClient) -> None:
    body = unknown_keys(2_000)  # 20 KB: five times what one record can need
    assert len(body) < batch_bytes(MAX_BATCH)  # ... and still fine for the batch route
    response = client.post("/predict", content=body, headers=JSON)
    error = refused(response, 413)
    assert error.detail[0].type == "too_large"
    assert error.message == f"(body): request body larger than {record_bytes():,} bytes"
    assert len(response.content) < 1_000


def test_the_413_decided_on_content_length_is_json(client: TestClient) -> None:
    body = b"[" + b" " * batch_bytes(MAX_BATCH) + b"]"
    response = client.post("/predict/batch", content=body, headers=JSON)
    assert refused(response, 413).detail[0].type == "too_large"


def test_a_body_without_content_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1_024

    response = client.post("/predict", content=chunks(), headers=JSON)
    assert response.request.headers.get("content-length") is None
    assert refused(response, 413).detail[0].type == "too_large"


# ------------------------------------------------------------------------------ error bodies


def test_thousands_of_unknown_fields_are_ignored_and_never_listed(
    client: TestClient, record: dict[str, Any]
) -> None:
    keys = unknown_keys(3_000)
    padded = json.dumps(record).encode()[:-1] + b"," + keys[1:]  # the record, then 3,000 more
    response = client.post(
        "/predict/batch", content=b'{"records": [' + padded + b"]}", headers=JSON
    )
    assert response.status_code == 200, response.text
    error = refused(
        client.post("/predict/batch", content=b'{"records": [' + keys + b"]}", headers=JSON), 422
    )
    # Validation stops at MAX_PROBLEMS: a schema of 30 features lists its first 20.
    assert [p.field for p in error.detail] == [
        f"records.0.{name}" for name in SCHEMA.feature_names()[:MAX_PROBLEMS]
    ]
    assert error.detail[0].message == (
        "Field required (the record's other keys are ignored: '0', '1', '2', ...)"
    )
    assert all(p.message == "Field required" for p in error.detail[1:])  # said once


def test_an_error_body_lists_at_most_twenty_problems(
    client: TestClient, record: dict[str, Any]
) -> None:
    name = SCHEMA.feature_names()[0]
    bad = {**record, name: {"not": "a value"}}  # a value of no kind: one problem per record
    one = client.post("/predict/batch", json={"records": [bad]})
    assert len(refused(one, 422).detail) == 1
    response = client.post("/predict/batch", json={"records": [bad] * MAX_BATCH})
    error = refused(response, 422)
    assert len(error.detail) == MAX_PROBLEMS
    assert error.truncated
    assert error.detail[0].field == f"records.0.{name}"
    assert error.message.endswith("(validation stopped after 20 problems; there may be more)")
    # However long one problem's message is (a category lists its values), the body holds twenty.
    assert len(response.content) < (MAX_PROBLEMS + 1) * len(one.content)


def test_long_field_names_are_not_echoed_whole(client: TestClient, record: dict[str, Any]) -> None:
    # Longer than what is echoed, yet within the body limit a record of this schema gets.
    spare = record_bytes() - len(json.dumps(record)) - 16
    assert spare > 2 * request_limits.FIELD_TEXT
    first = SCHEMA.feature_names()[0]
    misspelt = {k: v for k, v in record.items() if k != first} | {"x" * spare: 1}
    error = refused(client.post("/predict", json=misspelt), 422)
    shown = "'" + "x" * (request_limits.FIELD_TEXT - 1) + "…'"
    assert (
        error.detail[0].message == f"Field required (the record's other keys are ignored: {shown})"
    )
    envelope = refused(
        client.post("/predict/batch", json={"records": [record], "x" * spare: 1}), 422
    )
    assert [len(p.field) for p in envelope.detail] == [request_limits.FIELD_TEXT]


# ------------------------------------------------------------------------------ unreadable JSON


UNREADABLE = [
    # (content, problem type, message): small enough for either route unless said otherwise
    (b'{"a": "caf\xe9"}', "invalid_utf8", "not UTF-8 text: byte 0xe9 at offset 10"),
    (b"[" * 300 + b"]" * 300, "json_too_deep", "JSON nested too deeply at line 1 column 202"),
    (b'{"a": 1,}', "json_invalid", "malformed JSON: trailing comma at line 1 column 9"),
    (b"  ", "json_empty", "request body is empty"),
]
TOO_LARGE_A_NUMBER = (
    b'{"records": [1' + b"0" * 5_000 + b"]}",  # past the parser's digits: on the batch route only
    "json_number_too_large",
    "number too large at line 1 column 4315",
)


@pytest.mark.parametrize(
    ("endpoint", "content", "kind", "message"),
    [
        *(("/predict", *case) for case in UNREADABLE),
        *(("/predict/batch", *case) for case in [*UNREADABLE, TOO_LARGE_A_NUMBER]),
    ],
)
def test_each_kind_of_unreadable_json_gets_its_own_400(
    client: TestClient, endpoint: str, content: bytes, kind: str, message: str
) -> None:
    error = refused(client.post(endpoint, content=content, headers=JSON), 400)
    assert (error.detail[0].type, error.detail[0].field) == (kind, "")
    assert message in error.message


def test_an_integer_too_large_for_a_float_field_says_so() -> None:
    # On a schema with a float field whatever the project's has (the message is the validator's).
    record = {"amount": 1.0, "visits": 1, "region": "east", "member": None, "score": 0.0}
    text = json.dumps({**record, "amount": "@"}).replace('"@"', "9" * 400)
    with pytest.raises(BadRequest) as caught:
        RecordValidator(record_model(OTHER)).record(request_limits.parse_json(text.encode()))
    error = caught.value.response()
    assert [p.field for p in error.detail] == ["amount"]
    assert "too large for a float" in error.message


def test_a_body_that_stops_arriving_is_a_408() -> None:
    async def receive() -> Message:
        await asyncio.sleep(10)  # a client that sent its headers and then nothing
        return {"type": "http.request", "body": b"", "more_body": False}  # pragma: no cover

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]}
    with pytest.raises(BadRequest) as caught:
        asyncio.run(read_body(Request(scope, receive), limit=1_000, timeout_s=0.05))
    assert caught.value.status == 408
    assert caught.value.response().message == "(body): request body not received within 0.05 s"


# ------------------------------------------------------------------------------ docs


def test_the_docs_load_swagger_ui_from_the_service_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']?([^"'\s>]+)""", page.text)
    assets = re.findall(r"""(?:url|js_url|css_url)\s*[:=]\s*["']([^"']+)""", page.text)
    urls = [*sources, *assets, *re.findall(r"https?://[^\s\"'<>]+", page.text)]
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls), page.text
    assert all(u.startswith("/") for u in urls), urls  # nothing from another origin
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404


# ------------------------------------------------------------------------------ the real server


@pytest.mark.slow
def test_one_request_does_not_stall_the_service(model_dir: Path, record: dict[str, Any]) -> None:
    attack = unknown_keys(950_000)  # the review's body: 9.4 MB of unknown keys
    assert 9_000_000 < len(attack) < 10_000_000
    # Bad batches at the batch limit: as heavy as a body the batch route must read can get.
    heavy = b'{"records": [' + unknown_keys(batch_bytes(1_000) // 10 - 1_000) + b"]}"
    assert len(heavy) < batch_bytes(1_000)
    health: list[tuple[float, float, int]] = []
    bad: list[tuple[float, float, httpx.Response]] = []
    stop = threading.Event()

    def poll(url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as session:
            while not stop.is_set():
                began = time.monotonic()
                status = session.get("/health").status_code
                health.append((began, time.monotonic(), status))

    def send(url: str, path: str, body: bytes) -> None:
        began = time.monotonic()
        response = httpx.post(url + path, content=body, headers=JSON, timeout=120)
        bad.append((began, time.monotonic(), response))

    with running_service(model_dir) as url:  # the default MAX_BATCH
        poller = threading.Thread(target=poll, args=(url,))
        poller.start()
        time.sleep(0.2)
        senders = [
            threading.Thread(target=send, args=(url, path, body))
            for path, body in [("/predict", attack)] * 3 + [("/predict/batch", heavy)] * 3
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        time.sleep(0.2)
        stop.set()
        poller.join()
    statuses = sorted(response.status_code for _, _, response in bad)
    assert statuses == [413, 413, 413, 422, 422, 422]
    for _, _, response in bad:
        # A 413 is one problem; a 422 lists the record's missing features (at most 20 problems).
        assert len(response.content) < (1_000 if response.status_code == 413 else 5_000)
        ErrorResponse.model_validate_json(response.content)
    assert {status for _, _, status in health} == {200}
    # /health answered while the heavy requests were in flight: requests sent after one of them
    # started came back before it was refused ...
    for began, ended, response in bad:
        if response.status_code == 422:
            assert any(began < sent and done < ended for sent, done, _ in health)
    # ... and never waited on them: no /health took a second (before the fix: 16 s and more).
    assert max(done - sent for sent, done, _ in health) < 1.0


@pytest.mark.slow
def test_an_idle_connection_is_closed(model_dir: Path) -> None:
    with running_service(model_dir) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=IDLE_TIMEOUT_S + 10) as idle:
            began = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, having sent nothing
            assert time.monotonic() - began >= IDLE_TIMEOUT_S - 1
