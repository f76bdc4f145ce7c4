"""Apps for tests/test_path_differential.py, each run by a real server in its own process.

Every app has two guarded handlers (``/hooks/orders`` exactly, ``/hooks/builds/...`` under
a prefix route) that append their name to the file named by ``WG_RAN_LOG`` when they run,
and one unguarded handler under ``/public/``.

Each app is also wrapped in a stand-in for a server that reads a target differently from
the guard: it hands the app ``/hooks/orders`` for the target ``/public/rewrite`` (leaving
the raw target as sent), so the guard's binding to what the framework dispatches is tested
on every server.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

SECRET = "whsec_" + base64.b64encode(b"d" * 32).decode()

CONFIG: dict[str, Any] = {
    "version": 1,
    "routes": [
        {"name": "orders", "path": "/hooks/orders", "provider": "standard", "secrets": [SECRET]},
        {"name": "builds", "path": "/hooks/builds/*", "provider": "standard", "secrets": [SECRET]},
    ],
}


def ran(handler: str) -> bytes:
    """Record that a guarded handler ran; the marker it answers with."""
    with open(os.environ["WG_RAN_LOG"], "a") as log:
        log.write(handler + "\n")
    return b"handler ran: " + handler.encode()


REWRITTEN = "/public/rewrite"


def rewrite_wsgi(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """``app`` behind a server that routes the target ``/public/rewrite`` to /hooks/orders."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == REWRITTEN:
            environ["PATH_INFO"] = "/hooks/orders"
        return app(environ, start_response)

    return wrapped


def rewrite_asgi(app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """As :func:`rewrite_wsgi`, under ASGI (``raw_path`` keeps the target as sent)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == REWRITTEN:
            scope = {**scope, "path": "/hooks/orders"}
        await app(scope, receive, send)

    return wrapped
