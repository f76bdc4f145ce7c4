"""The `standard` preset against requests signed by the real standardwebhooks and svix SDKs."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks

from webhook_guard import Reason
from webhook_guard.testing import FakeClock

from .conftest import NOW, SW_SECRET, SW_SECRET_OLD, GuardFactory, post, sw_route

BODY = '{"type":"invoice.paid","data":{"amount":1200,"note":"caf\u00e9 \u2603"}}'
WHEN = datetime.fromtimestamp(NOW, timezone.utc)


def sdk_headers(
    secret: str = SW_SECRET, msg_id: str = "msg_2Lx", body: str = BODY, when: datetime = WHEN
) -> dict[str, str]:
    sig = standardwebhooks.Webhook(secret).sign(msg_id, when, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": sig,
    }


def svix_headers(
    secret: str = SW_SECRET, msg_id: str = "msg_svix1", body: str = BODY
) -> dict[str, str]:
    sig = svix.webhooks.Webhook(secret).sign(msg_id, WHEN, body)
    return {"svix-id": msg_id, "svix-timestamp": str(int(NOW)), "svix-signature": sig}


def test_published_test_vector(make_guard: GuardFactory, clock: FakeClock) -> None:
    # The vector the Standard Webhooks libraries test against and docs.svix.com publishes.
    clock.now = 1614265330
    guard = make_guard(sw_route(secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]))
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    verdict = guard.check(post("/hooks/sw", headers, b'{"test": 2432232314}'))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == 1614265330
    assert verdict.event_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_standardwebhooks_sdk_signature_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    verdict = guard.check(post("/hooks/sw", sdk_headers(), BODY.encode()))
    assert verdict.ok, verdict.detail
    assert verdict.secret_id == "secrets[0]"
    assert verdict.event_id == "msg_2Lx"


def test_svix_sdk_signature_verifies_under_svix_names(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route())
    verdict = guard.check(post("/hooks/sw", svix_headers(), BODY.encode()))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "msg_svix1"


def test_our_signer_is_accepted_by_both_sdks(make_guard: GuardFactory) -> None:
    # webhook_guard.testing.sign must produce what the real receivers accept.
    from webhook_guard.testing import sign

    guard = make_guard(sw_route())
    headers = sign(guard, "sw", BODY, event_id="msg_ours", timestamp=int(NOW))
    # The SDKs check the timestamp against the real clock, so sign "now" for them.
    now_headers = sign(
        guard, "sw", BODY, event_id="msg_ours", timestamp=int(datetime.now().timestamp())
    )
    assert standardwebhooks.Webhook(SW_SECRET).verify(BODY, now_headers) is not None
    svix.webhooks.Webhook(SW_SECRET).verify(BODY, now_headers)
    assert guard.check(post("/hooks/sw", headers, BODY.encode())).ok


def test_non_utf8_body_verifies(make_guard: GuardFactory) -> None:
    # The reference library decodes the body as text; we sign and compare raw bytes.
    body = b"\xff\xfe\x00binary\x80"
    key = base64.b64decode(SW_SECRET.removeprefix("whsec_"))
    sig = base64.b64encode(
        hmac.new(key, b"msg_b." + str(int(NOW)).encode() + b"." + body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "webhook-id": "msg_b",
        "webhook-timestamp": str(int(NOW)),
        "webhook-signature": f"v1,{sig}",
    }
    assert make_guard(sw_route()).check(post("/hooks/sw", headers, body)).ok


def test_rotation_sends_several_signatures(make_guard: GuardFactory) -> None:
    guard = make_guard(sw_route(secrets=[SW_SECRET_OLD]))
    new = sdk_headers(SW_SECRET)["webhook-signature"]
    old = sdk_headers(SW_SECRET_OLD)["webhook-signature"]
    headers = sdk_headers() | {"webhook-signature": f"{new} {old}"}
    assert guard.check(post("/hooks/sw", headers, BODY.encode())).ok


def test_malformed_tokens_are_skipped_not_fatal(make_guard: GuardFactory) -> None:
    # standardwebhooks raises ValueError/binascii.Error on these even when a valid signature
    # follows (a sender may add versions we do not know); we skip them and keep going.
    good = sdk_headers()["webhook-signature"]
    for junk in ("garbage", "v1,", "v1,!!!notbase64", "v1a,AAAA", "v2,xyz", ""):
        headers = sdk_headers() | {"webhook-signature": f"{junk}  {good}"}
        verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, BODY.encode()))
        assert verdict.ok, (junk, verdict.detail)


def test_secret_without_padding_is_accepted(make_guard: GuardFactory) -> None:
    key = b"x" * 31  # base64 of 31 bytes ends in '=' which users often drop
    secret = "whsec_" + base64.b64encode(key).decode().rstrip("=")
    headers = sdk_headers(secret="whsec_" + base64.b64encode(key).decode())
    assert (
        make_guard(sw_route(secrets=[secret])).check(post("/hooks/sw", headers, BODY.encode())).ok
    )


def _tamper(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


SIG = sdk_headers()["webhook-signature"]
SIG_B64 = SIG.split(",", 1)[1]


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        pytest.param(sdk_headers(), BODY + " ", Reason.SIGNATURE_MISMATCH, id="body-appended"),
        pytest.param(
            sdk_headers(), BODY.replace("1200", "1"), Reason.SIGNATURE_MISMATCH, id="body-changed"
        ),
        pytest.param(sdk_headers(), "", Reason.SIGNATURE_MISMATCH, id="body-emptied"),
        pytest.param(
            sdk_headers(secret=SW_SECRET_OLD), BODY, Reason.SIGNATURE_MISMATCH, id="wrong-secret"
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_id="msg_other"),
            BODY,
            Reason.SIGNATURE_MISMATCH,
            id="id-swapped",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp=str(int(NOW) + 1)),
            BODY,
            Reason.SIGNATURE_MISMATCH,
            id="timestamp-bumped",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature=None),
            BODY,
            Reason.SIGNATURE_MISSING,
            id="signature-missing",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature=""),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="signature-empty",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature="v1," + SIG_B64[:-4]),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="signature-truncated",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature=SIG_B64),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="no-version",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature="v1a," + SIG_B64),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="only-v1a",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature="v2," + SIG_B64),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="wrong-version",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature="V1," + SIG_B64),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="version-case",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_signature="v1," + base64.b64encode(b"\0" * 32).decode()),
            BODY,
            Reason.SIGNATURE_MISMATCH,
            id="zero-signature",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp=None),
            BODY,
            Reason.TIMESTAMP_MISSING,
            id="timestamp-missing",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp="1700000000.0"),
            BODY,
            Reason.TIMESTAMP_MALFORMED,
            id="timestamp-fraction",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp="0x6553f100"),
            BODY,
            Reason.TIMESTAMP_MALFORMED,
            id="timestamp-hex",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp="\uff11\uff17" + "0" * 8),
            BODY,
            Reason.TIMESTAMP_MALFORMED,
            id="timestamp-fullwidth-digits",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp="-1700000000"),
            BODY,
            Reason.TIMESTAMP_MALFORMED,
            id="timestamp-negative",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_timestamp="9" * 13),
            BODY,
            Reason.TIMESTAMP_MALFORMED,
            id="timestamp-huge",
        ),
        pytest.param(
            _tamper(sdk_headers(), webhook_id=None),
            BODY,
            Reason.SIGNATURE_MALFORMED,
            id="id-missing",
        ),
        pytest.param(
            sdk_headers(when=datetime.fromtimestamp(NOW - 301, timezone.utc)),
            BODY,
            Reason.TIMESTAMP_TOO_OLD,
            id="stale",
        ),
        pytest.param(
            sdk_headers(when=datetime.fromtimestamp(NOW + 301, timezone.utc)),
            BODY,
            Reason.TIMESTAMP_IN_FUTURE,
            id="future",
        ),
        pytest.param(
            sdk_headers(when=datetime.fromtimestamp(NOW - 300, timezone.utc)),
            BODY,
            None,
            id="edge-old-ok",
        ),
        pytest.param(
            sdk_headers(when=datetime.fromtimestamp(NOW + 300, timezone.utc)),
            BODY,
            None,
            id="edge-future-ok",
        ),
    ],
)
def test_attacks_on_standard_route(
    make_guard: GuardFactory, headers: dict[str, str], body: str, reason: Reason | None
) -> None:
    verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, body.encode()))
    if reason is None:
        assert verdict.ok, verdict.detail
    else:
        assert not verdict.ok
        assert verdict.reason is reason, verdict.detail
        assert verdict.status == 401
        assert verdict.timestamp is None  # never trusted without a valid signature


def test_base64url_signature_is_not_accepted(make_guard: GuardFactory) -> None:
    # The spec says standard base64; a url-safe spelling only "works" in lenient decoders.
    for n in range(100):  # find a delivery whose signature has a '+' or '/' to change
        headers = sdk_headers(msg_id=f"msg_{n}")
        sig = headers["webhook-signature"].split(",", 1)[1]
        url_safe = sig.replace("+", "-").replace("/", "_")
        if url_safe != sig:
            break
    headers["webhook-signature"] = "v1," + url_safe
    verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, BODY.encode()))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def test_duplicate_signature_header_lines_are_refused(make_guard: GuardFactory) -> None:
    headers = [*list(sdk_headers().items()), ("webhook-signature", "v1,AAAA")]
    verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, BODY.encode()))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED
    assert "2 times" in verdict.detail


def test_timestamp_detail_says_how_far_off(make_guard: GuardFactory) -> None:
    headers = sdk_headers(when=datetime.fromtimestamp(NOW - 412, timezone.utc))
    verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, BODY.encode()))
    assert verdict.detail == "timestamp is 412 s old; tolerance 300 s"
    headers = sdk_headers(when=datetime.fromtimestamp(NOW + 999, timezone.utc))
    verdict = make_guard(sw_route()).check(post("/hooks/sw", headers, BODY.encode()))
    assert verdict.detail == "timestamp is 999 s in the future; tolerance 300 s"


def test_signature_moved_to_another_route_fails(make_guard: GuardFactory) -> None:
    other = sw_route(name="other", path="/hooks/other", secrets=[SW_SECRET_OLD])
    guard = make_guard(sw_route(), other)
    verdict = guard.check(post("/hooks/other", sdk_headers(), BODY.encode()))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


# -- dedup keys only on the ID the signature covered -------------------------------------------


def _both_families(msg_id: str = "msg_both") -> dict[str, str]:
    # A sender that sends the delivery under both header families, each signed by its SDK.
    return {**sdk_headers(msg_id=msg_id), **svix_headers(msg_id=msg_id)}


@pytest.mark.parametrize(
    ("named", "headers", "signed_id"),
    [
        pytest.param("svix-id", sdk_headers(), "msg_2Lx", id="svix-id-named-webhook-signed"),
        pytest.param("webhook-id", svix_headers(), "msg_svix1", id="webhook-id-named-svix-signed"),
        pytest.param("svix-id", _both_families(), "msg_both", id="svix-id-named-both-sent"),
    ],
)
def test_replay_under_a_fresh_id_in_the_named_header_is_a_duplicate(
    make_guard: GuardFactory, named: str, headers: dict[str, str], signed_id: str
) -> None:
    # The route names one family's ID header; the sender signed with the other (or both).
    # The header the route names is not covered by the signature that verified, so a
    # captured delivery resent with a fresh value there must still be a duplicate.
    guard = make_guard(sw_route(event_id={"header": named}))
    first = guard.check(post("/hooks/sw", headers, BODY.encode()))
    assert first.ok, first.detail
    assert first.event_id == signed_id
    guard.complete(first, 200)
    for fresh in ("msg_fresh", "msg_fresh2"):
        replay = guard.check(post("/hooks/sw", {**headers, named: fresh}, BODY.encode()))
        assert replay.reason is Reason.DUPLICATE_EVENT, replay.detail
        assert replay.event_id == signed_id


def test_replay_switching_header_family_is_a_duplicate(make_guard: GuardFactory) -> None:
    # Sent under both families: the replay keeps only the svix-* family (still validly
    # signed) and a fresh webhook-id, hoping the key changes with the family.
    guard = make_guard(sw_route(event_id={"header": "webhook-id"}))
    first = guard.check(post("/hooks/sw", _both_families(), BODY.encode()))
    assert first.ok, first.detail
    guard.complete(first, 200)
    replay_headers = {**svix_headers(msg_id="msg_both"), "webhook-id": "msg_fresh"}
    replay = guard.check(post("/hooks/sw", replay_headers, BODY.encode()))
    assert replay.reason is Reason.DUPLICATE_EVENT, replay.detail


@pytest.mark.parametrize(
    ("named", "make"), [("svix-id", sdk_headers), ("webhook-id", svix_headers)]
)
def test_provider_retry_is_still_a_duplicate(
    make_guard: GuardFactory, clock: FakeClock, named: str, make: Any
) -> None:
    # A genuine retry is re-signed with a new timestamp: keyed on the signed ID (not on
    # the signature bytes), it is recognised as the same delivery.
    guard = make_guard(sw_route(event_id={"header": named}))
    first = guard.check(post("/hooks/sw", make(msg_id="msg_retry"), BODY.encode()))
    assert first.ok, first.detail
    guard.complete(first, 200)
    clock.advance(60)
    later = datetime.fromtimestamp(clock.now, timezone.utc)
    retry = (
        sdk_headers(msg_id="msg_retry", when=later)
        if make is sdk_headers
        else {
            "svix-id": "msg_retry",
            "svix-timestamp": str(int(clock.now)),
            "svix-signature": svix.webhooks.Webhook(SW_SECRET).sign("msg_retry", later, BODY),
        }
    )
    assert retry != make(msg_id="msg_retry")
    verdict = guard.check(post("/hooks/sw", retry, BODY.encode()))
    assert verdict.reason is Reason.DUPLICATE_EVENT, verdict.detail
