"""Paystack.

Sources: paystack.com/docs/payments/webhooks (``x-paystack-signature``: the hex
HMAC-SHA512 of the body under the secret key; the IP addresses webhooks come from,
shipped as the ``paystack`` list of ``allow_ips``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "paystack": Preset(
        issued=True,
        secret_shape="sk_test_{hex}",  # noqa: S106 (the shape of a test secret, not one)
        signature={
            "header": "x-paystack-signature",
            "algorithm": "sha512",
            "encoding": "hex",
            "format": "plain",
        },
        summary={
            "headers": "`x-paystack-signature: <hex>`",
            "signature": "HMAC-SHA512, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "your secret key (`sk_live_...` / `sk_test_...`), as it is",
            "event id": "none is sent: a digest of the verified signature (a retry repeats "
            "the same bytes)",
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the key is your API secret key, not a webhook-only secret; "
            "`allow_ips: [paystack]` admits only Paystack's published addresses",
        },
    ),
}
