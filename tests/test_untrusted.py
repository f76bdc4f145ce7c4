"""Request data in details, problem+json and log lines is escaped and bounded.

A method such as ``G\\x1b[2JET`` (clears a terminal that shows the log), ``POST\\n...`` (a
forged second log line) or 60 KB of letters must reach neither a verdict's detail, nor
the problem+json body, nor a log line as it was sent: every such value goes through
:func:`webhook_guard.untrusted.shown`. Checked on the helper, through the core, and
through a real werkzeug server (whose request line takes any method).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from webhook_guard import Reason, WebhookRequest
from webhook_guard.adapters.flask import WebhookGuard
from webhook_guard.untrusted import MAX_DETAIL, MAX_SHOWN, shown

from .conftest import GuardFactory, post
from .servers import free_port, run_process, serve_wsgi
from .test_guard import gen_headers, generic_route

HOSTILE = [
    "G\x1b[2JET",  # ANSI: clear screen
    "POST\nINFO webhook accepted: route=gen",  # a forged log line
    "POST\r\nX-Injected: 1",
    "P\x00OST",
    "P\x7fOST\x85",  # DEL and a C1 control (NEL)
    "POST\u2028line",  # Unicode line separator
    "PO\u202eTSOP",  # right-to-left override
    "P\udcffOST",  # a lone surrogate, as surrogateescape leaves undecodable bytes
    "A" * 60_000,
    "\x1b" * 60_000,
]


def _safe(text: str, bound: int) -> None:
    assert text.isprintable(), text[:200]
    assert len(text) <= bound, len(text)


# -- the helper --------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_shown_escapes_and_bounds(value: str) -> None:
    out = shown(value)
    _safe(out, MAX_SHOWN + 40)
    assert shown(out, MAX_DETAIL) == out  # idempotent: a detail can be shown again


def test_shown_keeps_printable_text_and_names_what_was_cut() -> None:
    assert shown("POST") == "POST"
    assert shown("café ☃ 漢字") == "café ☃ 漢字"
    assert shown("G\x1b[2JET") == "G\\x1b[2JET"
    assert shown("a\nb\u2028c\U000e0001") == "a\\x0ab\\u2028c\\U000e0001"
    assert shown(b"\xff\x85") == "ÿ\\x85"
    assert shown("x" * 100, 10) == "xxxxxxxxxx... (90 more characters)"
    # An escape is never cut in half: it is left out whole and counted.
    assert shown("abcdefgh\x1b", 10) == "abcdefgh... (1 more characters)"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_shown_is_always_printable_bounded_and_idempotent(value: str, limit: int) -> None:
    out = shown(value, limit)
    _safe(out, limit + 40)
    if len(out) <= limit:
        assert shown(out, limit) == out
    assert shown(out, MAX_DETAIL) == out


# -- through the core --------------------------------------------------------------------


@pytest.mark.parametrize("method", HOSTILE)
def test_hostile_method_in_detail_problem_and_log(
    make_guard: GuardFactory, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    guard = make_guard(generic_route())
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        verdict = guard.check(post("/hooks/gen", gen_headers(), method=method))
    assert verdict.reason is Reason.METHOD_NOT_ALLOWED
    _safe(verdict.detail, 200)
    _safe(json.loads(verdict.problem_json())["detail"], 200)
    [record] = [r for r in caplog.records if r.name == "webhook_guard"]
    _safe(record.getMessage(), 600)
    _safe(record.webhook_detail, 200)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_header_values_in_details(make_guard: GuardFactory, value: str) -> None:
    # Proxy headers from a trusted proxy are quoted in the detail that refuses them.
    guard = make_guard(generic_route(), network={"trusted_proxies": ["loopback"]})
    req = post("/hooks/gen", {**gen_headers(), "X-Forwarded-For": value}, peer="127.0.0.1")
    verdict = guard.check(req)
    assert verdict.reason is Reason.PROXY_HEADERS_INVALID
    _safe(verdict.detail, 300)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_event_id_header_is_never_reported_raw(
    make_guard: GuardFactory, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    guard = make_guard(generic_route(event_id={"header": "X-Delivery"}))
    req = post("/hooks/gen", [*gen_headers().items(), ("X-Delivery", value)])
    first = guard.check(req)
    assert first.ok, first.detail
    assert first.event_id is not None
    _safe(first.event_id, 128)
    guard.complete(first, 200)
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        again = guard.check(req)
    assert again.reason is Reason.DUPLICATE_EVENT
    _safe(again.detail, 200)
    [record] = [r for r in caplog.records if r.name == "webhook_guard"]
    _safe(record.getMessage(), 600)


def test_problem_json_bounds_any_detail() -> None:
    # Defence in depth: a detail built elsewhere is still escaped and bounded on the wire.
    from webhook_guard import Verdict

    verdict = Verdict(ok=False, reason=Reason.SIGNATURE_MISMATCH, status=401, detail="\n" * 5000)
    _safe(json.loads(verdict.problem_json())["detail"], MAX_DETAIL + 40)


# -- through a real server ---------------------------------------------------------------


def _raw_request(base: str, request_line: bytes) -> tuple[int, dict[str, Any]]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            request_line + b"\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    "method",
    [b"G\x1b[2JET", b"P\x00OST", b"PO\x9b2JST", b"A" * 60_000],
    ids=["ansi", "nul", "c1-csi", "60k"],
)
def test_hostile_method_through_werkzeug(caplog: pytest.LogCaptureFixture, method: bytes) -> None:
    app = Flask(__name__)
    WebhookGuard(app, config={"version": 1, "routes": [generic_route()]})

    @app.post("/hooks/gen")
    def gen() -> str:
        return "handler ran"

    with caplog.at_level(logging.INFO, logger="webhook_guard"), serve_wsgi(app) as base:
        status, problem = _raw_request(base, method + b" /hooks/gen HTTP/1.1")
    assert status == 405
    assert problem["reason"] == "method_not_allowed"
    _safe(problem["detail"], 200)
    [record] = [r for r in caplog.records if r.getMessage().startswith("webhook rejected")]
    line = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
    _safe(line, 600)
    assert "\\x" in line or "more characters" in line


def test_request_object_keeps_the_method_as_sent() -> None:
    # Only what is shown is escaped; the guard decides on the request as it came.
    assert WebhookRequest("g\x1bet", "/").method == "G\x1bET"


@pytest.mark.parametrize("peer", HOSTILE)
def test_hostile_peer_is_reported_escaped_on_every_path(
    make_guard: GuardFactory, peer: str
) -> None:
    # uvicorn copies any X-Forwarded-For text into the ASGI client; with no address rule
    # the guard reports the peer as verdict.client_ip, which applications log. The fast
    # path (no rules) and the general path both report it printable and bounded.
    for route in (generic_route(event_id="none"), {**generic_route(), "mode": "report"}):
        verdict = make_guard(route).check(post("/hooks/gen", gen_headers(), peer=peer))
        assert verdict.ok, verdict.detail
        assert verdict.client_ip is not None
        _safe(verdict.client_ip, 200)


def test_real_addresses_are_kept_as_given() -> None:
    for peer in ("203.0.113.9", "::ffff:203.0.113.9", "[fe80::1%eth0]:65535", "testclient"):
        assert WebhookRequest("POST", "/", peer=peer).peer == peer


def test_hostile_methods_in_the_log_output_of_a_flask_run_server(tmp_path: Path) -> None:
    # `flask run` (werkzeug) in its own process, its log on stderr as in a deployment:
    # each of the guard's rejection lines stays one printable, bounded line.
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    args = [sys.executable, "-m", "flask", "--app", "tests.rewrite_apps:flask_app", "run"]
    methods = [b"G\x1b[2JET", b"P\x00OST", b"PO\x9b2JST", b"A" * 60_000]
    with (tmp_path / "server.log").open("w+b") as log:
        with run_process([*args, "--port", str(port)], port, env=env, cwd=root, output=log):
            for method in methods:
                status, problem = _raw_request(
                    f"http://127.0.0.1:{port}", method + b" /hooks/github HTTP/1.1"
                )
                assert status == 405, problem
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    ours = [line for line in output.splitlines() if "webhook_guard webhook rejected" in line]
    assert len(ours) == len(methods), output[-3000:]
    for line in ours:
        assert line.startswith("WARNING webhook_guard webhook rejected: route=github")
        assert "reason=method_not_allowed" in line
        _safe(line, 600)
