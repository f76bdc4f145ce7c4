"""Buildkite (webhook signatures, and the older token header).

Sources: buildkite/docs pages/apis/webhooks/_webhook_signature.md
(``X-Buildkite-Signature: timestamp=<unix seconds>,signature=<hex>``, the hex
HMAC-SHA256 of ``{timestamp}.{body}`` under the webhook's token; check the timestamp
against a window such as 5 minutes) and pages/apis/webhooks.md (``X-Buildkite-Token``,
the token sent as it is when the webhook is set to send a token instead).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "buildkite": Preset(
        issued=True,
        signature={
            "header": "x-buildkite-signature",
            "format": "kv",
            "separator": ",",
            "version": "signature",
            "timestamp_key": "timestamp",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp}.{body}",
        },
        summary={
            "headers": "`X-Buildkite-Signature: timestamp=<ts>,signature=<hex>`, "
            "`X-Buildkite-Event`",
            "signature": "HMAC-SHA256, lowercase hex, the `signature=` entry",
            "signed bytes": "`{timestamp}.{body}`",
            "key": "the webhook's token (Settings > Notification Services > Webhook), as it is",
            "event id": "none is sent: a digest of the verified signature (a retry repeats "
            "the same bytes)",
            "timestamp": "`timestamp=`, Unix seconds, checked both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "choose the webhook's signature mode, not the token mode: a token-mode "
            "webhook sends `X-Buildkite-Token` instead, which `provider: buildkite-token` "
            "checks",
        },
    ),
    "buildkite-token": Preset(
        issued=True,
        signature={},
        token_header="x-buildkite-token",  # noqa: S106 (a header name, not a password)
        summary={
            "headers": "`X-Buildkite-Token: <token>` (plaintext), `X-Buildkite-Event`",
            "signature": "none: a shared token, compared in constant time",
            "signed bytes": "none: the token authenticates the sender, not the body",
            "key": "the route's `secrets` are the accepted tokens (constant-time compare)",
            "event id": "none is sent: a digest of the body",
            "timestamp": "none",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "prefer the signature mode (`provider: buildkite`): a token in a "
            "header proves nothing about the body and is the same on every delivery",
        },
    ),
}
