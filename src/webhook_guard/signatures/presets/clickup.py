"""ClickUp.

Sources: developer.clickup.com/docs/webhooksignature (``X-Signature``, the HMAC-SHA256 of
the request body under the ``webhook.secret`` returned when the webhook is created,
"always digested in hexadecimal format"). No delivery ID or timestamp is documented; the
body's ``webhook_id`` names the webhook, not the delivery, so dedup keys on the
signature.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "clickup": Preset(
        issued=True,
        signature={
            "header": "x-signature",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        summary={
            "headers": "`X-Signature: <hex>`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the webhook's `secret`, returned by the API call that creates the "
            "webhook, UTF-8 bytes",
            "event id": "none sent: a digest of the verified signature (the body's "
            "`webhook_id` names the webhook, not the delivery)",
            "timestamp": "none signed",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "each webhook has its own secret: a route serving several webhooks "
            "lists each one's secret in `secrets`",
        },
    ),
}
