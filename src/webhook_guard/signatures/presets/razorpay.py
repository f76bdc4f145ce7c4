"""Razorpay.

Sources: razorpay/markdown-docs webhooks/validate-test.md (``X-Razorpay-Signature``: the
hex HMAC-SHA256 of the raw body under the webhook secret set in the Dashboard;
``x-razorpay-event-id`` to deduplicate) and webhooks/faqs.md (retries for 24 hours, then
the webhook is disabled; retries of earlier events keep the secret they were signed
with); razorpay-python 2.0.1 ``Utility.verify_webhook_signature``.
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "razorpay": Preset(
        signature={
            "header": "x-razorpay-signature",
            "id_header": "x-razorpay-event-id",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        summary={
            "headers": "`X-Razorpay-Signature: <hex>`, `x-razorpay-event-id`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the secret you typed when you set up the webhook in the Dashboard, UTF-8 bytes",
            "event id": "`x-razorpay-event-id`" + UNSIGNED_ID,
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "retries of events sent before a secret change stay signed with the "
            "old secret for up to 24 hours: keep both secrets that long",
        },
    ),
}
