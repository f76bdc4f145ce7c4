"""Razorpay, Coinbase Commerce, Checkout.com, Mux and Box presets against their providers'
documented algorithms and, where one is on PyPI, their SDKs.

For each, a test writes the documented algorithm out with hmac/hashlib (independent of
webhook_guard), with the source in a comment, and checks that the guard accepts it and
that webhook_guard.testing.sign produces the same headers. Three have a verifier on PyPI
(``razorpay``, ``coinbase-commerce``, ``box-sdk-gen``): the SDK must accept what
``sign`` produces, and the guard what is signed as the SDK signs. Checkout.com and Mux
publish no Python verifier. The common attacks are in test_presets_adversarial.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import razorpay
from box_sdk_gen.internal.utils import compute_webhook_signature as box_signature
from box_sdk_gen.managers.webhooks import WebhooksManager
from coinbase_commerce.error import SignatureVerificationError as CoinbaseMismatch
from coinbase_commerce.webhook import WebhookSignature as CoinbaseSignature
from razorpay.errors import SignatureVerificationError as RazorpayMismatch

from webhook_guard import Reason
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, GuardFactory, post
from .test_presets import route

TS = int(NOW)
# Non-ASCII on purpose: every one of these signs the body's UTF-8 bytes as they are.
NOTE = "caf\u00e9 \u2603"


def hexmac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def b64mac(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def first_then_duplicate(guard: Any, first: Any, then: Any) -> str | None:
    """``first`` passes; ``then`` (another delivery of the same event) is a duplicate."""
    verdict = guard.check(first)
    assert verdict.ok, verdict.detail
    guard.complete(verdict, 200)
    again = guard.check(then)
    assert again.reason is Reason.DUPLICATE_EVENT, again.detail
    return verdict.event_id


# -- Razorpay (razorpay/markdown-docs webhooks/validate-test.md) ---------------------------

RZP_SECRET = "rzp-webhook-secret_9f"
RZP_BODY = json.dumps(
    {"entity": "event", "event": "payment.captured", "payload": {"note": NOTE}},
    ensure_ascii=False,
).encode()


def test_razorpay_documented_algorithm(make_guard: GuardFactory) -> None:
    # The hex HMAC-SHA256 of the raw body under the webhook secret; the event ID header.
    headers = {"X-Razorpay-Signature": hexmac(RZP_SECRET, RZP_BODY), "x-razorpay-event-id": "E1"}
    guard = make_guard(route("razorpay", [RZP_SECRET]))
    verdict = guard.check(post("/hooks/razorpay", headers, RZP_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "E1"
    assert sign("razorpay", RZP_BODY, secret=RZP_SECRET, event_id="E1") == {
        k.lower(): v for k, v in headers.items()
    }


def test_razorpay_sdk_accepts_what_sign_produces() -> None:
    utility = razorpay.Client(auth=("rzp_test_key", "rzp_test_secret")).utility
    header = sign("razorpay", RZP_BODY, secret=RZP_SECRET)["x-razorpay-signature"]
    assert utility.verify_webhook_signature(RZP_BODY.decode(), header, RZP_SECRET)
    with pytest.raises(RazorpayMismatch):
        utility.verify_webhook_signature(RZP_BODY.decode(), header, "another-secret")


def test_razorpay_a_retry_under_the_old_secret_passes_beside_the_new(
    make_guard: GuardFactory,
) -> None:
    # Retries of events sent before a secret change keep the old secret (webhooks/faqs.md).
    guard = make_guard(route("razorpay", ["rzp-new", RZP_SECRET]))
    old = sign("razorpay", RZP_BODY, secret=RZP_SECRET, event_id="E2")
    verdict = guard.check(post("/hooks/razorpay", old, RZP_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.secret_id == "secrets[1]"


# -- Coinbase Commerce (docs.cdp.coinbase.com/commerce, webhooks security) ----------------

CC_SECRET = "cc-shared-secret-0d1e"


def coinbase_body(attempt: int) -> bytes:
    # The delivery's shape: attempt_number changes on every retry of the same event.
    event = {"id": "f765421f-3e5f-4b0b-8a2c-1a0c0b1d2e3f", "type": "charge:confirmed"}
    delivery = {
        "attempt_number": attempt,
        "event": {**event, "data": {"note": NOTE}},
        "id": "5d7b6c6a-ffe5-4b61-8a2f-b1a9c1d0e3a0",
        "scheduled_for": "2023-11-14T22:13:20Z",
    }
    return json.dumps(delivery, ensure_ascii=False).encode()


def test_coinbase_documented_algorithm(make_guard: GuardFactory) -> None:
    body = coinbase_body(1)
    headers = {"X-CC-Webhook-Signature": hexmac(CC_SECRET, body)}
    guard = make_guard(route("coinbase-commerce", [CC_SECRET]))
    verdict = guard.check(post("/hooks/coinbase-commerce", headers, body))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "f765421f-3e5f-4b0b-8a2c-1a0c0b1d2e3f"
    assert sign("coinbase-commerce", body, secret=CC_SECRET) == {
        "x-cc-webhook-signature": headers["X-CC-Webhook-Signature"]
    }


def test_coinbase_sdk_accepts_what_sign_produces_and_the_guard_what_it_signs(
    make_guard: GuardFactory,
) -> None:
    body = coinbase_body(1)
    header = sign("coinbase-commerce", body, secret=CC_SECRET)["x-cc-webhook-signature"]
    assert CoinbaseSignature.verify_sig_header(body.decode(), header, CC_SECRET)
    with pytest.raises(CoinbaseMismatch):
        CoinbaseSignature.verify_sig_header(body.decode(), header, "another-secret")
    sdk_made = CoinbaseSignature._compute_signature(body.decode(), CC_SECRET)
    guard = make_guard(route("coinbase-commerce", [CC_SECRET]))
    verdict = guard.check(
        post("/hooks/coinbase-commerce", {"X-CC-Webhook-Signature": sdk_made}, body)
    )
    assert verdict.ok, verdict.detail


def test_coinbase_retry_with_a_new_attempt_number_is_a_duplicate(make_guard: GuardFactory) -> None:
    guard = make_guard(route("coinbase-commerce", [CC_SECRET]))

    def delivery(attempt: int) -> Any:
        body = coinbase_body(attempt)
        return post(
            "/hooks/coinbase-commerce", sign("coinbase-commerce", body, secret=CC_SECRET), body
        )

    assert delivery(1).body != delivery(2).body  # other bytes, another signature
    first_then_duplicate(guard, delivery(1), delivery(2))


# -- Checkout.com (checkout.com/docs/workflows/set-up-your-webhook-receiver) ---------------

CKO_KEY = "cko-signature-key_5b"
CKO_BODY = json.dumps(
    {"id": "evt_az5sblvku4ge3dwpztvyizgcau", "type": "payment_approved", "data": {"n": NOTE}},
    ensure_ascii=False,
).encode()


def test_checkout_documented_algorithm(make_guard: GuardFactory) -> None:
    headers = {"Cko-Signature": hexmac(CKO_KEY, CKO_BODY)}
    guard = make_guard(route("checkout", [CKO_KEY]))
    verdict = guard.check(post("/hooks/checkout", headers, CKO_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "evt_az5sblvku4ge3dwpztvyizgcau"
    assert sign("checkout", CKO_BODY, secret=CKO_KEY) == {"cko-signature": headers["Cko-Signature"]}


def test_checkout_authorization_header_neither_helps_nor_hurts(make_guard: GuardFactory) -> None:
    # The optional header of your own is not a signature: only Cko-Signature decides.
    guard = make_guard(route("checkout", [CKO_KEY]))
    good = {"Cko-Signature": hexmac(CKO_KEY, CKO_BODY), "Authorization": "anything"}
    assert guard.check(post("/hooks/checkout", good, CKO_BODY)).ok
    bad = {"Cko-Signature": hexmac("other", CKO_BODY), "Authorization": CKO_KEY}
    assert guard.check(post("/hooks/checkout", bad, CKO_BODY)).reason is Reason.SIGNATURE_MISMATCH


# -- Mux (mux.com/docs/core/verify-webhook-signatures) ------------------------------------

MUX_SECRET = "mux-signing-secret-7c"
MUX_BODY = json.dumps(
    {"id": "3a56ac3d-33da-4366-855b-f592d898409d", "type": "video.asset.ready", "data": {}}
).encode()


def mux_v1(secret: str, ts: int, body: bytes = MUX_BODY) -> str:
    # HMAC-SHA256 of "{t}.{body}" under the signing secret, hex, in v1=.
    return hexmac(secret, f"{ts}.".encode() + body)


def test_mux_documented_algorithm(make_guard: GuardFactory) -> None:
    header = f"t={TS},v1={mux_v1(MUX_SECRET, TS)}"
    guard = make_guard(route("mux", [MUX_SECRET]))
    verdict = guard.check(post("/hooks/mux", {"Mux-Signature": header}, MUX_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert verdict.event_id == "3a56ac3d-33da-4366-855b-f592d898409d"
    assert sign("mux", MUX_BODY, secret=MUX_SECRET, timestamp=TS) == {"mux-signature": header}


def test_mux_any_of_several_v1_verifies(make_guard: GuardFactory) -> None:
    # mux-node-sdk's webhooks.ts accepts the header when any v1 matches.
    header = f"t={TS},v1={mux_v1('old-secret', TS)},v1={mux_v1(MUX_SECRET, TS)}"
    guard = make_guard(route("mux", [MUX_SECRET]))
    assert guard.check(post("/hooks/mux", {"Mux-Signature": header}, MUX_BODY)).ok


def test_mux_moved_or_stale_timestamp_is_refused(make_guard: GuardFactory) -> None:
    guard = make_guard(route("mux", [MUX_SECRET]))
    moved = f"t={TS},v1={mux_v1(MUX_SECRET, TS - 3600)}"
    verdict = guard.check(post("/hooks/mux", {"Mux-Signature": moved}, MUX_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    stale = f"t={TS - 301},v1={mux_v1(MUX_SECRET, TS - 301)}"
    verdict = guard.check(post("/hooks/mux", {"Mux-Signature": stale}, MUX_BODY))
    assert verdict.reason is Reason.TIMESTAMP_TOO_OLD


# -- Box (developer.box.com/guides/webhooks/v2/signatures-v2) -----------------------------

BOX_PRIMARY, BOX_SECONDARY = "box-primary-key-3f", "box-secondary-key-8a"
BOX_BODY = json.dumps(
    {
        "type": "webhook_event",
        "id": "eb0c4e06-751f-442c-86f8-fd5bb404dbec",
        "trigger": "FILE.UPLOADED",
        "source": {"type": "file", "id": "12345", "name": f"{NOTE}.txt"},
    },
    ensure_ascii=False,
).encode()


def box_time(seconds: int, hours: int = -7) -> str:
    """``seconds`` as Box writes it: RFC 3339 with a UTC offset, e.g. -07:00."""
    zone = timezone(timedelta(hours=hours))
    return datetime.fromtimestamp(seconds, zone).isoformat()


def box_headers(ts: str, body: bytes = BOX_BODY, key: str = BOX_PRIMARY) -> dict[str, str]:
    # HMAC-SHA256 of the body bytes, then the BOX-DELIVERY-TIMESTAMP bytes; base64.
    return {
        "BOX-SIGNATURE-PRIMARY": b64mac(key, body + ts.encode()),
        "BOX-DELIVERY-TIMESTAMP": ts,
        "BOX-DELIVERY-ID": "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
        "BOX-SIGNATURE-VERSION": "1",
        "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
    }


def test_box_documented_algorithm_with_an_offset_timestamp(make_guard: GuardFactory) -> None:
    stamp = box_time(TS)
    assert stamp.endswith("-07:00")
    guard = make_guard(route("box", [BOX_PRIMARY]))
    verdict = guard.check(post("/hooks/box", box_headers(stamp), BOX_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert verdict.event_id == "eb0c4e06-751f-442c-86f8-fd5bb404dbec"
    utc = sign("box", BOX_BODY, secret=BOX_PRIMARY, timestamp=TS)
    assert utc == {
        "box-signature-primary": b64mac(BOX_PRIMARY, BOX_BODY + b"2023-11-14T22:13:20Z"),
        "box-delivery-timestamp": "2023-11-14T22:13:20Z",
        "box-signature-version": "1",
        "box-signature-algorithm": "HmacSHA256",
    }


def test_box_sdk_accepts_what_sign_produces_and_the_guard_what_it_signs(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    now = int(time.time())  # validate_message reads the real clock
    clock.now = now
    guard = make_guard(route("box", [BOX_PRIMARY]))
    ours = sign("box", BOX_BODY, secret=BOX_PRIMARY, timestamp=now)  # with Box's fixed headers
    assert WebhooksManager.validate_message(BOX_BODY.decode(), ours, BOX_PRIMARY)
    assert not WebhooksManager.validate_message(BOX_BODY.decode(), ours, "another-key")
    # Signed as box-sdk-gen signs, over Box's own offset form of the timestamp.
    headers = {k.lower(): v for k, v in box_headers(box_time(now)).items()}
    headers["box-signature-primary"] = box_signature(BOX_BODY.decode(), headers, BOX_PRIMARY)
    assert WebhooksManager.validate_message(BOX_BODY.decode(), headers, BOX_PRIMARY)
    verdict = guard.check(post("/hooks/box", headers, BOX_BODY))
    assert verdict.ok, verdict.detail


def test_box_rotation_reads_the_secondary_signature_when_told(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    """While the primary key is reset, a route reading BOX-SIGNATURE-SECONDARY under the
    secondary key keeps verifying (docs/providers/box.md, "Rotating the keys")."""
    now = int(time.time())
    clock.now = now
    headers = {k.lower(): v for k, v in box_headers(box_time(now), key="reset-primary").items()}
    headers["box-signature-secondary"] = box_signature(BOX_BODY.decode(), headers, BOX_SECONDARY)
    assert WebhooksManager.validate_message(
        BOX_BODY.decode(), headers, BOX_PRIMARY, secondary_key=BOX_SECONDARY
    )
    primary_only = make_guard(route("box", [BOX_PRIMARY, BOX_SECONDARY]))
    refused = primary_only.check(post("/hooks/box", headers, BOX_BODY))
    assert refused.reason is Reason.SIGNATURE_MISMATCH
    secondary = route("box", [BOX_SECONDARY], signature={"header": "box-signature-secondary"})
    verdict = make_guard(secondary).check(post("/hooks/box", headers, BOX_BODY))
    assert verdict.ok, verdict.detail


def test_box_timestamp_is_signed_and_windowed(make_guard: GuardFactory) -> None:
    guard = make_guard(route("box", [BOX_PRIMARY]))
    moved = {**box_headers(box_time(TS - 3600)), "BOX-DELIVERY-TIMESTAMP": box_time(TS)}
    assert guard.check(post("/hooks/box", moved, BOX_BODY)).reason is Reason.SIGNATURE_MISMATCH
    late = guard.check(post("/hooks/box", box_headers(box_time(TS - 601)), BOX_BODY))
    assert late.reason is Reason.TIMESTAMP_TOO_OLD
    assert guard.check(post("/hooks/box", box_headers(box_time(TS - 600)), BOX_BODY)).ok


def test_box_retry_with_a_new_delivery_id_and_timestamp_is_a_duplicate(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    # BOX-DELIVERY-ID and the timestamp change on a retry; the body's id does not.
    guard = make_guard(route("box", [BOX_PRIMARY]))
    first = post("/hooks/box", box_headers(box_time(TS)), BOX_BODY)
    clock.now = NOW + 60
    retry_headers = {**box_headers(box_time(TS + 60)), "BOX-DELIVERY-ID": "another-delivery"}
    retry = post("/hooks/box", retry_headers, BOX_BODY)
    assert first_then_duplicate(guard, first, retry) == ("eb0c4e06-751f-442c-86f8-fd5bb404dbec")
