"""Coinbase Commerce.

Sources: docs.cdp.coinbase.com/commerce (webhooks security: ``X-CC-Webhook-Signature``,
the hex HMAC-SHA256 of the raw body under the shared secret from Settings >
Notifications; the body ``{attempt_number, event, id, scheduled_for}``, retried for up
to 3 days); coinbase-commerce 1.0.1 ``coinbase_commerce.webhook.WebhookSignature``.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "coinbase-commerce": Preset(
        issued=True,
        signature={
            "header": "x-cc-webhook-signature",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        event_id={"json": "/event/id"},
        summary={
            "headers": "`X-CC-Webhook-Signature: <hex>`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the shared secret from Settings > Notifications, UTF-8 bytes",
            "event id": "the body's `event.id`, else a digest of the signature",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "each retry carries a new `attempt_number`, so its bytes and signature "
            "differ: dedup keys on `event.id`; keep event IDs 3 days (the retry window)",
        },
    ),
}
