"""Zoom.

Sources: developers.zoom.us/docs/api/webhooks/ ("Verify webhook events", "Validate your
webhook endpoint"); Zoom's own sample github.com/zoom/webhook-sample index.js, which
checks ``x-zm-signature`` before answering ``endpoint.url_validation`` (the validation
is signed like any event).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "zoom": Preset(
        issued=True,
        signature={
            "header": "x-zm-signature",
            "timestamp_header": "x-zm-request-timestamp",
            "algorithm": "sha256",
            "encoding": "hex",
            "prefix": "v0=",
            "signed_content": "v0:{timestamp}:{body}",
        },
        handshake="zoom",
        summary={
            "headers": "`x-zm-signature: v0=<hex>`, `x-zm-request-timestamp`",
            "signature": "HMAC-SHA256, lowercase hex, prefix `v0=`",
            "signed bytes": "`v0:{timestamp}:{body}`",
            "key": "the app's Secret Token (Features > Access), its UTF-8 bytes",
            "event id": "a digest of the verified signature: Zoom sends no delivery ID, and "
            "its body's `event` + `event_ts` are two fields, not one",
            "timestamp": "`x-zm-request-timestamp`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "the `endpoint.url_validation` check is answered by the guard "
            "(`{plainToken, encryptedToken}`) only after its signature verified: an "
            "unsigned one gets no `encryptedToken`",
        },
    ),
}
