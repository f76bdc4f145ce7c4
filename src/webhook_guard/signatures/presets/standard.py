"""Standard Webhooks (and Svix, the same scheme under ``svix-*`` headers).

Sources: standardwebhooks 1.1.0 and svix 2.9.1 sources.
"""

from __future__ import annotations

from .model import STANDARD, Preset

PRESETS: dict[str, Preset] = {
    "standard": Preset(
        signature=STANDARD,
        ed25519={"version": "v1a", "secret_prefix": "whpk_", "secret_encoding": "base64"},
        summary={
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`webhook-id`, `webhook-timestamp`, `webhook-signature` "
            "(Svix: the same as `svix-*`)",
            "signature": "space-separated `v1,<base64>` tokens (several during rotation); "
            "`v1a,<base64>` with `signature.algorithm: ed25519`",
            "signed bytes": "`{webhook-id}.{webhook-timestamp}.{body}`",
            "key": "`whsec_` stripped, the rest base64-decoded (v1); for v1a the public key "
            "`whpk_` + base64 of the 32 raw bytes (needs the `pubkey` extra)",
            "event id": "`webhook-id` (stable across retries)",
            "timestamp": "`webhook-timestamp`, Unix seconds, checked both ways (tolerance)",
            "quirks": "unknown or malformed tokens are skipped, not fatal (the reference "
            "library raises); tokens of the other version are ignored",
        },
    ),
}
