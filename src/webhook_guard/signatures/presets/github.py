"""GitHub.

Sources: docs.github.com validating-webhook-deliveries (test vector).
"""

from __future__ import annotations

from .model import HUB, UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "github": Preset(
        signature={**HUB, "header": "x-hub-signature-256", "id_header": "x-github-delivery"},
        summary={
            "signature": "HMAC-SHA256, lowercase hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature-256: sha256=<hex>`, `X-GitHub-Delivery`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-GitHub-Delivery` (the same on redelivery)" + UNSIGNED_ID,
            "timestamp": "none signed: replay protection is dedup only",
            "quirks": "the legacy SHA-1 `X-Hub-Signature` is never accepted (downgrade)",
        },
    ),
}
