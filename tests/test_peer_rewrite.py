"""A server that rewrites the socket peer from a client's header cannot choose the client.

nginx in front, as the docs show it for ``client_ip: x-real-ip``: it sets ``X-Real-IP`` and
passes a client's ``X-Forwarded-For`` on untouched (nginx's default). nginx's realip module
plays the internet, as in tests/test_nginx_clientip.py: the address in ``X-Test-Peer``
becomes the client's connecting address. The attack: a stranger adds
``X-Forwarded-For: <a GitHub hook address>``. uvicorn's default ``proxy_headers`` (and its
gunicorn worker, under ``forwarded_allow_ips``) then hand the guard that address as the
socket peer, and werkzeug's ``ProxyFix`` does the same to ``REMOTE_ADDR``.

Each server is run as users run it, in its own process, with the apps of
tests/rewrite_apps.py and tests/rewrite_django.py. Whatever the server, the spoofed
request never passes the allowlist: it is refused as ``proxy_headers_invalid`` (400, the
detail naming the flag to set) where the server gives the guard no way to see the real
peer, and as ``ip_not_allowed`` (403) where the guard sees it; the genuine delivery
through nginx is accepted.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_guard.clientip import ClientIPConfig, ClientIPResolver, ProxyHeadersInvalid
from webhook_guard.ipset import NAMED_SETS
from webhook_guard.testing import sign

from .rewrite_apps import SECRET
from .servers import free_port, nginx, run_process

ROOT = Path(__file__).resolve().parent.parent
GITHUB_HOOK = "140.82.112.9"  # inside GitHub's published `hooks` ranges
STRANGER = "198.51.100.7"
LOOPBACK = NAMED_SETS["loopback"]

NGINX_BLOCK = """
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Test-Peer;
    location / {{
      proxy_pass {upstream};
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Test-Peer "";
    }}
"""

PY = [sys.executable, "-m"]


def _uvicorn(app: str, *flags: str) -> Callable[[int], list[str]]:
    return lambda port: [*PY, "uvicorn", app, "--port", str(port), "--log-level", "warning", *flags]


def _gunicorn(app: str, *flags: str) -> Callable[[int], list[str]]:
    return lambda port: [*PY, "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", *flags, app]


def _flask_run(app: str) -> Callable[[int], list[str]]:
    return lambda port: [*PY, "flask", "--app", app, "run", "--port", str(port)]


UVICORN_WORKER = ("-k", "uvicorn.workers.UvicornWorker")
# (server command, status of the spoofed request). 400: the server rewrote the peer and
# the guard refuses; 403: the guard saw the real peer and found the stranger.
SERVERS: dict[str, tuple[Callable[[int], list[str]], int]] = {
    "uvicorn-default": (_uvicorn("tests.rewrite_apps:asgi_app"), 400),
    "uvicorn-no-proxy-headers": (
        _uvicorn("tests.rewrite_apps:asgi_app", "--no-proxy-headers"),
        403,
    ),
    "gunicorn-uvicorn-worker": (_gunicorn("tests.rewrite_apps:asgi_app", *UVICORN_WORKER), 400),
    "gunicorn-uvicorn-worker-no-forwarded-ips": (
        _gunicorn("tests.rewrite_apps:asgi_app", *UVICORN_WORKER, "--forwarded-allow-ips="),
        403,
    ),
    "gunicorn-flask": (_gunicorn("tests.rewrite_apps:flask_app"), 403),
    "werkzeug-flask-proxyfix": (_flask_run("tests.rewrite_apps:flask_proxyfix_app"), 403),
    "gunicorn-flask-proxyfix": (_gunicorn("tests.rewrite_apps:flask_proxyfix_app"), 403),
    "uvicorn-django-asgi": (_uvicorn("tests.rewrite_django:asgi"), 400),
    "gunicorn-django-wsgi": (_gunicorn("tests.rewrite_django:wsgi"), 403),
    "django-runserver": (
        lambda port: [
            sys.executable,
            "-c",
            "import sys, tests.rewrite_django as d; d.runserver(sys.argv[1])",
            str(port),
        ],
        403,
    ),
    "gunicorn-django-proxyfix": (_gunicorn("tests.rewrite_django:wsgi_proxyfix"), 403),
}


@contextlib.contextmanager
def behind_nginx(command: Callable[[int], list[str]], block: str = NGINX_BLOCK) -> Iterator[str]:
    """The server ``command`` starts, behind nginx; yields nginx's base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    with (
        run_process(command(port), port, env=env, cwd=ROOT),
        nginx(block.format(upstream=f"http://127.0.0.1:{port}")) as proxy,
    ):
        yield f"http://127.0.0.1:{proxy}"


@pytest.fixture(scope="module", params=sorted(SERVERS))
def site(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    command, spoof_status = SERVERS[request.param]
    with behind_nginx(command) as base:
        yield base, spoof_status


def deliver(base: str, peer: str, extra: dict[str, str | bytes] | None = None) -> httpx.Response:
    body = b'{"zen":"Keep it logically awesome."}'
    headers = {**sign("github", body, secret=SECRET), "X-Test-Peer": peer, **(extra or {})}
    return httpx.post(f"{base}/hooks/github", content=body, headers=headers, timeout=10)


def test_genuine_delivery_through_nginx_is_accepted(site: tuple[str, int]) -> None:
    response = deliver(site[0], GITHUB_HOOK)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert data["ok"] is True
    assert data["client_ip"] == GITHUB_HOOK


@pytest.mark.parametrize(
    "spoof",
    [
        {"X-Forwarded-For": GITHUB_HOOK},
        {"X-Forwarded-For": f"{GITHUB_HOOK}:443"},
        {"X-Forwarded-For": f"203.0.113.1, {GITHUB_HOOK}"},
        # NBSP (valid obs-text): whitespace to the servers' str.strip(), not to the guard's
        # own strict parser; the rewritten peer must still be recognised.
        {"X-Forwarded-For": f"\xa0{GITHUB_HOOK}".encode("latin-1")},
    ],
    ids=["xff", "xff-port", "xff-chain", "xff-nbsp"],
)
def test_client_supplied_x_forwarded_for_never_passes_the_allowlist(
    site: tuple[str, int], spoof: dict[str, str | bytes]
) -> None:
    base, expected = site
    response = deliver(base, STRANGER, spoof)
    assert response.status_code == expected, response.text
    problem = response.json()
    if expected == 400:
        assert problem["reason"] == "proxy_headers_invalid"
        assert "--no-proxy-headers" in problem["detail"]
        assert GITHUB_HOOK in problem["detail"]
    else:
        assert problem["reason"] == "ip_not_allowed"
        assert problem["detail"] == f"{STRANGER} is not in this route's allow_ips"


@pytest.mark.parametrize(
    "spoof",
    [GITHUB_HOOK, f'"{GITHUB_HOOK}"', f"\xa0{GITHUB_HOOK}", f"{GITHUB_HOOK}, 127.0.0.1"],
    ids=["plain", "quoted", "nbsp", "chain"],
)
def test_two_proxyfix_layers_never_pass_the_allowlist(spoof: str) -> None:
    # The inner ProxyFix saves the outer one's rewritten value as the "original", so the
    # adapters' ProxyFix reading cannot help; the rewritten-peer check refuses it. werkzeug
    # unquotes list elements ('"1.2.3.4"'), which the check reads the same way.
    with behind_nginx(_gunicorn("tests.rewrite_apps:flask_double_proxyfix_app")) as base:
        spoofed = deliver(base, STRANGER, {"X-Forwarded-For": spoof.encode("latin-1")})
        genuine = deliver(base, GITHUB_HOOK)
    assert spoofed.status_code in (400, 403), spoofed.text
    assert spoofed.json()["reason"] in ("proxy_headers_invalid", "ip_not_allowed")
    assert genuine.status_code == 200, genuine.text


def test_unsafe_setting_refuses_every_forwarded_request_naming_the_flag() -> None:
    # nginx as tests/test_nginx_clientip.py runs it, appending X-Forwarded-For: uvicorn's
    # default rewrites even the genuine delivery's peer. The guard cannot tell that from
    # the attack, so it fails closed and says what to change; with the flag set the same
    # delivery is accepted.
    from .test_nginx_clientip import NGINX_BLOCK as APPENDING

    app = "tests.rewrite_apps:asgi_app"
    with behind_nginx(_uvicorn(app), APPENDING) as base:
        response = deliver(base, GITHUB_HOOK)
    assert response.status_code == 400
    assert response.json()["reason"] == "proxy_headers_invalid"
    assert "run uvicorn with --no-proxy-headers" in response.json()["detail"]
    with behind_nginx(_uvicorn(app, "--no-proxy-headers"), APPENDING) as base:
        response = deliver(base, GITHUB_HOOK)
    assert response.status_code == 200, response.text
    assert response.json()["client_ip"] == GITHUB_HOOK


# -- the servers' own code, against the guard's rule ------------------------------------------

_ADDRESSES = st.sampled_from(
    ["140.82.112.9", "127.0.0.1", "10.1.2.3", "2606:50c0::9", "::1", "::ffff:140.82.112.9"]
)
_SPACE = st.text(alphabet=" \t\x0b\x0c\x1c\x1f\x85\xa0", max_size=2)


@st.composite
def _element(draw: st.DrawFn) -> str:
    addr = draw(_ADDRESSES)
    if ":" in addr and draw(st.booleans()):
        addr = f"[{addr}]"
    if draw(st.booleans()):
        addr += f":{draw(st.integers(0, 70000))}"
    if draw(st.booleans()):
        addr = addr.upper()
    if draw(st.booleans()):
        addr = f'"{addr}"'  # werkzeug's parse_list_header unquotes
    return draw(_SPACE) + addr + draw(_SPACE)


_XFF = st.lists(st.one_of(_element(), st.sampled_from(["", "unknown", "x", "1.2.3"])), min_size=1)


@settings(max_examples=800, deadline=None)
@given(elements=_XFF, lines=st.integers(1, 2), x_for=st.integers(1, 3))
def test_a_peer_uvicorn_or_proxyfix_took_from_the_header_is_never_the_client(
    elements: list[str], lines: int, x_for: int
) -> None:
    # uvicorn's own ProxyHeadersMiddleware logic (trusting loopback, its default, or
    # '*') and werkzeug's ProxyFix pick a peer out of the header; the guard, told that
    # peer, must never make it the client.
    from uvicorn.middleware.proxy_headers import _TrustedHosts
    from werkzeug.middleware.proxy_fix import ProxyFix

    header = [", ".join(elements)] if lines == 1 else [elements[0], ", ".join(elements[1:])]
    joined = ", ".join(header)
    picked = [
        _TrustedHosts("127.0.0.1,::1").get_trusted_client_address(joined)[0],
        _TrustedHosts("*").get_trusted_client_address(joined)[0],
        ProxyFix(lambda e, s: [], x_for=x_for)._get_real_value(x_for, joined),
    ]
    resolver = ClientIPResolver(ClientIPConfig(source="x-real-ip", trusted_proxies=LOOPBACK))
    for peer in picked:
        if not peer:
            continue  # the server keeps the real peer
        try:
            addr = resolver.resolve_address(
                peer, {"x-forwarded-for": header, "x-real-ip": ["1.1.1.1"]}
            )
        except ProxyHeadersInvalid:
            continue  # refused (PeerInvalid included: not an address at all)
        # Only a peer that looks like our proxy gets this far (uvicorn trusting '*', the
        # documented limit): the client is then what the proxy's X-Real-IP says, never
        # the address picked from the client's header.
        assert str(addr) == "1.1.1.1", (peer, header)
