"""Limits on what a client may make ``webhook-guard serve`` hold: time to send a request,
size and number of header lines.

uvicorn bounds the size of a request head (h11's 16 KiB buffer) and closes a connection
left idle *after* a response (``timeout_keep_alive``), but it has no deadline for a
request: a connection that never sends a byte, a request head or body trickled one
byte at a time, or a body that is never finished, holds a socket forever (slowloris).
httptools, which uvicorn picks when installed, does not bound the head either. So
``serve`` runs uvicorn's h11 protocol with two deadlines added here, and measures each
request head in front of the application. The rationale and the measured behaviour are in
docs/threat-model.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .adapters.asgi import ASGIApp, Receive, Scope, Send
from .verdict import PROBLEM_CONTENT_TYPE

logger = logging.getLogger("webhook_guard.proxy")


@dataclass(frozen=True)
class ClientLimits:
    """What one client connection may cost ``webhook-guard serve``.

    Attributes:
        header_timeout: seconds for the whole request line and headers to arrive, counted
            from the connection opening or from the end of the previous response on it.
        body_timeout: seconds for the whole body to arrive once the headers are in. It
            also runs when the proxy answered without reading the body (a refusal), so
            the rest cannot be trickled in afterwards either.
        max_header_bytes: most bytes of request line plus headers (more: 431, or 400
            when the parser sees the overflow while the head is still arriving; closed).
        max_headers: most header lines (more: 431, closed).
        keep_alive_timeout: seconds an idle connection is kept open after a response.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 16_384
    max_headers: int = 100
    keep_alive_timeout: int = 5

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "max_header_bytes", "max_headers"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.keep_alive_timeout < 1:
            raise ValueError(f"keep_alive_timeout must be >= 1, got {self.keep_alive_timeout}")

    def uvicorn_options(self) -> dict[str, Any]:
        """The ``uvicorn.Config`` keyword arguments that apply these limits."""
        return {
            "http": deadline_protocol(self),
            "h11_max_incomplete_event_size": self.max_header_bytes,
            "timeout_keep_alive": self.keep_alive_timeout,
        }


class _DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for each request's head and for its body.

    The phase is read from h11's state of the client's side: ``IDLE`` until the head is
    complete, ``SEND_BODY`` until the body is; any other state has no deadline (the
    application is working, or the connection is ending).
    """

    limits: ClientLimits = ClientLimits()
    _phase: Any = None
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _watch(self) -> None:
        phase = self.conn.their_state
        if phase is self._phase:
            return  # the deadline runs from when the phase began, not from the last byte
        self._phase = phase
        self._cancel()
        if self.transport.is_closing():
            return
        if phase is h11.IDLE:
            self._timer = self.loop.call_later(self.limits.header_timeout, self._expire, "head")
        elif phase is h11.SEND_BODY:
            self._timer = self.loop.call_later(self.limits.body_timeout, self._expire, "body")

    def _expire(self, what: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        limit = self.limits.header_timeout if what == "head" else self.limits.body_timeout
        peer = self.client[0] if self.client else "-"
        logger.warning(
            "closed the connection from %s: the request %s did not arrive within %g s",
            peer,
            what,
            limit,
        )
        # Closing is the whole answer: the application (if it is waiting for the body)
        # sees the client disconnect, and nothing more is read from this socket.
        self.transport.close()


def deadline_protocol(limits: ClientLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with ``limits``' request deadlines (``uvicorn.Config(http=)``)."""
    chosen = limits

    class DeadlineH11Protocol(_DeadlineH11Protocol):
        limits = chosen

    return DeadlineH11Protocol


def _head_size(scope: Scope) -> int:
    """The size of the request line and headers as the client could have sent them
    most compactly (no optional whitespace)."""
    query = scope.get("query_string", b"")
    target = len(scope.get("raw_path") or scope["path"].encode()) + (len(query) + 1 if query else 0)
    line = len(scope["method"]) + 1 + target + len(" HTTP/1.1\r\n")
    return line + sum(len(n) + len(v) + 4 for n, v in scope["headers"]) + 2


def limit_head(app: ASGIApp, limits: ClientLimits) -> ASGIApp:
    """Answer 431 and close, before ``app`` sees it, a request whose head is over
    ``limits.max_header_bytes`` or has more than ``limits.max_headers`` lines.

    The server's parser bounds only a head that is still arriving (what it buffers); one
    that arrives in a single read is parsed whole, whatever its size. And within the
    size, thousands of one-byte lines would each cost an entry in every header table
    built downstream.
    """

    def refusal(detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
        body = json.dumps(
            {"type": "urn:webhook-guard:proxy:request_head_too_large",
             "title": "Request header fields too large", "status": 431, "detail": detail},
            separators=(",", ":"),
        ).encode()  # fmt: skip
        headers = [
            (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        return headers, body

    too_many = refusal(f"more than {limits.max_headers} header lines")
    too_big = refusal(f"request line and headers over {limits.max_header_bytes} bytes")

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = (
                too_many
                if len(scope["headers"]) > limits.max_headers
                else too_big
                if _head_size(scope) > limits.max_header_bytes
                else None
            )
            if refused is not None:
                await send({"type": "http.response.start", "status": 431, "headers": refused[0]})
                await send({"type": "http.response.body", "body": refused[1]})
                return
        await app(scope, receive, send)

    return limited


__all__ = ["ClientLimits", "deadline_protocol", "limit_head"]
