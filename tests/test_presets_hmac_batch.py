"""Zoom, Twitch, HubSpot, WorkOS, Meta, Linear, Square, Intercom and Typeform against
their providers' SDKs where one is on PyPI (hubspot-api-client, workos, squareup) and
otherwise against each provider's documented algorithm written out with hmac/hashlib
(the source is named at each test). The handshakes (Zoom, Twitch, Meta) are checked
in the core: answered only when they prove themselves, and a refusal carries no part
of the answer. The common attacks are in test_presets_adversarial.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubspot.utils.signature import Signature as HubSpotSignature
from square.utils.webhooks_helper import verify_signature as square_verify
from workos.webhooks._resource import Webhooks as WorkOSWebhooks

from webhook_guard import Guard, MemoryReplayStore, Reason, Verdict
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, GuardFactory, b64_hmac, hex_hmac, post
from .conftest import preset_route as route
from .servers import free_port, run_process, serve_asgi

TS = int(NOW)
PUBLIC_URL = "https://hooks.example.com"


def nothing_of(verdict: Verdict, *secrets: str) -> None:
    """No part of an answer (or the secret) anywhere in a refusal."""
    sent = verdict.response_body() + repr(verdict.response_headers()).encode()
    sent += verdict.detail.encode()
    for secret in secrets:
        assert secret.encode() not in sent, secret


# -- Zoom (developers.zoom.us/docs/api/webhooks/#verify-webhook-events) -------------------

ZOOM_SECRET = "zoom_secret_token_Ab12"
ZOOM_EVENT = b'{"event":"meeting.started","event_ts":1700000000123,"payload":{"object":{}}}'
PLAIN = "qgg8vlvZRS6UYooatFL8Aw"
ZOOM_CHECK = json.dumps(
    {
        "payload": {"plainToken": PLAIN},
        "event_ts": 1700000000123,
        "event": "endpoint.url_validation",
    }
).encode()


def zoom_headers(body: bytes, secret: str = ZOOM_SECRET, ts: int = TS) -> dict[str, str]:
    # As Zoom's docs build it: 'v0:' + timestamp + ':' + body, HMAC-SHA256 hex, 'v0=' + hex.
    sig = hex_hmac(secret, f"v0:{ts}:".encode() + body)
    return {"x-zm-signature": f"v0={sig}", "x-zm-request-timestamp": str(ts)}


def test_zoom_documented_signature_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(route("zoom", ZOOM_SECRET))
    verdict = guard.check(post("/hooks/zoom", zoom_headers(ZOOM_EVENT), ZOOM_EVENT))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert sign("zoom", ZOOM_EVENT, secret=ZOOM_SECRET, timestamp=TS) == zoom_headers(ZOOM_EVENT)


def test_zoom_signed_validation_is_answered_with_the_encrypted_token(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(route("zoom", ZOOM_SECRET))
    verdict = guard.check(post("/hooks/zoom", zoom_headers(ZOOM_CHECK), ZOOM_CHECK))
    assert verdict.reason is Reason.HANDSHAKE
    assert verdict.status == 200
    answer = json.loads(verdict.response_body())
    # Zoom's docs: encryptedToken = hex HMAC-SHA256 of plainToken under the secret token.
    assert answer == {"plainToken": PLAIN, "encryptedToken": hex_hmac(ZOOM_SECRET, PLAIN.encode())}
    assert ("content-type", "application/json") in verdict.response_headers()


@pytest.mark.parametrize("forgery", ["unsigned", "wrong secret", "stale", "other body"])
def test_zoom_validation_without_a_valid_signature_gets_no_encrypted_token(
    make_guard: GuardFactory, forgery: str
) -> None:
    """An endpoint that answered any validation would be an HMAC oracle for the secret."""
    guard = make_guard(route("zoom", ZOOM_SECRET))
    headers = {
        "unsigned": {},
        "wrong secret": zoom_headers(ZOOM_CHECK, secret="guessed"),
        "stale": zoom_headers(ZOOM_CHECK, ts=TS - 301),
        "other body": zoom_headers(ZOOM_EVENT),
    }[forgery]
    verdict = guard.check(post("/hooks/zoom", headers, ZOOM_CHECK))
    expected = {
        "unsigned": Reason.SIGNATURE_MISSING,
        "wrong secret": Reason.SIGNATURE_MISMATCH,
        "stale": Reason.TIMESTAMP_TOO_OLD,
        "other body": Reason.SIGNATURE_MISMATCH,
    }[forgery]
    assert verdict.reason is expected, verdict.detail
    assert verdict.status in (400, 401)
    nothing_of(verdict, hex_hmac(ZOOM_SECRET, PLAIN.encode()), "encryptedToken", ZOOM_SECRET)


def test_zoom_ordinary_event_still_reaches_the_app_and_dedups(make_guard: GuardFactory) -> None:
    guard = make_guard(route("zoom", ZOOM_SECRET))
    first = guard.check(post("/hooks/zoom", zoom_headers(ZOOM_EVENT), ZOOM_EVENT))
    assert first.ok
    assert first.answer is None
    guard.complete(first, 200)
    again = guard.check(post("/hooks/zoom", zoom_headers(ZOOM_EVENT), ZOOM_EVENT))
    assert again.reason is Reason.DUPLICATE_EVENT


# -- Twitch (dev.twitch.tv/docs/eventsub/handling-webhook-events#verifying-the-event-message)

TWITCH_SECRET = "twitch-subscription-secret-0123"
TWITCH_ID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
# RFC 3339 with nanoseconds, as Twitch sends it (NOW is 2023-11-14T22:13:20Z).
TWITCH_TS = "2023-11-14T22:13:20.634234626Z"
TWITCH_EVENT = b'{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}'
TWITCH_CHALLENGE = b'{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}'


def twitch_headers(
    body: bytes,
    kind: str = "notification",
    secret: str = TWITCH_SECRET,
    stamp: str = TWITCH_TS,
    msg_id: str = TWITCH_ID,
) -> dict[str, str]:
    # Twitch's docs: HMAC-SHA256 of message id + timestamp + raw body, 'sha256=' + hex.
    sig = hex_hmac(secret, msg_id.encode() + stamp.encode() + body)
    return {
        "Twitch-Eventsub-Message-Id": msg_id,
        "Twitch-Eventsub-Message-Timestamp": stamp,
        "Twitch-Eventsub-Message-Signature": f"sha256={sig}",
        "Twitch-Eventsub-Message-Type": kind,
    }


def test_twitch_documented_signature_verifies_and_dedups_on_the_message_id(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    guard = make_guard(route("twitch", TWITCH_SECRET))
    first = guard.check(post("/hooks/twitch", twitch_headers(TWITCH_EVENT), TWITCH_EVENT))
    assert first.ok, first.detail
    assert first.event_id == TWITCH_ID
    assert first.timestamp == TS
    guard.complete(first, 200)
    # Twitch resends "if unsure": the same message ID, signed again at a later time.
    clock.advance(120)
    later = "2023-11-14T22:15:20.000000001Z"
    again = guard.check(
        post("/hooks/twitch", twitch_headers(TWITCH_EVENT, stamp=later), TWITCH_EVENT)
    )
    assert again.reason is Reason.DUPLICATE_EVENT


def test_twitch_window_is_ten_minutes_unless_the_route_says_otherwise(
    make_guard: GuardFactory,
) -> None:
    body = TWITCH_EVENT
    nine = twitch_headers(body, stamp="2023-11-14T22:03:21Z")  # 599 s old
    eleven = twitch_headers(body, stamp="2023-11-14T22:03:19Z", msg_id="other")  # 601 s
    guard = make_guard(route("twitch", TWITCH_SECRET))
    assert guard.check(post("/hooks/twitch", nine, body)).ok
    assert guard.check(post("/hooks/twitch", eleven, body)).reason is Reason.TIMESTAMP_TOO_OLD
    strict = make_guard(route("twitch", TWITCH_SECRET, tolerance=300))
    assert strict.check(post("/hooks/twitch", nine, body)).reason is Reason.TIMESTAMP_TOO_OLD
    assert strict.config.route("twitch").tolerance == 300
    assert guard.config.route("twitch").tolerance == 600


def test_twitch_malformed_timestamp_is_precise(make_guard: GuardFactory) -> None:
    guard = make_guard(route("twitch", TWITCH_SECRET))
    headers = twitch_headers(TWITCH_EVENT, stamp="1700000000")
    verdict = guard.check(post("/hooks/twitch", headers, TWITCH_EVENT))
    assert verdict.reason is Reason.TIMESTAMP_MALFORMED
    assert "RFC 3339" in verdict.detail


def test_twitch_signed_challenge_is_echoed(make_guard: GuardFactory) -> None:
    guard = make_guard(route("twitch", TWITCH_SECRET))
    headers = twitch_headers(TWITCH_CHALLENGE, kind="webhook_callback_verification")
    verdict = guard.check(post("/hooks/twitch", headers, TWITCH_CHALLENGE))
    assert verdict.reason is Reason.HANDSHAKE
    assert verdict.response_body() == b"pogchamp-kappa-360noscope-vohiyo"
    assert ("content-type", "text/plain; charset=utf-8") in verdict.response_headers()


@pytest.mark.parametrize("secret", [None, "not-the-subscription-secret"])
def test_twitch_challenge_without_a_valid_signature_is_not_echoed(
    make_guard: GuardFactory, secret: str | None
) -> None:
    guard = make_guard(route("twitch", TWITCH_SECRET))
    headers = twitch_headers(
        TWITCH_CHALLENGE, kind="webhook_callback_verification", secret=secret or "x"
    )
    if secret is None:
        del headers["Twitch-Eventsub-Message-Signature"]
    verdict = guard.check(post("/hooks/twitch", headers, TWITCH_CHALLENGE))
    assert verdict.reason in (Reason.SIGNATURE_MISSING, Reason.SIGNATURE_MISMATCH)
    nothing_of(verdict, "pogchamp-kappa-360noscope-vohiyo")


# -- HubSpot v3 (hubspot-api-client 12.0 hubspot/utils/signature.py) ----------------------

HUBSPOT_SECRET = "hubspot-client-secret-1234"
HUBSPOT_BODY = b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"attemptNumber":0}]'


def hubspot_route(**extra: Any) -> dict[str, Any]:
    return route("hubspot", HUBSPOT_SECRET, public_url=PUBLIC_URL, **extra)


def test_hubspot_sdk_signature_verifies(make_guard: GuardFactory) -> None:
    stamp = str(TS * 1000)
    sig = HubSpotSignature.get_signature(
        HUBSPOT_SECRET,
        HUBSPOT_BODY.decode(),
        "v3",
        http_uri=f"{PUBLIC_URL}/hooks/hubspot",
        http_method="POST",
        timestamp=stamp,
    )
    headers = {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": stamp}
    verdict = make_guard(hubspot_route()).check(post("/hooks/hubspot", headers, HUBSPOT_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS


def test_hubspot_uri_escapes_are_decoded_as_hubspot_documents(make_guard: GuardFactory) -> None:
    # HubSpot's table: %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B are decoded before
    # signing; other escapes (%20 here) stay as sent.
    query = "portal=a%3Ab%2Cc%40d%28e%29&name=x%20y&f=%2a"
    decoded_uri = f"{PUBLIC_URL}/hooks/hubspot?portal=a:b,c@d(e)&name=x%20y&f=*"
    stamp = str(TS * 1000)
    sig = HubSpotSignature.get_signature(
        HUBSPOT_SECRET, HUBSPOT_BODY.decode(), "v3", decoded_uri, "POST", stamp
    )
    headers = {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": stamp}
    guard = make_guard(hubspot_route())
    verdict = guard.check(post("/hooks/hubspot", headers, HUBSPOT_BODY, query=query))
    assert verdict.ok, verdict.detail
    # Signed over the undecoded URI, the same request does not verify.
    raw = HubSpotSignature.get_signature(
        HUBSPOT_SECRET, HUBSPOT_BODY.decode(), "v3", f"{PUBLIC_URL}/hooks/hubspot?{query}",
        "POST", stamp,
    )  # fmt: skip
    wrong = {**headers, "X-HubSpot-Signature-v3": raw}
    refused = guard.check(post("/hooks/hubspot", wrong, HUBSPOT_BODY, query=query))
    assert refused.reason is Reason.SIGNATURE_MISMATCH


def test_hubspot_method_is_signed(make_guard: GuardFactory) -> None:
    stamp = str(TS * 1000)
    sig = HubSpotSignature.get_signature(
        HUBSPOT_SECRET, HUBSPOT_BODY.decode(), "v3", f"{PUBLIC_URL}/hooks/hubspot", "PUT", stamp
    )
    headers = {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": stamp}
    guard = make_guard(hubspot_route(methods=["POST", "PUT"]))
    assert guard.check(post("/hooks/hubspot", headers, HUBSPOT_BODY, method="PUT")).ok
    moved = guard.check(post("/hooks/hubspot", headers, HUBSPOT_BODY, method="POST"))
    assert moved.reason is Reason.SIGNATURE_MISMATCH


def test_hubspot_testing_sign_verifies_with_the_sdk() -> None:
    now = int(time.time())  # the SDK checks the timestamp against the real clock
    url = f"{PUBLIC_URL}/hooks/hubspot"
    headers = sign("hubspot", HUBSPOT_BODY, secret=HUBSPOT_SECRET, url=url, timestamp=now)
    assert headers["x-hubspot-request-timestamp"] == str(now * 1000)
    assert HubSpotSignature.is_valid(
        headers["x-hubspot-signature-v3"],
        HUBSPOT_SECRET,
        HUBSPOT_BODY.decode(),
        http_uri=url,
        signature_version="v3",
        timestamp=headers["x-hubspot-request-timestamp"],
    )


def test_hubspot_only_v3_counts(make_guard: GuardFactory) -> None:
    """v1/v2 are unkeyed SHA-256 without a timestamp: never accepted, alone or beside a
    failing v3 (HubSpot's docs: when the v3 header is there, validate v3)."""
    v1 = HubSpotSignature.get_signature(HUBSPOT_SECRET, HUBSPOT_BODY.decode(), "v1")
    legacy = {"X-HubSpot-Signature": v1, "X-HubSpot-Signature-Version": "v1"}
    guard = make_guard(hubspot_route())
    alone = guard.check(post("/hooks/hubspot", legacy, HUBSPOT_BODY))
    assert alone.reason is Reason.SIGNATURE_MISSING
    stamp = str(TS * 1000)
    bad_v3 = {**legacy, "X-HubSpot-Signature-v3": b64_hmac("guess", b"x"),
              "X-HubSpot-Request-Timestamp": stamp}  # fmt: skip
    beside = guard.check(post("/hooks/hubspot", bad_v3, HUBSPOT_BODY))
    assert beside.reason is Reason.SIGNATURE_MISMATCH


def test_hubspot_seconds_instead_of_milliseconds_is_stale(make_guard: GuardFactory) -> None:
    url = f"{PUBLIC_URL}/hooks/hubspot"
    stamp = str(TS)  # seconds where HubSpot sends milliseconds: 1970 as milliseconds
    sig = HubSpotSignature.get_signature(HUBSPOT_SECRET, HUBSPOT_BODY.decode(), "v3", url,
                                         "POST", stamp)  # fmt: skip
    headers = {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": stamp}
    verdict = make_guard(hubspot_route()).check(post("/hooks/hubspot", headers, HUBSPOT_BODY))
    assert verdict.reason is Reason.TIMESTAMP_TOO_OLD


def test_hubspot_without_public_url_is_a_config_error(make_guard: GuardFactory) -> None:
    from webhook_guard import ConfigError

    with pytest.raises(ConfigError, match=r"routes\[0\]\.public_url"):
        make_guard(route("hubspot", HUBSPOT_SECRET))


# -- WorkOS (workos 10.8 workos/webhooks/_resource.py Webhooks.verify_header) -------------

WORKOS_SECRET = "workos_webhook_secret_5r3k"
WORKOS_BODY = b'{"id":"event_01HBGQ","event":"user.created","data":{"id":"user_01"}}'


def test_workos_documented_signature_verifies(make_guard: GuardFactory) -> None:
    ms = TS * 1000 + 123
    sig = hex_hmac(WORKOS_SECRET, f"{ms}.".encode() + WORKOS_BODY)
    headers = {"WorkOS-Signature": f"t={ms}, v1={sig}"}
    verdict = make_guard(route("workos", WORKOS_SECRET)).check(
        post("/hooks/workos", headers, WORKOS_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "event_01HBGQ"
    assert verdict.timestamp == TS


def test_workos_testing_sign_verifies_with_the_sdk() -> None:
    now = int(time.time())  # the SDK checks the timestamp against the real clock
    headers = sign("workos", WORKOS_BODY, secret=WORKOS_SECRET, timestamp=now)
    WorkOSWebhooks(None).verify_header(  # type: ignore[arg-type]  # no client needed
        event_body=WORKOS_BODY, event_signature=headers["workos-signature"], secret=WORKOS_SECRET
    )
    with pytest.raises(ValueError, match="does not match"):
        WorkOSWebhooks(None).verify_header(  # type: ignore[arg-type]
            event_body=WORKOS_BODY + b" ", event_signature=headers["workos-signature"],
            secret=WORKOS_SECRET,
        )  # fmt: skip


def test_workos_timestamp_in_seconds_is_refused(make_guard: GuardFactory) -> None:
    sig = hex_hmac(WORKOS_SECRET, f"{TS}.".encode() + WORKOS_BODY)
    headers = {"WorkOS-Signature": f"t={TS}, v1={sig}"}
    verdict = make_guard(route("workos", WORKOS_SECRET)).check(
        post("/hooks/workos", headers, WORKOS_BODY)
    )
    assert verdict.reason is Reason.TIMESTAMP_TOO_OLD


# -- Meta (developers.facebook.com/docs/graph-api/webhooks/getting-started) ---------------

META_SECRET = "0123456789abcdef0123456789abcdef"  # an App Secret is 32 hex digits
META_BODY = b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}'
VERIFY_TOKEN = "my-verify-token"


def meta_route(**extra: Any) -> dict[str, Any]:
    return route("meta", META_SECRET, handshake={"verify_token": VERIFY_TOKEN}, **extra)


def hub_query(token: str = VERIFY_TOKEN, challenge: str = "1158201444") -> str:
    return f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"


def test_meta_documented_signature_verifies_and_dedups(make_guard: GuardFactory) -> None:
    headers = {"X-Hub-Signature-256": "sha256=" + hex_hmac(META_SECRET, META_BODY)}
    guard = make_guard(meta_route())
    first = guard.check(post("/hooks/meta", headers, META_BODY))
    assert first.ok, first.detail
    assert first.event_id is not None
    assert first.event_id.startswith("sig:")
    guard.complete(first, 200)
    assert guard.check(post("/hooks/meta", headers, META_BODY)).reason is Reason.DUPLICATE_EVENT
    assert sign("meta", META_BODY, secret=META_SECRET) == {
        "x-hub-signature-256": headers["X-Hub-Signature-256"]
    }


def test_meta_verification_get_is_answered_with_the_challenge(make_guard: GuardFactory) -> None:
    guard = make_guard(meta_route())
    verdict = guard.check(post("/hooks/meta", {}, b"", query=hub_query(), method="GET"))
    assert verdict.reason is Reason.HANDSHAKE
    assert verdict.response_body() == b"1158201444"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (hub_query(token="guessed"), Reason.TOKEN_INVALID),
        ("hub.mode=subscribe&hub.challenge=1158201444", Reason.TOKEN_MISSING),
    ],
)
def test_meta_verification_with_a_wrong_token_gets_no_challenge(
    make_guard: GuardFactory, query: str, reason: Reason
) -> None:
    guard = make_guard(meta_route())
    verdict = guard.check(post("/hooks/meta", {}, b"", query=query, method="GET"))
    assert verdict.reason is reason, verdict.detail
    nothing_of(verdict, "1158201444", VERIFY_TOKEN)


def test_meta_route_without_verify_token_cannot_be_verified(make_guard: GuardFactory) -> None:
    guard = make_guard(route("meta", META_SECRET))
    verdict = guard.check(post("/hooks/meta", {}, b"", query=hub_query(), method="GET"))
    assert verdict.reason is Reason.TOKEN_INVALID
    assert "verify_token" in verdict.detail
    nothing_of(verdict, "1158201444")


def test_meta_other_gets_and_unsigned_posts_are_refused(make_guard: GuardFactory) -> None:
    guard = make_guard(meta_route())
    plain_get = guard.check(post("/hooks/meta", {}, b"", method="GET"))
    assert plain_get.reason is Reason.SIGNATURE_MISSING
    unsigned = guard.check(post("/hooks/meta", {}, META_BODY, query=hub_query()))
    assert unsigned.reason is Reason.SIGNATURE_MISSING
    assert guard.config.route("meta").methods == frozenset({"GET", "POST"})


# -- Linear (linear.app/developers/webhooks; @linear/sdk LinearWebhooks.verify) -----------

LINEAR_SECRET = "lin_wh_0123456789abcdef0123456789abcdef"


def linear_body(ms: int) -> bytes:
    return b'{"action":"create","type":"Issue","data":{"id":"i1"},"webhookTimestamp":%d}' % ms


def linear_headers(
    body: bytes, delivery: str = "234d1a4e-b617-4388-90fe-adc3633d6b72"
) -> dict[str, str]:
    # Linear's docs: hex HMAC-SHA256 of the raw body with the signing secret, no prefix.
    return {"Linear-Signature": hex_hmac(LINEAR_SECRET, body), "Linear-Delivery": delivery}


def test_linear_documented_signature_and_body_timestamp(make_guard: GuardFactory) -> None:
    body = linear_body(TS * 1000 - 30_000)
    guard = make_guard(route("linear", LINEAR_SECRET))
    verdict = guard.check(post("/hooks/linear", linear_headers(body), body))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS - 30
    assert verdict.event_id == "234d1a4e-b617-4388-90fe-adc3633d6b72"
    assert guard.config.route("linear").tolerance == 60


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (linear_body(TS * 1000 - 61_000), Reason.TIMESTAMP_TOO_OLD),
        (linear_body(TS * 1000 + 61_000), Reason.TIMESTAMP_IN_FUTURE),
        (linear_body(TS), Reason.TIMESTAMP_TOO_OLD),  # seconds, not milliseconds
        (b'{"action":"create","type":"Issue"}', Reason.TIMESTAMP_MISSING),
    ],
)
def test_linear_body_timestamp_refusals(
    make_guard: GuardFactory, body: bytes, reason: Reason
) -> None:
    verdict = make_guard(route("linear", LINEAR_SECRET)).check(
        post("/hooks/linear", linear_headers(body), body)
    )
    assert verdict.reason is reason, verdict.detail


def test_linear_replay_of_a_fresh_capture_under_a_new_delivery_id(
    make_guard: GuardFactory,
) -> None:
    body = linear_body(TS * 1000)
    guard = make_guard(route("linear", LINEAR_SECRET))
    first = guard.check(post("/hooks/linear", linear_headers(body), body))
    guard.complete(first, 200)
    forged = guard.check(post("/hooks/linear", linear_headers(body, "forged-id"), body))
    assert forged.reason is Reason.DUPLICATE_EVENT


# -- Square (squareup 46 square/utils/webhooks_helper.py verify_signature) ----------------

SQUARE_KEY = "asdf1234-square-signature-key"
SQUARE_URL = f"{PUBLIC_URL}/hooks/square"
SQUARE_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"payment.updated",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f"}'
)


def test_square_sdk_accepts_testing_sign_and_the_guard_accepts_the_documented_one(
    make_guard: GuardFactory,
) -> None:
    headers = sign("square", SQUARE_BODY, secret=SQUARE_KEY, url=SQUARE_URL)
    assert square_verify(
        request_body=SQUARE_BODY.decode(),
        signature_header=headers["x-square-hmacsha256-signature"],
        signature_key=SQUARE_KEY,
        notification_url=SQUARE_URL,
    )
    documented = {
        "x-square-hmacsha256-signature": b64_hmac(SQUARE_KEY, SQUARE_URL.encode() + SQUARE_BODY)
    }
    assert documented == headers
    guard = make_guard(route("square", SQUARE_KEY, public_url=PUBLIC_URL))
    verdict = guard.check(post("/hooks/square", documented, SQUARE_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "ac3ac95b-f97d-458c-a6e6-18981597e05f"


def test_square_signature_for_another_notification_url_is_refused(
    make_guard: GuardFactory,
) -> None:
    headers = sign(
        "square", SQUARE_BODY, secret=SQUARE_KEY, url="https://other.example.com/hooks/square"
    )
    guard = make_guard(route("square", SQUARE_KEY, public_url=PUBLIC_URL))
    verdict = guard.check(post("/hooks/square", headers, SQUARE_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_square_legacy_sha1_header_alone_is_missing(make_guard: GuardFactory) -> None:
    sha1 = base64.b64encode(
        hmac.new(SQUARE_KEY.encode(), SQUARE_URL.encode() + SQUARE_BODY, hashlib.sha1).digest()
    ).decode()
    guard = make_guard(route("square", SQUARE_KEY, public_url=PUBLIC_URL))
    verdict = guard.check(post("/hooks/square", {"x-square-signature": sha1}, SQUARE_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISSING


# -- Intercom (developers.intercom.com/docs/webhooks: signed notifications) ---------------

INTERCOM_SECRET = "intercom-client-secret-9f8e"
INTERCOM_BODY = (
    b'{"type":"notification_event","id":"notif_ccd8a4d2","topic":"ping","delivery_attempts":1}'
)


def test_intercom_documented_signature_verifies(make_guard: GuardFactory) -> None:
    # Intercom's docs: X-Hub-Signature = 'sha1=' + hex HMAC-SHA1 of the body (client secret).
    headers = {"X-Hub-Signature": "sha1=" + hex_hmac(INTERCOM_SECRET, INTERCOM_BODY, hashlib.sha1)}
    verdict = make_guard(route("intercom", INTERCOM_SECRET)).check(
        post("/hooks/intercom", headers, INTERCOM_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "notif_ccd8a4d2"
    assert sign("intercom", INTERCOM_BODY, secret=INTERCOM_SECRET) == {
        "x-hub-signature": headers["X-Hub-Signature"]
    }


def test_intercom_retry_of_the_same_notification_is_a_duplicate(make_guard: GuardFactory) -> None:
    guard = make_guard(route("intercom", INTERCOM_SECRET))
    first = guard.check(
        post(
            "/hooks/intercom",
            sign("intercom", INTERCOM_BODY, secret=INTERCOM_SECRET),
            INTERCOM_BODY,
        )
    )
    guard.complete(first, 200)
    retry = INTERCOM_BODY.replace(b'"delivery_attempts":1', b'"delivery_attempts":2')
    again = guard.check(
        post("/hooks/intercom", sign("intercom", retry, secret=INTERCOM_SECRET), retry)
    )
    assert again.reason is Reason.DUPLICATE_EVENT


# -- Typeform (typeform.com/developers/webhooks/secure-your-webhooks/) --------------------

TYPEFORM_SECRET = "typeform-webhook-secret"
TYPEFORM_BODY = b'{"event_id":"01HC4Y8K5","event_type":"form_response","form_response":{}}'


def test_typeform_documented_signature_verifies(make_guard: GuardFactory) -> None:
    # Typeform's docs: 'sha256=' + base64 HMAC-SHA256 of the raw body with the secret.
    headers = {"Typeform-Signature": "sha256=" + b64_hmac(TYPEFORM_SECRET, TYPEFORM_BODY)}
    verdict = make_guard(route("typeform", TYPEFORM_SECRET)).check(
        post("/hooks/typeform", headers, TYPEFORM_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "01HC4Y8K5"
    assert sign("typeform", TYPEFORM_BODY, secret=TYPEFORM_SECRET) == {
        "typeform-signature": headers["Typeform-Signature"]
    }


def test_typeform_hex_after_the_prefix_is_malformed(make_guard: GuardFactory) -> None:
    headers = {"Typeform-Signature": "sha256=" + hex_hmac(TYPEFORM_SECRET, TYPEFORM_BODY)}
    verdict = make_guard(route("typeform", TYPEFORM_SECRET)).check(
        post("/hooks/typeform", headers, TYPEFORM_BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def test_a_signed_handshake_uses_up_its_key_and_is_answered_again() -> None:
    # A check is not an event, but its signed message is used up: the same signed bytes
    # cannot come back as an event (Twitch labels checks in an unsigned header). The
    # provider repeating its check is answered each time.
    guard = Guard.from_dict(
        {"version": 1, "routes": [route("zoom", ZOOM_SECRET)]},
        store=MemoryReplayStore(10),
        clock=FakeClock(NOW),
    )
    for _ in range(2):
        verdict = guard.check(post("/hooks/zoom", zoom_headers(ZOOM_CHECK), ZOOM_CHECK))
        assert verdict.reason is Reason.HANDSHAKE
        assert len(guard.store) == 1


# -- the handshakes through a real `webhook-guard serve` in front of a real upstream ------


def test_handshakes_through_serve_never_reach_the_app_and_never_leak(tmp_path: Path) -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = tmp_path / "wg.yaml"
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "routes": [
                    route("zoom", ZOOM_SECRET),
                    route("twitch", TWITCH_SECRET),
                    {**route("meta", META_SECRET), "handshake": {"verify_token": VERIFY_TOKEN}},
                ],
            }
        )
    )
    port = free_port()
    now = int(time.time())  # the serve process runs on the real clock
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    with serve_asgi(app) as upstream, run_process(
        [sys.executable, "-m", "webhook_guard.cli", "serve", "--config", str(config),
         "--upstream", upstream, "--port", str(port)], port,
    ):  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        signed_check = httpx.post(
            f"{base}/hooks/zoom", content=ZOOM_CHECK, headers=zoom_headers(ZOOM_CHECK, ts=now)
        )
        assert signed_check.status_code == 200
        assert signed_check.json()["encryptedToken"] == hex_hmac(ZOOM_SECRET, PLAIN.encode())
        for forged in ({}, zoom_headers(ZOOM_CHECK, secret="guessed", ts=now)):
            refused = httpx.post(f"{base}/hooks/zoom", content=ZOOM_CHECK, headers=forged)
            assert refused.status_code == 401
            assert "encryptedToken" not in refused.text
            assert hex_hmac(ZOOM_SECRET, PLAIN.encode()) not in refused.text
        challenge = twitch_headers(
            TWITCH_CHALLENGE, kind="webhook_callback_verification", stamp=stamp
        )
        echoed = httpx.post(f"{base}/hooks/twitch", content=TWITCH_CHALLENGE, headers=challenge)
        assert echoed.status_code == 200
        assert echoed.text == "pogchamp-kappa-360noscope-vohiyo"
        meta = httpx.get(f"{base}/hooks/meta", params=hub_query())
        assert meta.status_code == 200
        assert meta.text == "1158201444"
        wrong = httpx.get(f"{base}/hooks/meta", params=hub_query(token="guessed"))
        assert wrong.status_code == 401
        assert "1158201444" not in wrong.text
        assert seen == []  # no check reached the application
        event = httpx.post(
            f"{base}/hooks/zoom", content=ZOOM_EVENT, headers=zoom_headers(ZOOM_EVENT, ts=now)
        )
        assert event.status_code == 204
    assert seen == ["/hooks/zoom"]
