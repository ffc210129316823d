"""Admission control against a real server: requests in flight and the bytes they hold are capped.

Each test serves the app under uvicorn on a loopback port with small limits, holds requests open
by stalling their bodies on raw sockets, and checks that one more is a 503 with ``Retry-After`` in
the documented shape, that ``/health`` answers meanwhile, and that a place is given back once a
held request ends.
"""

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from churn_model.serving.admission import RETRY_AFTER_S, declared_body
from churn_model.serving.app import create_app
from churn_model.serving.contract import ErrorResponse
from churn_model.serving.request_limits import batch_bytes
from churn_model.serving.served_model import (
    CompiledModel,
)
from churn_model.serving.settings import Limits

from running_service import serving_in_thread
from served_model import records, sample

MAX_BATCH = 10
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    return records(sample(1, seed=5))[0]


@contextmanager
def service(served: CompiledModel, limits: Limits) -> Iterator[httpx.Client]:
    """The app over ``served`` under uvicorn with ``limits``; yield a client of it."""
    app = create_app(Path("unused"), max_batch=MAX_BATCH, model=served, limits=limits)
    with (
        serving_in_thread(app, limits) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        yield client


def stalled(client: httpx.Client, length: int) -> socket.socket:
    """Open a ``POST /predict/batch`` declaring ``length`` bytes, send one byte of it, stall."""
    host, port = client.base_url.host, client.base_url.port
    assert port is not None
    sock = socket.create_connection((host, port), timeout=10)
    head = (
        f"POST /predict/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n{{"
    )
    sock.sendall(head.encode())
    return sock


def answer_until(
    send: Callable[[], httpx.Response], wanted: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """``send()`` again until its answer is ``wanted`` or 5 s have passed; the last answer.

    The server holds a stalled request once it has read its head, and gives its place back once
    it has seen the socket close: a moment after the test acts, on the server's own thread.
    """
    deadline = time.monotonic() + 5
    while True:
        response = send()
        if wanted(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


def refused(response: httpx.Response) -> bool:
    """Whether ``response`` is a refusal for capacity (a 503)."""
    return response.status_code == 503


def at_capacity(response: httpx.Response, cap: str) -> None:
    """``response`` is the 503 of a service at capacity, naming ``cap``, with ``Retry-After``."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    body = ErrorResponse.model_validate_json(response.content)
    assert cap in body.message
    assert "at capacity" in body.message


def admitted_again(client: httpx.Client, record: dict[str, Any]) -> httpx.Response:
    """Send ``record`` until it is no longer refused for capacity (within 5 s); the answer."""
    return answer_until(partial(client.post, "/predict", json=record), lambda r: not refused(r))


def test_a_request_beyond_the_requests_in_flight_is_a_503_with_retry_after(
    served: CompiledModel, record: dict[str, Any]
) -> None:
    limits = Limits(max_requests_in_flight=2)
    with service(served, limits) as client, ExitStack() as stack:
        holding = [stack.enter_context(stalled(client, 100)) for _ in range(2)]
        send = partial(client.post, "/predict", json=record)
        at_capacity(answer_until(send, refused), "2 requests in flight")
        # Requests without a body hold nothing and are never held back.
        assert client.get("/health").status_code == 200
        assert client.get("/metadata").status_code == 200
        for sock in holding:
            sock.close()
        assert admitted_again(client, record).status_code == 200


def test_a_body_beyond_the_bytes_held_is_a_503_declared_or_not(
    served: CompiledModel, record: dict[str, Any]
) -> None:
    largest = batch_bytes(MAX_BATCH)
    limits = Limits(max_body_bytes_in_flight=largest + 1_000)
    cap = f"{limits.max_body_bytes_in_flight:,} bytes of request bodies held"
    with service(served, limits) as client, stalled(client, largest - 10) as holding:
        # Declared: refused before a byte of it is read (once the stalled request is held).
        body = b'{"records": [' + b" " * 2_000 + b"]}"
        send = partial(client.post, "/predict/batch", content=body, headers=JSON)
        at_capacity(answer_until(send, refused), cap)
        # Not declared (chunked): refused once what has arrived passes what is left.
        chunks = iter([body[:500], body[500:]])
        at_capacity(client.post("/predict/batch", content=chunks, headers=JSON), cap)
        # A body within what is left is served.
        small = client.post("/predict", json=record)
        assert small.status_code == 200, small.text
        assert client.get("/health").status_code == 200
        holding.close()
        assert admitted_again(client, record).status_code == 200
        assert client.post("/predict/batch", content=body, headers=JSON).status_code == 422


def test_a_declared_body_is_read_from_the_headers() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {"type": "http", "headers": list(headers)}

    assert declared_body(scope((b"content-length", b"1234"))) == 1_234
    assert declared_body(scope((b"transfer-encoding", b"chunked"))) == 0
    assert declared_body(scope((b"content-length", b"0"))) is None
    assert declared_body(scope()) is None
