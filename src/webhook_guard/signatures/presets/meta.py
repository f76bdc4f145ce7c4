"""Meta: Facebook, Instagram, WhatsApp Cloud API and Messenger webhooks.

Sources: developers.facebook.com/docs/graph-api/webhooks/getting-started
("Verification Requests", "Event Notifications": ``X-Hub-Signature-256``, the App
Secret); developers.facebook.com/docs/messenger-platform/webhooks.
"""

from __future__ import annotations

from .model import HUB, Preset

PRESETS: dict[str, Preset] = {
    "meta": Preset(
        issued=True,
        signature={**HUB, "header": "x-hub-signature-256"},
        handshake="meta",
        methods=("GET",),
        summary={
            "headers": "`X-Hub-Signature-256: sha256=<hex>`",
            "signature": "HMAC-SHA256, lowercase hex, prefix `sha256=`",
            "signed bytes": "the raw body (Meta escapes non-ASCII as `\\uXXXX`: never "
            "re-serialise it)",
            "key": "the App Secret (App settings > Basic), its UTF-8 bytes",
            "event id": "a digest of the verified signature: Meta sends no delivery ID, and "
            "one delivery batches several `entry` items, each with its own `id` and `time`",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the verification GET (`hub.mode=subscribe`) is answered by the guard "
            "when `hub.verify_token` equals the route's `handshake: {verify_token: ...}`",
        },
    ),
}
