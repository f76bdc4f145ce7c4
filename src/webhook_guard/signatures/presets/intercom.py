"""Intercom.

Sources: developers.intercom.com/docs/webhooks/setting-up-webhooks ("Signed
notifications": ``X-Hub-Signature``, HMAC-SHA1 with the app's client_secret).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "intercom": Preset(
        issued=True,
        signature={
            "header": "x-hub-signature",
            "algorithm": "sha1",
            "encoding": "hex",
            "prefix": "sha1=",
        },
        event_id={"json": "/id"},
        summary={
            "headers": "`X-Hub-Signature: sha1=<hex>`",
            "signature": "HMAC-SHA1, lowercase hex, prefix `sha1=`",
            "signed bytes": "the raw body",
            "key": "the app's client secret (Developer Hub > Basic info), UTF-8 bytes",
            "event id": "the notification's `id` in the body (retries carry the same one "
            "with a higher `delivery_attempts`), else a digest of the signature",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "HMAC-SHA1 is what Intercom sends (still sound as a MAC); a "
            "`sha256=` value is malformed here",
        },
    ),
}
