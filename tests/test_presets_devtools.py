"""CircleCI, Buildkite, Vercel, Heroku, Gitea, Forgejo, Xero, Dropbox and WooCommerce.

None of them has a Python SDK that verifies webhooks, so each preset is checked against
its provider's documented algorithm written out with hmac/hashlib (the source is named at
each section; CircleCI's published test vectors are used verbatim), and
``webhook_guard.testing.sign`` must produce the same headers. The common attacks are in
test_presets_adversarial.py; the Dropbox and WooCommerce handshakes under real servers in
test_handshakes.py.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from webhook_guard import Reason, WebhookRequest
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, GuardFactory, b64_hmac, hex_hmac, post
from .conftest import preset_route as route

TS = int(NOW)


# -- CircleCI (circleci-docs .../integration/pages/outbound-webhooks.adoc) ------------------

#: (body, secret, v1 signature): the table of example signatures and the Python example's
#: "will return True" call, verbatim.
CIRCLECI_VECTORS = [
    (b"hello world", "secret", "734cc62f32841568f45715aeb9f4d7891324e6d948e4c6c60c0621cdac48623a"),
    (
        b"lalala",
        "another-secret",
        "daa220016c8f29a8b214fbfc3671aeec2145cfb1e6790184ffb38b6d0425fa00",
    ),
    (
        b"an-important-request-payload",
        "hunter123",
        "9be2242094a9a8c00c64306f382a7f9d691de910b4a266f67bd314ef18ac49fa",
    ),
    (b"foo", "secret", "773ba44693c7553d6ee20f61ea5d2757a9a4f4a44d2841ae4e95b52e4cd62db4"),
]


@pytest.mark.parametrize(("body", "secret", "signature"), CIRCLECI_VECTORS)
def test_circleci_published_vectors(
    make_guard: GuardFactory, body: bytes, secret: str, signature: str
) -> None:
    assert hex_hmac(secret, body) == signature  # the documented algorithm, written out
    guard = make_guard(route("circleci", secret))
    verdict = guard.check(post("/hooks/circleci", {"circleci-signature": f"v1={signature}"}, body))
    assert verdict.ok, verdict.detail
    assert sign("circleci", body, secret=secret) == {"circleci-signature": f"v1={signature}"}


def test_circleci_only_v1_counts_and_the_body_id_dedups(make_guard: GuardFactory) -> None:
    body = b'{"id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895","type":"workflow-completed"}'
    v1 = hex_hmac("s3cret", body)
    guard = make_guard(route("circleci", "s3cret"))
    # The docs' example header lists later versions after v1: they are ignored.
    first = guard.check(
        post("/hooks/circleci", {"circleci-signature": f"v1={v1},v2=...,v3=..."}, body)
    )
    assert first.ok, first.detail
    assert first.event_id == "3888f21b-eaa7-38e3-8f3d-75a63bba8895"
    guard.complete(first, 200)
    again = guard.check(post("/hooks/circleci", {"circleci-signature": f"v1={v1}"}, body))
    assert again.reason is Reason.DUPLICATE_EVENT
    # The same digest under another version only: no v1, a malformed header.
    other = guard.check(post("/hooks/circleci", {"circleci-signature": f"v2={v1}"}, body))
    assert other.reason is Reason.SIGNATURE_MALFORMED


# -- Buildkite (buildkite/docs pages/apis/webhooks/_webhook_signature.md) --------------------

BK_TOKEN = "buildkite-webhook-token"
BK_BODY = b'{"event":"build.finished","build":{"id":"f62a1b4d-10f9-4790-bc1c-e2c3a0c80983"}}'


def buildkite_headers(body: bytes, ts: int = TS, key: str = BK_TOKEN) -> dict[str, str]:
    # As the docs build it: HMAC-SHA256 of "#{timestamp}.#{body}", hex, keyed by the token.
    sig = hex_hmac(key, f"{ts}.".encode() + body)
    return {"X-Buildkite-Signature": f"timestamp={ts},signature={sig}"}


def test_buildkite_documented_signature_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(route("buildkite", BK_TOKEN))
    verdict = guard.check(post("/hooks/buildkite", buildkite_headers(BK_BODY), BK_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert sign("buildkite", BK_BODY, secret=BK_TOKEN, timestamp=TS) == {
        "x-buildkite-signature": buildkite_headers(BK_BODY)["X-Buildkite-Signature"]
    }


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, Reason.TIMESTAMP_TOO_OLD), (301, Reason.TIMESTAMP_IN_FUTURE)],
)
def test_buildkite_timestamp_outside_five_minutes_is_refused(
    make_guard: GuardFactory, offset: int, reason: Reason
) -> None:
    guard = make_guard(route("buildkite", BK_TOKEN))
    headers = buildkite_headers(BK_BODY, ts=TS + offset)
    assert guard.check(post("/hooks/buildkite", headers, BK_BODY)).reason is reason


def test_buildkite_token_mode(make_guard: GuardFactory) -> None:
    guard = make_guard(route("buildkite-token", BK_TOKEN))
    ok = guard.check(post("/hooks/buildkite-token", {"X-Buildkite-Token": BK_TOKEN}, BK_BODY))
    assert ok.ok, ok.detail
    wrong = guard.check(post("/hooks/buildkite-token", {"X-Buildkite-Token": "guess"}, BK_BODY))
    assert wrong.reason is Reason.TOKEN_INVALID
    # A signature-mode delivery carries no token.
    signed = guard.check(post("/hooks/buildkite-token", buildkite_headers(BK_BODY), BK_BODY))
    assert signed.reason is Reason.TOKEN_MISSING
    assert sign("buildkite-token", BK_BODY, secret=BK_TOKEN) == {"x-buildkite-token": BK_TOKEN}


# -- Vercel (vercel.com/docs/webhooks) --------------------------------------------------------

VERCEL_SECRET = "vercel-integration-client-secret"
VERCEL_BODY = b'{"id":"uev_FJ2mXcBbXkXvAEKmYfAuq2JE","type":"deployment.succeeded","payload":{}}'


def test_vercel_documented_sha1_signature_verifies(make_guard: GuardFactory) -> None:
    # The docs' verifier: crypto.createHmac('sha1', secret).update(rawBody).digest('hex').
    signature = hex_hmac(VERCEL_SECRET, VERCEL_BODY, hashlib.sha1)
    guard = make_guard(route("vercel", VERCEL_SECRET))
    verdict = guard.check(post("/hooks/vercel", {"x-vercel-signature": signature}, VERCEL_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "uev_FJ2mXcBbXkXvAEKmYfAuq2JE"
    assert sign("vercel", VERCEL_BODY, secret=VERCEL_SECRET) == {"x-vercel-signature": signature}
    # A SHA-256 signature (the wrong length for SHA-1) is malformed, not a mismatch.
    sha256 = hex_hmac(VERCEL_SECRET, VERCEL_BODY)
    verdict = guard.check(post("/hooks/vercel", {"x-vercel-signature": sha256}, VERCEL_BODY))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


# -- Heroku (heroku/webhooks-docs devcenter/app-webhooks.md) --------------------------------

HEROKU_SECRET = "heroku-webhook-secret"


def heroku_body(attempt: str) -> bytes:
    return json.dumps(
        {
            "id": "f1c2a387-0d4e-4b5f-9a61-3c7d2e9b1f04",
            "action": "update",
            "resource": "api:release",
            "data": {"version": 7},
            "webhook_metadata": {
                "attempt": {"id": attempt},
                "delivery": {"id": "d7e4b2a0-5c1f-4e3b-8a9d-0f6c2b1e7a35"},
                "event": {"id": "e5c5dce3-7ef8-4227-9888-6b2b97b0a5ab", "include": "api:release"},
                "webhook": {"id": "8995ddc0-b07a-4bc2-8eb6-816c67a512fa"},
            },
        }
    ).encode()


def test_heroku_documented_signature_and_retries_dedup(make_guard: GuardFactory) -> None:
    guard = make_guard(route("heroku", HEROKU_SECRET))
    body = heroku_body("a-1")
    # The docs: Base64(HMAC-SHA256(secret, raw body)) in Heroku-Webhook-Hmac-SHA256.
    headers = {"Heroku-Webhook-Hmac-SHA256": b64_hmac(HEROKU_SECRET, body)}
    first = guard.check(post("/hooks/heroku", headers, body))
    assert first.ok, first.detail
    assert first.event_id == "d7e4b2a0-5c1f-4e3b-8a9d-0f6c2b1e7a35"
    assert sign("heroku", body, secret=HEROKU_SECRET) == {
        "heroku-webhook-hmac-sha256": headers["Heroku-Webhook-Hmac-SHA256"]
    }
    guard.complete(first, 200)
    # A retry: a new attempt ID, so other bytes and another signature; the same delivery.
    retry = heroku_body("a-2")
    again = guard.check(
        post("/hooks/heroku", {"Heroku-Webhook-Hmac-SHA256": b64_hmac(HEROKU_SECRET, retry)}, retry)
    )
    assert again.reason is Reason.DUPLICATE_EVENT


# -- Gitea and Forgejo (services/webhook/deliver.go, addDefaultHeaders) ---------------------

GITEA_SECRET = "gitea-webhook-secret"
GITEA_BODY = b'{"ref":"refs/heads/main","before":"0000","after":"7b2a","commits":[]}'
DELIVERY = "8f1c2a38-0d4e-4b5f-9a61-3c7d2e9b1f04"


def test_gitea_documented_signature_verifies(make_guard: GuardFactory) -> None:
    # deliver.go: hex.EncodeToString(hmac.New(sha256.New, secret).Sum(body)), no prefix.
    signature = hex_hmac(GITEA_SECRET, GITEA_BODY)
    headers = {"X-Gitea-Signature": signature, "X-Gitea-Delivery": DELIVERY}
    verdict = make_guard(route("gitea", GITEA_SECRET)).check(
        post("/hooks/gitea", headers, GITEA_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == DELIVERY
    assert sign("gitea", GITEA_BODY, secret=GITEA_SECRET, event_id=DELIVERY) == {
        "x-gitea-signature": signature,
        "x-gitea-delivery": DELIVERY,
    }


def test_gitea_route_does_not_read_forgejo_headers(make_guard: GuardFactory) -> None:
    signature = hex_hmac(GITEA_SECRET, GITEA_BODY)
    verdict = make_guard(route("gitea", GITEA_SECRET)).check(
        post("/hooks/gitea", {"X-Forgejo-Signature": signature}, GITEA_BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MISSING


@pytest.mark.parametrize("sent", ["both pairs", "forgejo only", "gitea only"])
def test_forgejo_accepts_either_header_pair(make_guard: GuardFactory, sent: str) -> None:
    signature = hex_hmac(GITEA_SECRET, GITEA_BODY)
    forgejo = {"X-Forgejo-Signature": signature, "X-Forgejo-Delivery": DELIVERY}
    gitea = {"X-Gitea-Signature": signature, "X-Gitea-Delivery": DELIVERY}
    headers = {"both pairs": {**forgejo, **gitea}, "forgejo only": forgejo, "gitea only": gitea}
    verdict = make_guard(route("forgejo", GITEA_SECRET)).check(
        post("/hooks/forgejo", headers[sent], GITEA_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == DELIVERY
    assert sign("forgejo", GITEA_BODY, secret=GITEA_SECRET, event_id=DELIVERY) == {
        "x-forgejo-signature": signature,
        "x-forgejo-delivery": DELIVERY,
    }


def test_forgejo_reads_the_forgejo_pair_when_both_are_sent(make_guard: GuardFactory) -> None:
    """The first family present wins: a bad X-Forgejo-Signature is not rescued by a good
    X-Gitea-Signature beside it."""
    good = hex_hmac(GITEA_SECRET, GITEA_BODY)
    bad = hex_hmac("another-secret", GITEA_BODY)
    headers = {"X-Forgejo-Signature": bad, "X-Gitea-Signature": good}
    verdict = make_guard(route("forgejo", GITEA_SECRET)).check(
        post("/hooks/forgejo", headers, GITEA_BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


# -- Xero (developer.xero.com/documentation/guides/webhooks/overview) -----------------------

XERO_KEY = "xero-webhooks-key-0123456789"


def itr_body(entropy: str) -> bytes:
    return json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": entropy}
    ).encode()


def test_xero_intent_to_receive(make_guard: GuardFactory) -> None:
    """Xero's Intent to Receive: correctly signed checks reach the app (which answers an
    empty 200), incorrectly signed ones get 401 from the guard."""
    guard = make_guard(route("xero", XERO_KEY))
    for i in range(3):
        body = itr_body(f"ENTROPY{i}")
        # The docs: base64 of HMAC-SHA256 of the raw body, keyed by the webhooks key.
        good = b64_hmac(XERO_KEY, body)
        verdict = guard.check(post("/hooks/xero", {"x-xero-signature": good}, body))
        assert verdict.ok, verdict.detail
        guard.complete(verdict, 200)
        assert sign("xero", body, secret=XERO_KEY) == {"x-xero-signature": good}
        bad = b64_hmac("not-the-key", body)
        refused = guard.check(post("/hooks/xero", {"x-xero-signature": bad}, body))
        assert (refused.reason, refused.status) == (Reason.SIGNATURE_MISMATCH, 401)


# -- Dropbox (dropbox.com/developers/reference/webhooks) ------------------------------------

DROPBOX_SECRET = "dropbox-app-secret"
DROPBOX_BODY = (
    b'{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},'
    b'"delta":{"users":[12345678]}}'
)


def test_dropbox_documented_signature_and_repeats_are_not_duplicates(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    # The docs: hmac.new(APP_SECRET, request.data, sha256).hexdigest() in X-Dropbox-Signature.
    signature = hex_hmac(DROPBOX_SECRET, DROPBOX_BODY)
    assert sign("dropbox", DROPBOX_BODY, secret=DROPBOX_SECRET) == {
        "x-dropbox-signature": signature
    }
    guard = make_guard(route("dropbox", DROPBOX_SECRET))
    for _ in range(2):  # the next change to the same account: the same bytes, both real
        verdict = guard.check(
            post("/hooks/dropbox", {"X-Dropbox-Signature": signature}, DROPBOX_BODY)
        )
        assert verdict.ok, verdict.detail
        assert verdict.event_id is None
        guard.complete(verdict, 200)
        clock.advance(1)


def test_dropbox_challenge_get_is_echoed_and_a_bare_get_is_refused(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(route("dropbox", DROPBOX_SECRET))
    check = guard.check(WebhookRequest("GET", "/hooks/dropbox", "challenge=z3Kq9"))
    assert (check.reason, check.status, check.response_body()) == (Reason.HANDSHAKE, 200, b"z3Kq9")
    headers = check.response_headers()
    assert ("content-type", "text/plain; charset=utf-8") in headers
    assert ("x-content-type-options", "nosniff") in headers
    bare = guard.check(WebhookRequest("GET", "/hooks/dropbox", "other=1"))
    assert bare.reason is Reason.SIGNATURE_MISSING
    # The challenge is answered only on GET: a POST with it is an ordinary delivery.
    posted = guard.check(post("/hooks/dropbox", {}, DROPBOX_BODY, query="challenge=z3Kq9"))
    assert posted.reason is Reason.SIGNATURE_MISSING


# -- WooCommerce (woocommerce/woocommerce .../includes/class-wc-webhook.php) -----------------

WC_SECRET = "woocommerce-webhook-secret"
WC_BODY = b'{"id":4711,"status":"processing","total":"29.00"}'


def test_woocommerce_documented_signature_verifies(make_guard: GuardFactory) -> None:
    # generate_signature: base64_encode(hash_hmac('sha256', $payload, $secret, true)).
    signature = b64_hmac(WC_SECRET, WC_BODY)
    assert sign("woocommerce", WC_BODY, secret=WC_SECRET) == {"x-wc-webhook-signature": signature}
    guard = make_guard(route("woocommerce", WC_SECRET))
    headers = {"X-WC-Webhook-Signature": signature, "X-WC-Webhook-Delivery-ID": "9f2c"}
    verdict = guard.check(post("/hooks/woocommerce", headers, WC_BODY))
    assert verdict.ok, verdict.detail
    guard.complete(verdict, 200)
    # Another delivery in the same second may carry the same delivery ID: not a duplicate.
    other = WC_BODY.replace(b"4711", b"4712")
    headers = {
        "X-WC-Webhook-Signature": b64_hmac(WC_SECRET, other),
        "X-WC-Webhook-Delivery-ID": "9f2c",
    }
    assert guard.check(post("/hooks/woocommerce", headers, other)).ok


def test_woocommerce_ping_is_answered_without_the_app(make_guard: GuardFactory) -> None:
    guard = make_guard(route("woocommerce", WC_SECRET))
    form = {"content-type": "application/x-www-form-urlencoded"}
    ping = guard.check(post("/hooks/woocommerce", form, b"webhook_id=17"))
    assert (ping.reason, ping.status, ping.response_body()) == (Reason.HANDSHAKE, 200, b"")
    # A ping-shaped body with a signature header is a delivery: verified, here refused.
    wrong = {**form, "X-WC-Webhook-Signature": b64_hmac("guess", b"webhook_id=17")}
    forged = guard.check(post("/hooks/woocommerce", wrong, b"webhook_id=17"))
    assert forged.reason is Reason.SIGNATURE_MISMATCH
    more = guard.check(post("/hooks/woocommerce", form, b"webhook_id=17&topic=order.created"))
    assert more.reason is Reason.SIGNATURE_MISSING
