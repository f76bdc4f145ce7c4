"""Bitbucket Cloud and Bitbucket Server / Data Center.

Sources: support.atlassian.com bitbucket-cloud event-payloads; confluence.atlassian.com
bitbucketserver event-payload.
"""

from __future__ import annotations

from .model import HUB, UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "bitbucket": Preset(
        signature={**HUB, "header": "x-hub-signature", "id_header": "x-request-uuid"},
        summary={
            "signature": "HMAC-SHA256, hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature: sha256=<hex>` (GitHub's SHA-1 header name, "
            "SHA-256 value), `X-Request-UUID`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-Request-UUID`" + UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "Bitbucket Cloud; for Server/Data Center use `bitbucket-server`",
        },
    ),
    "bitbucket-server": Preset(
        signature={**HUB, "header": "x-hub-signature", "id_header": "x-request-id"},
        summary={
            "signature": "HMAC-SHA256, hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature: sha256=<hex>`, `X-Request-Id`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-Request-Id` (no retries, so one per delivery)" + UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "HMACSha256 is the default; another algorithm needs "
            "`signature: {algorithm: ..., prefix: ...}`",
        },
    ),
}
