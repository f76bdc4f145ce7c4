"""Mux.

Sources: mux.com/docs/core/verify-webhook-signatures (``Mux-Signature: t=<ts>,v1=<hex>``,
HMAC-SHA256 of ``{t}.{body}`` under the endpoint's signing secret, a 5-minute window);
muxinc/mux-node-sdk src/resources/webhooks/webhooks.ts (several ``v1`` accepted).
"""

from __future__ import annotations

from .model import STRIPE_STYLE, Preset

PRESETS: dict[str, Preset] = {
    "mux": Preset(
        issued=True,
        signature={**STRIPE_STYLE, "header": "mux-signature"},
        event_id={"json": "/id"},
        summary={
            "headers": "`Mux-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`",
            "signature": "HMAC-SHA256, lowercase hex, in `v1=`",
            "signed bytes": "`{t}.{body}`",
            "key": "the webhook endpoint's signing secret (Settings > Webhooks), as it is "
            "(UTF-8 bytes)",
            "event id": "the body's `id`, else a digest of the signed content",
            "timestamp": "`t=`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s, Mux's own 5 minutes), in "
            "both directions",
            "quirks": "each endpoint has its own signing secret: one route per endpoint, or "
            "list every endpoint's secret",
        },
    ),
}
