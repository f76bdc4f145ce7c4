"""The proxy's forwarding half (ForwardingApp) over real sockets: uvicorn in front of a
real uvicorn upstream. Verification is GuardMiddleware's job and is tested end to end in
test_proxy.py; here a stand-in puts the verdict in the scope the way the middleware does.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import free_port, serve_asgi
from webhook_guard import Verdict
from webhook_guard.adapters.asgi import read_body
from webhook_guard.proxy import ForwardingApp, check_upstream

ROUTED = "/hooks/"


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes what it received; a few paths misbehave on purpose."""
    if scope["type"] != "http":
        return
    body = await read_body(receive, sys.maxsize) or b""
    path = scope["path"]
    if path.endswith("/slow"):
        await asyncio.sleep(3)
    if path.endswith("/stream"):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"chunk%d;" % i, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path.endswith("/gzip"):
        data = gzip.compress(b"compressed payload")
        headers = [(b"content-encoding", b"gzip"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})
        return
    status = 503 if path.endswith("/fail") else 200
    echo = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": [[n.decode(), v.decode()] for n, v in scope["headers"]],
        "body": body.decode(),
    }
    out = json.dumps(echo).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"server", b"FlexDeploy/9.0"),
        (b"connection", b"x-upstream-secret"),
        (b"x-upstream-secret", b"hop-only"),
        (b"x-app", b"yes"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def stand_in_guard(app: Any) -> Any:
    """Marks paths under /hooks/ as accepted on route 'hooks', everything else unrouted."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            routed = scope["path"].startswith(ROUTED)
            verdict = (
                Verdict(ok=True, route="hooks", client_ip="203.0.113.9", event_id="evt-1")
                if routed
                else Verdict(ok=True)
            )
            scope.setdefault("state", {})["webhook"] = verdict
        await app(scope, receive, send)

    return wrapper


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_asgi(upstream_app) as url:
        yield url


def proxy(upstream: str, **options: Any) -> Any:
    app = stand_in_guard(ForwardingApp(upstream, **options))
    # proxy_headers=False: uvicorn must not rewrite the peer from X-Forwarded-For.
    return serve_asgi(app, proxy_headers=False, lifespan="on")


@pytest.fixture(scope="module")
def proxied(upstream: str) -> Iterator[str]:
    with proxy(upstream) as url:
        yield url


def echo(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def header(data: dict[str, Any], name: str) -> list[str]:
    return [v for n, v in data["headers"] if n == name]


def test_forwards_method_path_query_and_exact_body(proxied: str) -> None:
    body = b'{"ref": "refs/heads/main", "x": "\\u00e9"}'
    r = httpx.post(f"{proxied}/hooks/git/push?token=abc&x=%2F", content=body)
    data = echo(r)
    assert data["method"] == "POST"
    assert data["raw_path"] == "/hooks/git/push"
    assert data["query"] == "token=abc&x=%2F"
    assert data["body"].encode() == body
    assert header(data, "content-length") == [str(len(body))]


def test_unrouted_paths_get_404_and_never_reach_upstream(proxied: str) -> None:
    for path in ("/", "/flexdeploy", "/flexdeploy/admin", "/hook", "/hooksx/a"):
        r = httpx.post(f"{proxied}{path}", content=b"{}")
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["reason"] == "route_not_found"


def test_sets_forwarded_headers_and_strips_client_copies(proxied: str) -> None:
    spoofed = [
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "for=10.0.0.1;proto=https"),
        ("X-Real-IP", "10.0.0.1"),
        ("X-Webhook-Guard-Route", "admin"),
        ("X-WEBHOOK-GUARD-Secret-Id", "current"),
        ("X-Forwarded-Prefix", "/admin"),
    ]
    r = httpx.post(f"{proxied}/hooks/a", content=b"{}", headers=spoofed)
    data = echo(r)
    assert header(data, "x-forwarded-for") == ["203.0.113.9"]  # the verdict's client
    assert header(data, "x-forwarded-proto") == ["http"]
    assert header(data, "x-forwarded-host") == [proxied.removeprefix("http://")]
    assert header(data, "forwarded") == []
    assert header(data, "x-real-ip") == []
    assert header(data, "x-forwarded-prefix") == []
    assert header(data, "x-webhook-guard-route") == ["hooks"]
    assert header(data, "x-webhook-guard-event-id") == ["evt-1"]
    assert header(data, "x-webhook-guard-secret-id") == []  # the verdict has none
    # The upstream sees its own address in Host, not the one the sender used.
    assert header(data, "host") == [upstream_host(proxied, data)]


def test_headers_that_would_redirect_the_upstream_are_not_forwarded(proxied: str) -> None:
    """An underscore name is mapped onto the dash name by CGI-style servers (merged with
    the proxy's own X-Forwarded-For) and gunicorn routes below a SCRIPT_NAME header sent
    from loopback, where the proxy is: the upstream would dispatch another path than the
    one verified. Path and method override headers would do the same, and client-address
    headers other than the proxy's own would let the sender name its address."""
    sent = [
        ("SCRIPT_NAME", "/hooks"),
        ("PATH_INFO", "/admin"),
        ("X_Forwarded_For", "10.0.0.1"),
        ("X-Webhook_Guard-Route", "admin"),
        ("X-Original-URL", "/admin"),
        ("X-Rewrite-URL", "/admin"),
        ("X-HTTP-Method-Override", "DELETE"),
        ("X-HTTP-Method", "DELETE"),
        ("X-Method-Override", "DELETE"),
        ("True-Client-IP", "10.0.0.2"),
        ("CF-Connecting-IP", "10.0.0.3"),
        ("X-Client-IP", "10.0.0.4"),
        ("X-Kept", "1"),
    ]
    data = echo(httpx.post(f"{proxied}/hooks/admin", content=b"{}", headers=sent))
    names = {n for n, _ in data["headers"]}
    assert not {n for n in names if "_" in n}, names
    for name in ("x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method"):
        assert name not in names, name
    assert "x-method-override" not in names
    for name in ("true-client-ip", "cf-connecting-ip", "x-client-ip"):
        assert name not in names, name
    assert header(data, "x-forwarded-for") == ["203.0.113.9"]
    assert header(data, "x-webhook-guard-route") == ["hooks"]
    assert header(data, "x-kept") == ["1"]


def upstream_host(proxied: str, data: dict[str, Any]) -> str:
    hosts = header(data, "host")
    assert len(hosts) == 1
    assert hosts[0] != proxied.removeprefix("http://")
    return hosts[0]


def test_strips_hop_by_hop_and_connection_listed_headers(proxied: str) -> None:
    r = httpx.post(
        f"{proxied}/hooks/a",
        content=b"{}",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "secret-for-this-hop",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "TE": "trailers",
            "Upgrade": "websocket",
            "X-Kept": "1",
        },
    )
    data = echo(r)
    names = {n for n, _ in data["headers"]}
    for name in ("x-private-hop", "keep-alive", "proxy-authorization", "te", "upgrade"):
        assert name not in names, name
    assert header(data, "x-kept") == ["1"]


def test_response_headers_filtered(proxied: str) -> None:
    r = httpx.post(f"{proxied}/hooks/a", content=b"{}")
    assert r.headers["x-app"] == "yes"
    assert "x-upstream-secret" not in r.headers  # listed in the upstream's Connection
    assert r.headers.get("server") != "FlexDeploy/9.0"  # upstream not fingerprinted


def test_upstream_error_status_passes_through(proxied: str) -> None:
    r = httpx.post(f"{proxied}/hooks/fail", content=b"{}")
    assert r.status_code == 503
    assert r.json()["raw_path"] == "/hooks/fail"


def test_streams_chunked_response(proxied: str) -> None:
    with httpx.stream("POST", f"{proxied}/hooks/stream", content=b"{}") as r:
        assert r.status_code == 200
        assert r.headers.get("transfer-encoding") == "chunked"
        assert b"".join(r.iter_raw()) == b"chunk0;chunk1;chunk2;"


def test_encoded_response_passes_through_untouched(proxied: str) -> None:
    with httpx.stream("POST", f"{proxied}/hooks/gzip", content=b"{}") as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert gzip.decompress(raw) == b"compressed payload"
    assert int(r.headers["content-length"]) == len(raw)


def test_unreachable_upstream_is_502() -> None:
    with proxy(f"http://127.0.0.1:{free_port()}") as url:
        r = httpx.post(f"{url}/hooks/a", content=b"{}")
    assert r.status_code == 502
    problem = r.json()
    assert problem["title"] == "Bad gateway"
    assert "127.0.0.1" not in r.text  # the internal address is not revealed


def test_slow_upstream_is_504(upstream: str) -> None:
    with proxy(upstream, timeout=0.5) as url:
        r = httpx.post(f"{url}/hooks/slow", content=b"{}", timeout=10)
    assert r.status_code == 504
    assert r.json()["type"] == "urn:webhook-guard:proxy:upstream_timeout"


def test_websocket_is_refused(upstream: str) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/hooks/a", "headers": []}
    asyncio.run(ForwardingApp(upstream)(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_forwarding_app_without_a_verdict_fails_closed(upstream: str) -> None:
    with serve_asgi(ForwardingApp(upstream), proxy_headers=False) as url:
        r = httpx.post(f"{url}/hooks/a", content=b"{}")
    assert r.status_code == 404


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8000", "ftp://h", "http://", "http://h/?a=1", "http://h/#x", ""]
)
def test_bad_upstream_url(url: str) -> None:
    with pytest.raises(ValueError, match="upstream"):
        check_upstream(url)


def test_upstream_url_with_prefix(upstream: str) -> None:
    with proxy(upstream + "/base/") as url:
        data = echo(httpx.post(f"{url}/hooks/a", content=b"x"))
    assert data["raw_path"] == "/base/hooks/a"
