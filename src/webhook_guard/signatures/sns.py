"""AWS SNS HTTP(S) message verification, SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA).

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the
string to sign is ``Name\\nValue\\n`` for each field of the message type, in byte order;
``Subject`` only when present. The certificate is fetched from ``SigningCertURL`` only
when that is an SNS certificate URL (see :mod:`.keyfetch`), so a request cannot bring
its own key.

Anyone can create an SNS topic, and AWS signs that topic's messages with the same
certificates, so a valid signature alone proves only "sent by SNS". :func:`verify_sns`
therefore also requires the message's ``TopicArn`` to be one the route names.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..verdict import Reason
from .base import Failure
from .keyfetch import KeyFetcher, KeyUnavailable, sns_certificate_url_ok, sns_subscribe_url_ok
from .pubkey import Algorithm, fetched_certificate_key, verify_text
from .timestamps import parse_timestamp, timestamp_outcome

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
#: The fields each message type signs, in the order they are signed.
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}
#: SignatureVersion -> signature algorithm.
VERSIONS: dict[str, Algorithm] = {"1": "rsa-sha1", "2": "rsa-sha256"}
_OPTIONAL = frozenset({"Subject"})


@dataclass(frozen=True)
class SnsMessage:
    """A verified SNS message: what a preset needs for dedup, handshakes and the app."""

    type: str
    message_id: str
    topic_arn: str
    timestamp: int
    """Unix seconds."""
    subscribe_url: str | None
    fields: Mapping[str, Any]


def canonical_string(message: Mapping[str, Any]) -> bytes | Failure:
    """The bytes SNS signed for ``message`` (the parsed JSON body), or why there are none."""
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return Failure(
            Reason.SIGNATURE_MALFORMED,
            "Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation",
        )
    out: list[str] = []
    for name in fields:
        value = message.get(name)
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, str):
            return Failure(Reason.SIGNATURE_MALFORMED, f"{name} must be a string in a {kind}")
        out.append(f"{name}\n{value}\n")
    return "".join(out).encode()


def verify_sns(
    body: bytes,
    fetcher: KeyFetcher,
    *,
    topic_arns: Collection[str],
    tolerance: int | None,
    now: float,
) -> SnsMessage | Failure | KeyUnavailable:
    """Verify an SNS message body (JSON) against the certificate AWS publishes for it.

    Args:
        body: the raw request body.
        fetcher: built with ``allowed=sns_certificate_url_ok``; checked again here.
        topic_arns: the topics this route accepts (an empty collection accepts none).
        tolerance: seconds either side of ``now`` the signed ``Timestamp`` may be, or
            ``None`` for no window (replay protection then rests on ``MessageId``).
        now: Unix seconds.

    Returns:
        The verified message; a failure (``signature_*``, ``timestamp_*``); or
        :class:`KeyUnavailable` when the certificate cannot be had (503, retry later).
    """
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        message = None
    if not isinstance(message, dict):
        return Failure(Reason.SIGNATURE_MISSING, "the body is not an SNS message (JSON object)")
    signature, version, cert_url = (
        message.get(k) for k in ("Signature", "SignatureVersion", "SigningCertURL")
    )
    if signature is None:
        return Failure(Reason.SIGNATURE_MISSING, "the SNS message has no Signature")
    algorithm = VERSIONS.get(version) if isinstance(version, str) else None
    if algorithm is None:
        return Failure(Reason.SIGNATURE_MALFORMED, "SignatureVersion must be 1 or 2")
    if not isinstance(signature, str):
        return Failure(Reason.SIGNATURE_MALFORMED, "Signature must be a base64 string")
    if not (isinstance(cert_url, str) and sns_certificate_url_ok(cert_url)):
        return Failure(
            Reason.SIGNATURE_MALFORMED,
            "SigningCertURL is not https://sns.<region>.amazonaws.com/"
            "SimpleNotificationService-<id>.pem",
        )
    signed = canonical_string(message)
    if isinstance(signed, Failure):
        return signed
    stamp = message["Timestamp"]
    ts = (
        parse_timestamp(stamp, "rfc3339")
        if tolerance is None
        else timestamp_outcome(stamp, "rfc3339", tolerance, now)
    )
    if isinstance(ts, Failure):
        return ts
    key = fetched_certificate_key(fetcher, cert_url, algorithm)
    if isinstance(key, KeyUnavailable):
        return key
    failure = verify_text(key, algorithm, signature, signed)
    if failure is not None:
        return failure
    # Checked after the signature: the ARN is then AWS's word, and a refusal for it
    # tells a sender nothing it did not sign itself.
    if message["TopicArn"] not in topic_arns:
        return Failure(Reason.SIGNATURE_MISMATCH, "the TopicArn is not one this route accepts")
    url = message.get("SubscribeURL")
    return SnsMessage(
        type=message["Type"],
        message_id=message["MessageId"],
        topic_arn=message["TopicArn"],
        timestamp=ts,
        subscribe_url=url if isinstance(url, str) else None,
        fields=message,
    )


def confirm_subscription(message: SnsMessage, fetcher: KeyFetcher) -> KeyUnavailable | None:
    """Confirm a verified ``SubscriptionConfirmation`` by visiting its ``SubscribeURL``.

    Opt-in (the route's ``handshake: {confirm: true}``): the URL is signed by AWS, and is
    still visited only on a pinned SNS host, for the message's own topic.

    Args:
        fetcher: built with ``allowed=sns_subscribe_url_ok`` and ``ttl=0`` (nothing to
            cache); the URL is checked again here.

    Returns:
        ``None`` when AWS answered 200, else why not (the caller may answer 503 so SNS
        retries the confirmation).
    """
    url = message.subscribe_url
    if message.type != "SubscriptionConfirmation" or not url or not sns_subscribe_url_ok(url):
        return KeyUnavailable("the message has no SubscribeURL on an SNS host")
    topics = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("TopicArn")
    if topics != [message.topic_arn]:
        return KeyUnavailable("the SubscribeURL is for another topic")
    outcome = fetcher.get(url)
    return outcome if isinstance(outcome, KeyUnavailable) else None


__all__ = [
    "SIGNED_FIELDS",
    "VERSIONS",
    "SnsMessage",
    "canonical_string",
    "confirm_subscription",
    "verify_sns",
]
