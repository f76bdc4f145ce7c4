"""uvicorn's h11 protocol with a deadline for each request's head and body (see
:class:`~webhook_guard.proxy_limits.ClientLimits`, which is what uses it)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .proxy_limits import ClientLimits

logger = logging.getLogger("webhook_guard.proxy")


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
