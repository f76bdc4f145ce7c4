"""Discord interactions (an app's Interactions Endpoint URL).

Sources: https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
("Validating Security Request Headers": Ed25519 over the ``X-Signature-Timestamp`` value
followed by the raw body, checked with the application's hex public key, as its PyNaCl
example does; PING ``{"type": 1}`` answered with ``{"type": 1}``; invalid signatures
must get a 401, and Discord sends some on purpose when the URL is saved).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "discord": Preset(
        signature={
            "header": "x-signature-ed25519",
            "timestamp_header": "x-signature-timestamp",
            "algorithm": "ed25519",
            "encoding": "hex",
            "signed_content": "{timestamp}{body}",
        },
        # Each interaction has its own ID in the signed body; Discord does not retry.
        event_id={"json": "/id"},
        handshake="discord",
        summary={
            "headers": "`X-Signature-Ed25519: <hex>`, `X-Signature-Timestamp`",
            "signature": "Ed25519, 64 bytes, hex",
            "signed bytes": "`{X-Signature-Timestamp}{body}`",
            "key": "the application's **Public Key** from the Developer Portal (64 hex "
            "characters), as shown; needs the `pubkey` extra",
            "event id": "the body's `id` (the interaction ID, signed), else a digest of the "
            "signed bytes",
            "timestamp": "`X-Signature-Timestamp`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": 'the signed PING (`type` 1) is answered `{"type":1}` by the guard, '
            "only after its signature verified; bad signatures get 401, as Discord's "
            "endpoint check expects",
        },
    ),
}
