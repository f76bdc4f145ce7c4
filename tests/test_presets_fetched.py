"""Presets whose keys are fetched at run time (``sns``, ``google-pubsub``, ``paypal``),
through a Guard.

Keys are generated here and served by a local HTTPS server posing as
``sns.us-east-1.amazonaws.com``, ``www.googleapis.com`` and ``api.sandbox.paypal.com``
(tests/keyserver.py), reached
through the guard's injected ``key_fetcher`` (``pins`` + a CA of this test run); TLS is
verified for the real names. Messages are signed as AWS documents it
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html, written
out in webhook_guard.signatures.testkeys.sign_sns and checked against the AWS example
string in tests/test_sig_sns.py); tokens as Google shapes Pub/Sub push tokens (checked
against google-auth in tests/test_sig_jwt_oidc.py).

These presets carry their signature in the body or a bearer token, not in a header
``testing.sign`` can fill, so the attacks of tests/test_presets_adversarial.py are
written out here: tampered body, wrong key (another key pair), stale and future
timestamp, missing and malformed signature, wrong scheme version, moved between routes,
replay.
"""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from webhook_guard import Guard, Reason, WebhookRequest
from webhook_guard.errors import ConfigError
from webhook_guard.replay import MemoryReplayStore, ReplayState
from webhook_guard.signatures.keyfetch import KeyFetcher
from webhook_guard.signatures.paypal import TEST_CERT_URL
from webhook_guard.testing import FakeClock, google_push_token, keypair, sign, sns_body

from .conftest import NOW
from .keyserver import HOSTS, SNS_CERT_PATH, SNS_HOST, KeyServer, key_server

STAMP = "2023-11-14T22:13:20.123Z"  # NOW, as SNS writes it
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
OTHER_TOPIC = "arn:aws:sns:us-east-1:999999999999:attacker"
CERT_URL = f"https://{SNS_HOST}{SNS_CERT_PATH}"
SUBSCRIBE = f"https://{SNS_HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37"
JWKS_PATH = "/oauth2/v3/certs"
AUDIENCE = "https://hooks.example.com/pubsub"
ACCOUNT = "pusher@my-project.iam.gserviceaccount.com"


@dataclass
class Setup:
    server: KeyServer
    fetcher: KeyFetcher
    clock: FakeClock

    def guard(self, *routes: dict[str, Any]) -> Guard:
        store = MemoryReplayStore(1000, clock=self.clock)
        config = {"version": 1, "routes": list(routes)}
        return Guard.from_dict(config, store=store, clock=self.clock, key_fetcher=self.fetcher)


PAYPAL_HOST = "api.sandbox.paypal.com"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with key_server(tmp_path, names=(*HOSTS, PAYPAL_HOST)) as server:
        # The fetcher a Guard would make, pointed at the local server.
        pins = {**server.pins(), PAYPAL_HOST: ("127.0.0.1", server.port)}
        fetcher = KeyFetcher(pins=pins, ssl_context=server.client_context())
        yield Setup(server, fetcher, FakeClock(NOW))


# -- sns ----------------------------------------------------------------------------------

SNS_PAIR = keypair("sns")


def sns_route(name: str = "sns", topics: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"/hooks/{name}",
        "provider": "sns",
        "signature": {"topics": topics or [TOPIC]},
        **extra,
    }


def notification(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "order.paid",
        "Message": '{"order": 1}',
        "Timestamp": STAMP,
        "SigningCertURL": CERT_URL,
        **fields,
    }


def confirmation() -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE,
        "Timestamp": STAMP,
        "SigningCertURL": CERT_URL,
    }


def sns_post(body: bytes, path: str = "/hooks/sns") -> WebhookRequest:
    kind = json.loads(body).get("Type", "Notification") if body.startswith(b"{") else "x"
    headers = {"x-amz-sns-message-type": str(kind), "content-type": "text/plain; charset=UTF-8"}
    return WebhookRequest("POST", path, headers=headers, body=body, peer="203.0.113.9")


def serve_cert(setup: Setup) -> None:
    setup.server.serve(SNS_CERT_PATH, SNS_PAIR.public_key)


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_notification_verifies_and_dedups_on_message_id(setup: Setup, version: str) -> None:
    serve_cert(setup)
    guard = setup.guard(sns_route())
    body = sns_body(notification(), SNS_PAIR.private_key, version=version)
    verdict = guard.check(sns_post(body))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    assert verdict.timestamp == int(NOW)
    guard.complete(verdict, 200)
    assert guard.check(sns_post(body)).reason is Reason.DUPLICATE_EVENT
    # Another message: the certificate comes from the cache.
    other = sns_body(notification(MessageId="m-2"), SNS_PAIR.private_key, version=version)
    assert guard.check(sns_post(other)).ok
    assert setup.server.requests == [SNS_CERT_PATH]


def test_sns_message_from_another_topic_is_refused(setup: Setup) -> None:
    # Any AWS account can have SNS sign its own topic's messages.
    serve_cert(setup)
    guard = setup.guard(sns_route())
    body = sns_body(notification(TopicArn=OTHER_TOPIC), SNS_PAIR.private_key)
    verdict = guard.check(sns_post(body))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    assert "TopicArn" in verdict.detail


def test_sns_signature_moved_to_a_route_for_another_topic(setup: Setup) -> None:
    serve_cert(setup)
    guard = setup.guard(sns_route("a"), sns_route("b", topics=[OTHER_TOPIC]))
    body = sns_body(notification(), SNS_PAIR.private_key)
    assert guard.check(sns_post(body, "/hooks/a")).ok
    assert guard.check(sns_post(body, "/hooks/b")).reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Message": '{"order": 2}'}, Reason.SIGNATURE_MISMATCH),  # tampered body
        ({"Signature": None}, Reason.SIGNATURE_MISSING),
        ({"Signature": "not base64!"}, Reason.SIGNATURE_MALFORMED),
        ({"SignatureVersion": "3"}, Reason.SIGNATURE_MALFORMED),  # wrong scheme version
        ({"SignatureVersion": "1"}, Reason.SIGNATURE_MISMATCH),  # a v2 signature as v1
    ],
)
def test_sns_tampering(setup: Setup, change: dict[str, Any], reason: Reason) -> None:
    serve_cert(setup)
    signed = json.loads(sns_body(notification(), SNS_PAIR.private_key))
    signed = {k: v for k, v in {**signed, **change}.items() if v is not None}
    verdict = setup.guard(sns_route()).check(sns_post(json.dumps(signed).encode()))
    assert verdict.reason is reason, verdict.detail


def test_sns_message_signed_with_another_key(setup: Setup) -> None:
    serve_cert(setup)
    body = sns_body(notification(), keypair("sns").private_key)
    verdict = setup.guard(sns_route()).check(sns_post(body))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        ("2023-11-14T22:08:19.000Z", Reason.TIMESTAMP_TOO_OLD),  # 301 s before NOW
        ("2023-11-14T22:18:21.000Z", Reason.TIMESTAMP_IN_FUTURE),  # 301 s after
        ("yesterday", Reason.TIMESTAMP_MALFORMED),
        (None, Reason.TIMESTAMP_MISSING),
    ],
)
def test_sns_timestamp_window(setup: Setup, stamp: str | None, reason: Reason) -> None:
    serve_cert(setup)
    body = json.loads(sns_body(notification(Timestamp=stamp or STAMP), SNS_PAIR.private_key))
    if stamp is None:
        del body["Timestamp"]
    verdict = setup.guard(sns_route()).check(sns_post(json.dumps(body).encode()))
    assert verdict.reason is reason, verdict.detail


def test_sns_attackers_certificate_url_is_never_fetched(setup: Setup) -> None:
    serve_cert(setup)
    url = f"https://{SNS_HOST}.evil.example{SNS_CERT_PATH}"
    body = sns_body(notification(SigningCertURL=url), SNS_PAIR.private_key)
    verdict = setup.guard(sns_route()).check(sns_post(body))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED
    assert setup.server.requests == []


def test_sns_certificate_unavailable_is_503_never_an_accept(setup: Setup) -> None:
    # Nothing served: the pinned host answers 404.
    verdict = setup.guard(sns_route()).check(
        sns_post(sns_body(notification(), SNS_PAIR.private_key))
    )
    assert verdict.reason is Reason.KEY_UNAVAILABLE
    assert verdict.status == 503
    assert not verdict.ok


def test_sns_confirmation_reaches_the_app_by_default(setup: Setup) -> None:
    serve_cert(setup)
    verdict = setup.guard(sns_route()).check(
        sns_post(sns_body(confirmation(), SNS_PAIR.private_key))
    )
    assert verdict.ok, verdict.detail
    assert verdict.answer is None
    assert setup.server.requests == [SNS_CERT_PATH]  # the SubscribeURL was not visited


def test_sns_confirmation_confirmed_by_the_guard_when_asked(setup: Setup) -> None:
    serve_cert(setup)
    confirm_path = SUBSCRIBE.removeprefix(f"https://{SNS_HOST}")
    setup.server.serve(confirm_path, "<ConfirmSubscriptionResponse/>")
    guard = setup.guard(sns_route(handshake={"confirm": True}))
    verdict = guard.check(sns_post(sns_body(confirmation(), SNS_PAIR.private_key)))
    assert verdict.reason is Reason.HANDSHAKE, verdict.detail
    assert verdict.status == 200
    assert setup.server.requests == [SNS_CERT_PATH, confirm_path]
    # A notification is not a handshake, even on this route.
    assert guard.check(sns_post(sns_body(notification(), SNS_PAIR.private_key))).ok


def test_sns_forged_confirmation_is_never_confirmed(setup: Setup) -> None:
    serve_cert(setup)
    confirm_path = SUBSCRIBE.removeprefix(f"https://{SNS_HOST}")
    setup.server.serve(confirm_path, "<ConfirmSubscriptionResponse/>")
    guard = setup.guard(sns_route(handshake={"confirm": True}))
    forged = sns_body(confirmation(), keypair("sns").private_key)
    verdict = guard.check(sns_post(forged))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    assert verdict.answer is None
    assert confirm_path not in setup.server.requests


def test_sns_failed_confirmation_is_503_so_sns_retries(setup: Setup) -> None:
    serve_cert(setup)
    setup.server.serve(SUBSCRIBE.removeprefix(f"https://{SNS_HOST}"), "denied", 403)
    guard = setup.guard(sns_route(handshake={"confirm": True}))
    verdict = guard.check(sns_post(sns_body(confirmation(), SNS_PAIR.private_key)))
    assert verdict.reason is Reason.KEY_UNAVAILABLE
    assert verdict.status == 503


def test_sns_retry_of_a_failed_confirmation_visits_aws_again(setup: Setup) -> None:
    """SNS retries a confirmation its endpoint answered 503 (20 s later by default): the
    retry must reach AWS again, not the memory of the failure."""
    serve_cert(setup)
    confirm_path = SUBSCRIBE.removeprefix(f"https://{SNS_HOST}")
    setup.server.serve(confirm_path, "try again", 503)
    guard = setup.guard(sns_route(handshake={"confirm": True}))
    body = sns_body(confirmation(), SNS_PAIR.private_key)
    assert guard.check(sns_post(body)).reason is Reason.KEY_UNAVAILABLE
    setup.server.serve(confirm_path, "<ConfirmSubscriptionResponse/>")
    setup.clock.advance(20)
    retried = guard.check(sns_post(body))
    assert retried.reason is Reason.HANDSHAKE, retried.detail
    assert setup.server.requests.count(confirm_path) == 2
    # Once confirmed, replays of the captured confirmation do not each visit AWS.
    for _ in range(3):
        assert guard.check(sns_post(body)).reason is Reason.HANDSHAKE
    assert setup.server.requests.count(confirm_path) == 2


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (
            {"name": "s", "path": "/s", "provider": "sns"},
            "routes[0].signature.topics: missing: the TopicArn values to accept",
        ),
        (
            {**sns_route(), "secrets": ["x"]},
            "routes[0].secrets: provider 'sns' verifies with the certificate AWS publishes",
        ),
        (
            {**sns_route(), "signature": {"topics": []}},
            "routes[0].signature.topics: is empty",
        ),
        (
            {"name": "g", "path": "/g", "provider": "github", "secrets": ["s"],
             "signature": {"topics": [TOPIC]}},
            "routes[0].signature.topics: only applies to provider sns",
        ),
    ],
)  # fmt: skip
def test_sns_config_errors(route: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as info:
        Guard.from_dict({"version": 1, "routes": [route]})
    assert str(info.value).startswith(error), str(info.value)


# -- google-pubsub ------------------------------------------------------------------------

GOOGLE_PAIR = keypair("google-pubsub")


def pubsub_route(name: str = "pubsub", audience: str = AUDIENCE) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"/hooks/{name}",
        "provider": "google-pubsub",
        "signature": {"audience": audience, "emails": [ACCOUNT]},
    }


def push_body(message_id: str = "2070443601311540") -> bytes:
    return json.dumps(
        {
            "message": {
                "data": "eyJvcmRlciI6IDF9",
                "messageId": message_id,
                "publishTime": "2023-11-14T22:13:20.123Z",
            },
            "subscription": "projects/my-project/subscriptions/orders-push",
        }
    ).encode()


def push(
    token: str | None, body: bytes | None = None, path: str = "/hooks/pubsub"
) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return WebhookRequest("POST", path, headers=headers, body=body or push_body())


def serve_jwks(setup: Setup) -> None:
    setup.server.serve(JWKS_PATH, GOOGLE_PAIR.public_key, Content_Type="application/json")


def good_token(**claims: Any) -> str:
    claims.setdefault("audience", AUDIENCE)
    claims.setdefault("email", ACCOUNT)
    return google_push_token(GOOGLE_PAIR, **claims)


def test_pubsub_push_verifies_and_dedups_on_message_id(setup: Setup) -> None:
    serve_jwks(setup)
    guard = setup.guard(pubsub_route())
    verdict = guard.check(push(good_token()))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "2070443601311540"
    guard.complete(verdict, 200)
    # Google's redelivery keeps the message ID (and may carry a fresh token).
    assert guard.check(push(good_token())).reason is Reason.DUPLICATE_EVENT
    assert guard.check(push(good_token(), push_body("2070443601311541"))).ok
    assert setup.server.requests == [JWKS_PATH]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, Reason.SIGNATURE_MISSING),
        ("not-a-jwt", Reason.SIGNATURE_MALFORMED),
        ("AUDIENCE", Reason.SIGNATURE_MISMATCH),  # a token for another audience
        ("EMAIL", Reason.SIGNATURE_MISMATCH),  # another service account's token
        ("KEY", Reason.SIGNATURE_MISMATCH),  # another key pair, same kid
        ("STALE", Reason.TIMESTAMP_TOO_OLD),
        ("FUTURE", Reason.TIMESTAMP_IN_FUTURE),
    ],
)
def test_pubsub_attacks(setup: Setup, token: str | None, reason: Reason) -> None:
    serve_jwks(setup)
    forged = {
        "AUDIENCE": lambda: good_token(audience="https://attacker.example/"),
        "EMAIL": lambda: good_token(email="me@attacker.iam.gserviceaccount.com"),
        "KEY": lambda: google_push_token(
            replace(GOOGLE_PAIR, private_key=keypair("google-pubsub").private_key),
            audience=AUDIENCE,
            email=ACCOUNT,
        ),
        "STALE": lambda: good_token(issued_at=time.time() - 7200),
        "FUTURE": lambda: good_token(issued_at=time.time() + 600),
    }
    sent = forged[token]() if token in forged else token
    verdict = setup.guard(pubsub_route()).check(push(sent))
    assert verdict.reason is reason, verdict.detail


def test_pubsub_token_moved_to_a_route_with_another_audience(setup: Setup) -> None:
    serve_jwks(setup)
    guard = setup.guard(pubsub_route("a"), pubsub_route("b", audience=AUDIENCE + "/b"))
    token = good_token()
    assert guard.check(push(token, path="/hooks/a")).ok
    assert guard.check(push(token, path="/hooks/b")).reason is Reason.SIGNATURE_MISMATCH


def test_pubsub_keys_unavailable_is_503_never_an_accept(setup: Setup) -> None:
    verdict = setup.guard(pubsub_route()).check(push(good_token()))
    assert verdict.reason is Reason.KEY_UNAVAILABLE
    assert verdict.status == 503


@pytest.mark.parametrize(
    ("signature", "error"),
    [
        ({"emails": [ACCOUNT]}, "routes[0].signature.audience: missing"),
        ({"audience": AUDIENCE}, "routes[0].signature.emails: missing"),
    ],
)
def test_pubsub_config_errors(signature: dict[str, Any], error: str) -> None:
    route = {"name": "p", "path": "/p", "provider": "google-pubsub", "signature": signature}
    with pytest.raises(ConfigError) as info:
        Guard.from_dict({"version": 1, "routes": [route]})
    assert str(info.value).startswith(error), str(info.value)


# -- paypal -------------------------------------------------------------------------------

PAYPAL_PAIR = keypair("paypal")
WEBHOOK_ID = "9XL90610J3647323C"
PAYPAL_CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
PAYPAL_CERT_URL = f"https://{PAYPAL_HOST}{PAYPAL_CERT_PATH}"
PAYPAL_TIME = "2023-11-14T22:13:20Z"  # NOW
PAYPAL_EVENT = (
    b'{"id":"WH-9UG43882HX7271132-6E0871324L7949614","event_type":"PAYMENT.SALE.COMPLETED"}'
)


def paypal_route(name: str = "paypal", webhook_id: str = WEBHOOK_ID) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"/hooks/{name}",
        "provider": "paypal",
        "signature": {"webhook_id": webhook_id},
    }


def paypal_signed(
    body: bytes = PAYPAL_EVENT,
    *,
    private_key: str = PAYPAL_PAIR.private_key,
    transmission_id: str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
    time_sent: str = PAYPAL_TIME,
    webhook_id: str = WEBHOOK_ID,
) -> dict[str, str]:
    """PayPal's headers, the documented algorithm written out with zlib and cryptography:
    SHA256withRSA over ``id|time|webhook_id|crc32(body)`` (unsigned decimal)."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = f"{transmission_id}|{time_sent}|{webhook_id}|{crc}".encode()
    key = serialization.load_pem_private_key(private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": time_sent,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": PAYPAL_CERT_URL,
    }


def paypal_post(
    headers: dict[str, str], body: bytes = PAYPAL_EVENT, path: str = "/hooks/paypal"
) -> WebhookRequest:
    return WebhookRequest("POST", path, headers=headers, body=body, peer="203.0.113.9")


def serve_paypal(setup: Setup) -> None:
    setup.server.serve(PAYPAL_CERT_PATH, PAYPAL_PAIR.public_key)


def test_paypal_delivery_verifies_and_dedups_on_the_event_id(setup: Setup) -> None:
    serve_paypal(setup)
    guard = setup.guard(paypal_route())
    verdict = guard.check(paypal_post(paypal_signed()))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "WH-9UG43882HX7271132-6E0871324L7949614"
    guard.complete(verdict, 200)
    # PayPal's retry: a new transmission (ID, time, signature) of the same event.
    retry = paypal_signed(transmission_id="7f2e0a40-d67a-11e5-baa3-778b53f4ae55")
    assert guard.check(paypal_post(retry)).reason is Reason.DUPLICATE_EVENT
    assert setup.server.requests == [PAYPAL_CERT_PATH]


def crc32_twin(prefix: bytes, suffix: bytes, target: int, filler: int = 48) -> bytes:
    """``prefix + <letters> + suffix`` with CRC32 ``target``: what anyone holding one
    genuine delivery can write, since CRC32 is affine (each letter flips known bits)."""
    base = prefix + b"a" * filler + suffix
    start = zlib.crc32(base)
    flips = []  # CRC difference of turning letter i from 'a' into 'c'
    for i in range(filler):
        changed = bytearray(base)
        changed[len(prefix) + i] = ord("c")
        flips.append(zlib.crc32(bytes(changed)) ^ start)
    basis: list[tuple[int, int]] = []  # Gaussian elimination over GF(2)
    for i, vector in enumerate(flips):
        chosen = 1 << i
        for b_vector, b_chosen in basis:
            if vector ^ b_vector < vector:
                vector, chosen = vector ^ b_vector, chosen ^ b_chosen
        if vector:
            basis.append((vector, chosen))
            basis.sort(reverse=True)
    want, chosen = start ^ target, 0
    for b_vector, b_chosen in basis:
        if want ^ b_vector < want:
            want, chosen = want ^ b_vector, chosen ^ b_chosen
    assert want == 0
    letters = bytes(ord("c") if chosen >> i & 1 else ord("a") for i in range(filler))
    twin = prefix + letters + suffix
    assert zlib.crc32(twin) == target
    return twin


def test_paypal_body_rewritten_under_a_captured_signature_is_a_duplicate(setup: Setup) -> None:
    """PayPal signs the body only through its CRC32: a captured delivery's headers verify
    another body with the same CRC32 (another event ``id``, another amount). The signed
    transmission ID is reserved beside the event ID, so each transmission is used once."""
    serve_paypal(setup)
    guard = setup.guard(paypal_route())
    headers = paypal_signed()
    genuine = guard.check(paypal_post(headers))
    assert genuine.ok, genuine.detail
    twin = crc32_twin(b'{"id":"WH-FORGED-1","event_type":"PAYMENT.SALE.COMPLETED","x":"', b'"}',
                      zlib.crc32(PAYPAL_EVENT))  # fmt: skip
    in_flight = guard.check(paypal_post(headers, twin))
    assert in_flight.reason is Reason.EVENT_IN_FLIGHT  # the genuine one is still being handled
    guard.complete(genuine, 200)
    forged = guard.check(paypal_post(headers, twin))
    assert forged.reason is Reason.DUPLICATE_EVENT
    assert forged.event_id == "WH-FORGED-1"


def test_paypal_transmission_released_with_its_event(setup: Setup) -> None:
    """Both keys settle together: a handler's failure releases the transmission too, so
    PayPal's retry of it is processed, not refused."""
    serve_paypal(setup)
    guard = setup.guard(paypal_route())
    first = guard.check(paypal_post(paypal_signed()))
    assert first.ok
    guard.complete(first, 500)
    again = guard.check(paypal_post(paypal_signed()))
    assert again.ok, again.detail


def test_paypal_store_failing_on_the_transmission_lets_the_event_go(setup: Setup) -> None:
    """A store that fails between the two reservations must not leave the event's key
    held: PayPal's retry after the 503 is processed, not answered 409 until it expires."""

    class FailsOnTransmissions(MemoryReplayStore):
        broken = True

        def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
            if self.broken and ":transmission " in key:
                raise ConnectionError("store down")
            return super().reserve(key, ttl, token)

    serve_paypal(setup)
    store = FailsOnTransmissions(1000, clock=setup.clock)
    config = {"version": 1, "routes": [paypal_route()]}
    guard = Guard.from_dict(config, store=store, clock=setup.clock, key_fetcher=setup.fetcher)
    failed = guard.check(paypal_post(paypal_signed()))
    assert (failed.reason, failed.status) == (Reason.REPLAY_STORE_UNAVAILABLE, 503)
    store.broken = False
    assert guard.check(paypal_post(paypal_signed())).ok


def test_paypal_transmission_committed_when_the_event_commit_fails(setup: Setup) -> None:
    """Each key is settled on its own: a store failing to commit the event key still
    commits the transmission key, so the CRC32 forgery stays closed."""

    class EventCommitFails(MemoryReplayStore):
        def commit(self, key: str, ttl: float, token: str) -> None:
            if " " not in key:
                raise ConnectionError("store down")
            super().commit(key, ttl, token)

    serve_paypal(setup)
    store = EventCommitFails(1000, clock=setup.clock)
    config = {"version": 1, "routes": [paypal_route()]}
    guard = Guard.from_dict(config, store=store, clock=setup.clock, key_fetcher=setup.fetcher)
    headers = paypal_signed()
    genuine = guard.check(paypal_post(headers))
    assert genuine.ok
    guard.complete(genuine, 200)
    twin = crc32_twin(b'{"id":"WH-FORGED-2","x":"', b'"}', zlib.crc32(PAYPAL_EVENT))
    setup.clock.advance(120)  # the event key's reservation has timed out
    assert guard.check(paypal_post(headers, twin)).reason is Reason.DUPLICATE_EVENT


def test_paypal_testing_sign_matches_the_documented_algorithm(setup: Setup) -> None:
    guard = setup.guard(paypal_route())
    when = int(NOW)
    ours = sign(guard, "paypal", PAYPAL_EVENT, secret=PAYPAL_PAIR.private_key, timestamp=when,
                event_id="69cd13f0-d67a-11e5-baa3-778b53f4ae55")  # fmt: skip
    expected = paypal_signed()
    # PKCS#1 v1.5 is deterministic: the same bytes, byte for byte (but its test cert URL).
    assert ours["paypal-transmission-sig"] == expected["PAYPAL-TRANSMISSION-SIG"]
    assert ours["paypal-transmission-time"] == PAYPAL_TIME
    setup.server.serve(TEST_CERT_URL.removeprefix(f"https://{PAYPAL_HOST}"), PAYPAL_PAIR.public_key)
    assert guard.check(paypal_post(ours)).ok


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": PAYPAL_EVENT.replace(b"SALE", b"SELL")}, Reason.SIGNATURE_MISMATCH),
        ({"private_key": keypair("paypal").private_key}, Reason.SIGNATURE_MISMATCH),
        ({"webhook_id": "OTHERACCOUNTHOOK"}, Reason.SIGNATURE_MISMATCH),
        ({"time_sent": "2023-11-14T22:08:19Z"}, Reason.TIMESTAMP_TOO_OLD),
        ({"time_sent": "2023-11-14T22:18:21Z"}, Reason.TIMESTAMP_IN_FUTURE),
        ({"PAYPAL-TRANSMISSION-SIG": None}, Reason.SIGNATURE_MISSING),
        ({"PAYPAL-TRANSMISSION-SIG": "bm90IGEgc2lnbmF0dXJl"}, Reason.SIGNATURE_MALFORMED),
        ({"PAYPAL-AUTH-ALGO": "SHA1withRSA"}, Reason.SIGNATURE_MALFORMED),  # other version
        ({"PAYPAL-TRANSMISSION-TIME": None}, Reason.TIMESTAMP_MISSING),
    ],
)
def test_paypal_attacks(setup: Setup, change: dict[str, Any], reason: Reason) -> None:
    serve_paypal(setup)
    body = change.pop("body", PAYPAL_EVENT)
    options = {k: v for k, v in change.items() if not k.startswith("PAYPAL-")}
    headers = paypal_signed(**options)
    for name, value in change.items():
        if name.startswith("PAYPAL-"):
            headers.pop(name)
            if value is not None:
                headers[name] = value
    verdict = setup.guard(paypal_route()).check(paypal_post(headers, body))
    assert verdict.reason is reason, verdict.detail


def test_paypal_signature_moved_to_a_route_for_another_webhook(setup: Setup) -> None:
    serve_paypal(setup)
    guard = setup.guard(paypal_route("a"), paypal_route("b", webhook_id="5GP028458E2496506"))
    headers = paypal_signed()
    assert guard.check(paypal_post(headers, path="/hooks/a")).ok
    moved = guard.check(paypal_post(headers, path="/hooks/b"))
    assert moved.reason is Reason.SIGNATURE_MISMATCH


def test_paypal_attackers_certificate_url_is_never_fetched(setup: Setup) -> None:
    serve_paypal(setup)
    headers = {**paypal_signed(), "PAYPAL-CERT-URL": f"https://evil.example{PAYPAL_CERT_PATH}"}
    verdict = setup.guard(paypal_route()).check(paypal_post(headers))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED
    assert setup.server.requests == []


def test_paypal_certificate_unavailable_is_503(setup: Setup) -> None:
    verdict = setup.guard(paypal_route()).check(paypal_post(paypal_signed()))
    assert verdict.reason is Reason.KEY_UNAVAILABLE
    assert verdict.status == 503


def test_paypal_needs_its_webhook_id() -> None:
    route = {"name": "p", "path": "/p", "provider": "paypal"}
    with pytest.raises(ConfigError, match=r"^routes\[0\]\.signature\.webhook_id: missing"):
        Guard.from_dict({"version": 1, "routes": [route]})


def test_sns_behind_uvicorn_confirms_then_delivers(setup: Setup) -> None:
    """As SNS calls an HTTPS subscription: the confirmation is answered by the guard (it
    visits the pinned SubscribeURL), notifications reach the app, a forged one does not."""
    import httpx

    from webhook_guard.adapters.asgi import GuardMiddleware

    from .servers import serve_asgi

    serve_cert(setup)
    confirm_path = SUBSCRIBE.removeprefix(f"https://{SNS_HOST}")
    setup.server.serve(confirm_path, "<ConfirmSubscriptionResponse/>")
    reached: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append((await receive()).get("body", b""))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    # Real time here (uvicorn, SNS's Timestamp): messages are stamped now.
    setup.clock.now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(setup.clock.now))
    guard = setup.guard(sns_route(handshake={"confirm": True}))
    with serve_asgi(GuardMiddleware(app, guard=guard)) as url, httpx.Client(base_url=url) as http:

        def send(message: dict[str, Any], private_key: str = SNS_PAIR.private_key) -> Any:
            body = sns_body({**message, "Timestamp": stamp}, private_key)
            headers = {"x-amz-sns-message-type": message["Type"], "content-type": "text/plain"}
            return http.post("/hooks/sns", content=body, headers=headers)

        confirmed = send(confirmation())
        assert confirmed.status_code == 200
        assert setup.server.requests[-1] == confirm_path
        assert send(notification()).status_code == 204
        assert send(notification(MessageId="m-3"), keypair("sns").private_key).status_code == 401
        assert len(reached) == 1
        assert json.loads(reached[0])["MessageId"] == "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
