"""Shopify.

Sources: shopify.dev/docs/apps/build/webhooks/verify-deliveries.
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "shopify": Preset(
        issued=True,
        signature={
            "header": ["x-shopify-hmac-sha256", "shopify-hmac-sha256"],
            "id_header": ["x-shopify-webhook-id", "shopify-webhook-id"],
            "algorithm": "sha256",
            "encoding": "base64",
        },
        summary={
            "signature": "HMAC-SHA256, base64",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Shopify-Hmac-Sha256: <base64>`, `X-Shopify-Webhook-Id` "
            "(Events preview: the same without `X-`)",
            "signed bytes": "the raw body",
            "key": "the app's client secret, UTF-8 bytes",
            "event id": "`X-Shopify-Webhook-Id`" + UNSIGNED_ID,
            "timestamp": "none signed (`X-Shopify-Triggered-At` is informative)",
            "quirks": "after a secret rotation Shopify may sign with the old secret for up "
            "to an hour: keep it with an `expires`",
        },
    ),
}
