"""Zendesk and Customer.io.

Neither has an SDK that verifies webhooks, so each preset is checked against its
provider's documented algorithm written out with hmac/hashlib (the source is named at
each section), and ``webhook_guard.testing.sign`` must produce the same headers. The
common attacks are in test_presets_adversarial.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from webhook_guard import Reason
from webhook_guard.signatures.timestamps import format_timestamp, parse_timestamp
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, GuardFactory, b64_hmac, hex_hmac, post
from .conftest import preset_route as route

TS = int(NOW)
STAMP = format_timestamp(TS, "rfc3339")  # 2023-11-14T22:13:20Z, Zendesk's form


# -- Zendesk (developer.zendesk.com/documentation/webhooks/verifying, and
#    .../anatomy-of-a-webhook-request) -----------------------------------------------------

ZD_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # the page's SIGNING_SECRET
ZD_BODY = b'{"type":"zen:event-type:ticket.created","id":"cbe4028c-7239-495d-b020-f22348516046"}'
ALL_METHODS = ["POST", "PUT", "PATCH", "GET", "DELETE"]


def zendesk_headers(
    body: bytes, stamp: str = STAMP, key: str = ZD_SECRET, invocation: str = "8350205582"
) -> dict[str, str]:
    # base64(HMACSHA256(TIMESTAMP + BODY)); Node's createHmac("sha256", SECRET) keys with
    # the secret string's UTF-8 bytes.
    return {
        "X-Zendesk-Webhook-Signature": b64_hmac(key, stamp.encode() + body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": invocation,
        "X-Zendesk-Webhook-Id": "01F1KRFQ6BG29CNWFR60NK5FNY",
        "X-Zendesk-Account-Id": "123456",
    }


def test_zendesk_documented_signature_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(route("zendesk", ZD_SECRET))
    verdict = guard.check(post("/hooks/zendesk", zendesk_headers(ZD_BODY), ZD_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert verdict.event_id == "8350205582"  # reported; the replay key is the signature
    assert sign("zendesk", ZD_BODY, secret=ZD_SECRET, timestamp=TS, event_id="8350205582") == {
        "x-zendesk-webhook-signature": zendesk_headers(ZD_BODY)["X-Zendesk-Webhook-Signature"],
        "x-zendesk-webhook-signature-timestamp": STAMP,
        "x-zendesk-webhook-invocation-id": "8350205582",
    }


def test_zendesk_key_is_the_secret_text_not_its_base64_decoding(make_guard: GuardFactory) -> None:
    decoded = base64.b64decode(ZD_SECRET)  # b"this_secret_is_for_testing_only"
    mac = hmac.new(decoded, STAMP.encode() + ZD_BODY, hashlib.sha256).digest()
    headers = zendesk_headers(ZD_BODY)
    headers["X-Zendesk-Webhook-Signature"] = base64.b64encode(mac).decode()
    guard = make_guard(route("zendesk", ZD_SECRET))
    verdict = guard.check(post("/hooks/zendesk", headers, ZD_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


#: The older event-connectors version of the verifying page: its formula read
#: (BODY)(TIMESTAMP), and this example verifies only in that order (verbatim).
OLD_DOCS_SECRET = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
OLD_DOCS_BODY = b'{"say": "hello"}'
OLD_DOCS_STAMP = "2021-07-25T10:00:00Z"
OLD_DOCS_SIGNATURE = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="


def test_zendesk_old_docs_vector_signs_body_then_timestamp_and_the_preset_refuses_it(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    """The vector is body + timestamp under the UTF-8 key; the current page, and the
    verifiers running against live Zendesk, sign timestamp + body, so the preset
    refuses it; a route that says otherwise (``signed_content``) accepts it."""
    body_first = OLD_DOCS_BODY + OLD_DOCS_STAMP.encode()
    assert b64_hmac(OLD_DOCS_SECRET, body_first) == OLD_DOCS_SIGNATURE
    assert b64_hmac(OLD_DOCS_SECRET, OLD_DOCS_STAMP.encode() + OLD_DOCS_BODY) != (
        OLD_DOCS_SIGNATURE
    )
    stamp_ts = parse_timestamp(OLD_DOCS_STAMP, "rfc3339")
    assert isinstance(stamp_ts, int)
    clock.now = stamp_ts
    headers = {
        "X-Zendesk-Webhook-Signature": OLD_DOCS_SIGNATURE,
        "X-Zendesk-Webhook-Signature-Timestamp": OLD_DOCS_STAMP,
    }
    guard = make_guard(route("zendesk", OLD_DOCS_SECRET))
    verdict = guard.check(post("/hooks/zendesk", headers, OLD_DOCS_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    other_order = route(
        "zendesk", OLD_DOCS_SECRET, signature={"signed_content": "{body}{timestamp}"}
    )
    assert make_guard(other_order).check(post("/hooks/zendesk", headers, OLD_DOCS_BODY)).ok


def test_zendesk_accepting_both_orders_would_let_a_body_be_split_into_a_forgery(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    """Why the preset checks one order (docs/providers/zendesk.md, "Which order is
    signed"): a trigger body ending in a date splits into another body and a timestamp
    whose body-first reading is the same signed bytes."""
    due = "2023-12-01T09:00:00Z"  # the trigger's {{ticket.due_date}}, weeks ahead
    genuine = f"ticket=42&status=open&due_at={due}".encode()
    headers = zendesk_headers(genuine)
    guard = make_guard(route("zendesk", ZD_SECRET, methods=ALL_METHODS))
    assert guard.check(post("/hooks/zendesk", headers, genuine)).ok
    # The attacker's request: the genuine timestamp moved into the body, the body's date
    # as the timestamp, the captured signature unchanged.
    forged_body = STAMP.encode() + genuine[: -len(due)]
    forged = {**headers, "X-Zendesk-Webhook-Signature-Timestamp": due}
    assert forged_body + due.encode() == STAMP.encode() + genuine  # the same signed bytes
    due_ts = parse_timestamp(due, "rfc3339")
    assert isinstance(due_ts, int)
    clock.now = due_ts  # weeks later, long after the replay store forgot the signature
    assert guard.check(post("/hooks/zendesk", forged, forged_body)).reason is (
        Reason.SIGNATURE_MISMATCH
    )
    body_first = route("zendesk", ZD_SECRET, signature={"signed_content": "{body}{timestamp}"})
    assert make_guard(body_first).check(post("/hooks/zendesk", forged, forged_body)).ok


def test_zendesk_trigger_bodies_with_the_ticket_id_are_not_duplicates(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    """A trigger's body is the admin's: ``{"id": "{{ticket.id}}"}`` repeats for every
    update of the ticket, so it must not be the replay key."""
    guard = make_guard(route("zendesk", ZD_SECRET, methods=ALL_METHODS))
    body = json.dumps({"id": "42", "status": "open"}).encode()
    first = guard.check(post("/hooks/zendesk", zendesk_headers(body, invocation="1"), body))
    assert first.ok, first.detail
    guard.complete(first, 200)
    clock.now = TS + 60
    later = zendesk_headers(body, stamp=format_timestamp(TS + 60, "rfc3339"), invocation="2")
    update = guard.check(post("/hooks/zendesk", later, body, method="PUT"))
    assert update.ok, update.detail
    assert update.event_id == "2"
    guard.complete(update, 200)
    # The first request again under a fresh (unsigned) invocation ID: the signature is
    # the replay key.
    replay = guard.check(post("/hooks/zendesk", zendesk_headers(body, invocation="3"), body))
    assert replay.reason is Reason.DUPLICATE_EVENT


def test_zendesk_bodyless_requests_sign_the_timestamp_alone(make_guard: GuardFactory) -> None:
    guard = make_guard(route("zendesk", ZD_SECRET, methods=ALL_METHODS))
    headers = zendesk_headers(b"", invocation="100")
    assert headers["X-Zendesk-Webhook-Signature"] == b64_hmac(ZD_SECRET, STAMP.encode())
    get = guard.check(post("/hooks/zendesk", headers, b"", query="ticket=1", method="GET"))
    assert get.ok, get.detail
    guard.complete(get, 200)
    # Another body-less request of the webhook in the same second carries the same
    # signature: it is taken for a replay (the page says to send data in a body).
    other = zendesk_headers(b"", invocation="101")
    again = guard.check(post("/hooks/zendesk", other, b"", query="ticket=2", method="DELETE"))
    assert again.reason is Reason.DUPLICATE_EVENT


def test_zendesk_timestamp_must_be_rfc3339(make_guard: GuardFactory) -> None:
    guard = make_guard(route("zendesk", ZD_SECRET))
    headers = zendesk_headers(ZD_BODY, stamp=str(TS))  # Unix seconds are not Zendesk's form
    assert guard.check(post("/hooks/zendesk", headers, ZD_BODY)).reason is (
        Reason.TIMESTAMP_MALFORMED
    )


# -- Customer.io (customer.io/docs/api/webhooks, "Reporting webhooks") ----------------------

CIO_KEY = "cio-reporting-signing-key-5f2a"
CIO_BODY = (
    b'{"event_id":"01E4C4CT6YDC7Y5M7FE1GWWPQJ","object_type":"email","metric":"delivered",'
    b'"timestamp":1613063089,"data":{"delivery_id":"RPILAgUBcRhIBqSfeiIwdIYJKxTY"}}'
)


def cio_headers(body: bytes, ts: int = TS, key: str = CIO_KEY) -> dict[str, str]:
    # Hex HMAC-SHA256 of "v0:" + X-CIO-Timestamp + ":" + the raw body, under the key.
    return {
        "X-CIO-Signature": hex_hmac(key, f"v0:{ts}:".encode() + body),
        "X-CIO-Timestamp": str(ts),
    }


def test_customerio_signature_verifies_and_the_body_event_id_dedups(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    guard = make_guard(route("customerio", CIO_KEY))
    verdict = guard.check(post("/hooks/customerio", cio_headers(CIO_BODY), CIO_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "01E4C4CT6YDC7Y5M7FE1GWWPQJ"
    assert verdict.timestamp == TS
    assert sign("customerio", CIO_BODY, secret=CIO_KEY, timestamp=TS) == {
        k.lower(): v for k, v in cio_headers(CIO_BODY).items()
    }
    guard.complete(verdict, 200)
    # A retry signed again later (new timestamp, new signature): the same event.
    clock.now = TS + 120
    retry = guard.check(post("/hooks/customerio", cio_headers(CIO_BODY, ts=TS + 120), CIO_BODY))
    assert retry.reason is Reason.DUPLICATE_EVENT


@pytest.mark.parametrize(
    "message",
    [
        f"{TS}.".encode() + CIO_BODY,  # Stripe's layout
        f"v0:{TS}".encode() + CIO_BODY,  # no colon before the body
        CIO_BODY,  # the body alone
    ],
)
def test_customerio_other_layouts_are_refused(make_guard: GuardFactory, message: bytes) -> None:
    guard = make_guard(route("customerio", CIO_KEY))
    headers = {"X-CIO-Signature": hex_hmac(CIO_KEY, message), "X-CIO-Timestamp": str(TS)}
    assert guard.check(post("/hooks/customerio", headers, CIO_BODY)).reason is (
        Reason.SIGNATURE_MISMATCH
    )


def test_customerio_slack_style_prefix_is_malformed(make_guard: GuardFactory) -> None:
    guard = make_guard(route("customerio", CIO_KEY))
    headers = cio_headers(CIO_BODY)
    headers["X-CIO-Signature"] = "v0=" + headers["X-CIO-Signature"]
    assert guard.check(post("/hooks/customerio", headers, CIO_BODY)).reason is (
        Reason.SIGNATURE_MALFORMED
    )
