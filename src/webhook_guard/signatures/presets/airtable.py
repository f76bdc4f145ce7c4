"""Airtable (Web API webhooks).

Sources: airtable.com/developers/web/api/webhooks-overview ("Webhook notification
delivery": a POST whose body is only ``{"base": {"id"}, "webhook": {"id"}, "timestamp"}``,
to be answered 200 or 204 with an empty body; ``X-Airtable-Content-MAC`` is
``hmac-sha256=`` and the hex HMAC-SHA256 of the body, keyed with the base64-decoded
``macSecretBase64`` that the create webhook call returns; pings are at-least-once, may be
coalesced, and the changes are fetched with list webhook payloads, whose transaction
numbers tell what was already processed; a failed ping is retried up to 13 times over
about a day) and airtable.com/developers/web/api/create-a-webhook (``macSecretBase64``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "airtable": Preset(
        issued=True,
        signature={
            "header": "x-airtable-content-mac",
            "algorithm": "sha256",
            "encoding": "hex",
            "prefix": "hmac-sha256=",
            "format": "plain",
            "secret_encoding": "base64",
        },
        summary={
            "headers": "`X-Airtable-Content-MAC: hmac-sha256=<hex>`",
            "signature": "HMAC-SHA256, lowercase hex, prefixed `hmac-sha256=`",
            "signed bytes": "the raw body",
            "key": "the webhook's `macSecretBase64` (returned once, by the create webhook "
            "call), base64-decoded: give the route the base64 text as it is returned",
            "event id": "none is sent: a digest of the verified signature (a ping only says "
            "that payloads wait: the payloads' transaction numbers say what is new)",
            "timestamp": "none checked (the body's `timestamp` is informative: a failed ping "
            "is retried for about a day)",
            "tolerance": "none: no timestamp is checked, so replays are stopped by dedup alone",
            "quirks": "a ping carries no change: fetch the payloads with your cursor; answer "
            "200 or 204 with an empty body within 25 seconds",
        },
    ),
}
