"""The server under the app, for real on loopback: deadlines on slow headers and slow bodies.

A client sending its request headers a byte at a time (slowloris) is answered 408 and closed once
the header deadline passes; headers completed in time lift it, so a body may then take as long as
the body deadline allows; a body that stops arriving is a 408 at the body deadline.
"""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from churn_model.serving.app import create_app
from churn_model.serving.contract import ErrorResponse
from churn_model.serving.served_model import (
    CompiledModel,
)
from churn_model.serving.server import header_timeout_response
from churn_model.serving.settings import Limits

from running_service import serving_in_thread
from served_model import records, sample

LIMITS = Limits(header_timeout_s=0.25, body_timeout_s=1.0)
"""Deadlines short enough to wait for in a test. The body's pause (:data:`PAUSE_S`) ends past the
header deadline, and far enough before the body's that a busy machine does not reach it."""

PAUSE_S = LIMITS.header_timeout_s + 0.1
"""How long the body waits after headers sent in time."""


@pytest.fixture(scope="module")
def port(served: CompiledModel) -> Iterator[int]:
    app = create_app(Path("unused"), model=served, limits=LIMITS)
    with serving_in_thread(app, LIMITS) as port:
        yield port


@pytest.fixture(scope="module")
def record() -> bytes:
    one: dict[str, Any] = records(sample(1, seed=3))[0]
    return json.dumps(one).encode()


def read_until_closed(sock: socket.socket, within_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes ``sock`` (within ``within_s``); and when."""
    began = time.monotonic()
    sock.settimeout(within_s)
    received = b""
    while True:
        try:
            chunk = sock.recv(65_536)
        except ConnectionResetError:
            # Closed with bytes of ours still unread (a byte sent as the deadline passed): the
            # kernel resets the connection, after what the server sent, which is read first.
            break
        if not chunk:
            break
        received += chunk
    return received, time.monotonic() - began


def status(response: bytes) -> int:
    """The status code of a raw HTTP response."""
    return int(response.split(b" ", 2)[1])


def test_headers_sent_a_byte_at_a_time_are_a_408_and_closed(port: int) -> None:
    head = b"POST /predict HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 1_000
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        began = time.monotonic()
        sock.settimeout(0.05)
        received = b""
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
                received = sock.recv(65_536)
            except TimeoutError:
                continue  # nothing from the server yet: the next byte
            except OSError:
                pass  # closed by the server
            break
        rest, _ = read_until_closed(sock, within_s=5)
        elapsed = time.monotonic() - began
    answer = received + rest
    assert answer == header_timeout_response(LIMITS.header_timeout_s)
    assert status(answer) == 408
    assert LIMITS.header_timeout_s <= elapsed < LIMITS.header_timeout_s + 2


def test_headers_in_time_lift_their_deadline_for_the_body(port: int, record: bytes) -> None:
    head = (
        f"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(record)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head[:10])  # the head's first bytes start the header deadline
        time.sleep(0.05)
        sock.sendall(head[10:])  # and its last ones lift it
        time.sleep(PAUSE_S)  # past the header deadline, well within the body's
        sock.sendall(record)
        answer, _ = read_until_closed(sock, within_s=5)
    assert status(answer) == 200, answer


def test_a_body_that_stops_arriving_is_a_408_at_the_body_deadline(port: int) -> None:
    head = (
        b"POST /predict/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + b'{"records": [')
        answer, elapsed = read_until_closed(sock, within_s=LIMITS.body_timeout_s + 3)
    assert status(answer) == 408, answer
    body = ErrorResponse.model_validate_json(answer.split(b"\r\n\r\n", 1)[1])
    assert body.message == f"(body): request body not received within {LIMITS.body_timeout_s:g} s"
    assert LIMITS.body_timeout_s - 0.1 <= elapsed < LIMITS.body_timeout_s + 2


def test_the_rest_of_a_refused_body_must_end_within_the_header_deadline(port: int) -> None:
    head = (
        b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        began = time.monotonic()
        sock.settimeout(0.1)
        received = b""
        while time.monotonic() - began < LIMITS.header_timeout_s + 2:
            try:
                sock.sendall(b" ")  # the body goes on arriving, a byte at a time
                chunk = sock.recv(65_536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - began
    # One answer, the 413 decided on Content-Length, then the connection closed: no second answer.
    assert status(received) == 413, received
    assert received.count(b"HTTP/1.1") == 1
    assert LIMITS.header_timeout_s <= elapsed < LIMITS.header_timeout_s + 2
