"""The request lifecycle adapters drive: precheck -> body limit -> read -> body too large
-> check -> complete, in one object (see docs/architecture.md, "The request lifecycle").

An adapter maps its framework's request to a :class:`~webhook_guard.WebhookRequest`,
calls ``guard.begin()``, reads at most :attr:`Delivery.body_limit` bytes when
:attr:`Delivery.needs_body`, and maps the verdict back to a response; every decision is
made here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..logs import logger
from ..request import WebhookRequest
from ..untrusted import shown
from ..verdict import Verdict

if TYPE_CHECKING:
    from ..guard import Guard

#: The body of the 500 sent when a handler protected as one route is reached on another.
NOT_SET_UP = "webhook verification is not set up for this path"


class Delivery:
    """One request on its way through a :class:`~webhook_guard.Guard`.

    Attributes:
        verdict: the decision so far: the precheck's, then the check's.
        request: the request; :meth:`check` sets its body.
    """

    __slots__ = ("_checked", "_guard", "request", "verdict")

    def __init__(self, guard: Guard, request: WebhookRequest, verdict: Verdict) -> None:
        self._guard = guard
        self.request = request
        self.verdict = verdict
        self._checked = False

    @property
    def needs_body(self) -> bool:
        """True when the body must be read and checked: a webhook route, not refused."""
        return self.verdict.ok and self.verdict.route is not None and not self._checked

    @property
    def body_limit(self) -> int:
        """How many bytes of body to read at most (one more tells it is too large)."""
        route = self.verdict.route
        return self._guard.body_limit(route) if route is not None else 0

    def body_too_large(self, limit: int | None = None) -> Verdict:
        """The body grew past ``limit`` (default: the route's) while it was read."""
        self.verdict = self._guard.body_too_large(self.request, self.verdict, limit)
        self._checked = True
        return self.verdict

    def _with(self, body: bytes, limit: int | None) -> Verdict | None:
        limit = self.body_limit if limit is None else limit
        if len(body) > limit:
            return self.body_too_large(limit)
        self.request.body = body
        self._checked = True
        return None

    def check(self, body: bytes, limit: int | None = None) -> Verdict:
        """The verdict on the request with ``body`` (refused when longer than ``limit``,
        by default the route's)."""
        refusal = self._with(body, limit)
        if refusal is None:
            self.verdict = self._guard.check(self.request)
        return self.verdict

    async def acheck(self, body: bytes, limit: int | None = None) -> Verdict:
        """Async twin of :meth:`check`."""
        refusal = self._with(body, limit)
        if refusal is None:
            self.verdict = await self._guard.acheck(self.request)
        return self.verdict

    def complete(self, status: int | None) -> None:
        """Settle the event once the handler answered (see :meth:`Guard.complete`)."""
        self._guard.complete(self.verdict, status)

    async def acomplete(self, status: int | None) -> None:
        """Async twin of :meth:`complete`."""
        await self._guard.acomplete(self.verdict, status)


def misrouted(verdict: Verdict, route: str, path: str) -> bool:
    """True (and logged) when a handler protected as ``route`` is reached with a verdict
    for another route or none: it would run unverified, so it must answer 500 with
    :data:`NOT_SET_UP` (the route's ``path`` or the handler's protection is wrong)."""
    if verdict.route == route:
        return False
    logger.error(
        "handler for %s is protected as route %r but the path matches %s",
        shown(path),
        route,
        repr(verdict.route) if verdict.route else "no route",
    )
    return True
