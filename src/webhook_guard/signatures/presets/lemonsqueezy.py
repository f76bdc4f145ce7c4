"""Lemon Squeezy.

Sources: docs.lemonsqueezy.com/help/webhooks/signing-requests (``X-Signature``: the hex
HMAC-SHA256 of the raw body under the webhook's signing secret; ``X-Event-Name``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "lemonsqueezy": Preset(
        signature={
            "header": "x-signature",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        summary={
            "headers": "`X-Signature: <hex>`, `X-Event-Name`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the signing secret you entered on the webhook, as it is (UTF-8 bytes)",
            "event id": "none is sent: a digest of the verified signature (a resend repeats "
            "the same bytes)",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "`X-Event-Name` is not signed: take the event from the body's "
            "`meta.event_name`",
        },
    ),
}
