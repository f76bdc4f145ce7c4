"""Telegram Bot API (a shared token, not a signature).

Sources: core.telegram.org/bots/api#setwebhook (``secret_token``: 1-256 characters
``A-Z a-z 0-9 _ -``, sent in ``X-Telegram-Bot-Api-Secret-Token`` with every update);
core.telegram.org/bots/api#update (``update_id``: unique, increasing, the same when
Telegram retries an update).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "telegram": Preset(
        signature={},
        token_header="x-telegram-bot-api-secret-token",  # noqa: S106 (a header name)
        event_id={"json": "/update_id"},
        summary={
            "headers": "`X-Telegram-Bot-Api-Secret-Token: <token>` (plaintext)",
            "signature": "none: a shared token, compared in constant time",
            "signed bytes": "none: the token authenticates the sender, not the body",
            "key": "the `secret_token` you passed to `setWebhook` (route `secrets`)",
            "event id": "the body's `update_id` (the same when Telegram retries an update)",
            "timestamp": "none",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "without `secret_token` in `setWebhook` Telegram sends no header and "
            "every update is refused (`token_missing`)",
        },
    ),
}
