"""SendGrid (Twilio SendGrid) signed Event Webhook.

Sources: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
and the ``sendgrid`` package's ``sendgrid/helpers/eventwebhook/__init__.py``
(``EventWebhook.verify_signature``: ECDSA P-256 with SHA-256 over the
``X-Twilio-Email-Event-Webhook-Timestamp`` value followed by the raw body; the signature
base64 DER; the verification key the base64 DER public key shown under Mail Settings).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "sendgrid": Preset(
        signature={
            "header": "x-twilio-email-event-webhook-signature",
            "timestamp_header": "x-twilio-email-event-webhook-timestamp",
            "algorithm": "ecdsa-p256-sha256",
            "encoding": "base64",
            "signed_content": "{timestamp}{body}",
        },
        # A body is a batch (a JSON array) of events, each with its own sg_event_id, and
        # SendGrid may send an event again in another batch: no one ID names a delivery,
        # so the replay check keys on the signed bytes and the app dedups per event.
        event_id="auto",
        summary={
            "headers": "`X-Twilio-Email-Event-Webhook-Signature: <base64>`, "
            "`X-Twilio-Email-Event-Webhook-Timestamp`",
            "signature": "ECDSA P-256 with SHA-256, DER, base64",
            "signed bytes": "`{X-Twilio-Email-Event-Webhook-Timestamp}{body}`",
            "key": "the **Verification Key** shown under Mail Settings > Signed Event Webhook "
            "(base64 DER public key), as shown; needs the `pubkey` extra",
            "event id": "a digest of the signed bytes (a body is a batch of events, each "
            "with its own `sg_event_id`: dedup those in the app); never the signature, "
            "which ECDSA lets anyone re-form",
            "timestamp": "`X-Twilio-Email-Event-Webhook-Timestamp`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "ECDSA signatures are malleable ((r, s) and (r, n-s) both verify): the "
            "replay check keys on the SHA-256 of the signed bytes, so the other form of a "
            "captured signature is still a duplicate",
        },
    ),
}
