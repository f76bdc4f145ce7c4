"""How the event of a verified delivery is settled at the edges of a response, on real
servers: a streamed answer the client walks away from, and HEAD or OPTIONS on a webhook
path (the docs' "How the event is settled" section states what these tests hold)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from webhook_guard import Guard
from webhook_guard.adapters.asgi import GuardMiddleware

from .conftest import sdk_signed, sw_route
from .servers import serve_asgi, serve_wsgi

BODY = '{"type":"invoice.paid","amount":1200}'


def guard() -> Guard:
    return Guard.from_dict({"version": 1, "routes": [sw_route()]})


def streaming_app(processed: list[str]) -> Starlette:
    attempts: list[str] = []

    async def hook(request: Request) -> Response:
        event_id = request.state.webhook.event_id
        first = event_id not in attempts
        attempts.append(event_id)

        async def body() -> AsyncIterator[bytes]:
            yield b'{"part":1,'
            if first:
                await asyncio.sleep(30)  # until the client leaves and the stream is stopped
            processed.append(event_id)  # the handler's work finishes with the stream
            yield b'"part2":2}'

        return StreamingResponse(body(), media_type="application/json")

    return Starlette(routes=[Route("/hooks/sw", hook, methods=["POST"])])


def post_and_leave(url: str, headers: dict[str, str]) -> bytes:
    """Send a delivery, read the start of the answer, and close the connection."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = ["POST /hooks/sw HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"Content-Length: {len(BODY)}", "", BODY]
        sock.sendall("\r\n".join(lines).encode())
        received = b""
        while b'{"part":1,' not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received


def test_asgi_stream_cut_short_by_the_client_releases_the_event() -> None:
    """Starlette stops a StreamingResponse when the client disconnects: the handler's
    work never finished, so the provider's retry must be processed (it was committed on
    the 200 of the response start before)."""
    processed: list[str] = []
    headers = sdk_signed("msg_cut", BODY)
    app = GuardMiddleware(streaming_app(processed), guard=guard())
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert b"200 OK" in post_and_leave(url, headers)
        for _ in range(200):  # until the cut-short stream has been stopped and settled
            retry = http.post("/hooks/sw", content=BODY, headers=headers)
            if retry.status_code != 409:
                break
            time.sleep(0.05)
        assert retry.status_code == 200
        assert retry.json() == {"part": 1, "part2": 2}
        again = http.post("/hooks/sw", content=BODY, headers=headers)
        assert again.json()["reason"] == "duplicate_event"
    assert processed == ["msg_cut"]


# -- HEAD and OPTIONS on a webhook path --------------------------------------------------


def starlette_server() -> Any:
    async def hook(request: Request) -> Response:
        return JSONResponse({"ok": True})

    # Starlette answers HEAD for GET routes and OPTIONS through CORS middleware; listing
    # the methods here lets them reach the guard as a framework would route them.
    app = Starlette(routes=[Route("/hooks/sw", hook, methods=["POST", "HEAD", "OPTIONS"])])
    return serve_asgi(GuardMiddleware(app, guard=guard()))


def flask_server() -> Any:
    from flask import Flask

    from webhook_guard.adapters.flask import WebhookGuard

    app = Flask(__name__)

    @app.route("/hooks/sw", methods=["GET", "POST"])  # GET brings HEAD; OPTIONS is automatic
    def hook() -> Any:
        return {"ok": True}

    WebhookGuard(app, guard=guard())
    return serve_wsgi(app)


@pytest.mark.parametrize("server", [starlette_server, flask_server], ids=["starlette", "flask"])
@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_on_a_webhook_path_are_refused_and_reserve_nothing(
    server: Any, method: str
) -> None:
    """The framework would answer HEAD or OPTIONS by itself (Flask adds both, Starlette
    HEAD for a GET route); on a POST-only webhook route the guard refuses them with 405
    before any reservation, so the POST that follows with the same delivery headers is
    processed, not a duplicate or in flight."""
    headers = sdk_signed(f"msg_{method}", BODY)
    with server() as url, httpx.Client(base_url=url, timeout=10) as http:
        probe = http.request(method, "/hooks/sw", content=BODY, headers=headers)
        assert probe.status_code == 405
        assert probe.headers["allow"] == "POST"
        delivery = http.post("/hooks/sw", content=BODY, headers=headers)
        assert delivery.status_code == 200
        assert delivery.json() == {"ok": True}
