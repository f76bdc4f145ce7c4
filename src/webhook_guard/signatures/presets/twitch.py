"""Twitch EventSub (webhook transport).

Sources: dev.twitch.tv/docs/eventsub/handling-webhook-events ("Verifying the event
message", "Responding to a challenge request"), dev.twitch.tv/docs/eventsub/ ("Handling
duplicate events", "Guarding against replay attacks": 10 minutes).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "twitch": Preset(
        signature={
            "header": "twitch-eventsub-message-signature",
            "timestamp_header": "twitch-eventsub-message-timestamp",
            "id_header": "twitch-eventsub-message-id",
            "timestamp_format": "rfc3339",
            "algorithm": "sha256",
            "encoding": "hex",
            "prefix": "sha256=",
            "signed_content": "{id}{timestamp}{body}",
        },
        handshake="twitch",
        tolerance=600,
        summary={
            "headers": "`Twitch-Eventsub-Message-Signature: sha256=<hex>`, "
            "`Twitch-Eventsub-Message-Id`, `Twitch-Eventsub-Message-Timestamp`",
            "signature": "HMAC-SHA256, lowercase hex, prefix `sha256=`",
            "signed bytes": "`{message id}{timestamp}{body}`, no separators",
            "key": "the subscription's `secret` (10 to 100 ASCII characters you chose), its bytes",
            "event id": "`Twitch-Eventsub-Message-Id` (signed; the same when Twitch resends)",
            "timestamp": "`Twitch-Eventsub-Message-Timestamp`, RFC 3339 with nanoseconds",
            "tolerance": "600 s (Twitch's documented 10 minutes), in both directions; a "
            "route's own `tolerance` overrides it",
            "quirks": "`webhook_callback_verification` is answered by the guard with its "
            "`challenge` as text/plain, only after its signature verified",
        },
    ),
}
