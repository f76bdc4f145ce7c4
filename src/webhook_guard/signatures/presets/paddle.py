"""Paddle Billing.

Sources: paddle-python-sdk Notifications/PaddleSignature.py, Verifier.py.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "paddle": Preset(
        issued=True,
        secret_shape="pdl_ntfset_{hex}",  # noqa: S106 (the shape of a test secret, not one)
        signature={
            "header": "paddle-signature",
            "format": "kv",
            "separator": ";",
            "version": "h1",
            "timestamp_key": "ts",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp}:{body}",
        },
        event_id={"json": "/event_id"},
        summary={
            "signature": "HMAC-SHA256, hex; one `h1=` per active secret during rotation",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>...]`",
            "signed bytes": "`{ts}:{body}` (a colon)",
            "key": "the notification destination's secret key (`pdl_ntfset_...`), as it is",
            "event id": "the body's `event_id` (`evt_...`)",
            "timestamp": "`ts=`, Unix seconds, both ways; the SDK default is 5 s, ours the "
            "route's tolerance (300 s unless set)",
            "quirks": "unknown keys are ignored (the SDK raises on them)",
        },
    ),
}
