"""Square.

Sources: developer.squareup.com/docs/webhooks/step3validate; squareup 46 (Python SDK)
square/utils/webhooks_helper.py ``verify_signature``.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "square": Preset(
        issued=True,
        signature={
            "header": "x-square-hmacsha256-signature",
            "algorithm": "sha256",
            "encoding": "base64",
            "signed_content": "{url}{body}",
        },
        event_id={"json": "/event_id"},
        summary={
            "headers": "`x-square-hmacsha256-signature: <base64>`",
            "signature": "HMAC-SHA256, base64",
            "signed bytes": "the notification URL (`public_url` + path + query) then the raw body",
            "key": "the subscription's Signature Key as the Developer Console shows it, "
            "UTF-8 bytes",
            "event id": "the body's `event_id` (the same on retries), else a digest of the "
            "signature",
            "timestamp": "none signed (`square-initial-delivery-timestamp` is not signed)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "needs `public_url`: the URL must be the subscription's byte for byte; "
            "the legacy SHA-1 `x-square-signature` is never accepted",
        },
    ),
}
