"""Box (V2 webhooks).

Sources: developer.box.com/guides/webhooks/v2/signatures-v2 (``BOX-SIGNATURE-PRIMARY``
and ``BOX-SIGNATURE-SECONDARY``: base64 HMAC-SHA256 of the body bytes followed by the
``BOX-DELIVERY-TIMESTAMP`` bytes, under the primary and the secondary key; a 10-minute
window) and developer.box.com/guides/webhooks/handle/rotate-signatures; box-sdk-gen
``WebhooksManager.validate_message`` (``max_age=600``, the raw body first).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "box": Preset(
        issued=True,
        signature={
            # Only the primary signature: a scheme reads one signature header (the first
            # alternative present), and Box always sends both, so listing the secondary
            # as an alternative would never be read. docs/providers/box.md says how to
            # rotate with the secondary key (an override of `header`).
            "header": "box-signature-primary",
            "timestamp_header": "box-delivery-timestamp",
            "timestamp_format": "rfc3339",
            "algorithm": "sha256",
            "encoding": "base64",
            "format": "plain",
            "signed_content": "{body}{timestamp}",
        },
        event_id={"json": "/id"},
        tolerance=600,
        # box-sdk-gen refuses a delivery without them; the guard checks the signature.
        sent_headers={"box-signature-version": "1", "box-signature-algorithm": "HmacSHA256"},
        summary={
            "headers": "`BOX-SIGNATURE-PRIMARY: <base64>`, `BOX-DELIVERY-TIMESTAMP`",
            "signature": "HMAC-SHA256, base64, no prefix",
            "signed bytes": "`{body}{timestamp}`: the raw body, then the timestamp header's "
            "text, no separator",
            "key": "the app's primary signature key (Developer Console > Webhooks > Manage "
            "signature keys), UTF-8 bytes",
            "event id": "the body's `id`, else a digest of the signature (`BOX-DELIVERY-ID` "
            "changes on each retry, so it is not used)",
            "timestamp": "`BOX-DELIVERY-TIMESTAMP`, RFC 3339 with an offset "
            "(`2016-07-11T10:10:33-07:00`)",
            "tolerance": "600 s (Box's documented 10 minutes), in both directions; a route's "
            "own `tolerance` overrides it",
            "quirks": "only `BOX-SIGNATURE-PRIMARY` is checked (`BOX-SIGNATURE-SECONDARY` "
            "during a key rotation, with `signature.header`); `BOX-SIGNATURE-VERSION` and "
            "`BOX-SIGNATURE-ALGORITHM` are not read",
        },
    ),
}
