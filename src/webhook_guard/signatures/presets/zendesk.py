"""Zendesk webhooks (both connection methods: event subscriptions, and triggers or
automations).

Sources: developer.zendesk.com/documentation/webhooks/verifying ("Verifying webhook
authenticity": ``X-Zendesk-Webhook-Signature``, ``base64(HMACSHA256(TIMESTAMP + BODY))``
under the webhook's signing secret, ``X-Zendesk-Webhook-Signature-Timestamp``; a request
without a body (GET, DELETE) signs the timestamp alone; its Node example keys
``createHmac`` with the secret string, i.e. its UTF-8 bytes, and names
``dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==`` as the signing secret);
developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request (the headers
every request carries, ``x-zendesk-webhook-invocation-id`` among them, and an example
timestamp ``2021-03-25T05:09:27Z``; event subscriptions always POST Zendesk's JSON, a
trigger or automation sends the method, format and body its admin wrote).

An older version of the verifying page (under documentation/event-connectors/) wrote the
formula as ``(BODY)(TIMESTAMP)`` and gave a vector that verifies only in that order.
Independent verifiers in production (n8n's Zendesk Trigger node, among others) and the
current page all sign the timestamp first; the preset follows them, and accepts no
other order (docs/providers/zendesk.md, "Which order is signed", says why).
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "zendesk": Preset(
        issued=True,
        signature={
            "header": "x-zendesk-webhook-signature",
            "timestamp_header": "x-zendesk-webhook-signature-timestamp",
            # Unsigned: reported as the verdict's event_id, never the replay key.
            "id_header": "x-zendesk-webhook-invocation-id",
            "timestamp_format": "rfc3339",
            "algorithm": "sha256",
            "encoding": "base64",
            "format": "plain",
            "signed_content": "{timestamp}{body}",
        },
        # No body ID: a trigger's body is whatever the admin wrote, often the ticket's ID,
        # which every later update of that ticket repeats (each would be a "duplicate").
        event_id="auto",
        summary={
            "headers": "`X-Zendesk-Webhook-Signature: <base64>`, "
            "`X-Zendesk-Webhook-Signature-Timestamp`, `X-Zendesk-Webhook-Invocation-Id`",
            "signature": "HMAC-SHA256, base64, no prefix",
            "signed bytes": "`{timestamp}{body}`: the timestamp header's text, then the raw "
            "body (none for a GET or DELETE), no separator",
            "key": "the webhook's signing secret (shown with the webhook in Admin Center, or "
            "`GET /api/v2/webhooks/{id}/signing_secret`), UTF-8 bytes as shown: not "
            "base64-decoded",
            "event id": "`X-Zendesk-Webhook-Invocation-Id`" + UNSIGNED_ID + "; a trigger "
            "body's `id` is not used (it may be the ticket's)",
            "timestamp": "`X-Zendesk-Webhook-Signature-Timestamp`, ISO 8601 in UTC "
            "(`2021-07-25T10:00:00Z`)",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "trigger and automation webhooks may use GET, PUT, PATCH or DELETE: "
            "list them in the route's `methods`; the timestamp is signed before the body "
            "only (an old docs vector signs it after); Zendesk's public test secret "
            "belongs in tests, never in `secrets`",
        },
    ),
}
