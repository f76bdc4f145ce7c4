"""The verifying reverse proxy end to end over real sockets: uvicorn serving
create_proxy() in front of a real uvicorn upstream, and `webhook-guard serve` as a process.
Requests are signed with the real standardwebhooks SDK.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from tests.servers import free_port, nginx, serve_asgi, wait_for_port
from webhook_guard import Guard, Reason
from webhook_guard.adapters.asgi import read_body
from webhook_guard.proxy import create_proxy

SECRET = "whsec_" + base64.b64encode(b"p" * 32).decode()
LIMIT = 2048
CONFIG: dict[str, Any] = {
    "version": 1,
    "routes": [
        {
            "name": "orders",
            "path": "/hooks/orders",
            "provider": "standard",
            "secrets": [SECRET],
            "max_body_bytes": LIMIT,
        },
        {
            "name": "git",
            "path": "/hooks/git/*",
            "token": {"header": "X-Token", "secrets": ["t0ken-for-tests"]},
            "event_id": "none",
        },
    ],
}


class Upstream:
    """A recording upstream; paths ending in /fail answer 500, /slow sleep."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive, sys.maxsize) or b""
        self.seen.append(
            {
                "path": scope["raw_path"].decode(),
                "query": scope["query_string"].decode(),
                "headers": [(n.decode(), v.decode()) for n, v in scope["headers"]],
                "body": body,
            }
        )
        if scope["path"].endswith("/slow"):
            await asyncio.sleep(3)
        status = 500 if scope["path"].endswith("/fail") else 202
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"queued"})


def signed(body: bytes, msg_id: str, secret: str = SECRET) -> dict[str, str]:
    now = datetime.now(timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(msg_id, now, body.decode()),
        "content-type": "application/json",
    }


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    app = Upstream()
    with serve_asgi(app) as url:
        yield app, url


@pytest.fixture
def stack(upstream: tuple[Upstream, str]) -> Iterator[tuple[Upstream, str]]:
    app, url = upstream
    proxy = create_proxy(Guard.from_dict(CONFIG), url, timeout=1.0)
    with serve_asgi(proxy, proxy_headers=False, lifespan="on") as proxy_url:
        yield app, proxy_url


def raw(base: str, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
    """One request with the path sent exactly as written."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path, body or None, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


BODY = b'{"type": "order.created", "id": 42}'


def test_signed_delivery_is_forwarded_unchanged(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    r = httpx.post(f"{url}/hooks/orders?x=1", content=BODY, headers=signed(BODY, "msg_1"))
    assert r.status_code == 202
    assert r.text == "queued"
    [seen] = app.seen
    assert seen["path"] == "/hooks/orders"
    assert seen["query"] == "x=1"
    assert seen["body"] == BODY
    headers = dict(seen["headers"])
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the peer: no trusted proxy
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-webhook-guard-route"] == "orders"
    assert headers["x-webhook-guard-event-id"] == "msg_1"
    assert headers["x-webhook-guard-secret-id"] == "secrets[0]"
    assert headers["webhook-id"] == "msg_1"  # the provider's headers go through


# Headers are signed when the test runs, not at collection: a loaded run can take longer
# than the 300 s window between the two, and the refusal would be timestamp_too_old.
@pytest.mark.parametrize(
    ("make_headers", "body", "reason"),
    [
        (dict, BODY, "signature_missing"),
        (lambda: signed(BODY, "msg_2"), BODY.replace(b"42", b"43"), "signature_mismatch"),
        (lambda: signed(BODY, "msg_3", "whsec_" + base64.b64encode(b"x" * 32).decode()), BODY,
         "signature_mismatch"),
    ],
    ids=["unsigned", "tampered", "other-secret"],
)  # fmt: skip
def test_rejected_delivery_never_reaches_upstream(
    stack: tuple[Upstream, str],
    make_headers: Callable[[], dict[str, str]],
    body: bytes,
    reason: str,
) -> None:
    app, url = stack
    headers = make_headers()
    r = httpx.post(f"{url}/hooks/orders", content=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason
    assert app.seen == []


def test_replay_is_acknowledged_not_forwarded(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    headers = signed(BODY, "msg_replay")
    assert httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers).status_code == 202
    again = httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers)
    assert again.status_code == 200
    assert again.json()["reason"] == "duplicate_event"
    assert len(app.seen) == 1


def test_upstream_5xx_releases_the_event_so_the_retry_is_forwarded(
    stack: tuple[Upstream, str],
) -> None:
    app, url = stack
    body = b'{"fail": true}'
    headers = {"X-Token": "t0ken-for-tests"}
    # Token-only route with event_id none: both reach the upstream anyway; use orders.
    signed_headers = signed(body, "msg_retry")
    first = httpx.post(f"{url}/hooks/orders", content=body, headers=signed_headers)
    assert first.status_code == 202
    r = httpx.post(f"{url}/hooks/git/fail", content=body, headers=headers)
    assert r.status_code == 500
    r = httpx.post(f"{url}/hooks/git/fail", content=body, headers=headers)
    assert r.status_code == 500
    assert [s["path"] for s in app.seen] == ["/hooks/orders", "/hooks/git/fail", "/hooks/git/fail"]


NOT_ROUTES = [
    "/",
    "/admin",
    "/hooks",
    "/hooks/",
    "/hooks/orders/extra",
    "/HOOKS/orders",
    "/hooks/orders/../../admin",
    "/hooks/git/../../admin",
    "/hooks/git/%2e%2e/%2e%2e/admin",
    "/hooks/git/%2E%2E/admin",
    "/hooks/git%2F..%2F..%2Fadmin",
    "/hooks/orders%2F",
    "//hooks/orders",
    "/hooks//orders",
    "/hooks/./orders",
    "/hooks/orders/.",
    "/hooks/git/a/../b",
    "/hooks/git/%252e%252e/admin",
    "/hooks/orders;x=1",
]
# No exact canonical form: 400 whatever route they might be for.
INVALID = ["/hooks/orders%00", "/hooks/orders%0A", "/hooks/git/%FF", "/hooks/git/x%C0%AF"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [(p, Reason.ROUTE_NOT_FOUND) for p in NOT_ROUTES] + [(p, Reason.PATH_INVALID) for p in INVALID],
)
def test_everything_else_is_refused_and_never_reaches_upstream(
    stack: tuple[Upstream, str], path: str, reason: Reason
) -> None:
    app, url = stack
    status, body = raw(
        url, "POST", path, BODY, **signed(BODY, "msg_path"), **{"X-Token": "t0ken-for-tests"}
    )
    assert status == reason.status, (path, body)
    assert json.loads(body)["reason"] == reason.value
    assert app.seen == []


def test_absolute_form_target_is_forwarded_as_its_path(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    status, body = raw(
        url, "POST", "http://127.0.0.1/hooks/orders?x=1", BODY, **signed(BODY, "msg_abs")
    )
    assert status == 202, body
    [seen] = app.seen
    assert (seen["path"], seen["query"]) == ("/hooks/orders", "x=1")


def test_wrong_method_is_405(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    r = httpx.get(f"{url}/hooks/orders")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert app.seen == []


def test_body_limit_with_and_without_content_length(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    big = b"x" * (LIMIT + 1)
    r = httpx.post(f"{url}/hooks/orders", content=big, headers=signed(big, "msg_big"))
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"y" * (LIMIT // 2)

    r = httpx.post(f"{url}/hooks/orders", content=chunks(), headers=signed(big, "msg_big2"))
    assert r.status_code == 413
    exact = b"z" * LIMIT
    r = httpx.post(f"{url}/hooks/orders", content=exact, headers=signed(exact, "msg_exact"))
    assert r.status_code == 202
    assert [len(s["body"]) for s in app.seen] == [LIMIT]


def test_client_copies_of_proxy_headers_are_replaced(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    headers = {
        **signed(BODY, "msg_spoof"),
        "X-Forwarded-For": "140.82.112.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "flexdeploy.internal",
        "X-Real-IP": "140.82.112.1",
        "Forwarded": "for=140.82.112.1",
        "X-Webhook-Guard-Route": "admin",
        "X-Webhook-Guard-Secret-Id": "current",
    }
    assert httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers).status_code == 202
    lines = app.seen[0]["headers"]

    def values(name: str) -> list[str]:
        return [v for n, v in lines if n == name]

    assert values("x-forwarded-for") == ["127.0.0.1"]
    assert values("x-forwarded-proto") == ["http"]
    assert values("x-forwarded-host") == [url.removeprefix("http://")]
    assert values("x-real-ip") == []
    assert values("forwarded") == []
    assert values("x-webhook-guard-route") == ["orders"]
    assert values("x-webhook-guard-secret-id") == ["secrets[0]"]


def test_unreachable_upstream_is_502_and_the_event_is_not_burnt() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with serve_asgi(create_proxy(CONFIG, dead), proxy_headers=False, lifespan="on") as url:
        headers = signed(BODY, "msg_down")
        for _ in range(2):
            r = httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers)
            assert r.status_code == 502  # not 200 duplicate: the retry is tried again


def test_slow_upstream_is_504(stack: tuple[Upstream, str]) -> None:
    app, url = stack
    r = httpx.post(f"{url}/hooks/git/slow", content=b"{}", headers={"X-Token": "t0ken-for-tests"},
                   timeout=10)  # fmt: skip
    assert r.status_code == 504
    assert r.json()["title"] == "Gateway timeout"
    assert len(app.seen) == 1


# -- webhook-guard serve, as a process ---------------------------------------------------------


def serve_args(config: Path | str, upstream: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "webhook_guard.cli", "serve", "--config", str(config),
        "--upstream", upstream, "--port", str(port), *extra,
    ]  # fmt: skip


def test_serve_forwards_and_stops_cleanly_on_sigterm(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    app, upstream_url = upstream
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")  # JSON is YAML
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_args(config, upstream_url, port), stdout=out, stderr=out)
    try:
        wait_for_port(port, alive=lambda: proc.poll() is None)
        url = f"http://127.0.0.1:{port}"
        r = httpx.post(
            f"{url}/hooks/orders?token=s3cr3t-in-url", content=BODY, headers=signed(BODY, "msg_s")
        )
        assert r.status_code == 202
        assert httpx.get(f"{url}/admin").status_code == 404
        assert "server" not in r.headers  # neither uvicorn nor the upstream is advertised
        # A delivery in flight when SIGTERM arrives is finished, then the process exits 0.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(
                httpx.post, f"{url}/hooks/git/slow", content=b"{}",
                headers={"X-Token": "t0ken-for-tests"}, timeout=30,
            )  # fmt: skip
            while len(app.seen) < 2:
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert slow.result().status_code == 202
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [s["path"] for s in app.seen] == ["/hooks/orders", "/hooks/git/slow"]
    output = log.read_text()
    assert '"POST /hooks/orders?[redacted] HTTP/1.1" 202' in output
    assert "s3cr3t-in-url" not in output
    assert "Finished server process" in output


def test_serve_with_a_broken_config_exits_2_naming_the_place(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    broken = json.loads(json.dumps(CONFIG))
    broken["routes"][0]["tolerance"] = 0
    config.write_text(json.dumps(broken), encoding="utf-8")
    result = subprocess.run(
        serve_args(config, "http://127.0.0.1:9", free_port()),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {config}:")
    assert "routes[0].tolerance: 0 is not allowed" in result.stderr


@pytest.mark.parametrize("upstream_url", ["127.0.0.1:8000", "ftp://x", "http://h/?q=1"])
def test_serve_with_a_bad_upstream_exits_2(tmp_path: Path, upstream_url: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    result = subprocess.run(
        serve_args(config, upstream_url, free_port()),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: --upstream: upstream ")


# -- behind a real nginx, the trusted proxy in front of the guard -------------------------------

NGINX_CONFIG: dict[str, Any] = {
    "version": 1,
    "network": {"trusted_proxies": ["127.0.0.1/32"], "client_ip": "x-forwarded-for"},
    "routes": [
        {
            "name": "git",
            "path": "/hooks/git/*",
            "token": {"header": "X-Token", "secrets": ["t0ken-for-tests"]},
            "allow_ips": ["127.0.0.5/32"],  # "the provider", a loopback alias
            "event_id": "none",
        }
    ],
}


def from_address(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_behind_nginx_the_client_is_the_first_untrusted_hop(
    upstream: tuple[Upstream, str],
) -> None:
    app, upstream_url = upstream
    proxy = create_proxy(NGINX_CONFIG, upstream_url)
    with serve_asgi(proxy, proxy_headers=False, lifespan="on") as guard_url:
        block = (
            f"location / {{ proxy_pass {guard_url};"
            " proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"
            " proxy_set_header X-Forwarded-Proto https; }"
        )
        with nginx(block) as port:
            edge = f"http://127.0.0.1:{port}/hooks/git/push"
            token = {"X-Token": "t0ken-for-tests"}
            with from_address("127.0.0.5") as provider:
                # The provider's own (even forged) X-Forwarded-For is left of nginx's hop.
                r = provider.post(
                    edge, content=b"{}", headers={**token, "X-Forwarded-For": "6.6.6.6"}
                )
                assert r.status_code == 202
            with from_address("127.0.0.6") as stranger:
                r = stranger.post(
                    edge, content=b"{}", headers={**token, "X-Forwarded-For": "127.0.0.5"}
                )
                assert r.status_code == 403
                assert r.json()["reason"] == "ip_not_allowed"
            # Straight to the guard, bypassing nginx: the peer is not trusted, so neither
            # its X-Forwarded-For nor its X-Forwarded-Proto is believed.
            with from_address("127.0.0.5") as direct:
                r = direct.post(
                    f"{guard_url}/hooks/git/direct", content=b"{}",
                    headers={**token, "X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"},
                )  # fmt: skip
                assert r.status_code == 202
    assert len(app.seen) == 2
    via_nginx, direct_seen = (dict(s["headers"]) for s in app.seen)
    assert via_nginx["x-forwarded-for"] == "127.0.0.5"
    assert via_nginx["x-forwarded-proto"] == "https"  # believed: nginx is trusted
    assert direct_seen["x-forwarded-for"] == "127.0.0.5"
    assert direct_seen["x-forwarded-proto"] == "http"


def test_request_smuggling_attempt_never_reaches_upstream_as_a_second_request(
    stack: tuple[Upstream, str],
) -> None:
    app, url = stack
    smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
    chunk = b"0\r\n\r\n" + smuggled
    request = (
        b"POST /hooks/git/a HTTP/1.1\r\nHost: x\r\nX-Token: t0ken-for-tests\r\n"
        b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(chunk)
    ) + chunk
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    # uvicorn refuses the ambiguous framing (here it closes the connection); whatever a
    # front server makes of it, the upstream only ever gets freshly framed requests that
    # passed the guard, so nothing for /admin.
    assert b"HTTP/1.1 2" not in answer.partition(b"\r\n\r\n")[2]  # no second success
    assert len(app.seen) <= 1
    assert all(s["path"] == "/hooks/git/a" for s in app.seen)
    assert not any(b"/admin" in s["body"] for s in app.seen)


# -- an upstream slower than --timeout -----------------------------------------------------


class GatedUpstream:
    """Holds each request until the test opens the gate, then answers ``status``: an
    application slower than the proxy's timeout, without timing the test on it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.status = 202
        self.processed: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive, sys.maxsize) or b""
        await asyncio.to_thread(self.gate.wait, 30)
        if self.status < 300:
            self.processed.append(body)
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


def until_settled(url: str, headers: dict[str, str]) -> httpx.Response:
    """Send the retry until the event is no longer in flight (the late answer landed)."""
    for _ in range(200):
        r = httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers, timeout=10)
        if r.status_code != 409:
            return r
        time.sleep(0.05)
    raise AssertionError("the event stayed in flight")


@pytest.mark.parametrize("late_status", [202, 500])
def test_upstream_slower_than_the_timeout_settles_the_event_with_its_late_answer(
    late_status: int,
) -> None:
    """--timeout 1 and an upstream that takes longer: the sender gets 504 and retries;
    the retry must not reach the upstream while it is still working on the event (409),
    and the upstream's late answer decides: 2xx commits (the next retry is a duplicate),
    5xx releases (the next retry is forwarded)."""
    upstream = GatedUpstream()
    upstream.status = late_status
    headers = signed(BODY, f"msg_slow_{late_status}")
    with (
        serve_asgi(upstream) as upstream_url,
        serve_asgi(
            create_proxy(CONFIG, upstream_url, timeout=1.0), proxy_headers=False, lifespan="on"
        ) as url,
    ):
        first = httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers, timeout=10)
        assert first.status_code == 504
        retry = httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers, timeout=10)
        assert retry.status_code == 409
        assert retry.json()["reason"] == "event_in_flight"
        upstream.status = late_status
        upstream.gate.set()
        after = until_settled(url, headers)
        if late_status == 202:
            assert after.status_code == 200
            assert after.json()["reason"] == "duplicate_event"
            assert upstream.processed == [BODY]
        else:
            assert after.status_code == 500  # forwarded again: the retry is processed
