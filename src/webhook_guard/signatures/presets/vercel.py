"""Vercel.

Sources: vercel.com/docs/webhooks (``x-vercel-signature``: the hex HMAC-SHA1 of the raw
body, keyed with the integration's Client Secret, or for account webhooks the secret
shown when the webhook is created; the body's ``id`` identifies the event).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "vercel": Preset(
        issued=True,
        signature={
            "header": "x-vercel-signature",
            "algorithm": "sha1",
            "encoding": "hex",
            "format": "plain",
        },
        event_id={"json": "/id"},
        summary={
            "headers": "`x-vercel-signature: <hex>`",
            "signature": "HMAC-SHA1, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the integration's Client Secret, or the account webhook's secret (shown "
            "once when it is created), as it is",
            "event id": "the body's `id`, else a digest of the signature",
            "timestamp": "none signed (`createdAt` in the body is informative)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "SHA-1 is what Vercel sends; an HMAC-SHA1 is still unforgeable without "
            "the key, but no stronger header exists to prefer",
        },
    ),
}
