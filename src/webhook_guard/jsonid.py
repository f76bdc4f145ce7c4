"""The event ID at a JSON pointer, found without parsing the whole body.

Stripe and Slack put the event ID in the body (``/id``, ``/event_id``). Parsing a 1 MiB
body with :func:`json.loads` costs more than its HMAC, so :func:`find_pointer` walks only
the top-level object: each key is compared as it is met, string values are skipped by
finding their closing quote with ``bytes.find`` (memchr speed), nested objects and arrays by
the C scanner of :mod:`json`, and the value at the pointer is decoded exactly as
:func:`json.loads` decodes it. The last of duplicate keys wins, as in :func:`json.loads`.

Anything the walk does not expect (a body that is not an object, a number it would have to
think about, ``NaN``, a syntax error, a raw control character in a string, a byte order
mark, UTF-16) hands the whole body to :func:`loads_pointer`, the plain reference: so a
surprise can cost time, never a different answer. Why and what it costs:
docs/guides/performance.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

# What the walk hands to the reference instead of deciding itself.
_MAX_NUMBER = 100  # longer numbers (json.loads refuses ints over 4300 digits): reference
#: Below this size find_pointer simply parses: json.loads is about as quick as the walk
#: there (bench/bench_jsonid.py).
SMALL_BODY = 8192
_MAX_MEMBERS = 64  # a walk costs a few Python steps per member, json.loads none
# A skipped string this long is checked for raw control characters by one memchr per
# character (32 bytes.find calls, about 0.35 ns a byte); a shorter one by a regex (about
# 2.5 ns a byte, but one call).
_LONG = 1024
# json's own C string reader and value scanner, the ones json.loads runs.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class _Unusual(Exception):
    """The walk met something it leaves to :func:`loads_pointer`."""


class _NeedText(Exception):
    """An ASCII body holds a nested value: walk it again as text, for the C scanner."""


class _Syntax:
    """The walk's patterns, compiled for ``bytes`` (ASCII bodies) or ``str`` (the others)."""

    def __init__(self, kind: type[bytes] | type[str]) -> None:
        def c(pattern: str) -> re.Pattern[Any]:
            return re.compile(pattern.encode("ascii") if kind is bytes else pattern)

        def k(text: str) -> Any:
            return text.encode("ascii") if kind is bytes else text

        ws = r"[ \t\n\r]*"
        # A key without escapes, the colon, up to the value.
        key = r'"([^"\\\x00-\x1f]*)"' + ws + ":" + ws
        self.start = c(ws + r"\{" + ws + f"(?:{key})?")
        self.plain = c(r'"([^"\\\x00-\x1f]*)"')  # a string without escapes
        # After a value: the comma and the next key up to its value, or the closing brace.
        self.next = c(ws + f"(?:,{ws}(?:{key})?|(\\}}))")
        self.colon = c(ws + ":" + ws)
        # A JSON string, escapes included, exactly as json's scanner accepts it (strict).
        self.string = c(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
        # json's number, with ASCII digits only, as its C scanner reads them.
        self.number = c(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
        self.literal = c(r"true|false|null")
        self.end = c(ws + r"\Z")
        self.quote, self.backslash, self.close = k('"'), k("\\"), k("}")
        self.controls = tuple(k(chr(c)) for c in range(0x20))  # raw, refused in strings
        self.is_text = kind is str
        # Indexing bytes gives an int: the first character of a value, as doc[pos] gives it.
        self.open = (ord("{"), ord("[")) if kind is bytes else ("{", "[")
        self.opens_string = ord('"') if kind is bytes else '"'

    def text(self, raw: Any) -> str:
        return raw if self.is_text else raw.decode("ascii")  # type: ignore[no-any-return]


_BYTES = _Syntax(bytes)
_STR = _Syntax(str)


#: What :func:`resolve` returns when the body is not JSON or the pointer leads nowhere.
MISSING: Final = object()


def resolve(body: bytes, pointer: tuple[str, ...]) -> Any:
    """The value ``pointer`` (its unescaped RFC 6901 tokens) designates in the JSON
    ``body`` after :func:`json.loads`, or :data:`MISSING`. Never raises on hostile input.

    The timestamp inside a verified body (``signature.timestamp_json``) is read with it,
    where a wrong type must be told from an absent value.
    """
    try:
        node: Any = json.loads(body)
    except (ValueError, RecursionError):
        return MISSING
    return _descend(node, pointer)


def _descend(node: Any, pointer: tuple[str, ...]) -> Any:
    for token in pointer:
        if isinstance(node, dict):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and token.isascii():
            index = int(token)
            if index >= len(node) or (token != "0" and token.startswith("0")):
                return MISSING
            node = node[index]
        else:
            return MISSING
    return node


def loads_pointer(body: bytes, pointer: tuple[str, ...]) -> str | None:
    """The reference: :func:`json.loads` the body, then follow the pointer.

    Returns the string, or the integer as a string, at ``pointer``; None when the body is
    not JSON, the pointer leads nowhere, or the value is of another type (a float, a
    boolean, null, an object or an array).
    """
    return _scalar(resolve(body, pointer))


def _scalar(node: Any) -> str | None:
    if isinstance(node, bool) or not isinstance(node, (str, int)):
        return None
    return str(node)


def find_pointer(body: bytes, pointer: tuple[str, ...]) -> str | None:
    """The ID :func:`loads_pointer` gives, without parsing the whole body.

    Args:
        body: the raw request body.
        pointer: the decoded RFC 6901 tokens, e.g. ``("id",)`` for ``/id``.

    Returns:
        What ``loads_pointer(body, pointer)`` returns, for every body.
    """
    if len(body) < SMALL_BODY:
        return loads_pointer(body, pointer)
    return _scan(body, pointer)


def _scan(body: bytes, pointer: tuple[str, ...]) -> str | None:
    """:func:`find_pointer` at any size (the tests walk small bodies through it)."""
    # json.loads reads bytes as UTF-8 unless a byte order mark or a NUL among the first
    # bytes says otherwise: the walk takes only bodies that open like an object in UTF-8.
    if not pointer or type(body) is not bytes or not body or body[:1] not in b"{ \t\n\r":
        return loads_pointer(body, pointer)
    if b"\x00" in body[:4]:
        return loads_pointer(body, pointer)
    try:
        if body.isascii():
            try:
                return _walk(body, pointer, _BYTES)
            except _NeedText:
                return _walk(body.decode("ascii"), pointer, _STR)
        return _walk(body.decode("utf-8", "surrogatepass"), pointer, _STR)
    except (_Unusual, ValueError, RecursionError, StopIteration, IndexError):
        return loads_pointer(body, pointer)


def _walk(doc: Any, pointer: tuple[str, ...], syn: _Syntax) -> str | None:
    """Walk the top-level object of ``doc``; raise :class:`_Unusual` on any surprise."""
    first = pointer[0]
    want = first if syn.is_text else first.encode("utf-8", "surrogatepass")
    found: str | None = None
    m = syn.start.match(doc)
    if m is None:
        raise _Unusual
    if m.group(1) is None and doc[m.end() : m.end() + 1] == syn.close:
        return _end(doc, m.end() + 1, syn, None)
    for _ in range(_MAX_MEMBERS):
        if m.group(1) is None:  # a key with escapes, or no key at all
            m = syn.string.match(doc, m.end())
            if m is None:
                raise _Unusual
            hit = _scanstring(syn.text(m.group()), 1)[0] == first
            m = syn.colon.match(doc, m.end())
            if m is None:
                raise _Unusual
        else:
            hit = m.group(1) == want
        pos = m.end()
        if hit:  # the last of duplicate keys wins, as in json.loads
            found, pos = _value(doc, pos, pointer[1:], syn)
        else:
            pos = _skip(doc, pos, syn)
        m = syn.next.match(doc, pos)
        if m is None:
            raise _Unusual
        if m.group(2) is not None:
            return _end(doc, m.end(), syn, found)
    raise _Unusual  # so many members that json.loads is the quicker way


def _end(doc: Any, pos: int, syn: _Syntax, found: str | None) -> str | None:
    if syn.end.match(doc, pos) is None:
        raise _Unusual
    return found


def _nested(doc: Any, pos: int, syn: _Syntax) -> tuple[Any, int]:
    """Parse the object or array at ``pos`` with json's own C scanner: (value, end)."""
    if not syn.is_text:
        raise _NeedText
    return _scan_once(doc, pos)


def _skip(doc: Any, pos: int, syn: _Syntax) -> int:
    """The end of the value at ``pos``, checked as json.loads checks it (see find_pointer)."""
    first = doc[pos]
    if first == syn.opens_string:
        end = doc.find(syn.quote, pos + 1)
        if end < 0:
            raise _Unusual
        if end - pos < _LONG:
            m = syn.plain.match(doc, pos)
            if m is not None and m.end() == end + 1:
                return end + 1  # type: ignore[no-any-return]
        elif doc.find(syn.backslash, pos + 1, end) < 0:
            # json.loads refuses a raw control character in a string: so does the walk.
            for c in syn.controls:
                if doc.find(c, pos + 1, end) >= 0:
                    raise _Unusual
            return end + 1  # type: ignore[no-any-return]
        m = syn.string.match(doc, pos)
        if m is None:
            raise _Unusual
        return m.end()
    if first in syn.open:
        return _nested(doc, pos, syn)[1]
    m = syn.number.match(doc, pos) or syn.literal.match(doc, pos)
    if m is None or m.end() - pos > _MAX_NUMBER:
        raise _Unusual  # NaN, Infinity, a very long number, or not JSON
    return m.end()


def _value(doc: Any, pos: int, rest: tuple[str, ...], syn: _Syntax) -> tuple[str | None, int]:
    """(the ID the value at ``pos`` gives for the rest of the pointer, the value's end)."""
    first = doc[pos]
    if rest or first in syn.open:
        if first not in syn.open:
            return None, _skip(doc, pos, syn)  # a scalar has no members
        node, end = _nested(doc, pos, syn)
        return _scalar(_descend(node, rest)), end
    if first == syn.opens_string:
        m = syn.plain.match(doc, pos)
        if m is not None:
            return syn.text(m.group(1)), m.end()
        m = syn.string.match(doc, pos)
        if m is None:
            raise _Unusual
        return _scanstring(syn.text(m.group()), 1)[0], m.end()
    m = syn.number.match(doc, pos)
    if m is not None:
        if m.end() - pos > _MAX_NUMBER:
            raise _Unusual
        is_int = m.group(1) is None and m.group(2) is None
        return (str(int(m.group())) if is_int else None), m.end()
    return None, _skip(doc, pos, syn)
