"""Typeform.

Sources: typeform.com/developers/webhooks/secure-your-webhooks/ (``Typeform-Signature:
sha256=<base64>``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "typeform": Preset(
        signature={
            "header": "typeform-signature",
            "algorithm": "sha256",
            "encoding": "base64",
            "prefix": "sha256=",
        },
        event_id={"json": "/event_id"},
        summary={
            "headers": "`Typeform-Signature: sha256=<base64>`",
            "signature": "HMAC-SHA256, base64 (not hex, despite the prefix), prefix `sha256=`",
            "signed bytes": "the raw body",
            "key": "the webhook's secret (you choose it in Connect > Webhooks), UTF-8 bytes",
            "event id": "the body's `event_id`, else a digest of the signature",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "a hex signature after `sha256=` is malformed here",
        },
    ),
}
