"""Checkout.com (Workflows webhooks).

Sources: checkout.com/docs/workflows/set-up-your-webhook-receiver (``Cko-Signature``:
the hex HMAC-SHA256 of the raw body under the workflow webhook's signature key; an
optional authorization header of your own, which is not a signature).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "checkout": Preset(
        signature={
            "header": "cko-signature",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        event_id={"json": "/id"},
        summary={
            "headers": "`Cko-Signature: <hex>`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the signature key of the workflow's webhook action, UTF-8 bytes",
            "event id": "the body's `id` (`evt_...`), else a digest of the signature",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "an authorization header you configure on the webhook is not checked: "
            "the signature is what authenticates",
        },
    ),
}
