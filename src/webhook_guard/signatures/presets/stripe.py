"""Stripe.

Sources: stripe-python 16.1.0 stripe/_webhook.py.
"""

from __future__ import annotations

from .model import STRIPE_STYLE, Preset

PRESETS: dict[str, Preset] = {
    "stripe": Preset(
        issued=True,
        secret_shape="whsec_{hex}",  # noqa: S106 (the shape of a test secret, not one)
        signature={**STRIPE_STYLE, "header": "stripe-signature"},
        event_id={"json": "/id"},
        summary={
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`",
            "signature": "HMAC-SHA256, lowercase hex; only `v1` counts (`v0` test-mode "
            "signatures are ignored, so a `v0`-only header is malformed)",
            "signed bytes": "`{t}.{body}`",
            "key": "the `whsec_...` string used as it is (UTF-8 bytes, NOT base64-decoded)",
            "event id": "the body's `id` (`evt_...`), else a digest of the signature",
            "timestamp": "`t=`, Unix seconds, checked both ways (stripe-python checks only "
            "the past)",
            "quirks": "several `v1` during a secret roll; keep event IDs 3 days",
        },
    ),
}
