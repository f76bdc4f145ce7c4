"""PayPal REST webhooks.

Sources: https://developer.paypal.com/api/rest/webhooks/rest/ (the PAYPAL-* headers;
the signed string ``transmission_id|transmission_time|webhook_id|crc32(body)``, the CRC32
unsigned decimal; SHA256withRSA with the certificate at ``PAYPAL-CERT-URL``; retries up
to 25 times over 3 days) and the verify-webhook-signature API reference (the webhook ID
from the developer dashboard).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "paypal": Preset(
        signature={
            "header": "paypal-transmission-sig",
            "timestamp_header": "paypal-transmission-time",
            "id_header": "paypal-transmission-id",
            "algorithm": "rsa-sha256",
            "encoding": "base64",
            "scheme": "paypal",
            "timestamp_format": "rfc3339",
        },
        # Each retry is a new transmission (new ID, time and signature) of the same
        # event: the event's own ID recognises it.
        event_id={"json": "/id"},
        summary={
            "headers": "`PAYPAL-TRANSMISSION-SIG` (base64), `PAYPAL-TRANSMISSION-ID`, "
            "`PAYPAL-TRANSMISSION-TIME`, `PAYPAL-AUTH-ALGO: SHA256withRSA`, `PAYPAL-CERT-URL`",
            "signature": "RSA PKCS#1 v1.5 with SHA-256 (`SHA256withRSA`), base64",
            "signed bytes": "the transmission ID, the transmission time, the route's "
            "`webhook_id` and the CRC32 of the body (unsigned decimal), joined by vertical bars",
            "key": "no secret: the certificate at `PAYPAL-CERT-URL`, fetched only from "
            "`https://api[-m][.sandbox].paypal.com/v1/notifications/certs/CERT-...` and "
            "cached; `signature.webhook_id` (the webhook's ID in the PayPal dashboard) is "
            "required; needs the `pubkey` extra",
            "event id": "the body's `id` (`WH-...`, the same on PayPal's retries)",
            "timestamp": "`PAYPAL-TRANSMISSION-TIME` (RFC 3339), both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "a certificate that cannot be fetched is 503 `key_unavailable`; the "
            "signed webhook ID ties a delivery to your webhook, so one signed for another "
            "PayPal account's webhook does not verify; the body counts only through its "
            "CRC32, so the replay check keys on the event `id` in it and on the signed "
            "transmission ID (below)",
        },
    ),
}
