"""Apps for tests/test_peer_rewrite.py, run by real servers in their own processes.

One guarded GitHub route that only GitHub's hook addresses may call, behind a proxy on
loopback that names the client in ``X-Real-IP``. Each app answers with the verdict and the
address its framework believes, so a test can see both. Not a test module (no ``test_``
prefix): servers import it by name (``tests.rewrite_apps:asgi_app``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from webhook_guard.adapters.asgi import GuardMiddleware

SECRET = "It's a Secret to Everybody"

# The guard's rejection lines go to the server's stderr, as in a deployment.
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")


def github_config(client_ip: str) -> dict[str, Any]:
    """nginx on loopback in front; only GitHub's hook addresses may call the route."""
    return {
        "version": 1,
        "network": {"trusted_proxies": ["loopback"], "client_ip": client_ip},
        "routes": [
            {
                "name": "github",
                "path": "/hooks/github",
                "provider": "github",
                "secrets": [SECRET],
                "allow_ips": ["github"],
                "event_id": "none",  # the same delivery is sent from several addresses
            }
        ],
    }


CONFIG = github_config("x-real-ip")


async def _asgi_inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    verdict = scope["state"]["webhook"]
    client = scope.get("client")
    payload = {
        "ok": verdict.ok,
        "client_ip": verdict.client_ip,
        "framework_addr": client[0] if client else None,
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


asgi_app = GuardMiddleware(_asgi_inner, config=CONFIG)


def _flask_app(proxy_fix: int) -> Any:
    from flask import Flask, g, request
    from werkzeug.middleware.proxy_fix import ProxyFix

    from webhook_guard.adapters.flask import WebhookGuard

    app = Flask(__name__)
    WebhookGuard(app, config=CONFIG)

    @app.post("/hooks/github")
    def github() -> dict[str, Any]:
        verdict = g.webhook
        return {
            "ok": verdict.ok,
            "client_ip": verdict.client_ip,
            "framework_addr": request.remote_addr,
        }

    for _ in range(proxy_fix):
        # As Flask's docs show it: one proxy in front, trusted for X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    return app


flask_app = _flask_app(proxy_fix=0)
flask_proxyfix_app = _flask_app(proxy_fix=1)
# Two layers: the inner one saves the outer one's rewritten value as the "original".
flask_double_proxyfix_app = _flask_app(proxy_fix=2)
