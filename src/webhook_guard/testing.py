"""Helpers for testing code that sits behind webhook_guard.

Example::

    from webhook_guard import Guard, WebhookRequest
    from webhook_guard.testing import sign

    guard = Guard.from_file("webhook-guard.yaml")
    body = b'{"type": "ping"}'
    headers = sign(guard, "billing", body)          # signed with the route's own secret
    verdict = guard.check(WebhookRequest("POST", "/hooks/billing", headers=headers, body=body))
    assert verdict.ok
"""

from __future__ import annotations

import os
import time

from .config import RouteConfig
from .guard import Guard
from .secrets import Secret
from .signatures.base import HmacScheme

__all__ = ["FakeClock", "sign"]


def sign(
    guard: Guard,
    route: str,
    body: bytes | str,
    *,
    secret: str | bytes | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    method: str = "POST",
    path: str | None = None,
    query: str = "",
) -> dict[str, str]:
    """The headers the route's provider would send with ``body``.

    Args:
        guard: the guard whose route to sign for.
        route: the route name.
        body: the exact body bytes (str is UTF-8 encoded).
        secret: the secret to sign with; default: the route's first active secret.
        timestamp: Unix seconds; default: the guard's clock.
        event_id: the delivery ID; default: a random ``msg_...`` ID.
        method, path, query: only needed for schemes that sign them; ``path`` defaults to
            the route's path (with ``*`` replaced by ``test``).

    Returns:
        Header name -> value. A route with a header token gets that header too; for a
        query or basic-auth token, add it to the URL or ``Authorization`` yourself.
    """
    config: RouteConfig = guard.config.route(route)
    payload = body.encode() if isinstance(body, str) else body
    now = guard.clock()
    headers: dict[str, str] = {}
    if config.signature is not None:
        scheme = HmacScheme(config.signature)
        key = _pick(config.secrets, secret, now)
        req_path = path or config.path.replace("*", "test")
        values = {
            "id": event_id or "msg_" + os.urandom(12).hex(),
            "timestamp": str(int(now) if timestamp is None else timestamp),
            "method": method.upper(),
            "path": req_path,
            "url": f"{config.public_url}{req_path}{'?' + query if query else ''}",
        }
        headers.update(scheme.sign(key, payload, values))
    if config.token is not None and config.token.source == "header":
        assert config.token.name is not None
        headers[config.token.name] = _pick(config.token.secrets, None, now).reveal().decode()
    return headers


def _pick(secrets: tuple[Secret, ...], given: str | bytes | None, now: float) -> Secret:
    if given is not None:
        return Secret(given, "given")
    for s in secrets:
        if s.active(now):
            return s
    raise ValueError("the route has no active secret to sign with")


class FakeClock:
    """A settable clock for ``Guard(clock=...)`` and ``MemoryReplayStore(clock=...)``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self.now += seconds
