"""What the adapters share: the path as sent from WSGI environs and ASGI scopes, and the
settling of streamed responses."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from webhook_guard import Guard, Reason, Verdict
from webhook_guard.adapters._common import SettleWhenSent, wsgi_headers, wsgi_path
from webhook_guard.adapters.asgi import webhook_request

from .conftest import BODY, NOW, GuardFactory, post, sdk_signed, sw_route


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RAW_URI": "/hooks/sw?token=1", "PATH_INFO": "/hooks/sw"}, "/hooks/sw"),
        ({"REQUEST_URI": "/hooks%2Fsw", "PATH_INFO": "/hooks/sw"}, "/hooks%2Fsw"),
        ({"RAW_URI": "http://example.com/hooks/sw?x", "PATH_INFO": "/hooks/sw"}, "/hooks/sw"),
        ({"RAW_URI": "http://example.com", "PATH_INFO": "/"}, "/"),
        # No raw target: the decoded PEP 3333 path (latin-1 of the bytes) is re-encoded.
        ({"SCRIPT_NAME": "/app", "PATH_INFO": "/hooks/sw"}, "/app/hooks/sw"),
        ({"PATH_INFO": "/caf\xc3\xa9 x"}, "/caf%C3%A9%20x"),
        ({"PATH_INFO": "/a;b=c:d@e"}, "/a;b=c:d@e"),
        ({}, ""),
    ],
)
def test_wsgi_path(environ: dict[str, Any], expected: str) -> None:
    assert wsgi_path(environ) == expected


def test_wsgi_headers_are_the_headers_werkzeug_and_django_list() -> None:
    from django.http.request import HttpHeaders
    from werkzeug.datastructures import EnvironHeaders

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks/sw",
        "HTTP_HOST": "example.com",
        "HTTP_WEBHOOK_ID": "msg_1",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "",  # absent, as CGI writes it
        "wsgi.input": object(),
    }
    headers = wsgi_headers(environ)
    werkzeug = {k.lower(): v for k, v in EnvironHeaders(environ).items()}
    assert headers == werkzeug
    assert headers == {
        "host": "example.com",
        "webhook-id": "msg_1",
        "x-forwarded-for": "203.0.113.9",
        "content-type": "application/json",
    }
    django = {k.lower(): v for k, v in HttpHeaders(environ).items() if v}
    assert headers == django
    # The CGI variable is the header; a prefixed copy of it (which werkzeug also skips)
    # cannot add a second Content-Length the guard would not see.
    environ["CONTENT_LENGTH"] = "17"
    environ["HTTP_CONTENT_LENGTH"] = "99999999"
    assert wsgi_headers(environ)["content-length"] == "17"


@pytest.mark.parametrize(
    ("scope", "path", "peer"),
    [
        ({"raw_path": b"/hooks%2Fsw", "path": "/hooks/sw"}, "/hooks%2Fsw", "198.51.100.7"),
        ({"raw_path": b"/hooks/sw?x=1", "path": "/hooks/sw"}, "/hooks/sw", "198.51.100.7"),
        ({"raw_path": None, "path": "/caf\xe9"}, "/caf%C3%A9", "198.51.100.7"),
        ({"path": "/hooks/sw", "client": None}, "/hooks/sw", None),  # Unix socket
    ],
)
def test_asgi_webhook_request(scope: dict[str, Any], path: str, peer: str | None) -> None:
    full = {
        "type": "http",
        "method": "post",
        "query_string": b"a=1",
        "headers": [(b"x-a", b"1"), (b"x-a", b"2")],
        "client": ("198.51.100.7", 4000),
        **scope,
    }
    req = webhook_request(full, b"body")
    assert (req.method, req.path, req.query, req.peer, req.body) == (
        "POST",
        path,
        "a=1",
        peer,
        b"body",
    )
    assert req.header("X-A") == ["1", "2"]  # repeated lines are kept for the guard to see


class Closable:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Any:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True


def delivery() -> Any:
    when = datetime.fromtimestamp(NOW, timezone.utc)
    return post("/hooks/sw", sdk_signed("m1", BODY.decode(), when), BODY)


def accepted(guard: Guard) -> Verdict:
    verdict = guard.check(delivery())
    assert verdict.ok
    assert verdict.reservation is not None
    return verdict


def replay_reason(guard: Guard) -> Reason | None:
    return guard.check(delivery()).reason


@pytest.mark.parametrize(
    ("consume", "expected"),
    [
        ("all", Reason.DUPLICATE_EVENT),  # sent in full: committed
        ("none", None),  # closed before the server started it: released, retry processed
        ("part", None),  # closed midway (the client went away): released
        ("nothing", Reason.EVENT_IN_FLIGHT),  # neither sent nor closed: still reserved
    ],
)
def test_settle_when_sent(make_guard: GuardFactory, consume: str, expected: Reason | None) -> None:
    guard = make_guard(sw_route())
    body = Closable([b"a", b"b"])
    wrapped = SettleWhenSent(body, guard, accepted(guard), 200)
    if consume == "all":
        assert b"".join(wrapped) == b"ab"
    elif consume == "part":
        it = iter(wrapped)
        assert next(it) == b"a"
    if consume != "nothing":
        wrapped.close()
        assert body.closed
    assert replay_reason(guard) is expected


def test_settle_when_sent_releases_when_the_stream_raises(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())

    def failing() -> Any:
        yield b"a"
        raise RuntimeError("handler failed")

    wrapped = SettleWhenSent(failing(), guard, accepted(guard), 200)
    with pytest.raises(RuntimeError):
        b"".join(wrapped)
    assert replay_reason(guard) is None


def test_settle_when_sent_releases_on_5xx(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    assert b"".join(SettleWhenSent([b"x"], guard, accepted(guard), 503)) == b"x"
    assert replay_reason(guard) is None
