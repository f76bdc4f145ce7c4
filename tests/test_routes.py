from __future__ import annotations

from urllib.parse import unquote

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
        ("hooks/github", "/hooks/github", False),
        ("", "/", False),
        ("/hooks/a;b=c", "/hooks/a;b=c", True),
    ],
)
def test_normalise_path(raw: str, path: str | None, canonical: bool) -> None:
    result = normalise_path(raw)
    assert (result.path, result.canonical, result.problem) == (path, canonical, None)
    assert result.decoded == unquote(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("/hooks/orders#x", "a fragment"),
        ("/hooks/orders#", "a fragment"),
        ("/hooks/orders?x=1", "a '?'"),
        ("/hooks/gh%00", "an encoded control character"),
        ("/hooks/gh%0a", "an encoded control character"),
        ("/hooks/gh%7F", "an encoded control character"),
        ("/hooks/gh\x00", "an unencoded space or control character"),
        ("/hooks/gh\t", "an unencoded space or control character"),
        ("/hooks/g h", "an unencoded space or control character"),
        ("/hooks/gh\x7f", "an unencoded space or control character"),
        ("/hooks/%G1", "a '%' that does not start"),
        ("/hooks/%", "a '%' that does not start"),
        ("/hooks/%4", "a '%' that does not start"),
        ("/a/%ff", "not valid UTF-8"),
        ("/a/%c3", "not valid UTF-8"),
        ("/a/x%C0%AF", "not valid UTF-8"),  # overlong '/'
        ("/a/%ED%A0%80", "not valid UTF-8"),  # an encoded surrogate
        ("/a/\udcff", "not valid UTF-8"),  # a lone surrogate handed in
    ],
)
def test_paths_without_exact_canonical_form_are_invalid(raw: str, problem: str) -> None:
    result = normalise_path(raw)
    assert (result.path, result.canonical) == (None, False)
    assert result.problem is not None
    assert problem in result.problem


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
