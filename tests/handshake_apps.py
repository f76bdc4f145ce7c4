"""Apps for tests/test_handshakes.py, run by real servers in their own processes.

Every app is guarded by the config in the JSON file named by ``WG_HANDSHAKE_CONFIG`` and
writes one JSON line per request it is handed to the file named by ``WG_HANDSHAKE_LOG``,
so the test can tell what reached the application and what the guard answered itself.
Not a test module: servers import it by name (``tests.handshake_apps:starlette_app``).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse

from webhook_guard import Verdict
from webhook_guard.adapters.asgi import GuardMiddleware, webhook_verdict

CONFIG = os.environ.get("WG_HANDSHAKE_CONFIG", "")
LOG = os.environ.get("WG_HANDSHAKE_LOG", "")
#: What every app answers: the test tells it from the guard's own answers.
APP_ANSWER = b"handled by the app"
_lock = threading.Lock()


def record(method: str, target: str, body: bytes) -> None:
    line = json.dumps({"method": method, "target": target, "body": body.decode("latin-1")})
    with _lock, open(LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _target(path: str, query: bytes | str) -> str:
    query = query.decode("latin-1") if isinstance(query, bytes) else query
    return f"{path}?{query}" if query else path


async def _asgi_recorder(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    record(scope["method"], _target(scope["path"], scope["query_string"]), body)
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(APP_ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": APP_ANSWER})


#: The upstream behind ``webhook-guard serve`` (not guarded itself: serve is the guard).
upstream_app = _asgi_recorder

#: A plain ASGI app behind :class:`GuardMiddleware` (what Starlette apps wrap).
starlette_app = GuardMiddleware(_asgi_recorder, CONFIG) if CONFIG else None


def _fastapi() -> Any:
    api = FastAPI()

    # The annotations are strings (see the __future__ import): FastAPI resolves them in
    # this module's globals, hence the imports at the top.
    @api.api_route("/hooks/{name}", methods=["GET", "POST"])
    async def hook(
        request: Request, verdict: Annotated[Verdict, Depends(webhook_verdict)]
    ) -> PlainTextResponse:
        record(request.method, _target(request.url.path, request.url.query), await request.body())
        return PlainTextResponse(APP_ANSWER)

    return GuardMiddleware(api, CONFIG)


def _flask() -> Any:
    from flask import Flask, request

    from webhook_guard.adapters.flask import WebhookGuard

    app = Flask(__name__)
    WebhookGuard(app, CONFIG)

    @app.route("/hooks/<name>", methods=["GET", "POST"])
    def hook(name: str) -> tuple[bytes, int, dict[str, str]]:
        query = request.query_string.decode("latin-1")
        record(request.method, _target(request.path, query), request.get_data())
        return APP_ANSWER, 200, {"content-type": "text/plain"}

    return app


fastapi_app = _fastapi() if CONFIG else None
flask_app = _flask() if CONFIG else None
