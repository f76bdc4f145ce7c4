"""A real nginx terminating mutual TLS (`ssl_verify_client`) in front of a real uvicorn
app behind GuardMiddleware, and of a Flask app on werkzeug: the route's client_cert rule
is checked from nginx's headers, which the guard believes only from nginx (127.0.0.1). A
client that talks to the app directly comes from 127.0.0.2 (every 127/8 address is
loopback on Linux), so it is not a trusted proxy, whatever headers it writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import nginx, serve_asgi, serve_wsgi
from tests.test_tls import TOKEN, client_context, route
from tests.tlscerts import CA
from webhook_guard import Guard
from webhook_guard.adapters.asgi import GuardMiddleware

NGINX_BLOCK = """
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    ssl_client_certificate {client_ca};
    ssl_verify_client {verify};
    location / {{
      proxy_pass {upstream};
      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
      proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    }}
"""


def app_reporting_the_verdict(guard: Guard) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        verdict = scope["state"]["webhook"]
        payload = json.dumps({"ok": verdict.ok, "route": verdict.route}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})

    return GuardMiddleware(app, guard=guard)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("pki")
    ca = CA(base)
    return {
        "ca": ca,
        "server": ca.server(),
        "good": ca.issue("good", common_name="partner", dns=("hooks.partner.example",)),
        "wrong": ca.issue("wrong", common_name="hooks.partner.example", dns=("evil.example",)),
        "foreign": CA(base, "other CA").issue("f", common_name="f", dns=("hooks.partner.example",)),
    }


def flask_app_reporting_the_verdict(guard: Guard) -> Any:
    from flask import Flask, g

    from webhook_guard.adapters.flask import WebhookGuard

    app = Flask(__name__)
    app.testing = True
    WebhookGuard(app, guard=guard)

    @app.post("/hooks/partner")
    def partner() -> dict[str, Any]:
        return {"ok": g.webhook.ok, "route": g.webhook.route}

    return app


@pytest.fixture(params=["asgi", "flask"])
def app_url(request: pytest.FixtureRequest) -> Iterator[str]:
    guard = Guard.from_dict(
        {
            "version": 1,
            "network": {"trusted_proxies": ["127.0.0.1/32"], "client_cert": {}},
            "routes": [route()],
        }
    )
    if request.param == "asgi":
        server = serve_asgi(app_reporting_the_verdict(guard))
    else:
        server = serve_wsgi(flask_app_reporting_the_verdict(guard))
    with server as url:
        yield url


def behind_nginx(pki: dict[str, Any], upstream: str, verify: str) -> Any:
    block = NGINX_BLOCK.format(
        server_cert=pki["server"].cert,
        server_key=pki["server"].key,
        client_ca=pki["ca"].path,
        verify=verify,
        upstream=upstream,
    )
    return nginx(block, ssl=True)


def send(url: str, context: Any = None, **headers: str) -> httpx.Response:
    transport = None if context else httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(verify=context or True, transport=transport, timeout=10) as client:
        return client.post(
            f"{url}/hooks/partner", content=b"{}", headers={"X-Token": TOKEN, **headers}
        )


def test_route_rule_from_nginx_headers(pki: dict[str, Any], app_url: str) -> None:
    ca = pki["ca"]
    with behind_nginx(pki, app_url, "optional") as port:
        url = f"https://127.0.0.1:{port}"
        good = send(url, client_context(ca, pki["good"]))
        assert (good.status_code, good.json()) == (200, {"ok": True, "route": "partner"})

        wrong = send(url, client_context(ca, pki["wrong"]))
        assert (wrong.status_code, wrong.json()["reason"]) == (403, "client_cert_invalid")
        assert "evil.example" in wrong.json()["detail"]

        none = send(url, client_context(ca))
        assert (none.status_code, none.json()["reason"]) == (403, "client_cert_missing")

        # Headers a client writes itself are replaced by nginx's own.
        forged = send(
            url,
            client_context(ca),
            **{"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=hooks.partner.example"},
        )
        assert forged.json()["reason"] == "client_cert_missing"

        # A certificate from another CA never gets past nginx's own verification.
        assert send(url, client_context(ca, pki["foreign"])).status_code == 400


def test_ssl_verify_client_on_refuses_at_nginx(pki: dict[str, Any], app_url: str) -> None:
    ca = pki["ca"]
    with behind_nginx(pki, app_url, "on") as port:
        url = f"https://127.0.0.1:{port}"
        assert send(url, client_context(ca, pki["good"])).status_code == 200
        refused = send(url, client_context(ca))
        assert refused.status_code == 400  # nginx's "No required SSL certificate was sent"
        assert "client_cert" not in refused.text  # it never reached the guard


def test_a_direct_client_forging_the_headers_is_refused(app_url: str) -> None:
    headers = {
        "X-SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-S-DN": "CN=hooks.partner.example",
    }
    forged = send(app_url, **headers)
    assert (forged.status_code, forged.json()["reason"]) == (403, "client_cert_missing")
    assert "believed only from network.trusted_proxies" in forged.json()["detail"]
