"""Provider presets against requests signed by the providers' own SDKs and published vectors.

SDKs: stripe, slack_sdk, twilio, paddle-python-sdk, convoy-python (standardwebhooks and
svix are in test_standard_preset.py). Providers without a Python SDK (GitHub, Shopify,
Bitbucket, Convoy's advanced format) are checked against their documented test vectors
or documented algorithm. Each test also checks the other way round where the SDK can
verify: what webhook_guard.testing.sign produces, the SDK accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import convoy.utils.webhook as convoy_webhook
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paddle_billing.Notifications import Secret as PaddleSecret
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from paddle_billing.Notifications.Verifier import Verifier as PaddleVerifier
from slack_sdk.signature import SignatureVerifier
from stripe._webhook import WebhookSignature
from twilio.request_validator import RequestValidator

from webhook_guard import Reason
from webhook_guard.testing import FakeClock, sign

from .conftest import NOW, GuardFactory, post

TS = int(NOW)
JSON_BODY = '{"id":"evt_1NZ","event_id":"evt_01h","type":"x","note":"caf\u00e9 \u2603"}'.encode()


def route(provider: str, secrets: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": provider,
        "path": f"/hooks/{provider}",
        "provider": provider,
        "secrets": secrets,
        **extra,
    }


# -- Stripe (stripe-python 16.1.0 stripe/_webhook.py) ------------------------------------

STRIPE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a whsec_ that is valid base64 too


def test_stripe_sdk_signature_verifies(make_guard: GuardFactory) -> None:
    header = WebhookSignature.generate_signature_header(
        JSON_BODY.decode(), STRIPE_SECRET, timestamp=TS
    )
    guard = make_guard(route("stripe", [STRIPE_SECRET]))
    verdict = guard.check(post("/hooks/stripe", {"Stripe-Signature": header}, JSON_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    assert verdict.event_id == "evt_1NZ"  # the body's id, not a header


def test_stripe_secret_is_used_literally_not_base64_decoded(make_guard: GuardFactory) -> None:
    # The same whsec_ string means base64 for Standard Webhooks and literal bytes for Stripe.
    key = base64.b64decode(STRIPE_SECRET.removeprefix("whsec_"))
    wrong = hmac.new(key, f"{TS}.".encode() + JSON_BODY, hashlib.sha256).hexdigest()
    guard = make_guard(route("stripe", [STRIPE_SECRET]))
    headers = {"Stripe-Signature": f"t={TS},v1={wrong}"}
    verdict = guard.check(post("/hooks/stripe", headers, JSON_BODY))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_stripe_roll_sends_several_v1_and_a_v0(make_guard: GuardFactory) -> None:
    good = WebhookSignature.generate_signature_header(
        JSON_BODY.decode(), STRIPE_SECRET, timestamp=TS
    )
    header = f"t={TS},v1={'0' * 64},{good.split(',')[1]},v0={'1' * 64}"
    verdict = make_guard(route("stripe", [STRIPE_SECRET])).check(
        post("/hooks/stripe", {"Stripe-Signature": header}, JSON_BODY)
    )
    assert verdict.ok, verdict.detail


def test_our_stripe_signature_verifies_in_the_sdk() -> None:
    header = sign("stripe", JSON_BODY, secret=STRIPE_SECRET)["stripe-signature"]
    assert WebhookSignature.verify_header(JSON_BODY, header, STRIPE_SECRET, tolerance=300)


# -- Slack (slack_sdk signature/__init__.py) ---------------------------------------------

SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


def test_slack_documented_vector(make_guard: GuardFactory, clock: FakeClock) -> None:
    clock.now = 1531420618
    guard = make_guard(route("slack", ["8f742231b10e8888abcd99yyyzzz85a5"]))
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    verdict = guard.check(post("/hooks/slack", headers, SLACK_DOC_BODY))
    assert verdict.ok, verdict.detail
    # Slack sends no delivery ID: the verified signature is the dedup key.
    assert (
        verdict.event_id == "sig:a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_slack_sdk_signature_verifies(make_guard: GuardFactory) -> None:
    sdk = SignatureVerifier("slack-signing-secret")
    headers = {
        "X-Slack-Request-Timestamp": str(TS),
        "X-Slack-Signature": str(sdk.generate_signature(timestamp=str(TS), body=JSON_BODY)),
    }
    guard = make_guard(route("slack", ["slack-signing-secret"]))
    verdict = guard.check(post("/hooks/slack", headers, JSON_BODY))
    assert verdict.ok, verdict.detail


def test_our_slack_signature_verifies_in_the_sdk() -> None:
    headers = sign("slack", JSON_BODY, secret="slack-signing-secret", timestamp=TS)
    clock = SimpleNamespace(now=lambda: NOW)
    assert SignatureVerifier("slack-signing-secret", clock=clock).is_valid_request(  # type: ignore[arg-type]
        JSON_BODY, headers
    )


# -- GitHub (docs.github.com validating-webhook-deliveries) -----------------------------


def test_github_documented_vector(make_guard: GuardFactory) -> None:
    guard = make_guard(route("github", ["It's a Secret to Everybody"]))
    headers = {
        "X-Hub-Signature-256": "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    verdict = guard.check(post("/hooks/github", headers, b"Hello, World!"))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def test_github_legacy_sha1_header_alone_is_not_enough(make_guard: GuardFactory) -> None:
    sha1 = hmac.new(b"s3cret", JSON_BODY, hashlib.sha1).hexdigest()
    verdict = make_guard(route("github", ["s3cret"])).check(
        post("/hooks/github", {"X-Hub-Signature": f"sha1={sha1}"}, JSON_BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MISSING


# -- Shopify (shopify.dev verify-deliveries: base64 HMAC-SHA256 of the raw body) ---------


def shopify_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    ("sig_header", "id_header"),
    [
        ("X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"),
        ("Shopify-Hmac-Sha256", "Shopify-Webhook-Id"),  # the Events (preview) names
    ],
)
def test_shopify_documented_algorithm(
    make_guard: GuardFactory, sig_header: str, id_header: str
) -> None:
    headers = {
        sig_header: shopify_hmac("shpss_client_secret", JSON_BODY),
        id_header: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
    }
    verdict = make_guard(route("shopify", ["shpss_client_secret"])).check(
        post("/hooks/shopify", headers, JSON_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


# -- Bitbucket (Cloud: support.atlassian.com event-payloads; Server: confluence) ---------


@pytest.mark.parametrize(
    ("preset", "id_header"), [("bitbucket", "X-Request-UUID"), ("bitbucket-server", "X-Request-Id")]
)
def test_bitbucket_documented_algorithm(
    make_guard: GuardFactory, preset: str, id_header: str
) -> None:
    digest = hmac.new(b"bb-secret", JSON_BODY, hashlib.sha256).hexdigest()
    headers = {
        "X-Hub-Signature": f"sha256={digest}",
        id_header: "{a0b1c2d3-0000-4000-8000-000000000001}",
        "X-Event-Key": "repo:push",
    }
    verdict = make_guard(route(preset, ["bb-secret"])).check(
        post(f"/hooks/{preset}", headers, JSON_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "{a0b1c2d3-0000-4000-8000-000000000001}"


def test_github_delivery_sent_to_bitbucket_route_is_refused(make_guard: GuardFactory) -> None:
    # GitHub also sends the legacy X-Hub-Signature (SHA-1): Bitbucket's header name.
    headers = {
        "X-Hub-Signature": "sha1=" + hmac.new(b"bb-secret", JSON_BODY, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256="
        + hmac.new(b"bb-secret", JSON_BODY, hashlib.sha256).hexdigest(),
    }
    verdict = make_guard(route("bitbucket", ["bb-secret"])).check(
        post("/hooks/bitbucket", headers, JSON_BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


# -- GitLab (docs.gitlab.com webhooks: X-Gitlab-Token, Idempotency-Key) -----------------


def test_gitlab_token_and_idempotency_key(make_guard: GuardFactory) -> None:
    guard = make_guard(route("gitlab", ["glpat-token"]))
    headers = {
        "X-Gitlab-Token": "glpat-token",
        "Idempotency-Key": "908a6d9e-45fd-46c8-97e6-c4f350f219dd",
        "X-Gitlab-Event-UUID": "shared-by-recursive-hooks",
    }
    first = guard.check(post("/hooks/gitlab", headers, JSON_BODY))
    assert first.ok, first.detail
    assert first.event_id == "908a6d9e-45fd-46c8-97e6-c4f350f219dd"
    guard.complete(first, 200)
    # Another delivery with the same X-Gitlab-Event-UUID is a different event ...
    other = headers | {"Idempotency-Key": "11111111-45fd-46c8-97e6-c4f350f219dd"}
    second = guard.check(post("/hooks/gitlab", other, JSON_BODY))
    assert second.ok, second.detail
    guard.complete(second, 200)
    # ... and a resend (same Idempotency-Key) is a duplicate.
    again = guard.check(post("/hooks/gitlab", headers, JSON_BODY))
    assert again.reason is Reason.DUPLICATE_EVENT


def test_gitlab_without_idempotency_key_dedups_on_the_body(make_guard: GuardFactory) -> None:
    guard = make_guard(route("gitlab", ["glpat-token"]))
    verdict = guard.check(post("/hooks/gitlab", {"X-Gitlab-Token": "glpat-token"}, JSON_BODY))
    assert verdict.ok
    assert verdict.event_id == "body:" + hashlib.sha256(JSON_BODY).hexdigest()


def test_gitlab_preset_takes_no_signature_block(make_guard: GuardFactory) -> None:
    from webhook_guard.errors import ConfigError

    with pytest.raises(ConfigError, match=r"routes\[0\]\.signature: provider 'gitlab' sends"):
        make_guard(route("gitlab", ["t"], signature={"header": "x-sig"}))


# -- Twilio (twilio-python request_validator.py; docs vectors) --------------------------

TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}


def form(params: dict[str, Any]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(params, doseq=True).encode()


@pytest.mark.parametrize(
    ("host", "caller", "expected"),
    [
        ("https://example.com", "+14158675310", "L/OH5YylLD5NRKLltdqwSvS0BnU="),
        ("https://mycompany.com", "+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ],
)
def test_twilio_documented_vectors(
    make_guard: GuardFactory, host: str, caller: str, expected: str
) -> None:
    params = TWILIO_PARAMS | {"Caller": caller, "From": caller}
    guard = make_guard(route("twilio", ["12345"], path="/myapp.php", public_url=host))
    headers = {
        "X-Twilio-Signature": expected,
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    }
    verdict = guard.check(post("/myapp.php", headers, form(params), query="foo=1&bar=2"))
    assert verdict.ok, verdict.detail


def twilio_guard(make_guard: GuardFactory, public_url: str = "https://hooks.example.com") -> Any:
    return make_guard(route("twilio", ["auth-token"], public_url=public_url))


def test_twilio_sdk_signature_with_repeated_and_unicode_params(make_guard: GuardFactory) -> None:
    params = {"Body": ["héllo ☃", "a+b&c"], "To": "+1", "MediaUrl0": ""}
    url = "https://hooks.example.com/hooks/twilio?x=%2F1"

    class Form(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:  # the MultiDict API twilio-python uses
            return self[name]

    multi = Form(Body=["héllo ☃", "a+b&c"], To=["+1"], MediaUrl0=[""])
    signature = RequestValidator("auth-token").compute_signature(url, multi)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
        "I-Twilio-Idempotency-Token": "idem-1",
    }
    verdict = twilio_guard(make_guard).check(
        post("/hooks/twilio", headers, form(params), query="x=%2F1")
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "idem-1"


@pytest.mark.parametrize(
    ("public_url", "signed_url"),
    [
        ("https://hooks.example.com", "https://hooks.example.com:443/hooks/twilio"),
        ("https://hooks.example.com:443", "https://hooks.example.com/hooks/twilio"),
    ],
)
def test_twilio_port_variants(make_guard: GuardFactory, public_url: str, signed_url: str) -> None:
    signature = RequestValidator("auth-token").compute_signature(signed_url, TWILIO_PARAMS)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    verdict = twilio_guard(make_guard, public_url).check(
        post("/hooks/twilio", headers, form(TWILIO_PARAMS))
    )
    assert verdict.ok, verdict.detail


def test_twilio_json_body_uses_body_sha256(make_guard: GuardFactory) -> None:
    digest = hashlib.sha256(JSON_BODY).hexdigest()
    url = f"https://hooks.example.com/hooks/twilio?bodySHA256={digest}"
    signature = RequestValidator("auth-token").compute_signature(url, {})
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    guard = twilio_guard(make_guard)
    ok = guard.check(post("/hooks/twilio", headers, JSON_BODY, query=f"bodySHA256={digest}"))
    assert ok.ok, ok.detail
    # The URL (and so the signature) is intact but the body is not the one hashed.
    tampered = guard.check(
        post("/hooks/twilio", headers, JSON_BODY + b" ", query=f"bodySHA256={digest}")
    )
    assert tampered.reason is Reason.SIGNATURE_MISMATCH
    assert RequestValidator("auth-token").validate(url, JSON_BODY.decode(), signature)


def test_twilio_body_the_signature_does_not_cover_is_refused(make_guard: GuardFactory) -> None:
    # A signature over the URL alone (a parameterless request, captured elsewhere) would
    # carry any non-form body sent without bodySHA256: twilio-python accepts that.
    url = "https://hooks.example.com/hooks/twilio?CallSid=CA1"
    signature = RequestValidator("auth-token").compute_signature(url, {})
    assert RequestValidator("auth-token").validate(url, {}, signature)
    guard = twilio_guard(make_guard)
    for content_type in ("application/json", "text/plain", ""):
        headers = {"X-Twilio-Signature": signature, "Content-Type": content_type}
        forged = guard.check(post("/hooks/twilio", headers, JSON_BODY, query="CallSid=CA1"))
        assert forged.reason is Reason.SIGNATURE_MISMATCH, content_type
    # The same signature with no body at all is what it signed.
    empty = guard.check(
        post("/hooks/twilio", {"X-Twilio-Signature": signature}, b"", query="CallSid=CA1")
    )
    assert empty.ok, empty.detail


def test_twilio_form_the_app_could_read_otherwise_is_refused(make_guard: GuardFactory) -> None:
    # Django 4.2 decodes a form in the charset the (unsigned) Content-Type names:
    # under utf-7 an SMS Body "+ACIAJgBGAHIAbwBtAD0-..." reads as '"&From=...'. A raw ';'
    # is a field separator to python-multipart before 0.0.21 (Starlette's form parser).
    url = "https://hooks.example.com/hooks/twilio"
    params = {**TWILIO_PARAMS, "Body": "hi; +ACIAJgBGAHIAbwBtAD0-"}
    signature = RequestValidator("auth-token").compute_signature(url, params)
    guard = twilio_guard(make_guard)
    form_type = "application/x-www-form-urlencoded"
    for content_type in (f"{form_type}; charset=utf-7", f"{form_type}; charset=unicode_escape"):
        headers = {"X-Twilio-Signature": signature, "Content-Type": content_type}
        verdict = guard.check(post("/hooks/twilio", headers, form(params)))
        assert verdict.reason is Reason.SIGNATURE_MISMATCH, content_type
    twice = [("X-Twilio-Signature", signature), ("Content-Type", form_type)]
    twice.append(("Content-Type", f"{form_type}; charset=utf-7"))
    assert guard.check(post("/hooks/twilio", twice, form(params))).reason is (
        Reason.SIGNATURE_MISMATCH
    )
    raw = form(params).replace(b"%3B", b";")
    headers = {"X-Twilio-Signature": signature, "Content-Type": form_type}
    assert guard.check(post("/hooks/twilio", headers, raw)).reason is Reason.SIGNATURE_MISMATCH
    utf8 = {**headers, "Content-Type": f"{form_type}; charset=UTF-8"}
    assert guard.check(post("/hooks/twilio", utf8, form(params))).ok


def test_our_twilio_signatures_verify_in_the_sdk() -> None:
    url = "https://hooks.example.com/hooks/twilio?foo=1"
    body = form(TWILIO_PARAMS | {"Body": "héllo"})
    headers = sign("twilio", body, secret="auth-token", url=url)
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(body.decode()))
    assert RequestValidator("auth-token").validate(url, params, headers["x-twilio-signature"])
    digest = hashlib.sha256(JSON_BODY).hexdigest()
    json_url = f"https://hooks.example.com/hooks/twilio?bodySHA256={digest}"
    headers = sign("twilio", JSON_BODY, secret="auth-token", url=json_url)
    assert headers["content-type"] == "application/json"
    assert RequestValidator("auth-token").validate(
        json_url, JSON_BODY.decode(), headers["x-twilio-signature"]
    )


def test_twilio_needs_public_url(make_guard: GuardFactory) -> None:
    from webhook_guard.errors import ConfigError

    with pytest.raises(ConfigError, match=r"routes\[0\]\.public_url: missing"):
        make_guard(route("twilio", ["auth-token"]))


# -- Paddle Billing (paddle-python-sdk Notifications/PaddleSignature.py) -----------------

PADDLE_KEY = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"


def paddle_header(secret: str, body: bytes, ts: int = TS) -> str:
    h1 = PaddleSignature.calculate_hmac(secret, f"{ts}:".encode() + body).hexdigest()
    return f"ts={ts};h1={h1}"


def test_paddle_sdk_signature_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(route("paddle", [PADDLE_KEY]))
    verdict = guard.check(
        post("/hooks/paddle", {"Paddle-Signature": paddle_header(PADDLE_KEY, JSON_BODY)}, JSON_BODY)
    )
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "evt_01h"  # the body's event_id
    assert verdict.timestamp == TS


def test_paddle_rotation_sends_several_h1(make_guard: GuardFactory) -> None:
    old = paddle_header("pdl_ntfset_old", JSON_BODY).split(";")[1]
    header = paddle_header(PADDLE_KEY, JSON_BODY) + ";" + old
    verdict = make_guard(route("paddle", ["pdl_ntfset_old"])).check(
        post("/hooks/paddle", {"Paddle-Signature": header}, JSON_BODY)
    )
    assert verdict.ok, verdict.detail


def test_paddle_unknown_keys_are_ignored(make_guard: GuardFactory) -> None:
    # The SDK raises ValueError on unknown keys; a future h2 must not break verification.
    header = paddle_header(PADDLE_KEY, JSON_BODY) + ";h2=" + "ab" * 32
    verdict = make_guard(route("paddle", [PADDLE_KEY])).check(
        post("/hooks/paddle", {"Paddle-Signature": header}, JSON_BODY)
    )
    assert verdict.ok, verdict.detail


def test_our_paddle_signature_verifies_in_the_sdk() -> None:
    headers = sign("paddle", JSON_BODY, secret=PADDLE_KEY)
    request = SimpleNamespace(
        body=JSON_BODY, headers={"Paddle-Signature": headers["paddle-signature"]}
    )
    assert PaddleVerifier().verify(request, PaddleSecret(PADDLE_KEY))  # type: ignore[arg-type]


# -- Convoy (frain-dev/convoy pkg/signature testdata vectors; convoy-python SDK) ---------

CONVOY_SECRET = "convoy-webhook-secret"
CONVOY_PAYLOAD = b'{"event":"charge.success","amount":1000,"currency":"NGN"}'


@pytest.mark.parametrize(
    ("preset", "overrides", "header"),
    [
        ("convoy", {}, "244449b7f48cbc2709060c9dcdc2b3aa47a78f540430579015c579fb12defbb4"),
        (
            "convoy",
            {"algorithm": "sha512", "encoding": "base64"},
            "bMdy3IGUKuG1/6kcOmoHsNN+3I3GvYPjUYohnx8Z/3GuG3bWsyCUDUFMI2oarX95MLY+DxkolRlV0xIZVF4bZg==",
        ),
        (
            "convoy-advanced",
            {},
            "t=1700000000,v1=77b8b9269f25a199846a55a2bd25b3fba151c70fdae60bb1dcd87fbbc943c55c",
        ),
        (
            "convoy-advanced",
            {"encoding": "base64"},
            "t=1700000000,v1=d7i5Jp8loZmEalWivSWz+6FRxw/a5gux3Nh/u8lDxVw=",
        ),
    ],
)
def test_convoy_repository_vectors(
    make_guard: GuardFactory, preset: str, overrides: dict[str, str], header: str
) -> None:
    guard = make_guard(route(preset, [CONVOY_SECRET], signature=overrides))
    verdict = guard.check(post(f"/hooks/{preset}", {"X-Convoy-Signature": header}, CONVOY_PAYLOAD))
    assert verdict.ok, verdict.detail


def test_convoy_signs_its_compact_reencoding_of_the_body(make_guard: GuardFactory) -> None:
    # Go repo test "should_generate_simple_hex_signature": the stored payload has spaces,
    # Convoy signs the compacted JSON and sends the stored bytes.
    payload = b'{"b": {}, "e": "123", "a": 1}'
    sig = (
        "c5dcfeda3f5a3154145234b2d0a533fc2b230f88da0fac0724619fd5"
        "cdde673ad6c474dfd5c02367768bd3b3bd3595cc860e606a37e2f9362e054d5aa14d7cc4"
    )
    guard = make_guard(route("convoy", ["secret"], signature={"algorithm": "sha512"}))
    verdict = guard.check(post("/hooks/convoy", {"X-Convoy-Signature": sig}, payload))
    assert verdict.ok, verdict.detail
    # Whitespace inside strings is content: compacting never touches it.
    spaced = b'{"b": {}, "e": "1 23", "a": 1}'
    assert guard.check(post("/hooks/convoy", {"X-Convoy-Signature": sig}, spaced)).reason is (
        Reason.SIGNATURE_MISMATCH
    )


def test_convoy_fallback_skips_bodies_that_are_not_json(make_guard: GuardFactory) -> None:
    # An unclosed string of escaped quotes would make compacting quadratic; such a body
    # is not JSON, so Convoy cannot have signed it and only the raw body is checked.
    body = b'{"a": "' + b'\\"' * 200_000
    guard = make_guard(route("convoy", ["secret"]))
    verdict = guard.check(post("/hooks/convoy", {"X-Convoy-Signature": "ab" * 32}, body))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        (b'{ "a" : [1, 2],\n\t"b": "x y" }', b'{"a":[1,2],"b":"x y"}'),
        (b'{"q": "say \\"hi there\\"", "n": null}', b'{"q":"say \\"hi there\\"","n":null}'),
        (b'["\\\\", " "]', b'["\\\\"," "]'),
        (b'{"u": "caf\xc3\xa9 \xe2\x98\x83"}', b'{"u":"caf\xc3\xa9 \xe2\x98\x83"}'),
    ],
)
def test_go_compact(raw: bytes, compact: bytes) -> None:
    from webhook_guard.signatures.convoy import go_compact

    assert go_compact(raw) == compact


def test_convoy_advanced_dot_separator_does_not_verify(make_guard: GuardFactory) -> None:
    dot = hmac.new(
        CONVOY_SECRET.encode(), b"1700000000." + CONVOY_PAYLOAD, hashlib.sha256
    ).hexdigest()
    verdict = make_guard(route("convoy-advanced", [CONVOY_SECRET])).check(
        post(
            "/hooks/convoy-advanced",
            {"X-Convoy-Signature": f"t=1700000000,v1={dot}"},
            CONVOY_PAYLOAD,
        )
    )
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(("hash_name", "encoding"), [("sha256", "hex"), ("sha512", "base64")])
def test_convoy_sdk_simple_signature(
    make_guard: GuardFactory, hash_name: str, encoding: str
) -> None:
    sdk = convoy_webhook.Webhook(secret=CONVOY_SECRET, encoding=encoding, hash=hash_name)
    headers = {
        "X-Convoy-Signature": sdk.create_signature(JSON_BODY.decode()),
        "X-Convoy-Idempotency-Key": "idem-42",
    }
    guard = make_guard(
        route("convoy", [CONVOY_SECRET], signature={"algorithm": hash_name, "encoding": encoding})
    )
    verdict = guard.check(post("/hooks/convoy", headers, JSON_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "idem-42"
    ours = sign(guard.config.route("convoy"), JSON_BODY)["x-convoy-signature"]
    # convoy-python returns True (hex) or None (base64) on success, a message on failure.
    assert sdk.verify_simple_signature(JSON_BODY.decode(), ours) in (True, None)
    assert sdk.verify_simple_signature(JSON_BODY.decode() + " ", ours) == "Invalid signature."


# -- testing.sign round-trips for every preset ------------------------------------------


def test_sign_rejects_preset_name_without_secret() -> None:
    with pytest.raises(ValueError, match="needs secret="):
        sign("stripe", JSON_BODY)
    with pytest.raises(ValueError, match="url= is required"):
        sign("twilio", JSON_BODY, secret="x")


def test_sign_accepts_a_guard_a_route_config_or_a_preset(make_guard: GuardFactory) -> None:
    guard = make_guard(route("stripe", [STRIPE_SECRET]))
    by_guard = sign(guard, "stripe", JSON_BODY, timestamp=TS)
    by_config = sign(guard.config.route("stripe"), JSON_BODY, timestamp=TS)
    by_name = sign("stripe", JSON_BODY, secret=STRIPE_SECRET, timestamp=TS)
    assert by_guard == by_config == by_name
    assert (
        json.loads(JSON_BODY)["id"]
        == guard.check(post("/hooks/stripe", by_name, JSON_BODY)).event_id
    )


def test_real_clock_sign_verifies_in_stripe_sdk_now() -> None:
    # Default timestamp is the current time when no guard clock is given.
    header = sign("stripe", JSON_BODY, secret=STRIPE_SECRET)["stripe-signature"]
    ts = int(header.split(",")[0].removeprefix("t="))
    assert abs(ts - time.time()) < 60


def test_twilio_shared_key_hmac_sha256(make_guard: GuardFactory) -> None:
    # A SharedKey with algorithm=HMAC_SHA256 (X-Twilio-Webhooks-Signature-Settings):
    # the route says so with signature.algorithm.
    url = "https://hooks.example.com/hooks/twilio"
    sig = RequestValidator("shared-key").compute_signature(url, TWILIO_PARAMS, "HMAC_SHA256")
    guard = make_guard(
        route(
            "twilio",
            ["shared-key"],
            public_url="https://hooks.example.com",
            signature={"algorithm": "sha256"},
        )
    )
    headers = {
        "X-Twilio-Signature": sig,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    verdict = guard.check(post("/hooks/twilio", headers, form(TWILIO_PARAMS)))
    assert verdict.ok, verdict.detail


def test_every_preset_has_a_complete_docs_summary() -> None:
    from webhook_guard.signatures.presets import PRESETS, SUMMARY_KEYS

    for name, preset in PRESETS.items():
        assert set(preset.summary) == set(SUMMARY_KEYS), name
        assert all(preset.summary.values()), name


def test_gitlab_signing_token_is_standard_webhooks(make_guard: GuardFactory) -> None:
    # GitLab 19 signing tokens follow Standard Webhooks (webhook-id = Idempotency-Key,
    # whsec_ + base64 of 32 bytes); the classic token may come along in X-Gitlab-Token.
    from datetime import datetime, timezone

    import standardwebhooks

    secret = "whsec_" + base64.b64encode(b"g" * 32).decode()
    key = "908a6d9e-45fd-46c8-97e6-c4f350f219dd"
    when = datetime.fromtimestamp(NOW, timezone.utc)
    headers = {
        "webhook-id": key,
        "webhook-timestamp": str(TS),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(key, when, JSON_BODY.decode()),
        "Idempotency-Key": key,
        "X-Gitlab-Token": "classic",
    }
    guard = make_guard(
        route(
            "standard",
            [secret],
            path="/hooks/gitlab",
            token={"header": "X-Gitlab-Token", "secrets": ["classic"]},
        )
    )
    verdict = guard.check(post("/hooks/gitlab", headers, JSON_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == key


def _compact_by_hand(raw: bytes) -> bytes:
    """Go's json.Compact for valid JSON, one byte at a time: whitespace outside strings
    goes, everything in a string stays (a backslash takes the next byte with it)."""
    out = bytearray()
    in_string = escaped = False
    for byte in raw:
        if in_string:
            out.append(byte)
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte not in b" \t\r\n":
            out.append(byte)
            in_string = byte == 0x22
    return bytes(out)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=' "\\\t\nab\u00e9\u2028'),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=' "\\ab', max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    value=_JSON_VALUES,
    indent=st.sampled_from([None, 0, 2, "\t"]),
    ascii_only=st.booleans(),
    separators=st.sampled_from([None, (" , ", " :  "), (",", ":")]),
)
def test_go_compact_matches_a_byte_by_byte_reading(
    value: Any, indent: Any, ascii_only: bool, separators: Any
) -> None:
    from webhook_guard.signatures.convoy import go_compact

    raw = json.dumps(value, indent=indent, ensure_ascii=ascii_only, separators=separators)
    body = b" \r\n" + raw.encode() + b"\n "
    assert go_compact(body) == _compact_by_hand(body)
