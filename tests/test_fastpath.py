"""The compiled route plans, checked against a plain reading of the config.

1. Each route's plan runs exactly the checks its configuration names, in the pipeline's
   order (hypothesis over route configs, read plainly from the mapping).
2. Every request gets the same verdict (every Verdict field) whichever shape its headers
   come in (a dict of str, ASGI-style bytes pairs, names in any case...) and whether an
   adapter prechecked it first, as when the headers are read the plainest way, one
   pair at a time from an iterator: for valid and tampered requests, including replays.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_guard import Guard, MemoryReplayStore, Verdict, WebhookRequest
from webhook_guard.request import unique_header_table
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, SW_SECRET, SW_SECRET_OLD

ROUTES: dict[str, dict[str, Any]] = {
    "sw": {"path": "/hooks/sw", "provider": "standard", "secrets": [SW_SECRET]},
    # Rotation: requests signed with the second secret take the general path.
    "sw2": {
        "path": "/hooks/sw2/*",
        "provider": "standard",
        "secrets": [SW_SECRET, {"value": SW_SECRET_OLD, "label": "old"}],
    },
    "hex": {
        "path": "/hooks/hex",
        "signature": {
            "header": "X-Signature",
            "prefix": "sha256=",
            "signed_content": "{timestamp}.{body}",
            "timestamp_header": "X-Timestamp",
            "id_header": "X-Id",
        },
        "secrets": ["hex-secret"],
        "max_body_bytes": 64,
    },
    "odd": {
        "path": "/hooks/odd",
        "signature": {
            "header": "X-Sig",
            "encoding": "base64",
            "format": "list",
            "separator": ";",
            "version": "v9",
            "signed_content": "{id}%{timestamp}:{body}:{id}%s",
            "timestamp_header": "X-Ts",
            "id_header": "X-Id",
        },
        "secrets": ["odd-secret"],
    },
    "bare": {
        "path": "/hooks/bare",
        "signature": {"header": "X-Sig", "encoding": "base64", "algorithm": "sha512"},
        "secrets": ["bare-secret"],
        "event_id": "none",
    },
    # kv format with the timestamp inside the signature header; event ID from the body.
    "stripe": {"path": "/hooks/stripe", "provider": "stripe", "secrets": ["whsec_stripe"]},
    "paddle": {"path": "/hooks/paddle", "provider": "paddle", "secrets": ["pdl_ntfset_x"]},
    # Prefixed plain signature, timestamp header, no ID header: the signature is the ID.
    "slack": {"path": "/hooks/slack", "provider": "slack", "secrets": ["slack-secret"]},
    # ConvoyScheme: the compacted body is tried by the general path only.
    "convoy": {"path": "/hooks/convoy", "provider": "convoy", "secrets": ["convoy-secret"]},
    "convoy-adv": {
        "path": "/hooks/convoy-adv",
        "provider": "convoy-advanced",
        "secrets": ["convoy-secret"],
        "event_id": {"json": "/data/0"},
    },
    # Prefixed plain signature with an ID header (GitHub's shape).
    "bitbucket": {"path": "/hooks/bb", "provider": "bitbucket", "secrets": ["bb-secret"]},
    # The event ID from a header of its own (sign() sends it).
    "delivery": {
        "path": "/hooks/delivery",
        "provider": "standard",
        "secrets": [SW_SECRET],
        "event_id": {"header": "X-Delivery"},
    },
    # One family's ID header named, the other family signed (see _set("svix-id", ...)):
    # the signed ID is the event ID, from whichever family verified.
    "svixid": {
        "path": "/hooks/svixid",
        "provider": "standard",
        "secrets": [SW_SECRET],
        "event_id": {"header": "svix-id"},
    },
}


def make_guards(clock: FakeClock) -> tuple[Guard, Guard]:
    """Two guards on one config and clock: the first sees requests as built, the second
    as :func:`plain` headers."""
    config = {"version": 1, "routes": [{"name": n, **r} for n, r in ROUTES.items()]}
    fast = Guard.from_dict(config, store=MemoryReplayStore(1000, clock=clock), clock=clock)
    general = Guard.from_dict(config, store=MemoryReplayStore(1000, clock=clock), clock=clock)
    return fast, general


def plain(req: WebhookRequest) -> WebhookRequest:
    """``req`` with its headers as an iterator of bytes pairs: read one pair at a time,
    repeats and all, with no shortcut for a dict or a list."""
    items = list(req.headers.items() if isinstance(req.headers, dict) else req.headers)
    pairs = [
        tuple(x if isinstance(x, bytes) else x.encode("latin-1", "replace") for x in item)
        for item in items
    ]
    return WebhookRequest(
        req.method, req.path, req.query, iter(pairs), req.body, req.peer, req.client_cert
    )


def signed(guard: Guard, route: str, body: bytes, **kwargs: Any) -> dict[str, str]:
    path = ROUTES[route]["path"].replace("*", "x")
    return sign(guard, route, body, path=path, **kwargs)


def same(a: Verdict, b: Verdict) -> None:
    assert a == b  # every field but the opaque reservation
    assert (a.reservation is None) == (b.reservation is None)


# -- mutations of a validly signed request -------------------------------------------------

Req = dict[str, Any]


def _set(name: str, value: Any) -> Any:
    def mutate(r: Req) -> None:
        r["headers"] = {**r["headers"], name: value}

    return mutate


def _edit_header(suffix: str, edit: Any) -> Any:
    def mutate(r: Req) -> None:
        r["headers"] = {k: (edit(v) if k.endswith(suffix) else v) for k, v in r["headers"].items()}

    return mutate


def _drop(suffix: str) -> Any:
    def mutate(r: Req) -> None:
        r["headers"] = {k: v for k, v in r["headers"].items() if not k.endswith(suffix)}

    return mutate


def _names(edit: Any) -> Any:
    def mutate(r: Req) -> None:
        r["headers"] = {edit(k): v for k, v in r["headers"].items()}

    return mutate


def _container(kind: str) -> Any:
    def mutate(r: Req) -> None:
        items = list(r["headers"].items())
        if not items:  # every header dropped (a single-header scheme)
            return
        if kind == "str-list":
            r["headers"] = items
        elif kind == "bytes-list":
            r["headers"] = [
                (k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in items
            ]
        elif kind == "bytes-tuple":
            r["headers"] = tuple(
                (k.lower().encode(), v.encode("latin-1", "replace")) for k, v in items
            )
        elif kind == "repeat-first":
            r["headers"] = items + items[:1]
        elif kind == "repeat-other-case":
            r["headers"] = [*items, (items[-1][0].upper(), items[-1][1])]
        elif kind == "mixed":
            r["headers"] = [(items[0][0].encode(), items[0][1].encode()), *items[1:]]
        elif kind == "str-names-bytes-values":
            r["headers"] = {k: v.encode("latin-1", "replace") for k, v in items}

    return mutate


def _attr(name: str, value: Any) -> Any:
    def mutate(r: Req) -> None:
        r[name] = value

    return mutate


def _ts(delta: int) -> Any:
    return _edit_header("timestamp", lambda v: str(int(v) + delta) if v.isdigit() else v)


def _kv_ts(delta: int) -> Any:
    # The timestamp of a kv header (Stripe "t=", Paddle "ts="), moved by delta seconds.
    return _edit_header(
        "signature",
        lambda v: re.sub(
            r"(^|[,;])(ts?)=([0-9]+)", lambda m: f"{m[1]}{m[2]}={int(m[3]) + delta}", v
        ),
    )


def _spaced_json(r: Req) -> None:
    # Whitespace between JSON tokens, which Convoy's signature does not cover.
    r["body"] = r["body"].replace(b'":', b'": ').replace(b",", b", ")


def _svix_with_junk_webhook_signature(r: Req) -> None:
    # The first header family present wins, even when a later one would verify.
    r["headers"] = {k.replace("webhook-", "svix-"): v for k, v in r["headers"].items()}
    r["headers"]["webhook-signature"] = "v1,AAAA"


MUTATIONS = [
    _attr("body", b"tampered"),
    _attr("body", b"x" * 65),  # over the "hex" route's limit
    _attr("path", None),  # see request(): the route path with a trailing slash
    _attr("path", "/hooks//sw"),
    _attr("path", "/hooks/%73w"),
    _attr("path", "/HOOKS/sw"),
    _attr("path", "/hooks/sw#x"),  # path_invalid: no route can be told
    _attr("path", "/hooks/sw%00"),
    _attr("path", "/hooks/x/%FF"),
    _attr("path", "/hooks/x/"),  # the prefix route's own "prefix/"
    _attr("method", "GET"),
    _attr("method", "post"),
    _attr("peer", None),
    _attr("peer", "::ffff:203.0.113.9"),
    _edit_header("signature", lambda v: v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1]),
    _edit_header("signature", str.upper),
    _edit_header("signature", lambda v: "v1,AAAA " + v),
    _edit_header("signature", lambda v: v + " v1,AAAA"),
    _edit_header("signature", lambda v: v.replace("v1,", "v2,")),
    _edit_header("signature", lambda v: " " + v + " "),
    _edit_header("signature", lambda v: v.replace("=", "")),
    _edit_header("signature", lambda v: (v + " ") * 11),
    _edit_header("signature", lambda v: v + "\u0100"),
    _ts(-301),
    _ts(-300),
    _ts(301),
    _edit_header("timestamp", lambda v: "0" + v),
    _edit_header("timestamp", lambda v: "\u0661" + v[1:]),
    _edit_header("timestamp", lambda v: v + ".0"),
    _drop("timestamp"),
    _drop("signature"),
    _drop("-id"),
    _set("webhook-id", ""),
    _set("webhook-id", "a b"),
    _set("webhook-id", "msg_\u00e9"),
    _set("webhook-id", "msg_\u0100"),
    _set("webhook-id", "x" * 129),
    _set("X-Id", "id with space"),
    _set("svix-signature", "v1,AAAA"),
    _set("svix-id", "fresh-svix"),  # unsigned when the webhook-* family verifies
    _names(lambda k: k.replace("webhook-", "svix-")),
    _svix_with_junk_webhook_signature,
    _names(str.title),
    _names(str.upper),
    _names(lambda k: k.replace("k", "\N{KELVIN SIGN}")),  # lower() gives "k"
    # kv headers: repeated, missing, extra and foreign pairs; spacing; the window.
    _edit_header("signature", lambda v: re.sub(r"(ts?)=", r"\1=1,\1=", v, count=1)),
    _edit_header("signature", lambda v: re.sub(r"(ts?=[0-9]+)([,;])", r"\1\2\1\2", v, count=1)),
    _edit_header("signature", lambda v: re.sub(r"(^|[,;])ts?=[0-9]+", "", v)),
    _edit_header("signature", lambda v: v + ",v1=" + "0" * 64),
    _edit_header("signature", lambda v: "v1=" + "0" * 64 + "," + v),
    _edit_header("signature", lambda v: v.replace("v1=", "v0=").replace("h1=", "h0=")),
    _edit_header("signature", lambda v: v.replace(",", " , ").replace(";", "; ")),
    _edit_header("signature", lambda v: v.replace("=", "= ", 1)),
    _edit_header("signature", lambda v: v.replace("v0=", "")),  # Slack's prefix
    _kv_ts(-301),
    _kv_ts(301),
    _kv_ts(-300),
    _spaced_json,
    _drop("delivery"),
    _set("X-Delivery", ""),  # sent twice (see "x-delivery" above) or empty
    _set("X-Delivery", "d 1"),
    _set("X-Delivery", "d-\u00e9"),
    _set("X-Delivery", "x" * 129),
    _set("x-convoy-idempotency-key", "idem-1"),
    _set("x-request-uuid", "{b-1}"),
]
CONTAINERS = [
    _container(kind)
    for kind in (
        "dict",
        "str-list",
        "bytes-list",
        "bytes-tuple",
        "repeat-first",
        "repeat-other-case",
        "mixed",
        "str-names-bytes-values",
    )
]


def request(
    guard: Guard,
    route: str,
    body: bytes,
    mutations: list[Any],
    secret: str | None,
    **signing: Any,
) -> WebhookRequest:
    path = ROUTES[route]["path"].replace("*", "x")
    r: Req = {
        "method": "POST",
        "path": path,
        "headers": signed(guard, route, body, secret=secret, **signing),
        "body": body,
        "peer": "203.0.113.9",
    }
    for mutate in mutations:
        mutate(r)
    if r["path"] is None:
        r["path"] = path + "/"
    return WebhookRequest(
        r["method"], r["path"], headers=r["headers"], body=r["body"], peer=r["peer"]
    )


# JSON bodies carry event IDs at /id, /event_id and /data/0, some of them odd.
JSON_BODIES = st.builds(
    lambda i, spaced: json.dumps(
        {"id": i, "event_id": i, "data": [i]}, separators=(", ", ": ") if spaced else (",", ":")
    ).encode(),
    st.one_of(
        st.just("evt_1"),
        st.text(max_size=10),
        st.integers(),
        st.booleans(),
        st.none(),
        st.just("x" * 129),
    ),
    st.booleans(),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(sorted(ROUTES)),
    body=st.one_of(st.binary(max_size=80), JSON_BODIES),
    mutations=st.lists(st.sampled_from(MUTATIONS), max_size=3),
    container=st.sampled_from(CONTAINERS),
    old_secret=st.booleans(),
    advance=st.sampled_from([0, 30, 299, 301]),
    # Signed as sent: odd IDs and timestamps that a valid signature covers.
    event_id=st.one_of(
        st.none(),
        st.sampled_from(["", "a b", "x" * 128, "x" * 129, "msg_\u00e9", "msg_\u0100", "\x7f"]),
        st.text(max_size=12),
    ),
    ts_offset=st.sampled_from([0, -300, -301, 300, 301, -(10**10)]),
    prechecked=st.booleans(),
)
def test_every_header_shape_gets_the_plain_verdict(
    route: str,
    body: bytes,
    mutations: list[Any],
    container: Any,
    old_secret: bool,
    advance: int,
    event_id: str | None,
    ts_offset: int,
    prechecked: bool,
) -> None:
    clock = FakeClock(NOW)
    fast, general = make_guards(clock)
    secret = SW_SECRET_OLD if old_secret and route.startswith("sw") else None
    timestamp = int(NOW) + ts_offset
    req = request(
        fast, route, body, [*mutations, container], secret, event_id=event_id, timestamp=timestamp
    )
    clock.advance(advance)
    both_agree(fast, general, req, prechecked)


def both_agree(fast: Guard, general: Guard, req: WebhookRequest, prechecked: bool) -> None:
    """The two guards agree on ``req`` (the second reads :func:`plain` headers), on it
    again, and on it under fresh delivery IDs."""
    if prechecked:
        # As adapters do: the header index precheck builds is then reused by check().
        same(fast.precheck(req), general.precheck(plain(req)))
    verdicts = fast.check(req), general.check(plain(req))
    same(*verdicts)
    # The same delivery again once the first completed: a replay, or a retry after a refusal.
    fast.complete(verdicts[0], 200)
    general.complete(verdicts[1], 200)
    same(fast.check(req), general.check(plain(req)))
    # Resent under fresh delivery IDs: a replay wherever the ID is not signed.
    fresh = fresh_ids(req)
    same(fast.check(fresh), general.check(plain(fresh)))


ID_HEADERS = re.compile(r"(-id|delivery|uuid|idempotency-key)$", re.IGNORECASE)


def fresh_ids(req: WebhookRequest) -> WebhookRequest:
    """``req`` with every delivery-ID header's value replaced by a new one."""
    items = req.headers.items() if isinstance(req.headers, dict) else req.headers
    headers = [
        (k, ("fresh-1" if isinstance(k, str) else b"fresh-1") if ID_HEADERS.search(str(k)) else v)
        for k, v in items
    ]
    return WebhookRequest(req.method, req.path, headers=headers, body=req.body, peer=req.peer)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_single_mutation_agrees(route: str) -> None:
    # Exhaustive where the property above samples: each mutation alone, on a JSON body
    # with an event ID, as str headers and as ASGI-style bytes pairs, prechecked or not.
    for mutate in MUTATIONS:
        for container in (_container("dict"), _container("bytes-list")):
            for prechecked in (False, True):
                clock = FakeClock(NOW)
                fast, general = make_guards(clock)
                body = b'{"id":"evt_1","event_id":"evt_1","data":["evt_1"]}'
                req = request(fast, route, body, [mutate, container], None)
                both_agree(fast, general, req, prechecked)


def test_async_twin_agrees() -> None:
    clock = FakeClock(NOW)
    fast, general = make_guards(clock)
    req = request(fast, "sw", b"{}", [], None)

    async def both() -> tuple[Verdict, Verdict]:
        return await fast.acheck(req), await general.acheck(plain(req))

    a, b = asyncio.run(both())
    assert a.ok
    same(a, b)


# -- each plan runs exactly the checks its config names ----------------------------------

AUTH = {
    "signed": {"provider": "standard", "secrets": [SW_SECRET]},
    "signed-no-timestamp": {"signature": {"header": "X-Sig"}, "secrets": ["s3cret"]},
    "token": {"token": {"header": "X-Token", "secrets": ["t0ken-value"]}},
    "both": {
        "signature": {"header": "X-Sig"},
        "secrets": ["s3cret"],
        "token": {"header": "X-Token", "secrets": ["t0ken-value"]},
    },
}
NETWORKS = [{}, {"trusted_proxies": ["10.0.0.0/8"]}, {"deny_ips": ["198.51.100.0/24"]}]


def expected_steps(route: dict[str, Any], network: dict[str, Any]) -> tuple[str, ...]:
    """The checks a plain reading of the route's mapping asks for, in pipeline order."""
    signature = "provider" in route or "signature" in route
    timestamped = route.get("provider") == "standard"
    wanted = [
        ("address", bool(route.get("allow_ips")) or bool(network)),
        ("client_cert", "client_cert" in route),
        ("body", True),
        ("token", "token" in route),
        ("timestamp", signature and timestamped),
        ("signature", signature),
        ("replay", route.get("event_id") != "none"),
    ]
    return ("route", "method", *(name for name, needed in wanted if needed))


@settings(max_examples=200, deadline=None)
@given(
    auth=st.sampled_from(sorted(AUTH)),
    mode=st.sampled_from(["enforce", "report"]),
    allow=st.booleans(),
    cert=st.booleans(),
    no_ids=st.booleans(),
    network=st.sampled_from(NETWORKS),
)
def test_each_plan_runs_exactly_the_checks_its_config_names(
    auth: str, mode: str, allow: bool, cert: bool, no_ids: bool, network: dict[str, Any]
) -> None:
    route: dict[str, Any] = {"name": "r", "path": "/h", "mode": mode, **AUTH[auth]}
    if allow:
        route["allow_ips"] = ["203.0.113.0/24"]
    if cert:
        route["client_cert"] = {"subjects": ["hooks.partner.example"]}
    if no_ids:
        route["event_id"] = "none"
    guard = Guard.from_dict({"version": 1, "routes": [route], "network": network})
    assert guard.plan("r").steps == expected_steps(route, network)


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize(
    "shape", [[], [_container("bytes-list")], [_names(str.title)], [_container("bytes-tuple")]]
)
def test_valid_requests_pass_in_every_shape(route: str, shape: list[Any]) -> None:
    clock = FakeClock(NOW)
    fast, general = make_guards(clock)
    req = request(fast, route, b'{"a":1}', shape, None)
    verdict = fast.check(req)
    assert verdict.ok
    assert verdict.verified
    same(verdict, general.check(plain(req)))


def test_a_rotated_secret_is_reported_by_its_label() -> None:
    guard, _ = make_guards(FakeClock(NOW))
    req = request(guard, "sw2", b"{}", [], SW_SECRET_OLD)
    assert guard.check(req).secret_id == "old"


# -- the header table both paths rely on -----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"a-b": "1", "c": "2"}, {"a-b": "1", "c": "2"}),
        ({"A-B": "1", "c": "2"}, {"a-b": "1", "c": "2"}),
        ([(b"a", b"1"), (b"B", b"2")], {b"a": b"1", b"b": b"2"}),
        ((("a", "1"),), {"a": "1"}),
        ({"A": "1", "a": "2"}, None),  # the same name twice
        ([(b"a", b"1"), (b"a", b"2")], None),
        ([(b"a", b"1"), ("b", "2")], None),  # str and bytes names mixed
        ({"\N{KELVIN SIGN}": "1"}, None),  # non-ASCII name (lower() would give "k")
        ([(b"a", b"1", b"x")], None),  # not pairs
        ({}, None),
        (iter([(b"a", b"1")]), None),  # other iterables: the general index
    ],
)
def test_unique_header_table(headers: Any, expected: dict[Any, Any] | None) -> None:
    unique = unique_header_table(headers)
    if expected is None:
        assert unique is None
    else:
        assert unique == (expected, isinstance(next(iter(expected)), bytes))


def test_named_id_header_of_the_other_family_keys_on_the_signed_id() -> None:
    # The route names svix-id; the sender signs webhook-*. Both paths report and key on
    # webhook-id, so a fresh svix-id on a captured delivery is a duplicate on either.
    clock = FakeClock(NOW)
    fast, general = make_guards(clock)
    req = request(fast, "svixid", b"{}", [_set("svix-id", "first")], None, event_id="msg_1")
    for guard in (fast, general):
        verdict = guard.check(req)
        assert verdict.ok
        assert verdict.event_id == "msg_1"
        guard.complete(verdict, 200)
        headers = {**req.headers, "svix-id": "fresh"}  # type: ignore[dict-item]
        replay = WebhookRequest("POST", req.path, headers=headers, body=req.body)
        assert guard.check(replay).duplicate
