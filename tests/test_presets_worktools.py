"""Jira, Trello, Segment and ClickUp.

None of them has an official Python package that verifies its webhooks, so each preset
is checked against its provider's documented algorithm written out with hmac/hashlib
(the source is named at each section; the example Jira's page publishes is recomputed),
and ``webhook_guard.testing.sign`` must produce the same headers. The common attacks are
in test_presets_adversarial.py; Trello's HEAD check under real servers in
test_handshakes.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from webhook_guard import Reason
from webhook_guard.testing import sign

from .conftest import GuardFactory, hex_hmac, post
from .conftest import preset_route as route

# -- Jira (developer.atlassian.com/cloud/jira/platform/webhooks, "Secure admin webhooks") --

#: The page's example: this secret, this payload, this X-Hub-Signature.
JIRA_EXAMPLE = (
    "It's a Secret to Everybody",
    b"Hello World!",
    "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
)
JIRA_SECRET = "jira-admin-webhook-secret"
JIRA_BODY = (
    b'{"timestamp":1722864000123,"webhookEvent":"jira:issue_updated",'
    b'"issue":{"id":"10002","key":"PAY-17"}}'
)
JIRA_ID = "b7b4b5d2-1f6c-4a3e-9a0e-6a1f2c3d4e5f"


def test_jira_the_pages_example(make_guard: GuardFactory) -> None:
    secret, body, header = JIRA_EXAMPLE
    # WebSub's method=signature: the method, "=", the hex HMAC of the payload bytes.
    assert "sha256=" + hex_hmac(secret, body) == header
    verdict = make_guard(route("jira", secret)).check(
        post("/hooks/jira", {"X-Hub-Signature": header}, body)
    )
    assert verdict.ok, verdict.detail
    # (sign also sends an identifier header, made up when none is given.)
    assert sign("jira", body, secret=secret)["x-hub-signature"] == header


def test_jira_identifier_header_is_the_event_id_and_a_retry_is_a_duplicate(
    make_guard: GuardFactory,
) -> None:
    signature = "sha256=" + hex_hmac(JIRA_SECRET, JIRA_BODY)
    headers = {"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": JIRA_ID}
    assert sign("jira", JIRA_BODY, secret=JIRA_SECRET, event_id=JIRA_ID) == {
        k.lower(): v for k, v in headers.items()
    }
    guard = make_guard(route("jira", JIRA_SECRET))
    first = guard.check(post("/hooks/jira", headers, JIRA_BODY))
    assert first.ok, first.detail
    assert first.event_id == JIRA_ID
    guard.complete(first, 200)
    # Jira's retry: the same identifier, and X-Atlassian-Webhook-Retry counting.
    retry = guard.check(
        post("/hooks/jira", {**headers, "X-Atlassian-Webhook-Retry": "1"}, JIRA_BODY)
    )
    assert retry.reason is Reason.DUPLICATE_EVENT


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        # Another WebSub method: the page says Jira may add one; until then, refused.
        (
            "X-Hub-Signature",
            "sha1=" + hex_hmac(JIRA_SECRET, JIRA_BODY, hashlib.sha1),
            Reason.SIGNATURE_MALFORMED,
        ),
        # GitHub's header name is not Jira's.
        (
            "X-Hub-Signature-256",
            "sha256=" + hex_hmac(JIRA_SECRET, JIRA_BODY),
            Reason.SIGNATURE_MISSING,
        ),
        # A dynamic (Connect or OAuth 2.0 app) webhook: a JWT, which this preset does not check.
        ("Authorization", "JWT eyJhbGciOiJIUzI1NiJ9.e30.x", Reason.SIGNATURE_MISSING),
    ],
)
def test_jira_what_is_not_its_signature(
    make_guard: GuardFactory, name: str, value: str, reason: Reason
) -> None:
    verdict = make_guard(route("jira", JIRA_SECRET)).check(
        post("/hooks/jira", {name: value}, JIRA_BODY)
    )
    assert verdict.reason is reason, verdict.detail


# -- Trello (developer.atlassian.com/cloud/trello/guides/rest-api/webhooks) ---------------

TRELLO_SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
TRELLO_PUBLIC = "https://hooks.example.com"
TRELLO_BODY = (
    b'{"action":{"id":"5f1b2c3d4e5f6a7b8c9d0e1f","type":"updateCard",'
    b'"data":{"card":{"name":"Ship it"}}},"model":{"id":"4d5ea62fd76aa1136000000c"}}'
)


def trello_header(body: bytes, callback_url: str, secret: str = TRELLO_SECRET) -> str:
    # "a base64 digest of an HMAC-SHA1 hash" of the body followed by the callbackURL,
    # keyed with the application's secret.
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("query", ["", "memberID=14&mainModel=true"])
def test_trello_documented_algorithm(make_guard: GuardFactory, query: str) -> None:
    # The docs suggest parameters in the callbackURL to tell webhooks apart: the URL
    # signed is the whole of it, query included.
    callback = TRELLO_PUBLIC + "/hooks/trello" + (f"?{query}" if query else "")
    header = trello_header(TRELLO_BODY, callback)
    assert sign("trello", TRELLO_BODY, secret=TRELLO_SECRET, url=callback) == {
        "x-trello-webhook": header
    }
    guard = make_guard(route("trello", TRELLO_SECRET, public_url=TRELLO_PUBLIC))
    verdict = guard.check(
        post("/hooks/trello", {"X-Trello-Webhook": header}, TRELLO_BODY, query=query)
    )
    assert verdict.ok, verdict.detail
    assert (verdict.event_id or "").startswith("sig:")
    guard.complete(verdict, 200)
    again = guard.check(
        post("/hooks/trello", {"X-Trello-Webhook": header}, TRELLO_BODY, query=query)
    )
    assert again.reason is Reason.DUPLICATE_EVENT


def test_trello_the_callback_url_must_be_the_webhooks(make_guard: GuardFactory) -> None:
    guard = make_guard(route("trello", TRELLO_SECRET, public_url=TRELLO_PUBLIC))
    for url in (
        TRELLO_PUBLIC + "/hooks/trello/",  # a trailing slash Trello was not given
        "http://hooks.example.com/hooks/trello",  # another scheme
        TRELLO_PUBLIC + "/hooks/trello?memberID=14",  # a query the request does not carry
    ):
        header = trello_header(TRELLO_BODY, url)
        verdict = guard.check(post("/hooks/trello", {"X-Trello-Webhook": header}, TRELLO_BODY))
        assert verdict.reason is Reason.SIGNATURE_MISMATCH, url


def test_trello_the_api_key_or_a_token_is_not_the_key(make_guard: GuardFactory) -> None:
    # Trello's answer on its community site: the key is the OAuth secret, not a token.
    guard = make_guard(route("trello", TRELLO_SECRET, public_url=TRELLO_PUBLIC))
    url = TRELLO_PUBLIC + "/hooks/trello"
    header = trello_header(TRELLO_BODY, url, secret="ATTA" + "f" * 60)  # a token's shape
    verdict = guard.check(post("/hooks/trello", {"X-Trello-Webhook": header}, TRELLO_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_trello_non_ascii_text_is_verified_over_its_utf8_bytes(make_guard: GuardFactory) -> None:
    """The bytes signed are the body's own. An older version of Trello's page said its
    signer read the text as a binary string (each UTF-16 unit's low 8 bits: an en dash,
    U+2013, as the byte 0x13). That form is not accepted: under it any character can be
    swapped for another with the same low byte (U+2013 for U+0113, or a quote for U+0122,
    which folds the next field into a string) and the signature still matches."""
    body = json.dumps(
        {"action": {"id": "5f1b", "data": {"card": {"name": "Caf\u00e9 \u2013 v2"}}}},
        ensure_ascii=False,
    ).encode()
    url = TRELLO_PUBLIC + "/hooks/trello"
    guard = make_guard(route("trello", TRELLO_SECRET, public_url=TRELLO_PUBLIC))
    utf8 = guard.check(post("/hooks/trello", {"X-Trello-Webhook": trello_header(body, url)}, body))
    assert utf8.ok, utf8.detail
    low_bytes = bytes(ord(c) & 0xFF for c in body.decode() + url)
    digest = hmac.new(TRELLO_SECRET.encode(), low_bytes, hashlib.sha1).digest()
    binary = {"X-Trello-Webhook": base64.b64encode(digest).decode()}
    assert guard.check(post("/hooks/trello", binary, body)).reason is Reason.SIGNATURE_MISMATCH


def test_trello_head_is_the_only_unsigned_request_answered(make_guard: GuardFactory) -> None:
    guard = make_guard(route("trello", TRELLO_SECRET, public_url=TRELLO_PUBLIC))
    head = guard.check(post("/hooks/trello", {}, b"", method="HEAD"))
    assert head.reason is Reason.HANDSHAKE
    assert head.answer == ("text/plain; charset=utf-8", b"")
    assert head.event_id is None
    get = guard.check(post("/hooks/trello", {}, b"", method="GET"))
    assert get.reason is Reason.METHOD_NOT_ALLOWED
    unsigned = guard.check(post("/hooks/trello", {}, TRELLO_BODY))
    assert unsigned.reason is Reason.SIGNATURE_MISSING


# -- Segment (segmentio/action-destinations .../destinations/webhook/index.ts) -------------

SEGMENT_SECRET = "abc123"  # the shared secret of the destination's own signing test
SEGMENT_EVENT = {
    "messageId": "ajs-next-1722864000-3c1f7a2e-5d1b-4f0a-9b7e-2a6c8d4e1f30",
    "type": "track",
    "event": "Order Completed",
    "properties": {"cool": True},
    "timestamp": "2026-08-05T12:00:00.000Z",
}


def js_json(value: object) -> bytes:
    """JSON.stringify's output for plain data: no spaces, UTF-8 on the wire."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def test_segment_documented_algorithm_and_message_id(make_guard: GuardFactory) -> None:
    body = js_json(SEGMENT_EVENT)
    # createHmac('sha1', sharedSecret).update(JSON.stringify(data), 'utf8').digest('hex')
    header = hmac.new(SEGMENT_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert sign("segment", body, secret=SEGMENT_SECRET) == {"x-signature": header}
    guard = make_guard(route("segment", SEGMENT_SECRET))
    first = guard.check(post("/hooks/segment", {"X-Signature": header}, body))
    assert first.ok, first.detail
    assert first.event_id == SEGMENT_EVENT["messageId"]
    guard.complete(first, 200)
    assert (
        guard.check(post("/hooks/segment", {"X-Signature": header}, body)).reason
        is Reason.DUPLICATE_EVENT
    )


def test_segment_a_mapping_without_message_id_dedups_on_the_signature(
    make_guard: GuardFactory,
) -> None:
    body = js_json({"cool": True})  # data mapped to $.properties, as in Segment's test
    header = hmac.new(SEGMENT_SECRET.encode(), body, hashlib.sha1).hexdigest()
    verdict = make_guard(route("segment", SEGMENT_SECRET)).check(
        post("/hooks/segment", {"X-Signature": header}, body)
    )
    assert verdict.ok, verdict.detail
    assert (verdict.event_id or "").startswith("sig:")


def test_segment_a_batch_is_refused(make_guard: GuardFactory) -> None:
    # A batch's body is the array of every event's data, but extendRequest signs only
    # payload[0].data: what arrives is not what was signed.
    events = [{**SEGMENT_EVENT, "messageId": f"m-{n}"} for n in range(3)]
    body = js_json(events)
    header = hmac.new(SEGMENT_SECRET.encode(), js_json(events[0]), hashlib.sha1).hexdigest()
    verdict = make_guard(route("segment", SEGMENT_SECRET)).check(
        post("/hooks/segment", {"X-Signature": header}, body)
    )
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_segment_put_needs_the_method_on_the_route(make_guard: GuardFactory) -> None:
    body = js_json(SEGMENT_EVENT)
    headers = sign("segment", body, secret=SEGMENT_SECRET)
    plain = make_guard(route("segment", SEGMENT_SECRET))
    assert (
        plain.check(post("/hooks/segment", headers, body, method="PUT")).reason
        is Reason.METHOD_NOT_ALLOWED
    )
    put = make_guard(route("segment", SEGMENT_SECRET, methods=["PUT"]))
    assert put.check(post("/hooks/segment", headers, body, method="PUT")).ok


# -- ClickUp (developer.clickup.com/docs/webhooksignature) ----------------------------------

CLICKUP_SECRET = "O4YAPW6VSHMZ2PLMWR9KQBJ8F1T3XZ7B0G5C2N6D8E4H1JQ"
#: The page's example request body, compacted.
CLICKUP_BODY = (
    b'{"webhook_id":"7689a169-a000-4985-8676-6902b96d6627","event":"taskCreated","task_id":"c0j"}'
)


def test_clickup_documented_algorithm(make_guard: GuardFactory) -> None:
    # X-Signature: the body hashed with the webhook's secret and SHA-256, in hex.
    header = hex_hmac(CLICKUP_SECRET, CLICKUP_BODY)
    assert sign("clickup", CLICKUP_BODY, secret=CLICKUP_SECRET) == {"x-signature": header}
    guard = make_guard(route("clickup", CLICKUP_SECRET))
    first = guard.check(post("/hooks/clickup", {"X-Signature": header}, CLICKUP_BODY))
    assert first.ok, first.detail
    # webhook_id names the webhook, the same on every delivery: not the event ID.
    assert (first.event_id or "").startswith("sig:")
    guard.complete(first, 200)
    again = guard.check(post("/hooks/clickup", {"X-Signature": header}, CLICKUP_BODY))
    assert again.reason is Reason.DUPLICATE_EVENT
    other = CLICKUP_BODY.replace(b'"c0j"', b'"c0k"')
    nxt = guard.check(
        post("/hooks/clickup", {"X-Signature": hex_hmac(CLICKUP_SECRET, other)}, other)
    )
    assert nxt.ok, nxt.detail  # the same webhook_id, another event: not a duplicate


def test_clickup_uppercase_hex_and_a_pretty_printed_copy(make_guard: GuardFactory) -> None:
    guard = make_guard(route("clickup", CLICKUP_SECRET))
    header = hex_hmac(CLICKUP_SECRET, CLICKUP_BODY)
    # The hex digest read case-insensitively, as the other hex presets read it.
    assert guard.check(post("/hooks/clickup", {"X-Signature": header.upper()}, CLICKUP_BODY)).ok
    # The page warns against re-serialising: a copy with spaces is other bytes.
    spaced = json.dumps(json.loads(CLICKUP_BODY)).encode()
    refused = guard.check(post("/hooks/clickup", {"X-Signature": header}, spaced))
    assert refused.reason is Reason.SIGNATURE_MISMATCH
