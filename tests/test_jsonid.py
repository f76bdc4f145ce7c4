"""find_pointer gives the event ID json.loads + the pointer walk give, on any body.

The reference is ``loads_pointer``: json.loads, then the RFC 6901 walk (the last of
duplicate keys wins, only strings and integers count as an ID). Bodies are generated as
JSON text by hand, so they can hold what ``json.dumps`` never writes: duplicate keys,
escapes in keys (``\\u0069d``), odd whitespace. Mutated bodies (a byte dropped, added,
replaced, the text cut short) check the invalid side: the walk must answer None there,
as json.loads does, never an ID. There is no accepted difference: a raw control
character in a skipped string, which json.loads refuses, sends the walk to json.loads too.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from webhook_guard import jsonid
from webhook_guard.jsonid import _LONG, _scan, find_pointer, loads_pointer

POINTERS = [("id",), ("event_id",), ("data", "id"), ("data", "0"), ("a",), ("\u00e9",), ("",)]
KEYS = st.sampled_from(["id", "event_id", "data", "a", "\u00e9", "", "i", "Id", "0", "d\u2028"])


def _escape_char(ch: str, how: int) -> str:
    if ch in '"\\':
        return "\\" + ch
    if ord(ch) < 0x20 or how == 1:
        if ord(ch) > 0xFFFF:
            return json.dumps(ch)[1:-1]  # a surrogate pair, as ensure_ascii writes it
        return f"\\u{ord(ch):04x}" if how != 2 else f"\\u{ord(ch):04X}"
    return ch


@st.composite
def json_string(draw: st.DrawFn, value: str) -> str:
    """``value`` as a JSON string, each character written plainly or as an escape."""
    hows = draw(st.lists(st.integers(0, 2), min_size=len(value), max_size=len(value)))
    return '"' + "".join(_escape_char(c, h) for c, h in zip(value, hows, strict=True)) + '"'


WS = st.sampled_from(["", "", "", " ", "\n", "\t", "\r\n  "])
SCALARS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["evt_1", "Ev\u00e9nt", "\ud800", 'a"b\\c', "x" * 300]),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, -0.0, 1e400]),
)


@st.composite
def json_text(draw: st.DrawFn, depth: int = 0) -> str:
    """A JSON value as text; objects may repeat keys."""
    kind = draw(st.sampled_from(["scalar", "object", "array"] if depth < 3 else ["scalar"]))
    ws = lambda: draw(WS)  # noqa: E731
    if kind == "object":
        members = draw(st.lists(st.tuples(KEYS, st.just(None)), max_size=5))
        parts = [
            f"{ws()}{draw(json_string(k))}{ws()}:{ws()}{draw(json_text(depth + 1))}{ws()}"
            for k, _ in members
        ]
        return "{" + ",".join(parts) + (ws() if not parts else "") + "}"
    if kind == "array":
        items = draw(st.lists(json_text(depth + 1), max_size=4))
        return "[" + ",".join(f"{ws()}{i}{ws()}" for i in items) + "]"
    value = draw(SCALARS)
    if isinstance(value, str):
        return draw(json_string(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return json.dumps(value)  # NaN, Infinity: json.loads takes them
        return draw(st.sampled_from([repr(value), f"{value:e}", json.dumps(value)]))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


@st.composite
def object_body(draw: st.DrawFn) -> bytes:
    """A top-level object (the usual body), sometimes padded past the walk's threshold."""
    members = draw(st.lists(st.tuples(KEYS, json_text(1)), max_size=6))
    if draw(st.booleans()):
        members.insert(draw(st.integers(0, len(members))), ("pad", '"' + "p" * 8300 + '"'))
    text = (
        "{"
        + ",".join(f"{draw(WS)}{draw(json_string(k))}{draw(WS)}:{draw(WS)}{v}" for k, v in members)
        + "}"
    )
    text = draw(WS) + text + draw(WS)
    encoded = text.encode("utf-8", "surrogatepass")
    return encoded


def _agree(body: bytes, pointer: tuple[str, ...]) -> None:
    want = loads_pointer(body, pointer)
    assert _scan(body, pointer) == want, (body, pointer)
    assert find_pointer(body, pointer) == want, (body, pointer)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=object_body(), pointer=st.sampled_from(POINTERS))
@example(body=b'{"id":"a","id":"b"}', pointer=("id",))
def test_valid_bodies_give_the_json_loads_answer(body: bytes, pointer: tuple[str, ...]) -> None:
    json.loads(body)  # the generator writes valid JSON only
    _agree(body, pointer)


@settings(max_examples=300, deadline=None)
@given(body=json_text(), pointer=st.sampled_from(POINTERS))
def test_any_json_value_gives_the_json_loads_answer(body: str, pointer: tuple[str, ...]) -> None:
    _agree(body.encode("utf-8", "surrogatepass"), pointer)


MUTANT_BYTES = b'"\\{}[],: \x00\x01\n\t\xff\xc3\xe9x0-eE.'


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=object_body(),
    pointer=st.sampled_from(POINTERS),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["drop", "insert", "replace", "cut"]),
            st.floats(0, 1),
            st.sampled_from(list(MUTANT_BYTES)),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_bodies_never_give_another_id(
    body: bytes, pointer: tuple[str, ...], edits: list[tuple[str, float, int]]
) -> None:
    data = bytearray(body)
    for op, where, byte in edits:
        i = min(int(where * len(data)), max(len(data) - 1, 0))
        if op == "drop" and data:
            del data[i]
        elif op == "insert":
            data.insert(i, byte)
        elif op == "replace" and data:
            data[i] = byte
        elif op == "cut":
            del data[i:]
    _agree(bytes(data), pointer)


PAD = '"pad":"' + "p" * 8300 + '",'  # past the walk's threshold, so find_pointer walks too
TRICKY: list[tuple[str, bytes, tuple[str, ...], str | None]] = [
    ("plain", b'{"id":"evt_1"}', ("id",), "evt_1"),
    ("duplicate keys: the last wins", b'{"id":"a","x":1,"id":"b"}', ("id",), "b"),
    ("duplicate, the last not an ID", b'{"id":"a","id":null}', ("id",), None),
    ("escaped key", b'{"\\u0069d":"k"}', ("id",), "k"),
    ("escaped key wins as a duplicate", b'{"id":"a","\\u0069\\u0064":"k"}', ("id",), "k"),
    ("upper-case hex escape", b'{"\\u0049d":"k"}', ("Id",), "k"),
    ("escapes in the value", b'{"id":"a\\"b\\\\c\\u00e9\\n"}', ("id",), 'a"b\\c\u00e9\n'),
    ("surrogate pair escape", b'{"id":"\\ud83d\\ude00"}', ("id",), "\U0001f600"),
    ("lone surrogate escape", b'{"id":"\\ud800"}', ("id",), "\ud800"),
    ("UTF-8 value", '{"id":"\u00e9v\u00e9nement"}'.encode(), ("id",), "\u00e9v\u00e9nement"),
    ("UTF-8 key", '{"\u00e9":"x"}'.encode(), ("\u00e9",), "x"),
    ("nested id does not match /id", b'{"data":{"id":"inner"}}', ("id",), None),
    ("nested id, then the top one", b'{"data":{"id":"inner"},"id":"top"}', ("id",), "top"),
    ("id in a nested array", b'{"a":[{"id":"x"}],"b":"}"}', ("id",), None),
    ("braces inside strings", b'{"x":"{\\"id\\":1}","id":"ok"}', ("id",), "ok"),
    ("deeper pointer", b'{"data":{"object":{"id":"o"}}}', ("data", "object", "id"), "o"),
    ("array index", b'{"data":["a","b"]}', ("data", "1"), "b"),
    ("array index with a leading zero", b'{"data":["a","b"]}', ("data", "01"), None),
    ("whitespace everywhere", b' \n{ "id" :\t"w" ,"x" : 1 }\r\n', ("id",), "w"),
    ("integer ID", b'{"id":123}', ("id",), "123"),
    ("negative zero", b'{"id":-0}', ("id",), "0"),
    ("float is not an ID", b'{"id":1.0}', ("id",), None),
    ("exponent is not an ID", b'{"id":1e3}', ("id",), None),
    ("boolean is not an ID", b'{"id":true}', ("id",), None),
    ("object is not an ID", b'{"id":{"a":1}}', ("id",), None),
    ("huge integer", b'{"id":' + b"9" * 200 + b"}", ("id",), "9" * 200),
    ("integer over json's digit limit", b'{"id":' + b"9" * 5000 + b"}", ("id",), None),
    ("skipped integer over the limit", b'{"x":' + b"9" * 5000 + b',"id":"a"}', ("id",), None),
    ("NaN elsewhere is JSON to json.loads", b'{"x":NaN,"id":"a"}', ("id",), "a"),
    ("absent", b'{"type":"x"}', ("id",), None),
    ("empty object", b"{}", ("id",), None),
    ("array body", b'[{"id":"a"}]', ("id",), None),
    ("string body", b'"id"', ("id",), None),
    ("empty body", b"", ("id",), None),
    ("not JSON", b"id=evt_1", ("id",), None),
    ("trailing garbage", b'{"id":"a"} x', ("id",), None),
    ("two objects", b'{"id":"a"}{"id":"b"}', ("id",), None),
    ("unterminated", b'{"id":"a"', ("id",), None),
    ("trailing comma", b'{"id":"a",}', ("id",), None),
    ("missing colon", b'{"id" "a"}', ("id",), None),
    ("single quotes", b"{'id':'a'}", ("id",), None),
    ("leading zero", b'{"x":01,"id":"a"}', ("id",), None),
    ("bad escape elsewhere", b'{"x":"\\q","id":"a"}', ("id",), None),
    ("bad escape in the ID", b'{"id":"\\x41"}', ("id",), None),
    ("raw newline in the ID", b'{"id":"a\nb"}', ("id",), None),
    ("invalid UTF-8", b'{"x":"\xff","id":"a"}', ("id",), None),
    ("encoded surrogate (json.loads allows it)", b'{"id":"\xed\xa0\x80"}', ("id",), "\ud800"),
    ("UTF-8 BOM", b'\xef\xbb\xbf{"id":"a"}', ("id",), "a"),
    ("UTF-16", '{"id":"a"}'.encode("utf-16-le"), ("id",), "a"),
    ("broken nested value", b'{"x":{"a":},"id":"a"}', ("id",), None),
    (
        "deep nesting json.loads refuses",
        b'{"x":' + b"[" * 100000 + b"]" * 100000 + b',"id":"a"}',
        ("id",),
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "pointer", "expected"),
    [pytest.param(b, p, e, id=name) for name, b, p, e in TRICKY],
)
def test_tricky_bodies(body: bytes, pointer: tuple[str, ...], expected: str | None) -> None:
    assert loads_pointer(body, pointer) == expected  # the table itself is right
    assert _scan(body, pointer) == expected
    assert find_pointer(body, pointer) == expected
    if body.startswith(b"{"):  # the same body past the threshold, walked by find_pointer
        padded = (
            b"{" + PAD.encode() + body[1:] if body != b"{}" else b"{" + PAD[:-1].encode() + b"}"
        )
        assert find_pointer(padded, pointer) == loads_pointer(padded, pointer)


@pytest.mark.parametrize("control", range(0x20))
@pytest.mark.parametrize("length", [3, _LONG - 3, _LONG, _LONG + 1, 3 * _LONG])
@pytest.mark.parametrize("text", ["x", "\u00e9"], ids=["ascii", "utf8"])
@pytest.mark.parametrize("where", [0, 1, -1])
def test_raw_control_character_in_a_skipped_string(
    control: int, length: int, text: str, where: int
) -> None:
    """json.loads refuses a raw control character anywhere in a string, short or long
    (where the walk checks by memchr, not by regex), at its start, middle or end: so the
    walk answers None too, never the ID beside it."""
    chars = list(text * length)[:length]
    chars[where if where != 1 else length // 2] = chr(control)
    for body in (
        ('{"x":"' + "".join(chars) + '","id":"a"}').encode(),
        ('{"id":"a","x":"' + "".join(chars) + '"}').encode(),
        ('{"id":"a","x":"' + "".join(chars) + '","pad":"' + "p" * 9000 + '"}').encode(),
    ):
        assert loads_pointer(body, ("id",)) is None
        assert _scan(body, ("id",)) is None, body[:40]
        assert find_pointer(body, ("id",)) is None
    clean = ('{"x":"' + text * length + '","id":"a"}').encode()
    assert _scan(clean, ("id",)) == "a"


def test_large_bodies_are_walked_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path really runs: with json.loads out of reach, a 1 MiB body still answers."""
    body = b'{"id":"evt_big","type":"t","data":"' + b"ab" * 512 * 1024 + b'"}'

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("json.loads called")

    monkeypatch.setattr(jsonid.json, "loads", refuse)
    assert find_pointer(body, ("id",)) == "evt_big"
    assert find_pointer(body, ("type",)) == "t"
    assert find_pointer(body, ("nope",)) is None


def test_many_members_fall_back_to_json_loads() -> None:
    members = ",".join(f'"k{i}":{i}' for i in range(500))
    body = ("{" + members + ',"id":"last"}').encode()
    assert find_pointer(body, ("id",)) == "last"


def test_nesting_limit_is_where_json_loads_gives_up() -> None:
    """A nested value deep enough to exhaust the recursion limit: the walk hands the body
    to json.loads at the same depth json.loads itself gives up (both count against the
    interpreter's limit, so the exact depth depends on the caller's stack)."""

    def body(depth: int) -> bytes:
        return PAD.encode().join([b"{", b'"x":' + b"[" * depth + b"]" * depth + b',"id":"a"}'])

    for depth in (10, 500, 900, 980, 990, 995, 1000, 1100, 5000):
        assert find_pointer(body(depth), ("id",)) == loads_pointer(body(depth), ("id",)), depth


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=object_body(), control=st.sampled_from([None, 0x00, 0x0A, 0x1F]))
def test_the_guard_reports_the_json_loads_id(body: bytes, control: int | None) -> None:
    """The pipeline's JSON-pointer rule is find_pointer: a Stripe route reports the ID
    json.loads finds (the last of duplicates), and a body json.loads refuses falls back to
    the signature's ID, large bodies included."""
    from webhook_guard import Guard, WebhookRequest
    from webhook_guard.testing import sign

    big = b'"pad":"' + b"p" * (3 * _LONG) + (bytes([control]) if control is not None else b"")
    body = body.replace(b"{", b"{" + big + b'",', 1) if body.strip() != b"{}" else body
    guard = Guard.from_dict(
        {
            "version": 1,
            "routes": [{"name": "s", "path": "/s", "provider": "stripe", "secrets": ["whsec_t"]}],
        }
    )
    verdict = guard.check(WebhookRequest("POST", "/s", headers=sign(guard, "s", body), body=body))
    assert verdict.ok, verdict.reason
    want = loads_pointer(body, ("id",))
    if want is None:  # no ID, or a body json.loads refuses: the verified signature's ID
        assert verdict.event_id is not None
        assert verdict.event_id.startswith("sig:")
    elif re.fullmatch(r"[\x21-\x7e]{1,128}", want):
        assert verdict.event_id == want
    else:  # an ID unfit for logs is reported by its hash
        hashed = hashlib.sha256(want.encode("utf-8", "surrogateescape")).hexdigest()
        assert verdict.event_id == "sha256:" + hashed
