"""WooCommerce.

Sources: woocommerce/woocommerce plugins/woocommerce/includes/class-wc-webhook.php
(``generate_signature``: ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the
exact body under the webhook's secret; ``get_new_delivery_id``: ``X-WC-Webhook-Delivery-ID``
is outside the signature, and is a hash of the webhook and the current second, so two
deliveries may share it; ``deliver_ping``: on activation, an unsigned POST whose body is
``webhook_id=<id>``, which must be answered 200).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "woocommerce": Preset(
        signature={
            "header": "x-wc-webhook-signature",
            "algorithm": "sha256",
            "encoding": "base64",
        },
        handshake="woocommerce",
        summary={
            "headers": "`X-WC-Webhook-Signature: <base64>`, `X-WC-Webhook-Delivery-ID`, "
            "`X-WC-Webhook-Topic`, `X-WC-Webhook-Source`",
            "signature": "HMAC-SHA256, base64",
            "signed bytes": "the raw body",
            "key": "the webhook's Secret (WooCommerce > Settings > Advanced > Webhooks), "
            "UTF-8 bytes",
            "event id": "a digest of the verified signature: `X-WC-Webhook-Delivery-ID` is "
            "not signed, and two deliveries in the same second may share it",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the activation ping (an unsigned POST of exactly `webhook_id=<n>`, no "
            "signature header) is answered 200 with an empty body by the guard, before any "
            "authentication, and never reaches your app",
        },
    ),
}
