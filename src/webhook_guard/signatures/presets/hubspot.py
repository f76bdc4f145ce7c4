"""HubSpot (signature v3).

Sources: developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/
request-validation ("Validate the v3 request signature": the decoded escapes, 5 minutes);
hubspot-api-python 12.0 hubspot/utils/signature.py (``Signature.get_signature``, v3).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "hubspot": Preset(
        issued=True,
        signature={
            "scheme": "hubspot",
            "header": "x-hubspot-signature-v3",
            "timestamp_header": "x-hubspot-request-timestamp",
            "timestamp_format": "milliseconds",
            "algorithm": "sha256",
            "encoding": "base64",
            "signed_content": "{method}{url}{body}{timestamp}",
        },
        summary={
            "headers": "`X-HubSpot-Signature-v3: <base64>`, `X-HubSpot-Request-Timestamp`",
            "signature": "HMAC-SHA256, base64 (v3 only)",
            "signed bytes": "method + URI (`public_url` + path + query, with `%3A %2F %3F "
            "%40 %21 %24 %27 %28 %29 %2A %2C %3B` decoded) + body + timestamp",
            "key": "the app's client secret (Auth tab), UTF-8 bytes",
            "event id": "a digest of the verified signature (the body is an array of events, "
            "each with its own `eventId`)",
            "timestamp": "`X-HubSpot-Request-Timestamp`, Unix milliseconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s, HubSpot's 5 minutes)",
            "quirks": "needs `public_url`; the legacy v1/v2 `X-HubSpot-Signature` (unkeyed "
            "SHA-256, no timestamp) is never accepted, even alone",
        },
    ),
}
