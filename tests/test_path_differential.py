"""No request target opens a guarded handler unsigned, on any server the docs recommend.

Servers and frameworks read a request target in different ways (the raw target against
``PATH_INFO``, fragments, invalid escapes, dot segments, ``//``, ``;params``, ``%2F``...).
Each target here is sent as raw bytes over a socket, unsigned, to real servers running
the apps in tests/diffapps (every guarded handler records that it ran): werkzeug and
gunicorn (sync) with Flask, gunicorn with Django (WSGI), uvicorn with Starlette, FastAPI
and Django (ASGI), Django's runserver, nginx in front of gunicorn and uvicorn, and
``webhook-guard serve`` in front of an upstream with no guard. Whatever the target, no
guarded handler may run. The targets: a table of known tricks, and
generated ones (hypothesis) built around the routes' own paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import standardwebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .diffapps import CONFIG, REWRITTEN, SECRET
from .servers import free_port, nginx, require, run_process

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"type":"order.paid"}'
MARKER = b"handler ran"


class Server:
    """One running server: its port and the file its guarded handlers write to."""

    def __init__(self, name: str, port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.log = log

    def take_handlers_ran(self) -> str:
        """What ran since the last call (so one failure does not fail every later test)."""
        ran = self.log.read_text()
        if ran:
            self.log.write_text("")
        return ran


def start_server(
    stack: contextlib.ExitStack, name: str, command: list[str], tmp: str, extra: dict[str, str]
) -> Server:
    """Start one app server (``{port}`` in ``command`` filled in) until ``stack`` closes;
    its guarded handlers log to a file of their own under ``tmp``."""
    port = free_port()
    log = Path(tmp) / f"{name}.ran"
    log.write_text("")
    env = {
        **os.environ,
        **extra,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "WG_RAN_LOG": str(log),
    }
    args = [part.format(port=port) for part in command]
    stack.enter_context(run_process(args, port, env=env, cwd=ROOT))
    return Server(name, port, log)


# name -> (command, extra environment); {port} is filled in.
PY = sys.executable
COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "werkzeug+flask": ([PY, "-m", "tests.diffapps.flask_app", "{port}"], {}),
    "gunicorn+flask": (
        [PY, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", "127.0.0.1:{port}",
         "tests.diffapps.flask_app:app"],
        {},
    ),
    "gunicorn+django": (
        [PY, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", "127.0.0.1:{port}",
         "tests.diffapps.django_server:wsgi"],
        {},
    ),
    "uvicorn+starlette": (
        [PY, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning",
         "tests.diffapps.starlette_app:starlette"],
        {},
    ),
    "uvicorn+fastapi": (
        [PY, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning",
         "tests.diffapps.starlette_app:fastapi"],
        {},
    ),
    "uvicorn+django": (
        [PY, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning", "--lifespan", "off",
         "tests.diffapps.django_server:asgi"],
        {},
    ),
    "runserver+django": (
        [PY, "-m", "django", "runserver", "--noreload", "127.0.0.1:{port}"],
        {"DJANGO_SETTINGS_MODULE": "tests.diffapps.django_app"},
    ),
}  # fmt: skip
# nginx as docs/guides/behind-proxies.md shows it (for every path, not only /hooks/).
BEHIND_NGINX = ("gunicorn+flask", "gunicorn+django", "uvicorn+starlette")
NGINX_BLOCK = """
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_request_buffering on;
    }}
"""


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    require("nginx")
    with tempfile.TemporaryDirectory(prefix="wg-diff-") as tmp, contextlib.ExitStack() as stack:
        started: dict[str, Server] = {}
        for name, (command, extra) in COMMANDS.items():
            started[name] = start_server(stack, name, command, tmp, extra)
        for name in BEHIND_NGINX:
            upstream = started[name]
            port = stack.enter_context(nginx(NGINX_BLOCK.format(upstream=upstream.port)))
            started[f"nginx+{name}"] = Server(f"nginx+{name}", port, upstream.log)
        # The verifying reverse proxy in front of an upstream with no guard of its own.
        upstream_port, port = free_port(), free_port()
        log = Path(tmp) / "serve.ran"
        log.write_text("")
        config = Path(tmp) / "webhook-guard.yaml"
        config.write_text(json.dumps(CONFIG))  # JSON is YAML
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        env["WG_RAN_LOG"] = str(log)
        upstream_args = [PY, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{upstream_port}"]
        stack.enter_context(
            run_process(
                [*upstream_args, "tests.diffapps.plain_app:app"], upstream_port, env=env, cwd=ROOT
            )
        )
        serve = [PY, "-c", "import sys; from webhook_guard.cli import main; sys.exit(main())"]
        serve += ["serve", "--config", str(config), "--port", str(port)]
        serve += ["--upstream", f"http://127.0.0.1:{upstream_port}", "--log-level", "warning"]
        stack.enter_context(run_process(serve, port, env=env, cwd=ROOT))
        started["webhook-guard serve"] = Server("webhook-guard serve", port, log)
        yield started


def send(port: int, target: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST ``target`` exactly as given; the status (0 when the server answered nothing
    that looks like HTTP) and the whole response."""
    lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in (headers or {}).items())
    request = (
        b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + lines + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + BODY
    )  # fmt: skip
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):  # a reset or a timeout: whatever came is the answer
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    response = b"".join(chunks)
    status = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return (int(status[1]) if status else 0), response


def signed() -> dict[str, str]:
    msg_id = "msg_" + uuid.uuid4().hex
    when = datetime.now(timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(SECRET).sign(msg_id, when, BODY.decode()),
    }


def assert_no_handler_ran(servers: dict[str, Server], target: bytes) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for server in servers.values():
        status, response = send(server.port, target)
        ran = server.take_handlers_ran()
        what = f"{server.name}: unsigned POST {target!r} (status {status})"
        assert not ran, f"{what} ran {ran.split()}"
        assert MARKER not in response, what
        statuses[server.name] = status
    return statuses


# The known tricks, around the exact route /hooks/orders and the prefix route /hooks/builds/*.
TRICKS = [
    b"/hooks/orders",
    b"/hooks/orders/",
    b"/hooks/builds/x",
    # fragments
    b"/hooks/orders#x", b"/hooks/orders#", b"/hooks/orders#/../x", b"/hooks/builds/x#y",
    b"/hooks/orders?#", b"/hooks/orders#?x=1", b"/hooks/orders%23x",
    # dot segments, empty segments, backslashes
    b"/hooks//orders", b"//hooks/orders", b"/hooks/./orders", b"/./hooks/orders",
    b"/hooks/x/../orders", b"/hooks/orders/.", b"/hooks/orders/..", b"/public/../hooks/orders",
    b"/public/%2e%2e/hooks/orders", b"/hooks/%2e%2e/hooks/orders", b"/hooks/%2E/orders",
    b"/hooks/%252e%252e/orders", b"/hooks\\orders", b"/hooks%5Corders", b"/hooks/builds/..",
    b"/hooks/builds/%2e%2e", b"/hooks/builds/..%2Forders",
    # ;params
    b"/hooks/orders;x=1", b"/hooks;x/orders", b"/hooks/orders;", b"/hooks/builds;/x",
    # encoded separators and encoded unreserved characters
    b"/hooks%2Forders", b"/hooks%2forders", b"/hooks/orders%2F", b"/hooks/%6Frders",
    b"/hooks/%6frders", b"/%68ooks/orders", b"/hooks/orde%72s", b"/hooks/orders%3Fx",
    b"/hooks/%62uilds/x", b"/public/..%2Fhooks%2Forders", b"/hooks/orders%7E",
    # case and trailing slashes
    b"/HOOKS/orders", b"/hooks/ORDERS", b"/hooks/builds/", b"/hooks/builds", b"/hooks/builds//",
    # invalid escapes
    b"/hooks/orders%", b"/hooks/orders%G1", b"/hooks/orders%4", b"/hooks/builds/%zz",
    # NUL and control characters, raw and encoded
    b"/hooks/orders%00", b"/hooks/orders%0A", b"/hooks/orders%09", b"/hooks/orders%7F",
    b"/hooks/orders\x00", b"/hooks/orders\t", b"/hooks/orders\x7f", b"/hooks/orders\x0b",
    b"/hooks/builds/x%00", b"/hooks/builds/x%0D%0A",
    # invalid UTF-8, overlong forms, encoded surrogates, raw bytes outside ASCII
    b"/hooks/builds/%FF", b"/hooks/builds/x%C0%AF", b"/hooks/builds/%ED%A0%80",
    b"/hooks/builds/%C0%AE%C0%AE/x", b"/hooks/builds/%C3", b"/hooks/builds/\xff",
    b"/hooks/builds/\xc3\xa9", b"/hooks/builds/\xc0\xaf", b"/hooks%C0%AForders",
    b"/hooks/builds/%C3%A9",
    # absolute-form
    b"http://127.0.0.1/hooks/orders", b"http://127.0.0.1/hooks/orders#x",
    b"http://evil.example/hooks/builds/x", b"HTTP://127.0.0.1/hooks/orders",
    b"http://127.0.0.1//hooks/orders", b"http://127.0.0.1", b"https://127.0.0.1/hooks/orders",
    b"//127.0.0.1/hooks/orders",
    # not a path at all
    b"*", b"hooks/orders", b"/hooks/orders?x=1", b"/hooks/orders?",
]  # fmt: skip


@pytest.mark.parametrize("target", TRICKS, ids=[repr(t)[2:-1] for t in TRICKS])
def test_no_known_trick_runs_a_guarded_handler_unsigned(
    servers: dict[str, Server], target: bytes
) -> None:
    assert_no_handler_ran(servers, target)


PIECES = [
    "hooks", "orders", "builds", "public", "x", "", ".", "..", "%2e", "%2E%2e", "%2F", "%2f",
    "%5C", "\\", ";p=1", ";", "%00", "%0a", "%FF", "%C0%AF", "%ED%A0%80", "%C3%A9", "\xc3\xa9",
    "\xff", "%", "%G1", "%6F", "o%72ders", "#", "#x", "?", "?x=1", "%23", "%3F", "\t", "\x00",
    "\x7f", "%20", "~", "%7E", "/",
]  # fmt: skip
CORES = [["hooks", "orders"], ["hooks", "builds", "x"], ["hooks", "builds"], ["public", "x"]]
PREFIXES = ["/", "//", "", "http://127.0.0.1/", "http://h//", "/./"]


@st.composite
def targets(draw: st.DrawFn) -> bytes:
    """A route's own path with pieces inserted into it, glued to segments or between them."""
    segments = list(draw(st.sampled_from(CORES)))
    for _ in range(draw(st.integers(0, 3))):
        piece = draw(st.sampled_from(PIECES) | st.text("ab.%/;#?\\~", max_size=3))
        at = draw(st.integers(0, len(segments)))
        if segments and draw(st.booleans()):
            index = min(at, len(segments) - 1)
            segments[index] += piece  # glued to a segment: "orders#x", "orders%00"
        else:
            segments.insert(at, piece)
    trailing = draw(st.sampled_from(["", "/", "#", "?"]))
    return (draw(st.sampled_from(PREFIXES)) + "/".join(segments) + trailing).encode("latin-1")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=targets())
def test_no_generated_target_runs_a_guarded_handler_unsigned(
    servers: dict[str, Server], target: bytes
) -> None:
    assert_no_handler_ran(servers, target)


@pytest.mark.parametrize("target", [b"/hooks/orders", b"/hooks/builds/x", b"/hooks/builds/a/b"])
def test_a_signed_delivery_runs_its_handler_everywhere(
    servers: dict[str, Server], target: bytes
) -> None:
    """The control: the apps and servers are wired so that a handler can run at all."""
    handler = target.split(b"/")[2].decode()
    for server in servers.values():
        server.take_handlers_ran()
        status, response = send(server.port, target, signed())
        assert status == 200, (server.name, response)
        assert MARKER in response, (server.name, response)
        assert server.take_handlers_ran() == handler + "\n", server.name


def test_a_server_that_dispatches_elsewhere_meets_a_refusal(servers: dict[str, Server]) -> None:
    """Every app sits behind a stand-in for a server that routes ``/public/rewrite`` to
    /hooks/orders (tests/diffapps): a future parser differential. The guard checked the
    target as no route, the framework dispatches to route orders: refused, even signed."""
    for server in servers.values():
        server.take_handlers_ran()
        for headers in (None, signed()):
            status, response = send(server.port, REWRITTEN.encode(), headers)
            ran = server.take_handlers_ran()
            if server.name == "webhook-guard serve":
                # The stand-in is not in front of the proxy: /public/rewrite is no route.
                assert (status, ran) == (404, ""), server.name
                continue
            if server.name == "runserver+django":
                # wsgiref keeps no raw target: the guard reads the path the app is handed,
                # so it checks route orders itself, and only the signed delivery runs.
                assert (status, ran) == ((200, "orders\n") if headers else (401, "")), server.name
                continue
            assert not ran, server.name
            assert MARKER not in response, server.name
            assert status == 400, (server.name, response)
            assert b'"reason":"path_invalid"' in response, (server.name, response)
            assert b"routes this request to route orders" in response, (server.name, response)
