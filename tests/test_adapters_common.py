"""What the adapters share: the path as sent from WSGI environs and ASGI scopes."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_guard.adapters._common import wsgi_path
from webhook_guard.adapters.asgi import webhook_request


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
