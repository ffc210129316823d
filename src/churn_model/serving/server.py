"""The HTTP server under the app: uvicorn, with a deadline on every part of a connection's life.

uvicorn's own settings do most of it: ``timeout_keep_alive`` closes a connection idle between two
requests, ``h11_max_incomplete_event_size`` bounds the header bytes a connection may buffer. Two
deadlines it does not have are added by :class:`TimedH11Protocol`: a connection that opens and
never sends a byte is closed like an idle one, and a request's headers must be complete within
``Limits.header_timeout_s`` (``settings``) of their first byte (a client sending them one byte at
a time is answered 408 and closed). The body's own deadline is the
app's (:func:`churn_model.serving.request_limits.read_body`).

uvicorn's ``limit_concurrency`` is not used: it counts open connections, idle ones included, so a
few hundred slow connections would make it refuse ``/health`` and the orchestrator's probes, and
its 503 carries neither ``Retry-After`` nor the documented error shape. The app caps what requests
hold instead (:mod:`churn_model.serving.admission`).
"""

import asyncio
from typing import Any, Final

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from churn_model.serving.app import create_app
from churn_model.serving.contract import ErrorResponse, Problem
from churn_model.serving.served_model import load_compiled_model
from churn_model.serving.settings import Limits, ServeSettings

IDLE_TIMEOUT_S: Final = 5
"""Seconds a connection may stay idle (before its first request or between requests) before the
server closes it: uvicorn's keep-alive timeout, also applied to a connection that never sends."""

MAX_HEADER_BYTES: Final = 16 * 1024
"""Most bytes of an incomplete request head a connection may buffer (more is a 400)."""


def header_timeout_response(timeout_s: float) -> bytes:
    """The raw 408 a connection gets when its request headers took longer than ``timeout_s``."""
    message = f"request headers not received within {timeout_s:g} s"
    body = ErrorResponse(
        message=f"(headers): {message}",
        detail=[Problem(field="", message=message, type="timeout")],
    ).model_dump_json()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return (head + body).encode()


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline on a silent connection and on slow headers.

    The idle deadline is uvicorn's keep-alive timer, armed when the connection opens as well as
    after each response. The header deadline starts at the first byte received while no request is
    being handled, and is lifted once a request's headers are complete. Bytes still arriving for
    a request already answered (the rest of a body refused with a 413 or a 503, drained rather
    than cut off so that the client reads its answer) start it too: they must end within the
    deadline, or the connection is closed.
    """

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Accept the connection, and close it if it stays idle for ``timeout_keep_alive``."""
        super().connection_made(transport)  # type: ignore[arg-type] # uvicorn narrows the type
        self._header_deadline: asyncio.TimerHandle | None = None
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        """Take ``data``; start the header deadline, or lift it once a request has begun."""
        super().data_received(data)
        if self.cycle is None or self.cycle.response_complete:
            if self._header_deadline is None and not self.transport.is_closing():
                self._header_deadline = self.loop.call_later(
                    self.header_timeout_s, self._headers_timed_out
                )
        else:
            self._lift_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the header deadline with the connection."""
        self._lift_header_deadline()
        super().connection_lost(exc)

    def _lift_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_timed_out(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:  # a request's head, never completed: say so
            self.transport.write(header_timeout_response(self.header_timeout_s))
        self.transport.close()


def http_protocol(header_timeout_s: float) -> type[TimedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, with this header deadline."""
    return type("HttpProtocol", (TimedH11Protocol,), {"header_timeout_s": header_timeout_s})


def server_options(limits: Limits) -> dict[str, Any]:
    """The settings of uvicorn for the connection deadlines and header bound under ``limits``."""
    return {
        "http": http_protocol(limits.header_timeout_s),
        "timeout_keep_alive": IDLE_TIMEOUT_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


def run(settings: ServeSettings, *, access_log: bool = False) -> None:
    """Load the model (failing fast with a clear error), then serve it until stopped."""
    model = load_compiled_model(settings.model_dir)
    app = create_app(
        settings.model_dir, max_batch=settings.max_batch, model=model, limits=settings.limits
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        **server_options(settings.limits),
    )
