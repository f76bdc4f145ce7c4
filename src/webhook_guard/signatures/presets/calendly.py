"""Calendly.

Sources: developer.calendly.com/api-docs/overview/webhooks/webhook-signatures (the
``Calendly-Webhook-Signature: t=<ts>,v1=<hex>`` header, HMAC-SHA256 of ``{t}.{body}``
under the webhook signing key; its example rejects signatures older than three minutes).
"""

from __future__ import annotations

from .model import STRIPE_STYLE, Preset

PRESETS: dict[str, Preset] = {
    "calendly": Preset(
        signature={**STRIPE_STYLE, "header": "calendly-webhook-signature"},
        summary={
            "headers": "`Calendly-Webhook-Signature: t=<ts>,v1=<hex>`",
            "signature": "HMAC-SHA256, lowercase hex, in `v1=`",
            "signed bytes": "`{t}.{body}`",
            "key": "the webhook signing key as it is (UTF-8 bytes): the `signing_key` you "
            "set on the subscription, or the one Calendly generated for your OAuth app",
            "event id": "none is sent: a digest of the verified signature (a replay repeats it)",
            "timestamp": "`t=`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s); Calendly's own example "
            "allows 180 s, so set `tolerance: 180` to match it",
            "quirks": "`invitee.created` and `invitee.canceled` carry the same invitee URI, "
            "so it is not a delivery ID",
        },
    ),
}
