"""A real nginx in front of a real uvicorn app behind GuardMiddleware.

The test client runs on loopback like nginx itself, so nginx's realip module plays the
internet: ``set_real_ip_from 127.0.0.1; real_ip_header X-Test-Peer;`` makes the address in
``X-Test-Peer`` the client's connecting address ($remote_addr), exactly as if it had
connected from there. nginx then appends it with ``proxy_set_header X-Forwarded-For
$proxy_add_x_forwarded_for`` (keeping whatever X-Forwarded-For the client sent, as nginx
does) and sets ``X-Real-IP $remote_addr``. The guard trusts only loopback (nginx), so it
must find the address nginx saw, never one the client wrote.

uvicorn runs with ``proxy_headers=False``: its own X-Forwarded-For handling would
otherwise rewrite the socket peer before the guard sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from webhook_guard import Guard
from webhook_guard.adapters.asgi import GuardMiddleware

from .rewrite_apps import github_config as config
from .servers import nginx, serve_asgi

GITHUB_HOOK = "140.82.112.9"  # inside GitHub's published `hooks` ranges
STRANGER = "198.51.100.7"


def make_app(guard: Guard) -> Any:
    """The guard's ASGI middleware in front of an app that reports the verdict it was given."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        more = True
        while more:  # the middleware replays the verified body
            more = (await receive()).get("more_body", False)
        verdict = scope["state"]["webhook"]
        payload = {"ok": verdict.ok, "route": verdict.route, "client_ip": verdict.client_ip}
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    return GuardMiddleware(app, guard=guard)


NGINX_BLOCK = """
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Test-Peer;
    location / {{
      proxy_pass {upstream};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Test-Peer "";
    }}
"""


@pytest.fixture(params=["x-forwarded-for", "x-real-ip"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[Guard, str]]:
    guard = Guard.from_dict(config(request.param))
    with (
        serve_asgi(make_app(guard), proxy_headers=False) as upstream,
        nginx(NGINX_BLOCK.format(upstream=upstream)) as port,
    ):
        yield guard, f"http://127.0.0.1:{port}"


def deliver(
    guard: Guard, base: str, peer: str, extra: list[tuple[str, str]] | None = None
) -> tuple[int, dict[str, Any]]:
    body = b'{"zen":"Keep it logically awesome."}'
    headers = [*guard_headers(guard, body), ("X-Test-Peer", peer), *(extra or [])]
    response = httpx.post(f"{base}/hooks/github", content=body, headers=headers, timeout=10)
    data: dict[str, Any] = response.json()
    return response.status_code, data


def guard_headers(guard: Guard, body: bytes) -> list[tuple[str, str]]:
    from webhook_guard.testing import sign

    return list(sign(guard, "github", body).items())


@pytest.mark.parametrize("peer", [GITHUB_HOOK, "2606:50c0::9"], ids=["v4", "v6"])
def test_github_address_behind_nginx_is_accepted(site: tuple[Guard, str], peer: str) -> None:
    status, verdict = deliver(*site, peer=peer)
    assert status == 200, verdict
    assert verdict == {"ok": True, "route": "github", "client_ip": peer}


def test_stranger_behind_nginx_is_refused(site: tuple[Guard, str]) -> None:
    status, problem = deliver(*site, peer=STRANGER)
    assert status == 403
    assert problem["reason"] == "ip_not_allowed"
    assert problem["detail"] == f"{STRANGER} is not in this route's allow_ips"


@pytest.mark.parametrize(
    "spoof",
    [
        [("X-Forwarded-For", GITHUB_HOOK)],
        [("X-Forwarded-For", f"{GITHUB_HOOK}, 127.0.0.1")],
        [("X-Forwarded-For", GITHUB_HOOK), ("X-Forwarded-For", "::1")],
        [("X-Real-IP", GITHUB_HOOK)],
        [("Forwarded", f"for={GITHUB_HOOK}")],
        [("X-Forwarded-For", "010.0.0.1")],  # garbage left of nginx's entry is never examined
    ],
    ids=["xff", "xff-with-loopback", "xff-two-lines", "x-real-ip", "forwarded", "xff-garbage"],
)
def test_spoofed_headers_through_nginx_do_not_pass(
    site: tuple[Guard, str], spoof: list[tuple[str, str]]
) -> None:
    status, problem = deliver(*site, peer=STRANGER, extra=spoof)
    assert status == 403, problem
    assert problem["reason"] == "ip_not_allowed"
    assert problem["detail"] == f"{STRANGER} is not in this route's allow_ips"


def test_direct_request_to_uvicorn_is_judged_by_its_own_peer() -> None:
    # Bypassing nginx: the peer is loopback (trusted), so a forged header is believed only
    # as far as the rules allow: an all-trusted chain is refused, not taken at face value.
    guard = Guard.from_dict(config("x-forwarded-for"))
    with serve_asgi(make_app(guard), proxy_headers=False) as upstream:
        body = b"{}"
        headers = [*guard_headers(guard, body), ("X-Forwarded-For", "::1")]
        response = httpx.post(f"{upstream}/hooks/github", content=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json()["reason"] == "proxy_headers_invalid"
