from __future__ import annotations

import pytest

from webhook_guard.routes import RouteTable, normalise_path, pattern_error


@pytest.mark.parametrize(
    ("raw", "path", "canonical"),
    [
        ("/hooks/github", "/hooks/github", True),
        ("/hooks/github/", "/hooks/github", True),
        ("/hooks/%67ithub", "/hooks/github", True),
        ("/hooks/caf%C3%A9", "/hooks/café", True),
        ("/", "/", True),
        ("/hooks//github", "/hooks/github", False),
        ("//hooks/github", "/hooks/github", False),
        ("//", "/", False),
        ("/hooks/./github", "/hooks/github", False),
        ("/hooks/x/../github", "/hooks/github", False),
        ("/../hooks/github", "/hooks/github", False),
        ("/hooks%2Fgithub", "/hooks/github", False),
        ("/hooks%2fgithub", "/hooks/github", False),
        ("/hooks%5Cgithub", "/hooks/github", False),
        ("/hooks\\github", "/hooks/github", False),
        ("/hooks/%2e%2e/github", "/github", False),
        ("/hooks/%2E/github", "/hooks/github", False),
        ("/hooks/%252e%252e/github", "/hooks/%2e%2e/github", False),
        ("/hooks/%2500", "/hooks/%00", False),
        ("/hooks/gh%00", "/hooks/gh\x00", False),
        ("/hooks/gh%0a", "/hooks/gh\n", False),
        ("hooks/github", "/hooks/github", False),
        ("/a/%ff", None, False),
        ("/a/%c3", None, False),
    ],
)
def test_normalise_path(raw: str, path: str | None, canonical: bool) -> None:
    result = normalise_path(raw)
    assert (result.path, result.canonical) == (path, canonical)


def test_route_table_precedence() -> None:
    table = RouteTable(
        [("/a/*", "prefix-a"), ("/a/b/*", "prefix-ab"), ("/a/b", "exact"), ("/", "root")]
    )
    assert table.match("/a/b") == "exact"
    assert table.match("/a/b/c") == "prefix-ab"
    assert table.match("/a/c") == "prefix-a"
    assert table.match("/a") is None
    assert table.match("/ab") is None
    assert table.match("/") == "root"
    assert table.match("/zzz") is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("/hooks/github", None),
        ("/hooks/*", None),
        ("/flexdeploy/webhooks/v1/git/*", None),
        ("hooks", "must start with '/'"),
        ("/hooks/*/x", "'*' is only allowed as the last segment"),
        ("/hooks/a*", "'*' is only allowed as the last segment"),
        ("/hooks//x", "must be a plain path"),
        ("/hooks/%2F", "must be a plain path"),
        ("/hooks/../x", "must not contain '.' or '..'"),
        ("/hooks/x?y=1", "must be a plain path"),
    ],
)
def test_pattern_errors(pattern: str, problem: str | None) -> None:
    error = pattern_error(pattern)
    if problem is None:
        assert error is None
    else:
        assert error is not None
        assert problem in error
