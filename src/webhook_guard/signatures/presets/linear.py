"""Linear.

Sources: linear.app/developers/webhooks ("Securing webhooks": ``Linear-Signature``, the
``webhookTimestamp`` check within a minute); @linear/sdk ``LinearWebhooks.verify``
(``LINEAR_WEBHOOK_TS_FIELD = "webhookTimestamp"``, 60 s).
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "linear": Preset(
        issued=True,
        signature={
            "header": "linear-signature",
            "id_header": "linear-delivery",
            "timestamp_json": "/webhookTimestamp",
            "timestamp_format": "milliseconds",
            "algorithm": "sha256",
            "encoding": "hex",
        },
        tolerance=60,
        summary={
            "headers": "`Linear-Signature: <hex>`, `Linear-Delivery`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the webhook's signing secret as Linear shows it, UTF-8 bytes",
            "event id": "`Linear-Delivery`" + UNSIGNED_ID,
            "timestamp": "the body's `webhookTimestamp`, Unix milliseconds, read once the "
            "signature verified (the body is signed, so it is)",
            "tolerance": "60 s (Linear's SDK and docs: within a minute), in both directions; "
            "a route's own `tolerance` overrides it",
            "quirks": "a body without `webhookTimestamp` is refused `timestamp_missing`",
        },
    ),
}
