"""Trello.

Sources: developer.atlassian.com/cloud/trello/guides/rest-api/webhooks ("Creating a
Webhook": the callbackURL is checked with an HTTP HEAD request when the webhook is
created, and the webhook is not created unless it answers 200; "Webhook Signatures":
``X-Trello-Webhook`` is "a base64 digest of an HMAC-SHA1 hash", over "the concatenation
of the full request body and the callbackURL exactly as it was provided during webhook
creation", keyed with the application's secret, the page's words as quoted on
community.atlassian.com/t5/Trello-questions/Trello-API-Trello-webhook-signatures-and-Python/qaq-p/743801,
where Trello's developer advocate names the key: the OAuth secret shown beside the API
key, not a token). No delivery ID is sent; the body's ``action.id`` names the action,
but retries of one action are not documented, so dedup keys on the signature.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "trello": Preset(
        issued=True,
        signature={
            "header": "x-trello-webhook",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed_content": "{body}{url}",
        },
        handshake="trello",
        methods=("HEAD",),
        summary={
            "headers": "`X-Trello-Webhook: <base64>`",
            "signature": "HMAC-SHA1, base64",
            "signed bytes": "the raw body, then the callback URL (`public_url` + path + "
            "query) exactly as it was given when the webhook was created",
            "key": "the application's OAuth secret (shown beside its API key), UTF-8 "
            "bytes; not the API key, not a token",
            "event id": "none sent: a digest of the verified signature (the body's "
            "`action.id` names the action, not the delivery)",
            "timestamp": "none signed",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "needs `public_url`: the URL must be the webhook's `callbackURL` byte "
            "for byte; the HEAD request Trello sends when the webhook is created is answered "
            "200 by the guard, before any authentication, and never reaches your app",
        },
    ),
}
