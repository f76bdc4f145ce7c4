"""The pipeline: every reason code, check order, report mode, rotation, replay lifecycle."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from typing import Any

import pytest

from webhook_guard import (
    ConfigError,
    Guard,
    MemoryReplayStore,
    Reason,
    ReplayState,
    Verdict,
    WebhookRequest,
)
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, SW_SECRET, SW_SECRET_OLD, GuardFactory, post, sw_route

BODY = b'{"id":"evt_1","kind":"ping"}'


def generic_route(**overrides: Any) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": "gen",
        "path": "/hooks/gen",
        "provider": "generic",
        "signature": {
            "header": "X-Signature",
            "prefix": "sha256=",
            "signed_content": "{timestamp}.{body}",
            "timestamp_header": "X-Timestamp",
        },
        "secrets": ["gen-secret"],
    }
    route.update(overrides)
    return route


def gen_headers(
    body: bytes = BODY, ts: int = int(NOW), secret: bytes = b"gen-secret"
) -> dict[str, str]:
    mac = hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={mac}", "X-Timestamp": str(ts)}


def token_route(**token: Any) -> dict[str, Any]:
    return {"name": "tok", "path": "/hooks/tok", "token": {"secrets": ["s3cr3t-token"], **token}}


# -- every reason code, with its status -------------------------------------------------


def test_every_reason_has_its_documented_status() -> None:
    expected = {
        "route_not_found": 404,
        "path_invalid": 400,
        "method_not_allowed": 405,
        "body_too_large": 413,
        "ip_not_allowed": 403,
        "proxy_headers_invalid": 400,
        "client_cert_missing": 403,
        "client_cert_invalid": 403,
        "token_missing": 401,
        "token_invalid": 401,
        "timestamp_missing": 401,
        "timestamp_malformed": 401,
        "timestamp_too_old": 401,
        "timestamp_in_future": 401,
        "signature_missing": 401,
        "signature_malformed": 401,
        "signature_mismatch": 401,
        "duplicate_event": 200,
        "event_in_flight": 409,
        "replay_store_unavailable": 503,
        "key_unavailable": 503,
        "handshake": 200,
    }
    assert {r.value: r.status for r in Reason} == expected
    assert all(isinstance(r, str) and str(r) == r.value for r in Reason)


# -- routes --------------------------------------------------------------------------------


def test_unrouted_path_passes_through(make_guard: GuardFactory) -> None:
    verdict = make_guard(sw_route()).check(post("/health", {}))
    assert verdict.ok
    assert verdict.route is None
    assert verdict.reason is None


@pytest.mark.parametrize(
    "path",
    [
        "/hooks//sw",
        "/hooks/./sw",
        "/hooks/x/../sw",
        "/hooks%2Fsw",
        "/hooks%2fsw",
        "/hooks/sw%2F",
        "//hooks/sw",
        "/hooks\\sw",
        "/hooks/%2e/sw",
        "/hooks/x/%2E%2E/sw",
        "/hooks/sw/.",
        "/hooks/sw/x/..",
    ],
)
def test_non_canonical_spelling_of_a_route_is_refused(make_guard: GuardFactory, path: str) -> None:
    verdict = make_guard(sw_route()).check(post(path, {}))
    assert not verdict.ok
    assert verdict.reason is Reason.ROUTE_NOT_FOUND
    assert verdict.status == 404


@pytest.mark.parametrize("path", ["/hooks/sw", "/hooks/sw/", "/hooks/%73w"])
def test_canonical_spellings_reach_the_route(make_guard: GuardFactory, path: str) -> None:
    verdict = make_guard(sw_route()).check(post(path, {}))
    assert verdict.route == "sw"
    assert verdict.reason is Reason.SIGNATURE_MISSING


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/hooks/sw#x", "a fragment"),
        ("/hooks/sw#", "a fragment"),
        ("/hooks/sw%00", "an encoded control character"),
        ("/hooks/sw%0A", "an encoded control character"),
        ("/hooks/sw\x00", "an unencoded space or control character"),
        ("/hooks/sw%G1", "does not start a valid percent-escape"),
        ("/hooks/sw%", "does not start a valid percent-escape"),
        ("/hooks/sw/%FF", "not valid UTF-8"),
        ("/hooks/x%C0%AF", "not valid UTF-8"),
        ("/hooks/%ED%A0%80", "not valid UTF-8"),
        ("/elsewhere/%FF", "not valid UTF-8"),  # no route can be told: refused all the same
    ],
)
def test_a_path_without_exact_canonical_form_is_refused_signed_or_not(
    make_guard: GuardFactory, path: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    guard = make_guard(sw_route(), generic_route(name="all", path="/hooks/*"))
    signed = sign(guard, "sw", BODY)
    for verdict in (
        guard.precheck(post(path, signed, BODY)),
        guard.check(post(path, signed, BODY)),
    ):
        assert not verdict.ok
        assert (verdict.reason, verdict.status, verdict.route) == (Reason.PATH_INVALID, 400, None)
        assert problem in verdict.detail
        assert path not in verdict.detail  # request data is described, not echoed
    assert "reason=path_invalid" in caplog.text


def test_a_decoded_path_under_a_prefix_route_is_that_route(make_guard: GuardFactory) -> None:
    # Flask and Starlette route "/hooks/x/.." and "/hooks/x/" to a "/hooks/x/<rest>" handler.
    guard = make_guard(generic_route(name="x", path="/hooks/x/*"))
    for path in ("/hooks/x/..", "/hooks/x/%2e%2e", "/hooks/x/./..", "/hooks/x//"):
        assert guard.check(post(path, gen_headers())).reason is Reason.ROUTE_NOT_FOUND, path
    verdict = guard.check(post("/hooks/x/", {}))
    assert (verdict.route, verdict.reason) == ("x", Reason.SIGNATURE_MISSING)
    assert guard.check(post("/hooks/x/", gen_headers())).ok


def test_check_dispatch_binds_the_verdict_to_the_dispatched_route(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(sw_route(), generic_route(name="gen", path="/gen/*"))
    unrouted = guard.precheck(post("/public/x", {}))
    assert unrouted.ok
    assert unrouted.route is None
    # The framework dispatches where the guard saw no route: refused, for that route.
    refusal = guard.check_dispatch(post("/public/x", {}), unrouted, "/hooks/sw")
    assert (refusal.reason, refusal.status, refusal.route) == (Reason.PATH_INVALID, 400, "sw")
    assert refusal.detail == (
        "the application routes this request to route sw, but its target was checked as no route"
    )
    # ... or to another route, matched literally or once resolved.
    verdict = guard.check(post("/gen/a", gen_headers()))
    assert verdict.ok
    assert guard.check_dispatch(post("/gen/a", {}), verdict, "/hooks/sw").route == "sw"
    assert guard.check_dispatch(post("/gen/a", {}), verdict, "/gen/../hooks/sw").route == "sw"
    # The same route, however the framework spells the decoded path, or no route at all.
    for path in ("/gen/a", "/gen/a/", "/gen/%61", "/gen/a%2Fb", "/other"):
        assert guard.check_dispatch(post("/gen/a", {}), verdict, path) is verdict, path
    invalid = guard.check_dispatch(post("/public/x", {}), unrouted, "/hooks/sw\n")
    assert (invalid.reason, invalid.route) == (Reason.PATH_INVALID, None)
    # A refusal stays what it was.
    refused = guard.precheck(post("/hooks/sw", {}, method="GET"))
    assert guard.check_dispatch(post("/hooks/sw", {}), refused, "/gen/a") is refused


def test_check_dispatch_releases_the_reservation_it_refuses(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(), generic_route(name="gen", path="/gen/*"))
    headers = sign(guard, "sw", BODY, event_id="evt-dispatch")
    verdict = guard.check(post("/hooks/sw", headers, BODY))
    assert verdict.ok
    assert guard.check_dispatch(post("/hooks/sw", {}), verdict, "/gen/a").reason is (
        Reason.PATH_INVALID
    )
    # Released, not committed: the same delivery, dispatched right, is processed.
    again = guard.check(post("/hooks/sw", headers, BODY))
    assert again.ok
    assert not again.duplicate


def test_double_encoding_never_reaches_a_prefix_route(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(path="/flex/webhooks/v1/*"))
    verdict = guard.check(post("/flex/webhooks/v1/%252e%252e/admin", gen_headers()))
    assert verdict.reason is Reason.ROUTE_NOT_FOUND


def test_prefix_route_matches_deeper_paths_but_not_itself(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(path="/flex/webhooks/v1/*"))
    assert guard.check(post("/flex/webhooks/v1/git/push", gen_headers())).ok
    assert guard.precheck(post("/flex/webhooks/v1/", gen_headers())).route == "gen"  # empty rest
    assert guard.check(post("/flex/webhooks/v1", gen_headers())).route is None
    assert guard.check(post("/flex/webhooks/v10/x", gen_headers())).route is None


def test_exact_route_wins_over_prefix(make_guard: GuardFactory) -> None:
    guard = make_guard(
        generic_route(name="all", path="/hooks/*"),
        sw_route(),
    )
    assert guard.check(post("/hooks/sw", {})).route == "sw"
    assert guard.check(post("/hooks/other", {})).route == "all"


# -- method and body ------------------------------------------------------------------


def test_method_not_allowed_with_allow_header(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(methods=["POST", "PUT"]))
    verdict = guard.check(post("/hooks/sw", {}, method="GET"))
    assert verdict.reason is Reason.METHOD_NOT_ALLOWED
    assert verdict.status == 405
    assert ("allow", "POST, PUT") in verdict.headers


def test_body_exactly_at_limit_is_allowed(make_guard: GuardFactory) -> None:
    body = b"x" * 64
    guard = make_guard(generic_route(max_body_bytes=64))
    assert guard.check(post("/hooks/gen", gen_headers(body), body)).ok
    verdict = guard.check(post("/hooks/gen", gen_headers(body + b"y"), body + b"y"))
    assert verdict.reason is Reason.BODY_TOO_LARGE
    assert verdict.status == 413


def test_content_length_is_refused_before_the_body(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(max_body_bytes=64))
    head = post("/hooks/gen", {"content-length": "65"}, b"")
    verdict = guard.precheck(head)
    assert verdict.reason is Reason.BODY_TOO_LARGE
    assert "65" in verdict.detail
    ok = guard.precheck(post("/hooks/gen", {"content-length": "64"}, b""))
    assert ok.ok
    assert ok.route == "gen"
    assert guard.body_limit("gen") == 64


def test_precheck_passes_unrouted_and_rejects_bad_methods(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    assert guard.precheck(post("/elsewhere", {})).route is None
    assert guard.precheck(post("/hooks/sw", {}, method="DELETE")).status == 405


# -- token -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "query", "headers", "reason"),
    [
        ({"query": "token"}, "token=s3cr3t-token", {}, None),
        ({"query": "token"}, "a=1&token=s3cr3t-token&b=2", {}, None),
        ({"query": "token"}, "token=s3cr3t%2Dtoken", {}, None),
        ({"query": "token"}, "", {}, Reason.TOKEN_MISSING),
        ({"query": "token"}, "token=", {}, Reason.TOKEN_MISSING),
        ({"query": "token"}, "Token=s3cr3t-token", {}, Reason.TOKEN_MISSING),
        ({"query": "token"}, "token=s3cr3t-tokeN", {}, Reason.TOKEN_INVALID),
        ({"query": "token"}, "token=s3cr3t-token-and-more", {}, Reason.TOKEN_INVALID),
        ({"query": "token"}, "token=s3cr3t", {}, Reason.TOKEN_INVALID),
        ({"query": "token"}, "token=wrong&token=s3cr3t-token", {}, Reason.TOKEN_INVALID),
        ({"query": "token"}, "", {"token": "s3cr3t-token"}, Reason.TOKEN_MISSING),
        ({"header": "X-Gitlab-Token"}, "", {"X-Gitlab-Token": "s3cr3t-token"}, None),
        ({"header": "X-Gitlab-Token"}, "", {"x-gitlab-token": " s3cr3t-token "}, None),
        ({"header": "X-Gitlab-Token"}, "", {}, Reason.TOKEN_MISSING),
        ({"header": "X-Gitlab-Token"}, "token=s3cr3t-token", {}, Reason.TOKEN_MISSING),
        ({"header": "X-Gitlab-Token"}, "", {"X-Gitlab-Token": "nope"}, Reason.TOKEN_INVALID),
        (
            {"basic": True},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"any:s3cr3t-token").decode()},
            None,
        ),
        (
            {"basic": "flex"},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"flex:s3cr3t-token").decode()},
            None,
        ),
        (
            {"basic": "flex"},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"other:s3cr3t-token").decode()},
            Reason.TOKEN_INVALID,
        ),
        (
            {"basic": True},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"any:wrong").decode()},
            Reason.TOKEN_INVALID,
        ),
        ({"basic": True}, "", {"Authorization": "Basic !!!"}, Reason.TOKEN_INVALID),
        (
            {"basic": True},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()},
            Reason.TOKEN_INVALID,
        ),
        ({"basic": True}, "", {"Authorization": "Bearer s3cr3t-token"}, Reason.TOKEN_INVALID),
        (
            {"basic": True},
            "",
            {"Authorization": "Basic " + base64.b64encode(b"any:").decode()},
            Reason.TOKEN_MISSING,
        ),
        ({"basic": True}, "", {}, Reason.TOKEN_MISSING),
    ],
)
def test_token_checks(
    make_guard: GuardFactory,
    token: dict[str, Any],
    query: str,
    headers: dict[str, str],
    reason: Reason | None,
) -> None:
    verdict = make_guard(token_route(**token)).check(post("/hooks/tok", headers, query=query))
    if reason is None:
        assert verdict.ok, verdict.detail
        assert verdict.secret_id == "secrets[0]"
    else:
        assert verdict.reason is reason, verdict.detail
        assert verdict.status == 401
        assert "s3cr3t" not in verdict.detail


def test_repeated_token_header_is_invalid(make_guard: GuardFactory) -> None:
    headers = [("X-Token", "s3cr3t-token"), ("X-Token", "s3cr3t-token")]
    verdict = make_guard(token_route(header="X-Token")).check(post("/hooks/tok", headers))
    assert verdict.reason is Reason.TOKEN_INVALID


def test_expired_token_no_longer_works(make_guard: GuardFactory, clock: FakeClock) -> None:
    route = token_route(query="t")
    route["token"]["secrets"] = [
        "new-token",
        {"value": "old-token", "label": "old", "expires": "2023-11-15T00:00:00Z"},
    ]
    guard = make_guard(route)
    clock.now = 1_699_999_999  # 2023-11-14T22:13Z: before expiry
    assert guard.check(post("/hooks/tok", query="t=old-token")).secret_id == "old"
    clock.now = 1_700_006_400  # 2023-11-15T00:00Z: expired
    assert guard.check(post("/hooks/tok", query="t=old-token")).reason is Reason.TOKEN_INVALID
    assert guard.check(post("/hooks/tok", query="t=new-token")).ok


def test_token_and_signature_both_required(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(token={"query": "token", "secrets": ["tk"]}))
    assert guard.check(post("/hooks/gen", gen_headers(), query="token=tk")).ok
    assert (
        guard.check(post("/hooks/gen", gen_headers(), query="token=no")).reason
        is Reason.TOKEN_INVALID
    )
    bad_sig = gen_headers(secret=b"other")
    assert (
        guard.check(post("/hooks/gen", bad_sig, query="token=tk")).reason
        is Reason.SIGNATURE_MISMATCH
    )


# -- check order -------------------------------------------------------------------------


def test_token_is_checked_before_timestamp_and_signature(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(token={"query": "token", "secrets": ["tk"]}))
    stale_and_forged = gen_headers(ts=int(NOW) - 1000, secret=b"forged")
    verdict = guard.check(post("/hooks/gen", stale_and_forged))
    assert verdict.reason is Reason.TOKEN_MISSING


def test_stale_timestamp_is_refused_before_the_signature(make_guard: GuardFactory) -> None:
    verdict = make_guard(generic_route()).check(
        post("/hooks/gen", gen_headers(ts=int(NOW) - 1000, secret=b"forged"))
    )
    assert verdict.reason is Reason.TIMESTAMP_TOO_OLD


def test_body_size_before_token(make_guard: GuardFactory) -> None:
    guard = make_guard(token_route(query="t") | {"max_body_bytes": 10})
    assert guard.check(post("/hooks/tok", body=b"x" * 11)).reason is Reason.BODY_TOO_LARGE


# -- generic scheme variants -----------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_generic_algorithms_and_encodings(
    make_guard: GuardFactory, algorithm: str, encoding: str
) -> None:
    route = generic_route()
    route["signature"] = {"header": "X-Sig", "algorithm": algorithm, "encoding": encoding}
    route["event_id"] = "none"  # the same request is sent twice on purpose
    digest = hmac.new(b"gen-secret", BODY, algorithm).digest()
    sig = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    guard = make_guard(route)
    assert guard.check(post("/hooks/gen", {"X-Sig": sig})).ok
    if encoding == "hex":
        assert guard.check(post("/hooks/gen", {"X-Sig": sig.upper()})).ok
    # A signature of another algorithm's length is malformed, not a mismatch.
    other = hmac.new(b"gen-secret", BODY, "md5").digest()
    wrong = other.hex() if encoding == "hex" else base64.b64encode(other).decode()
    assert guard.check(post("/hooks/gen", {"X-Sig": wrong})).reason is Reason.SIGNATURE_MALFORMED


def test_hex_with_whitespace_inside_is_malformed(make_guard: GuardFactory) -> None:
    sig = gen_headers()["X-Signature"]
    spaced = sig[:20] + " " + sig[20:]
    verdict = make_guard(generic_route()).check(
        post("/hooks/gen", gen_headers() | {"X-Signature": spaced})
    )
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def test_prefix_is_required(make_guard: GuardFactory) -> None:
    bare = gen_headers()["X-Signature"].removeprefix("sha256=")
    verdict = make_guard(generic_route()).check(
        post("/hooks/gen", gen_headers() | {"X-Signature": bare})
    )
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def kv_route() -> dict[str, Any]:
    return generic_route(
        signature={
            "header": "X-Kv-Signature",
            "format": "kv",
            "timestamp_key": "t",
            "version": "v1",
            "signed_content": "{timestamp}.{body}",
        }
    )


def kv_header(ts: int = int(NOW), extra: str = "", secret: bytes = b"gen-secret") -> dict[str, str]:
    mac = hmac.new(secret, f"{ts}.".encode() + BODY, hashlib.sha256).hexdigest()
    return {"X-Kv-Signature": f"t={ts},v1={mac}{extra}"}


def test_kv_format_stripe_style(make_guard: GuardFactory) -> None:
    guard = make_guard(kv_route() | {"event_id": "none"})
    assert guard.check(post("/hooks/gen", kv_header())).ok
    assert guard.check(post("/hooks/gen", kv_header(extra=",v0=deadbeef"))).ok
    verdict = guard.check(post("/hooks/gen", kv_header(ts=int(NOW) - 301)))
    assert verdict.reason is Reason.TIMESTAMP_TOO_OLD


def test_kv_downgrade_to_other_version_refused(make_guard: GuardFactory) -> None:
    mac = hmac.new(b"gen-secret", f"{int(NOW)}.".encode() + BODY, hashlib.sha256).hexdigest()
    verdict = make_guard(kv_route()).check(
        post("/hooks/gen", {"X-Kv-Signature": f"t={int(NOW)},v0={mac}"})
    )
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def test_kv_missing_header_is_signature_missing(make_guard: GuardFactory) -> None:
    assert make_guard(kv_route()).check(post("/hooks/gen", {})).reason is Reason.SIGNATURE_MISSING


def test_kv_two_timestamps_is_malformed(make_guard: GuardFactory) -> None:
    header = kv_header()
    header["X-Kv-Signature"] = f"t={int(NOW) - 9999}," + header["X-Kv-Signature"]
    verdict = make_guard(kv_route()).check(post("/hooks/gen", header))
    assert verdict.reason is Reason.TIMESTAMP_MALFORMED


def test_kv_timestamp_missing(make_guard: GuardFactory) -> None:
    header = {"X-Kv-Signature": kv_header()["X-Kv-Signature"].split(",", 1)[1]}
    verdict = make_guard(kv_route()).check(post("/hooks/gen", header))
    assert verdict.reason is Reason.TIMESTAMP_MISSING


def test_at_most_ten_signatures_are_examined(make_guard: GuardFactory) -> None:
    good = sign(make_guard(sw_route()), "sw", BODY, event_id="m1")
    junk = " ".join(["v1," + base64.b64encode(bytes([i]) * 32).decode() for i in range(10)])
    guard = make_guard(sw_route())
    late = good | {"webhook-signature": junk + " " + good["webhook-signature"]}
    assert guard.check(post("/hooks/sw", late, BODY)).reason is Reason.SIGNATURE_MISMATCH
    early = good | {"webhook-signature": good["webhook-signature"] + " " + junk}
    assert guard.check(post("/hooks/sw", early, BODY)).ok


def test_url_and_method_in_signed_content(make_guard: GuardFactory) -> None:
    route = generic_route(public_url="https://hooks.example.com/")
    route["signature"] = {"header": "X-Sig", "signed_content": "{method} {url}\n{body}"}
    guard = make_guard(route)
    signed = b"POST https://hooks.example.com/hooks/gen?a=1\n" + BODY
    sig = hmac.new(b"gen-secret", signed, hashlib.sha256).hexdigest()
    assert guard.check(post("/hooks/gen", {"X-Sig": sig}, query="a=1")).ok
    assert (
        guard.check(post("/hooks/gen", {"X-Sig": sig}, query="a=2")).reason
        is Reason.SIGNATURE_MISMATCH
    )
    assert (
        guard.check(post("/hooks/gen", {"X-Sig": sig}, query="a=1", method="PUT")).reason
        is Reason.METHOD_NOT_ALLOWED
    )


# -- secrets: rotation and expiry ----------------------------------------------------


def test_rotation_reports_which_secret_matched(make_guard: GuardFactory, clock: FakeClock) -> None:
    guard = make_guard(
        sw_route(
            secrets=[
                {"value": SW_SECRET, "label": "current"},
                {"value": SW_SECRET_OLD, "label": "previous", "expires": "2023-11-15T00:00:00Z"},
            ]
        )
    )
    clock.now = 1_699_999_000
    new = sign(guard, "sw", BODY, event_id="a")
    old = sign(guard, "sw", BODY, event_id="b", secret=SW_SECRET_OLD)
    assert guard.check(post("/hooks/sw", new, BODY)).secret_id == "current"
    assert guard.check(post("/hooks/sw", old, BODY)).secret_id == "previous"
    clock.now = 1_700_006_401
    old = sign(guard, "sw", BODY, event_id="c", secret=SW_SECRET_OLD)
    verdict = guard.check(post("/hooks/sw", old, BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_all_secrets_expired(make_guard: GuardFactory, clock: FakeClock) -> None:
    guard = make_guard(sw_route(secrets=[{"value": SW_SECRET, "expires": "2020-01-01"}]))
    verdict = guard.check(post("/hooks/sw", sign(guard, "sw", BODY, secret=SW_SECRET), BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    assert "expired" in verdict.detail


def test_env_and_file_secrets(make_guard: GuardFactory, tmp_path: Any) -> None:
    path = tmp_path / "old"
    path.write_text(SW_SECRET_OLD + "\n")
    guard = make_guard(
        sw_route(secrets=["env:SW_SECRET", f"file:{path}"]), env={"SW_SECRET": SW_SECRET}
    )
    assert (
        guard.check(post("/hooks/sw", sign(guard, "sw", BODY), BODY)).secret_id == "env:SW_SECRET"
    )
    old = sign(guard, "sw", BODY, secret=SW_SECRET_OLD)
    assert guard.check(post("/hooks/sw", old, BODY)).secret_id == f"file:{path}"


# -- report mode ----------------------------------------------------------------------


def test_report_mode_lets_failures_through_and_records_them(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(mode="report", token={"query": "t", "secrets": ["tk"]}))
    headers = gen_headers(ts=int(NOW) - 1000, secret=b"forged")
    verdict = guard.check(post("/hooks/gen", headers))
    assert verdict.ok
    assert verdict.reported == (
        Reason.TOKEN_MISSING,
        Reason.TIMESTAMP_TOO_OLD,
        Reason.SIGNATURE_MISMATCH,
    )
    assert verdict.timestamp is None
    assert verdict.secret_id is None
    assert verdict.reservation is None  # unauthenticated requests never touch the store


def test_report_mode_reports_duplicates_and_methods(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(mode="report"))
    first = guard.check(post("/hooks/gen", gen_headers()))
    assert first.ok
    assert first.reported == ()
    guard.complete(first, status=200)
    again = guard.check(post("/hooks/gen", gen_headers(), method="PUT"))
    assert again.ok
    assert again.reported == (Reason.METHOD_NOT_ALLOWED, Reason.DUPLICATE_EVENT)


def test_report_mode_still_enforces_body_limit_and_paths(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(mode="report", max_body_bytes=4))
    assert guard.check(post("/hooks/gen", {}, b"12345")).reason is Reason.BODY_TOO_LARGE
    assert guard.check(post("/hooks//gen", {}, b"")).reason is Reason.ROUTE_NOT_FOUND


def test_defaults_mode_applies_and_route_overrides(make_guard: GuardFactory) -> None:
    guard = make_guard(
        generic_route(),
        generic_route(name="strict", path="/strict", mode="enforce"),
        defaults={"mode": "report"},
    )
    assert guard.check(post("/hooks/gen", {})).ok
    assert not guard.check(post("/strict", {})).ok


# -- replay ------------------------------------------------------------------------------


def test_duplicate_is_acknowledged_without_the_handler(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_dup")
    first = guard.check(post("/hooks/sw", headers, BODY))
    assert first.ok
    assert first.event_id == "msg_dup"
    guard.complete(first, status=204)
    again = guard.check(post("/hooks/sw", headers, BODY))
    assert not again.ok
    assert again.duplicate
    assert again.reason is Reason.DUPLICATE_EVENT
    assert again.status == 200
    assert again.problem()["event_id"] == "msg_dup"


def test_duplicate_rejected_with_409_when_configured(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(on_duplicate="reject"))
    headers = sign(guard, "sw", BODY, event_id="msg_dup")
    guard.complete(guard.check(post("/hooks/sw", headers, BODY)), status=200)
    again = guard.check(post("/hooks/sw", headers, BODY))
    assert again.status == 409
    assert again.duplicate


def test_in_flight_then_expiry_of_a_crashed_reservation(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    guard = make_guard(sw_route(tolerance=3600), replay={"processing_timeout": 30})
    headers = sign(guard, "sw", BODY, event_id="msg_slow")
    first = guard.check(post("/hooks/sw", headers, BODY))
    assert first.ok
    second = guard.check(post("/hooks/sw", headers, BODY))
    assert second.reason is Reason.EVENT_IN_FLIGHT
    assert second.status == 409
    assert ("retry-after", "30") in second.headers
    clock.advance(31)  # the first worker crashed without completing
    third = guard.check(post("/hooks/sw", headers, BODY))
    assert third.ok
    # The crashed worker's late release must not free the new reservation.
    guard.complete(first, status=None)
    assert guard.check(post("/hooks/sw", headers, BODY)).reason is Reason.EVENT_IN_FLIGHT


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_handler_2xx_commits(make_guard: GuardFactory, status: int) -> None:
    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_c")
    guard.complete(guard.check(post("/hooks/sw", headers, BODY)), status=status)
    assert guard.check(post("/hooks/sw", headers, BODY)).duplicate


@pytest.mark.parametrize(
    "status", [100, 199, 301, 304, 400, 404, 415, 422, 499, 500, 502, 503, None]
)
def test_handler_answer_outside_2xx_releases_for_the_retry(
    make_guard: GuardFactory, status: int | None
) -> None:
    # A failure (5xx, None for an exception) must let the retry through; so must a 400
    # from the framework (Django's DisallowedHost) or a 415 (Flask's get_json() without
    # a Content-Type): they say nothing about the event, which must not be used up.
    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_4xx")
    guard.complete(guard.check(post("/hooks/sw", headers, BODY)), status=status)
    retry = guard.check(post("/hooks/sw", headers, BODY))
    assert retry.ok
    assert not retry.duplicate


@pytest.mark.parametrize(("status", "done"), [(200, True), (302, True), (422, True), (500, False)])
def test_commit_on_below_500_commits_4xx(make_guard: GuardFactory, status: int, done: bool) -> None:
    guard = make_guard(sw_route(commit_on="below_500"))
    headers = sign(guard, "sw", BODY, event_id="msg_b500")
    guard.complete(guard.check(post("/hooks/sw", headers, BODY)), status=status)
    assert guard.check(post("/hooks/sw", headers, BODY)).duplicate is done


def test_acomplete_follows_commit_on(make_guard: GuardFactory) -> None:
    async def settle_404_then_retry(guard: Guard) -> bool:
        headers = sign(guard, "sw", BODY, event_id="msg_a")
        await guard.acomplete(await guard.acheck(post("/hooks/sw", headers, BODY)), 404)
        return (await guard.acheck(post("/hooks/sw", headers, BODY))).duplicate

    assert asyncio.run(settle_404_then_retry(make_guard(sw_route()))) is False
    lenient = make_guard(sw_route(commit_on="below_500"))
    assert asyncio.run(settle_404_then_retry(lenient)) is True


def test_commit_on_is_validated(make_guard: GuardFactory) -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.commit_on"):
        make_guard(sw_route(commit_on="4xx"))


def test_complete_is_idempotent_and_ignores_non_reserved(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_i")
    verdict = guard.check(post("/hooks/sw", headers, BODY))
    guard.complete(verdict, status=200)
    guard.complete(verdict, status=500)  # second call must not release the DONE entry
    assert guard.check(post("/hooks/sw", headers, BODY)).duplicate
    guard.complete(Verdict(ok=True), status=200)
    guard.complete(guard.check(post("/nothing", {})), status=200)


def test_done_entries_expire_after_retention(make_guard: GuardFactory, clock: FakeClock) -> None:
    guard = make_guard(sw_route(tolerance=3600), replay={"retention": 7200})
    headers = sign(guard, "sw", BODY, event_id="msg_r")
    guard.complete(guard.check(post("/hooks/sw", headers, BODY)), status=200)
    clock.advance(3599)
    assert guard.check(post("/hooks/sw", headers, BODY)).duplicate
    clock.advance(7200)
    # Past retention the stored entry is gone, but the timestamp window closed long ago.
    assert guard.check(post("/hooks/sw", headers, BODY)).reason is Reason.TIMESTAMP_TOO_OLD


def test_keys_are_per_route(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(), sw_route(name="sw2", path="/hooks/sw2"))
    h1 = sign(guard, "sw", BODY, event_id="same")
    h2 = sign(guard, "sw2", BODY, event_id="same")
    guard.complete(guard.check(post("/hooks/sw", h1, BODY)), status=200)
    assert guard.check(post("/hooks/sw2", h2, BODY)).ok


def test_event_id_from_json_pointer(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(event_id={"json": "/id"}))
    v1 = guard.check(post("/hooks/gen", gen_headers()))
    assert v1.event_id == "evt_1"
    guard.complete(v1, status=200)
    # Same event re-signed at another time (a provider retry): still a duplicate.
    retry = gen_headers(ts=int(NOW) + 5)
    assert guard.check(post("/hooks/gen", retry)).duplicate


@pytest.mark.parametrize(
    ("body", "pointer", "expected"),
    [
        (b'{"a":{"b":[10,{"c":"x"}]}}', "/a/b/1/c", "x"),
        (b'{"a/b":{"m~n":7}}', "/a~1b/m~0n", "7"),
        (b'{"id":true}', "/id", None),
        (b'{"id":null}', "/id", None),
        (b'{"id":{"x":1}}', "/id", None),
        (b"[1,2]", "/01", None),
        (b"[1,2]", "/5", None),
        (b"not json", "/id", None),
        (b"\xff\xfe", "/id", None),
    ],
)
def test_json_pointer_resolution(body: bytes, pointer: str, expected: str | None) -> None:
    from webhook_guard.config import _pointer
    from webhook_guard.jsonid import find_pointer

    assert find_pointer(body, _pointer(pointer, "x")) == expected


def test_missing_event_id_falls_back_to_the_verified_signature(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(event_id={"json": "/missing"}))
    first = guard.check(post("/hooks/gen", gen_headers()))
    assert first.event_id is not None
    assert first.event_id.startswith("sig:")
    guard.complete(first, status=200)
    assert guard.check(post("/hooks/gen", gen_headers())).duplicate
    # A new signature (new timestamp) is a new delivery.
    assert guard.check(post("/hooks/gen", gen_headers(ts=int(NOW) + 1))).ok


def test_non_canonical_signature_encoding_is_still_a_duplicate(make_guard: GuardFactory) -> None:
    # Upper-case hex decodes to the same digest: it must not dodge dedup.
    guard = make_guard(generic_route(event_id="auto"))
    headers = gen_headers()
    guard.complete(guard.check(post("/hooks/gen", headers)), status=200)
    upper = headers | {"X-Signature": "sha256=" + headers["X-Signature"][7:].upper()}
    assert guard.check(post("/hooks/gen", upper)).duplicate


def test_token_only_route_dedups_on_body(make_guard: GuardFactory) -> None:
    guard = make_guard(token_route(header="X-Token"))
    req = post("/hooks/tok", {"X-Token": "s3cr3t-token"}, BODY)
    first = guard.check(req)
    assert first.event_id is not None
    assert first.event_id.startswith("body:")
    guard.complete(first, status=200)
    assert guard.check(req).duplicate


def test_event_id_none_disables_dedup(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(event_id="none"))
    headers = sign(guard, "sw", BODY)
    for _ in range(3):
        verdict = guard.check(post("/hooks/sw", headers, BODY))
        assert verdict.ok
        assert verdict.reservation is None
        guard.complete(verdict, status=200)


def test_event_id_from_header(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(event_id={"header": "X-Delivery"}))
    verdict = guard.check(post("/hooks/gen", gen_headers() | {"X-Delivery": "d-1"}))
    assert verdict.event_id == "d-1"


def test_weird_event_ids_are_hashed(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(event_id={"header": "X-Delivery"}))
    verdict = guard.check(
        post("/hooks/gen", gen_headers() | {"X-Delivery": "a b\r\nc" + "x" * 300})
    )
    assert verdict.event_id is not None
    assert verdict.event_id.startswith("sha256:")


# -- replay store failures ------------------------------------------------------------


class BrokenStore(MemoryReplayStore):
    def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
        raise ConnectionError("store down")

    async def areserve(self, key: str, ttl: float, token: str) -> ReplayState:
        raise ConnectionError("store down")

    def commit(self, key: str, ttl: float, token: str) -> None:
        raise ConnectionError("store down")


def _broken_guard(clock: FakeClock, **replay: Any) -> Guard:
    config = {"version": 1, "replay": replay, "routes": [sw_route()]}
    return Guard.from_dict(config, store=BrokenStore(), clock=clock)


def test_store_failure_fails_closed_by_default(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = _broken_guard(clock)
    verdict = guard.check(post("/hooks/sw", sign(guard, "sw", BODY), BODY))
    assert verdict.reason is Reason.REPLAY_STORE_UNAVAILABLE
    assert verdict.status == 503
    assert "store down" in caplog.text


def test_store_failure_fail_open(clock: FakeClock) -> None:
    guard = _broken_guard(clock, on_store_error="fail_open")
    verdict = asyncio.run(guard.acheck(post("/hooks/sw", sign(guard, "sw", BODY), BODY)))
    assert verdict.ok
    assert verdict.reported == (Reason.REPLAY_STORE_UNAVAILABLE,)


def test_store_failure_in_complete_is_logged_not_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class CommitBroken(MemoryReplayStore):
        def commit(self, key: str, ttl: float, token: str) -> None:
            raise TimeoutError("slow")

    guard = Guard.from_dict(
        {"version": 1, "routes": [sw_route()]}, store=CommitBroken(), clock=clock
    )
    verdict = guard.check(post("/hooks/sw", sign(guard, "sw", BODY), BODY))
    guard.complete(verdict, status=200)
    assert "TimeoutError" in caplog.text


# -- async twins --------------------------------------------------------------------------


def test_acheck_and_acomplete(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_async")

    async def scenario() -> tuple[Verdict, Verdict, Verdict]:
        first = await guard.acheck(post("/hooks/sw", headers, BODY))
        inflight = await guard.acheck(post("/hooks/sw", headers, BODY))
        await guard.acomplete(first, status=200)
        dup = await guard.acheck(post("/hooks/sw", headers, BODY))
        return first, inflight, dup

    first, inflight, dup = asyncio.run(scenario())
    assert first.ok
    assert inflight.reason is Reason.EVENT_IN_FLIGHT
    assert dup.duplicate


# -- secrets never leak ------------------------------------------------------------------


def test_no_secret_in_verdicts_problems_or_logs(
    make_guard: GuardFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webhook_guard")
    guard = make_guard(
        sw_route(token={"query": "token", "secrets": ["tok-VALUE-123"]}),
        generic_route(),
    )
    requests = [
        post("/hooks/sw", sign(guard, "sw", BODY), BODY, query="token=tok-VALUE-123"),
        post("/hooks/sw", sign(guard, "sw", BODY), BODY, query="token=tok-VALUE-12"),
        post("/hooks/sw", {}, BODY),
        post("/hooks/gen", gen_headers(secret=b"x")),
        post("/hooks/gen", gen_headers()),
    ]
    texts = [repr(guard), repr(guard.config)]
    for req in requests:
        verdict = guard.check(req)
        texts += [repr(verdict), verdict.problem_json().decode(), repr(req)]
    texts.append(caplog.text)
    blob = "\n".join(texts)
    for secret in (SW_SECRET, SW_SECRET.removeprefix("whsec_"), "tok-VALUE-123", "gen-secret"):
        assert secret not in blob


def test_problem_json_shape(make_guard: GuardFactory) -> None:
    verdict = make_guard(sw_route()).check(post("/hooks/sw", {}, BODY))
    problem = verdict.problem()
    assert problem == {
        "type": "urn:webhook-guard:reason:signature_missing",
        "title": "Signature missing",
        "status": 401,
        "detail": "the webhook-signature header is missing",
        "reason": "signature_missing",
    }
    assert ("content-type", "application/problem+json") in verdict.response_headers()
    assert Verdict(ok=True).problem()["status"] == 200


def test_check_never_raises_on_hostile_input(make_guard: GuardFactory) -> None:
    guard = make_guard(
        sw_route(token={"basic": True, "secrets": ["b"]}),
        generic_route(event_id={"json": "/id"}),
        kv_route() | {"name": "kv", "path": "/kv"},
    )
    nasty = [
        "",
        " ",
        ",",
        "=",
        "v1,",
        "t=",
        "t=,v1=",
        "\x00",
        "\udcff",
        "é" * 5000,
        "v1," + "A" * 10000,
        "Basic ",
        "Basic =",
        "Basic " + "A" * 3,
        ",,,,",
        "v1=zz",
        "t=1,t=2",
        "%",
        "\r\n",
    ]
    for path in ("/hooks/sw", "/hooks/gen", "/kv", "/hooks/%ff", "/hooks/%", "/%00", "\udcff"):
        for value in nasty:
            headers = [
                (name, value)
                for name in (
                    "webhook-signature",
                    "webhook-timestamp",
                    "webhook-id",
                    "authorization",
                    "x-signature",
                    "x-timestamp",
                    "x-kv-signature",
                    "content-length",
                )
            ]
            verdict = guard.check(
                post(path, headers, value.encode("utf-8", "surrogatepass"), query=value)
            )
            assert isinstance(verdict, Verdict)


# -- a signed endpoint check uses up its key -------------------------------------------------


def _twitch_check(guard: Guard, message_type: str) -> WebhookRequest:
    body = b'{"challenge":"chlg-0123","subscription":{"id":"f1c2"}}'
    headers = sign(guard, "tw", body, event_id="msg-check-1")
    headers["twitch-eventsub-message-type"] = message_type
    return post("/hooks/tw", headers, body)


def _twitch_guard(clock: FakeClock, store: Any = None, **replay: Any) -> Guard:
    route = {"name": "tw", "path": "/hooks/tw", "provider": "twitch", "secrets": ["t" * 32]}
    config = {"version": 1, "replay": replay, "routes": [route]}
    return Guard.from_dict(config, store=store, clock=clock)


@pytest.mark.parametrize("run", ["sync", "async"])
def test_an_answered_check_resent_as_a_notification_is_a_duplicate(
    clock: FakeClock, run: str
) -> None:
    guard = _twitch_guard(clock)

    def check(req: WebhookRequest) -> Verdict:
        return guard.check(req) if run == "sync" else asyncio.run(guard.acheck(req))

    answered = check(_twitch_check(guard, "webhook_callback_verification"))
    assert answered.reason is Reason.HANDSHAKE
    assert answered.response_body() == b"chlg-0123"
    relabelled = check(_twitch_check(guard, "notification"))
    assert relabelled.reason is Reason.DUPLICATE_EVENT
    again = check(_twitch_check(guard, "webhook_callback_verification"))
    assert again.reason is Reason.HANDSHAKE  # a repeated check is answered again


def test_a_check_with_the_store_down_follows_on_store_error(clock: FakeClock) -> None:
    closed = _twitch_guard(clock, BrokenStore())
    refused = closed.check(_twitch_check(closed, "webhook_callback_verification"))
    assert refused.reason is Reason.REPLAY_STORE_UNAVAILABLE
    assert refused.status == 503
    opened = _twitch_guard(clock, BrokenStore(), on_store_error="fail_open")
    answered = opened.check(_twitch_check(opened, "webhook_callback_verification"))
    assert answered.reason is Reason.HANDSHAKE
    assert answered.response_body() == b"chlg-0123"
