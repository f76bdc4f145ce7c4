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

import hashlib
import json
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..request import WebhookRequest
from ..secrets import Secret
from ..verdict import Reason
from .base import Failure, HmacScheme, ParsedSignature, SignatureSpec
from .keyfetch import (
    NO_FETCHER,
    KeyFetcher,
    KeyUnavailable,
    sns_certificate_url_ok,
    sns_subscribe_url_ok,
)
from .pubkey import (
    Algorithm,
    decode_signature,
    fetched_certificate_key,
    signature_shape_ok,
    verify_signature,
)
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
    # surrogatepass: a lone surrogate from a \ud800 escape cannot verify, but must not raise.
    return "".join(out).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class _Signed:
    """An SNS message whose signature fields are well formed, before anything is trusted."""

    message: Mapping[str, Any]
    algorithm: Algorithm
    signature: bytes
    cert_url: str
    signed: bytes


def read_message(body: bytes) -> _Signed | Failure:
    """The parts of an SNS message body (JSON) needed to verify it, or why it is none.

    Checks only shapes: the ``SigningCertURL`` is an SNS certificate URL, the signature
    base64 of a size RSA can make, the type's fields present. Never raises.
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
    raw = decode_signature(signature)
    if isinstance(raw, Failure):
        return raw
    if not signature_shape_ok(algorithm, raw):
        return Failure(Reason.SIGNATURE_MALFORMED, "Signature is not an RSA signature")
    return _Signed(message, algorithm, raw, cert_url, signed)


def verify_signed(
    found: _Signed, fetcher: KeyFetcher | None, topic_arns: Collection[str]
) -> Failure | KeyUnavailable | None:
    """Whether AWS's certificate verifies ``found`` and its topic is accepted: ``None``
    when both hold."""
    if fetcher is None:
        return NO_FETCHER
    key = fetched_certificate_key(fetcher, found.cert_url, found.algorithm)
    if isinstance(key, KeyUnavailable):
        return key
    failure = verify_signature(key, found.algorithm, found.signature, found.signed)
    if failure is not None:
        return failure
    # Checked after the signature: the ARN is then AWS's word, and a refusal for it
    # tells a sender nothing it did not sign itself.
    if found.message["TopicArn"] not in topic_arns:
        return Failure(Reason.SIGNATURE_MISMATCH, "the TopicArn is not one this route accepts")
    return None


def _message(found: _Signed, timestamp: int) -> SnsMessage:
    message = found.message
    url = message.get("SubscribeURL")
    return SnsMessage(
        type=message["Type"],
        message_id=message["MessageId"],
        topic_arn=message["TopicArn"],
        timestamp=timestamp,
        subscribe_url=url if isinstance(url, str) else None,
        fields=message,
    )


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
    found = read_message(body)
    if isinstance(found, Failure):
        return found
    stamp = found.message["Timestamp"]
    ts = (
        parse_timestamp(stamp, "rfc3339")
        if tolerance is None
        else timestamp_outcome(stamp, "rfc3339", tolerance, now)
    )
    if isinstance(ts, Failure):
        return ts
    outcome = verify_signed(found, fetcher, topic_arns)
    return _message(found, ts) if outcome is None else outcome


class SnsScheme(HmacScheme):
    """``provider: sns``: the signature, its version and certificate URL are in the JSON
    body; the certificate is fetched (pinned host, cached) through the route's fetcher.

    The signed ``MessageId`` is the delivery ID and the signed ``Timestamp`` goes through
    the route's window, so both are this scheme's fields (as ``{id}``/``{timestamp}`` are
    a template's); the route's ``signature.topics`` are the accepted ``TopicArn`` values.
    """

    digest_is_match = False
    fetched_key_label = "aws-sns"

    def __init__(self, spec: SignatureSpec, fetcher: KeyFetcher | None = None) -> None:
        super().__init__(spec)
        self.fields = frozenset({"id", "timestamp"})
        self.has_timestamp = True
        self.topics = frozenset(spec.topics)
        self.fetcher = fetcher

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        parsed = ParsedSignature()
        found = read_message(req.body)
        message = found.message if isinstance(found, _Signed) else _json_object(req.body)
        if message is not None:
            stamp, message_id = message.get("Timestamp"), message.get("MessageId")
            if isinstance(stamp, str):
                parsed.timestamp = stamp
            else:
                parsed.ts_failure = Failure(
                    Reason.TIMESTAMP_MISSING, "the SNS message has no Timestamp"
                )
            if isinstance(message_id, str):
                parsed.event_id = message_id
        if isinstance(found, Failure):
            parsed.failure = found
        else:
            parsed.payload = found
            parsed.signatures = [found.signature]
            parsed.seen = 1
        return parsed

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        found: _Signed = parsed.payload
        outcome = verify_signed(found, self.fetcher, self.topics)
        if isinstance(outcome, KeyUnavailable):
            return outcome.failure()
        if outcome is not None:
            return outcome
        return Secret(b"", self.fetched_key_label), hashlib.sha256(found.signed).digest()

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        raise ValueError(
            "an SNS message carries its signature in the body: make one with "
            "webhook_guard.testing.sns_message()"
        )


def _json_object(body: bytes) -> Mapping[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def subscription_confirmation(body: bytes) -> SnsMessage | None:
    """The ``SubscriptionConfirmation`` in ``body`` (already verified), else None."""
    found = read_message(body)
    if isinstance(found, Failure) or found.message.get("Type") != "SubscriptionConfirmation":
        return None
    ts = parse_timestamp(found.message["Timestamp"], "rfc3339")
    return _message(found, 0 if isinstance(ts, Failure) else ts)


def confirm_subscription(message: SnsMessage, fetcher: KeyFetcher) -> KeyUnavailable | None:
    """Confirm a verified ``SubscriptionConfirmation`` by visiting its ``SubscribeURL``.

    Opt-in (the route's ``handshake: {confirm: true}``): the URL is signed by AWS, and is
    still visited only on a pinned SNS host, for the message's own topic.

    Args:
        fetcher: the route's fetcher; the URL is checked against the SNS pin here. A
            failed visit is not remembered, so SNS's retry visits again; a successful
            one is, so replays of a captured confirmation do not each visit AWS.

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
    outcome = fetcher.get(url, remember_failure=False)
    return outcome if isinstance(outcome, KeyUnavailable) else None


__all__ = [
    "SIGNED_FIELDS",
    "VERSIONS",
    "SnsMessage",
    "SnsScheme",
    "canonical_string",
    "confirm_subscription",
    "read_message",
    "subscription_confirmation",
    "verify_sns",
]
