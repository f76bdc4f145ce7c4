"""Twilio.

Sources: twilio-python twilio/request_validator.py, docs vectors.
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "twilio": Preset(
        issued=True,
        signature={
            "header": "x-twilio-signature",
            "id_header": "i-twilio-idempotency-token",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed_content": "{url}{body}",
            "scheme": "twilio",
        },
        summary={
            "signature": "HMAC-SHA1, base64",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Twilio-Signature: <base64>`, `I-Twilio-Idempotency-Token`",
            "signed bytes": "the full URL Twilio called (`public_url` + path + query) "
            "followed by each form parameter's name and value, sorted; JSON bodies: the "
            "URL only, and its `bodySHA256` query parameter must be the body's SHA-256",
            "key": "the account Auth Token's UTF-8 bytes",
            "event id": "`I-Twilio-Idempotency-Token`, else a digest of the signature"
            + UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "needs the route's `public_url`; the URL is also tried with the "
            "default port added or removed, as twilio-python does; a SharedKey with "
            "HMAC_SHA256 needs `signature: {algorithm: sha256}`",
        },
    ),
}
