"""AWS SNS: SignatureVersion 1 and 2 over each message type's canonical string, with the
certificate fetched from a pinned host (a local HTTPS server posing as sns.<region>)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Reason
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.keyfetch import (
    KeyFetcher,
    KeyUnavailable,
    sns_certificate_url_ok,
    sns_subscribe_url_ok,
)
from webhook_guard.signatures.sns import (
    SnsMessage,
    canonical_string,
    confirm_subscription,
    verify_sns,
)
from webhook_guard.signatures.testkeys import KeyPair, keypair, sign_sns

from .keyserver import SNS_CERT_PATH, SNS_HOST, KeyServer, key_server

NOW = 1_700_000_000
STAMP = "2023-11-14T22:13:20.123Z"  # NOW, in SNS's form
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
CERT_URL = f"https://{SNS_HOST}{SNS_CERT_PATH}"
SUBSCRIBE = f"https://{SNS_HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37"


def notification(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Subject": "My First Message",
        "Message": 'Hello world!\n{"a": "\\u00e9"}',
        "Timestamp": STAMP,
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": f"https://{SNS_HOST}/?Action=Unsubscribe&SubscriptionArn={TOPIC}:c9",
        **fields,
    }


def confirmation(kind: str = "SubscriptionConfirmation") -> dict[str, Any]:
    return {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE,
        "Timestamp": STAMP,
        "SigningCertURL": CERT_URL,
    }


def test_canonical_string_matches_the_aws_documented_example() -> None:
    """The Notification example string of the AWS guide (sns-verify-signature-of-message)."""
    message = {
        "Type": "Notification",
        "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
        "Subject": "My subject",
        "Message": "My Test Message",
        "Timestamp": "2019-01-31T04:37:04.321Z",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "SignatureVersion": "1",
        "Signature": "ignored",
    }
    assert canonical_string(message) == (
        b"Message\nMy Test Message\n"
        b"MessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        b"Subject\nMy subject\n"
        b"Timestamp\n2019-01-31T04:37:04.321Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nNotification\n"
    )
    del message["Subject"]  # optional: left out, not signed as empty
    assert b"Subject" not in canonical_string(message)  # type: ignore[operator]


def test_confirmation_string_has_subscribe_url_and_token_in_byte_order() -> None:
    for kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        signed = canonical_string(confirmation(kind))
        assert isinstance(signed, bytes)
        names = signed.decode().split("\n")[0::2][:-1]
        assert names == [
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[tuple[KeyServer, KeyPair, KeyFetcher]]:
    pair = keypair("sns")
    with key_server(tmp_path) as server:
        server.serve(SNS_CERT_PATH, pair.public_key)
        fetcher = KeyFetcher(
            sns_certificate_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        yield server, pair, fetcher


def check(
    fetcher: KeyFetcher, message: dict[str, Any] | bytes, **options: Any
) -> SnsMessage | Failure | KeyUnavailable:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    options.setdefault("topic_arns", [TOPIC])
    options.setdefault("tolerance", 300)
    return verify_sns(body, fetcher, now=NOW, **options)


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation", "Unsub"])
def test_each_type_and_version_verifies(
    aws: tuple[KeyServer, KeyPair, KeyFetcher], version: str, kind: str
) -> None:
    server, pair, fetcher = aws
    message = (
        notification()
        if kind == "Notification"
        else confirmation(kind.replace("Unsub", "UnsubscribeConfirmation"))
    )
    outcome = check(fetcher, sign_sns(message, pair.private_key, version=version))
    assert isinstance(outcome, SnsMessage), outcome
    assert outcome.message_id == message["MessageId"]
    assert outcome.timestamp == NOW
    assert outcome.topic_arn == TOPIC
    assert (outcome.subscribe_url is None) == (kind == "Notification")
    assert server.requests == [SNS_CERT_PATH]


def test_certificate_is_fetched_once_for_many_messages(
    aws: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    server, pair, fetcher = aws
    for i in range(5):
        signed = sign_sns(notification(MessageId=f"m{i}"), pair.private_key)
        assert isinstance(check(fetcher, signed), SnsMessage)
    assert server.requests == [SNS_CERT_PATH]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Message": "Hello world?"}, Reason.SIGNATURE_MISMATCH),
        ({"Subject": "Other"}, Reason.SIGNATURE_MISMATCH),
        ({"Type": "SubscriptionConfirmation"}, Reason.SIGNATURE_MALFORMED),  # no Token
        ({"MessageId": "another"}, Reason.SIGNATURE_MISMATCH),
        ({"SignatureVersion": "1"}, Reason.SIGNATURE_MISMATCH),  # v2 signature as v1
        ({"SignatureVersion": "3"}, Reason.SIGNATURE_MALFORMED),
        ({"SignatureVersion": 2}, Reason.SIGNATURE_MALFORMED),
        ({"Signature": "not base64!"}, Reason.SIGNATURE_MALFORMED),
        ({"Signature": base64.b64encode(bytes(256)).decode()}, Reason.SIGNATURE_MISMATCH),
        ({"Signature": base64.b64encode(bytes(128)).decode()}, Reason.SIGNATURE_MALFORMED),
        ({"Signature": 5}, Reason.SIGNATURE_MALFORMED),
        ({"Signature": None}, Reason.SIGNATURE_MISSING),
        ({"Timestamp": "2023-11-14T22:00:00.000Z"}, Reason.TIMESTAMP_TOO_OLD),
        ({"Timestamp": "2023-11-14T22:30:00.000Z"}, Reason.TIMESTAMP_IN_FUTURE),
        ({"Timestamp": "yesterday"}, Reason.TIMESTAMP_MALFORMED),
        ({"Message": ["not", "a", "string"]}, Reason.SIGNATURE_MALFORMED),
        ({"Type": "Notification2"}, Reason.SIGNATURE_MALFORMED),
    ],
)
def test_tampering_is_refused(
    aws: tuple[KeyServer, KeyPair, KeyFetcher], change: dict[str, Any], reason: Reason
) -> None:
    _, pair, fetcher = aws
    signed = sign_sns(notification(), pair.private_key)
    signed.update(change)
    signed = {k: v for k, v in signed.items() if v is not None}
    outcome = check(fetcher, signed)
    assert isinstance(outcome, Failure), outcome
    assert outcome.reason is reason, outcome


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        f"https://{SNS_HOST}.evil.com{SNS_CERT_PATH}",
        f"http://{SNS_HOST}{SNS_CERT_PATH}",
    ],
)
def test_a_certificate_url_of_the_senders_choosing_is_refused_unfetched(
    aws: tuple[KeyServer, KeyPair, KeyFetcher], url: str
) -> None:
    """The attack SNS verification exists to stop: sign with your own key and point
    SigningCertURL at your own certificate."""
    server, pair, fetcher = aws
    signed = sign_sns(notification(SigningCertURL=url), pair.private_key)
    outcome = check(fetcher, signed)
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.SIGNATURE_MALFORMED
    assert "SigningCertURL" in outcome.detail
    assert server.requests == []


def test_a_valid_message_for_another_topic_is_refused(
    aws: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    """Anyone can create a topic AWS signs for; the route's topics are the pin."""
    _, pair, fetcher = aws
    signed = sign_sns(notification(TopicArn="arn:aws:sns:us-east-1:666:attacker"), pair.private_key)
    outcome = check(fetcher, signed)
    assert outcome == Failure(
        Reason.SIGNATURE_MISMATCH, "the TopicArn is not one this route accepts"
    )
    assert isinstance(check(fetcher, signed, topic_arns=[]), Failure)


def test_a_message_signed_with_another_key_is_refused(
    aws: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    _, _, fetcher = aws
    outcome = check(fetcher, sign_sns(notification(), keypair("sns").private_key))
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.SIGNATURE_MISMATCH


def test_unreachable_or_bad_certificate_is_key_unavailable(tmp_path: Path) -> None:
    pair = keypair("sns")
    with key_server(tmp_path) as server:
        fetcher = KeyFetcher(
            sns_certificate_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        signed = sign_sns(notification(), pair.private_key)
        outcome = check(fetcher, signed)  # 404
        assert isinstance(outcome, KeyUnavailable)
        server.serve(SNS_CERT_PATH, "not a certificate")
        fetcher = KeyFetcher(
            sns_certificate_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        outcome = check(fetcher, signed)
        assert outcome == KeyUnavailable(f"{CERT_URL} did not serve a PEM certificate")
        server.serve(SNS_CERT_PATH, keypair("paypal").public_key)  # a different, valid cert
        fetcher = KeyFetcher(
            sns_certificate_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        outcome = check(fetcher, signed)
        assert isinstance(outcome, Failure)
        assert outcome.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"null", b"\xff\xfe", b"{" * 100_000, b'{"Type": "Notification"}']
)
def test_hostile_bodies_never_raise(
    aws: tuple[KeyServer, KeyPair, KeyFetcher], body: bytes
) -> None:
    server, _, fetcher = aws
    outcome = check(fetcher, body)
    assert isinstance(outcome, Failure)
    assert outcome.reason in (Reason.SIGNATURE_MISSING, Reason.SIGNATURE_MALFORMED)
    assert server.requests == []


def test_no_window_still_parses_the_timestamp(aws: tuple[KeyServer, KeyPair, KeyFetcher]) -> None:
    _, pair, fetcher = aws
    old = sign_sns(notification(Timestamp="2012-05-02T00:54:06.655Z"), pair.private_key)
    outcome = check(fetcher, old, tolerance=None)
    assert isinstance(outcome, SnsMessage)
    assert outcome.timestamp == 1_335_920_046


def test_confirming_a_verified_subscription_visits_only_its_pinned_url(
    aws: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    server, pair, fetcher = aws
    outcome = check(fetcher, sign_sns(confirmation(), pair.private_key))
    assert isinstance(outcome, SnsMessage)
    confirm_path = SUBSCRIBE.removeprefix(f"https://{SNS_HOST}")
    server.serve(confirm_path, "<ConfirmSubscriptionResponse/>")
    confirmer = KeyFetcher(
        sns_subscribe_url_ok,
        ttl=0,
        pins=server.pins(),
        ssl_context=server.client_context(),
    )
    assert confirm_subscription(outcome, confirmer) is None
    assert server.requests[-1] == confirm_path
    # A notification, or a SubscribeURL for another topic or host, is never visited.
    note = check(fetcher, sign_sns(notification(), pair.private_key))
    assert isinstance(note, SnsMessage)
    assert isinstance(confirm_subscription(note, confirmer), KeyUnavailable)
    for url in (
        SUBSCRIBE.replace(TOPIC, TOPIC + "-other"),
        SUBSCRIBE.replace(SNS_HOST, "evil.com"),
    ):
        forged = SnsMessage(outcome.type, "m", TOPIC, NOW, url, {})
        assert isinstance(confirm_subscription(forged, confirmer), KeyUnavailable)
    assert server.requests.count(confirm_path) == 1
    server.serve(confirm_path, "denied", 403)
    assert confirm_subscription(outcome, confirmer) == KeyUnavailable(
        f"fetching {SUBSCRIBE} answered HTTP 403"
    )
