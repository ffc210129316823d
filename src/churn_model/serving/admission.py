"""Admission control: how many requests with a body the service holds at once, and their bytes.

A request that carries a body (a ``Content-Length`` above zero, or a chunked body) takes a place
among ``max_requests`` and reserves its declared length (at most the largest body a route reads)
out of ``max_bytes`` before a byte of it is read; a body without a declared length is charged as it
arrives. The place and the bytes are given back once the answer is sent, so they bound what the
service holds at once for requests being read, parsed, queued and scored. Beyond either cap the
request is answered 503 at once, with ``Retry-After`` and the documented error shape.

A request without a body (``/health``, ``/metadata``, the docs) holds no bytes and is answered
without waiting on anything: it is never held back, so the orchestrator's probes answer however
many requests are in flight.
"""

from typing import Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churn_model.serving.request_limits import http_error_response

RETRY_AFTER_S: Final = 1
"""Seconds a refused client is told to wait (the time a queued batch takes, with room)."""


def declared_body(scope: Scope) -> int | None:
    """The body length a request declares: ``Content-Length``, 0 when chunked, None without body."""
    length: int | None = None
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return 0
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
    return length or None


def at_capacity(reason: str) -> HTTPException:
    """The 503 of a request beyond the service's capacity, saying which cap it met."""
    return HTTPException(
        503,
        detail=f"the service is at capacity ({reason}); retry after {RETRY_AFTER_S} s",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class AdmissionControl:
    """ASGI middleware capping the requests with a body in flight and the bytes they hold."""

    def __init__(
        self, app: ASGIApp, *, max_requests: int, max_bytes: int, largest_body: int
    ) -> None:
        """Wrap ``app``; a declared length counts as ``largest_body`` (a route's most) at most."""
        self.app = app
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.largest_body = largest_body
        self.requests = 0
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, charge and release a request with a body; pass anything else through."""
        declared = declared_body(scope) if scope["type"] == "http" else None
        if declared is None:
            await self.app(scope, receive, send)
            return
        reserved = min(declared, self.largest_body)
        if self.requests >= self.max_requests:
            refusal = at_capacity(f"{self.max_requests} requests in flight")
        elif self.bytes + reserved > self.max_bytes:
            refusal = at_capacity(f"{self.max_bytes:,} bytes of request bodies held")
        else:
            refusal = None
        if refusal is not None:
            await http_error_response(refusal)(scope, receive, send)
            return
        admitted = _Admitted(self, receive, reserved)
        self.requests += 1
        self.bytes += reserved
        try:
            await self.app(scope, admitted.receive, send)
        finally:
            self.requests -= 1
            self.bytes -= admitted.charged


class _Admitted:
    """One admitted request's body, charged to the service's bytes as it arrives."""

    def __init__(self, control: AdmissionControl, receive: Receive, reserved: int) -> None:
        self._control = control
        self._receive = receive
        self.charged = reserved
        self._received = 0

    async def receive(self) -> Message:
        """The next message; bytes beyond the reservation are charged, or refused with a 503."""
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            extra = self._received - self.charged
            if extra > 0:
                control = self._control
                if control.bytes + extra > control.max_bytes:
                    raise at_capacity(f"{control.max_bytes:,} bytes of request bodies held")
                control.bytes += extra
                self.charged += extra
        return message
