"""Notion integration webhooks.

Sources: developers.notion.com/reference/webhooks ("Step 2: Verifying the subscription":
when a subscription is created, Notion POSTs a one-time JSON body
``{"verification_token": "secret_..."}``, unsigned, which the user pastes into the
integration's Webhooks tab, "Resend token" sending it again; "Step 3: Validating event
payloads": every event carries ``X-Notion-Signature: sha256=<hex>``, the HMAC-SHA256 of
the request body keyed with that ``verification_token``, with a sample signature) and
developers.notion.com/reference/webhooks-events-delivery (the body's ``id``, "the unique
ID of the webhook event"; ``attempt_number``, 1 to 8, the attempt of the current delivery;
``timestamp``, when the event occurred; up to 8 retries over about 24 hours).
"""

from __future__ import annotations

from .model import HUB, Preset

PRESETS: dict[str, Preset] = {
    "notion": Preset(
        issued=True,
        signature={**HUB, "header": "x-notion-signature"},
        # A retry carries a new attempt_number, so its bytes and signature differ from
        # the first attempt's: only the event ID shows it is the same event.
        event_id={"json": "/id"},
        summary={
            "headers": "`X-Notion-Signature: sha256=<hex>`",
            "signature": "HMAC-SHA256, lowercase hex, prefixed `sha256=`",
            "signed bytes": "the raw body",
            "key": "the subscription's `verification_token` (the `secret_...` value Notion "
            "POSTs once when the subscription is created), as it is",
            "event id": "the body's `id` (the same on every attempt), else a digest of the "
            "signature",
            "timestamp": "none signed in a header (the body's `timestamp` is when the event "
            "occurred, and retries go on for about 24 hours)",
            "tolerance": "none: no timestamp is checked, so replays are stopped by dedup alone",
            "quirks": 'the one-time verification request (`{"verification_token": ...}`) is '
            "unsigned: in enforce mode it is refused (`signature_missing`) and never reaches "
            "your app; read the token while setting up, with the route in `mode: report` "
            "(see the provider page)",
        },
    ),
}
