"""AWS SNS (HTTP/HTTPS subscriptions).

Sources: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
(the string to sign per message type, SignatureVersion 1 = SHA1withRSA and 2 =
SHA256withRSA, the certificate at ``SigningCertURL`` on ``sns.<region>.amazonaws.com``)
and https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
(the JSON body, ``x-amz-sns-message-type``, the RFC 3339 ``Timestamp``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "sns": Preset(
        signature={
            # The signature is in the body; this header says which message type it is.
            "header": "x-amz-sns-message-type",
            "id_header": "x-amz-sns-message-id",
            "algorithm": "rsa-sha256",
            "encoding": "base64",
            "scheme": "sns",
            "timestamp_format": "rfc3339",
        },
        event_id="auto",
        handshake="sns",
        summary={
            "headers": "none needed: the signature, certificate URL and timestamp are in the "
            "JSON body (`Signature`, `SignatureVersion`, `SigningCertURL`, `Timestamp`)",
            "signature": "RSA PKCS#1 v1.5, base64: SHA-1 (`SignatureVersion` 1) or SHA-256 "
            "(`SignatureVersion` 2)",
            "signed bytes": "`Name\\nValue\\n` for each signed field of the message type, in "
            "byte order (Notification: Message, MessageId, Subject if present, Timestamp, "
            "TopicArn, Type; confirmations add SubscribeURL and Token)",
            "key": "no secret: the certificate at `SigningCertURL`, fetched only from "
            "`https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<hex>.pem` "
            "and cached; `signature.topics` lists the accepted `TopicArn`s (required); "
            "needs the `pubkey` extra",
            "event id": "the signed `MessageId`",
            "timestamp": "the signed `Timestamp` (RFC 3339), both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions; raise "
            "it if your delivery policy retries for longer",
            "quirks": "a certificate that cannot be fetched is 503 `key_unavailable` (SNS "
            "retries); `SubscriptionConfirmation` is verified like any message and reaches "
            "the app, or with `handshake: {confirm: true}` the guard visits its "
            "`SubscribeURL` (pinned host, the message's own topic) and answers 200",
        },
    ),
}
