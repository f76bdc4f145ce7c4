"""Path normalisation and route matching.

The guard must agree with the application about which path a request is for, or an
attacker can reach a webhook handler through a spelling the guard does not recognise
(``/hooks//github``, ``/hooks/./github``, ``/hooks/%67ithub/``...). So every path is
decoded once into a canonical form; a request whose canonical path belongs to a route
but which was not *sent* in a canonical spelling is refused rather than passed on, and a
path with no exact canonical form at all (a fragment, an invalid escape, invalid UTF-8, a
control character) is refused whatever route it might be for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar
from urllib.parse import unquote_to_bytes

T = TypeVar("T")

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCODED_SEPARATORS = re.compile(r"%(?:2[fF]|5[cC]|00)")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Unencoded in a path as sent: a space or control character (servers split, strip or
# refuse them differently), '#' (servers drop the fragment before routing) and '?' (the
# query starts there; a path handed in with one was not split the way servers split it).
_NOT_IN_PATH = re.compile(r"[\x00-\x20\x7f#?]")

# Characters a decoded path keeps unencoded when it has to be re-encoded (RFC 3986 pchar).
SAFE_PATH = "/!$&'()*+,;=:@~"

# Paths longer than this are normalised on every request, never cached: the cache is fed
# before authentication, so its size must be bounded in bytes, not only in entries
# (1024 entries of at most 256 characters in and out: about 1 MB).
CACHED_PATH_CHARS = 256


@dataclass(frozen=True)
class NormalisedPath:
    """Result of :func:`normalise_path`.

    Attributes:
        path: the canonical path (decoded once, dot segments and empty segments
            resolved, trailing slash dropped), or ``None`` when the path cannot be
            canonicalised exactly (see ``problem``).
        canonical: True when the path as sent was already unambiguous, so the guard
            and any application agree on it.
        problem: why ``path`` is ``None``: what the path as sent contains that servers
            and frameworks read in different ways.
        decoded: the path decoded once and nothing else (dot segments and ``//`` kept),
            which is what a framework matches its routes against; ``None`` with ``path``.
    """

    path: str | None
    canonical: bool
    problem: str | None = None
    decoded: str | None = None


def normalise_path(raw: str) -> NormalisedPath:
    """Decode ``raw`` once and resolve it to a canonical path.

    The canonical form is what a lenient server could route the request to; ``canonical``
    is False when the raw spelling relies on leniency (double slashes, dot segments,
    encoded separators, double encoding, backslashes). A path no canonical form can be
    given to exactly (a fragment, an invalid percent-escape, invalid UTF-8 once decoded,
    a control character, raw or encoded) has ``path=None``: each server reads such a
    path its own way, so the guard must refuse it rather than guess.
    """
    if len(raw) > CACHED_PATH_CHARS:
        return _normalise(raw)
    return _normalise_cached(raw)


# Webhook paths repeat, so the (pure) normalisation of short paths is cached; hostile
# unique paths only churn the bounded cache.
@lru_cache(maxsize=1024)
def _normalise_cached(raw: str) -> NormalisedPath:
    return _normalise(raw)


def _normalise(raw: str) -> NormalisedPath:
    bad = _NOT_IN_PATH.search(raw)
    if bad is not None:
        char = bad.group()
        if char == "#":
            return _invalid("a fragment ('#'), which servers drop before routing")
        if char == "?":
            return _invalid("a '?' (a query must be passed separately)")
        return _invalid(f"an unencoded space or control character ({char!r})")
    if _BAD_ESCAPE.search(raw):
        return _invalid("a '%' that does not start a valid percent-escape")
    canonical = raw.startswith("/")
    if _ENCODED_SEPARATORS.search(raw) or "\\" in raw:
        canonical = False
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:  # invalid UTF-8 once decoded, or lone surrogates handed in
        return _invalid("bytes that are not valid UTF-8 once decoded")
    if _CONTROL.search(decoded):
        return _invalid("an encoded control character (such as %00 or %0A)")
    # After one decoding round nothing encoded may remain: the application might decode again.
    if "//" in decoded or _PERCENT.search(decoded):
        canonical = False
    segments: list[str] = []
    for segment in decoded.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            canonical = False
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    path = "/" + "/".join(segments)
    if canonical:
        # Sent spelling must equal the canonical one, up to one trailing slash.
        sent = decoded[:-1] if decoded.endswith("/") and len(decoded) > 1 else decoded
        canonical = sent == path
    return NormalisedPath(path, canonical, None, decoded)


def _invalid(problem: str) -> NormalisedPath:
    return NormalisedPath(None, False, "the path contains " + problem)


class RouteTable(Generic[T]):
    """Exact paths and ``prefix/*`` patterns mapped to values.

    Exact paths win over prefixes; among prefixes the longest wins. ``/a/*`` matches
    ``/a/b`` and ``/a/b/c`` but not ``/a`` itself; it matches ``/a/``, which a canonical
    path never is, but a decoded one may be, and which frameworks route to ``/a/<rest>``
    with an empty rest.
    """

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, T] = {}
        prefixes: list[tuple[str, T]] = []
        for pattern, value in entries:
            if pattern.endswith("/*"):
                prefixes.append((pattern[:-1], value))
            else:
                self._exact[pattern.rstrip("/") or "/"] = value
        self._prefixes: Sequence[tuple[str, T]] = sorted(prefixes, key=lambda p: -len(p[0]))

    def match(self, path: str) -> T | None:
        """The value for canonical ``path``, or ``None``."""
        value = self._exact.get(path)
        if value is not None:
            return value
        for prefix, value in self._prefixes:
            if path.startswith(prefix):
                return value
        return None


_PATTERN = re.compile(r"^/(?:[A-Za-z0-9._~!$&'()+,;=:@-]+/)*(?:[A-Za-z0-9._~!$&'()+,;=:@-]+|\*)?$")


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable route path, or ``None`` when it is."""
    if not pattern.startswith("/"):
        return "must start with '/'"
    if "*" in pattern and not pattern.endswith("/*"):
        return "'*' is only allowed as the last segment, as in /hooks/*"
    if pattern.count("*") > 1:
        return "only one '*' is allowed"
    if not _PATTERN.match(pattern) or "//" in pattern:
        return "must be a plain path of unencoded segments such as /hooks/github or /hooks/*"
    if any(seg in (".", "..") for seg in pattern.split("/")):
        return "must not contain '.' or '..' segments"
    return None
