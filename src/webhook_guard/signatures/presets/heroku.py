"""Heroku app webhooks.

Sources: heroku/webhooks-docs devcenter/app-webhooks.md ("Securing webhook requests":
``Heroku-Webhook-Hmac-SHA256``, the base64 HMAC-SHA256 of the request body under the
webhook's ``secret``; the body's ``webhook_metadata``: ``attempt.id`` is new on every
attempt, ``delivery.id`` is the same on every attempt of one delivery).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "heroku": Preset(
        issued=True,
        signature={
            "header": "heroku-webhook-hmac-sha256",
            "algorithm": "sha256",
            "encoding": "base64",
        },
        event_id={"json": "/webhook_metadata/delivery/id"},
        summary={
            "headers": "`Heroku-Webhook-Hmac-SHA256: <base64>`",
            "signature": "HMAC-SHA256, base64",
            "signed bytes": "the raw body",
            "key": "the webhook's `secret` (shown when `heroku webhooks:add` creates it, or "
            "the one you passed), as it is",
            "event id": "the body's `webhook_metadata.delivery.id` (the same on every "
            "attempt), else a digest of the signature",
            "timestamp": "none signed (`created_at` in the body is informative)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "each retry carries a new `webhook_metadata.attempt.id`, so its bytes "
            "and signature differ from the first attempt's: only the delivery ID shows it "
            "is the same delivery",
        },
    ),
}
