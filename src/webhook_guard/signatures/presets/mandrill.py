"""Mandrill (Mailchimp Transactional) webhooks.

Sources: mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/
("Authenticating webhook requests") and mandrill.zendesk.com "How to Authenticate Webhook
Requests" (``X-Mandrill-Signature``: the base64 HMAC-SHA1, under the webhook's
authentication key, of the webhook URL exactly as entered in Mandrill, query included,
followed by each POST variable's key and value, sorted by key, with no delimiter);
mailchimp.com/developer/transactional/docs/webhooks ("Formats": a form POST with a single
parameter, ``mandrill_events``, a JSON array of up to 1,000 events) and mandrill.zendesk.com
"Why can't my webhook or inbound route URL be verified?" (a ``HEAD`` request checks the
URL, expecting 200; failing that, a POST with ``mandrill_events=[]`` signed with the
public key ``test-webhook``); mandrill.zendesk.com "Can I stop a failed webhook batch from
retrying?" (a failed batch is retried).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "mandrill": Preset(
        issued=True,
        signature={
            "header": "x-mandrill-signature",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed_content": "{url}{body}",
            "scheme": "mandrill",
        },
        # A body batches up to 1,000 events, each with the _id of its message (shared by
        # that message's other events): no one ID names a delivery, so the replay check
        # keys on the verified signature and the app dedups per event.
        event_id="auto",
        handshake="mandrill",
        methods=("HEAD",),
        summary={
            "headers": "`X-Mandrill-Signature: <base64>`",
            "signature": "HMAC-SHA1, base64",
            "signed bytes": "the webhook URL exactly as entered in Mandrill (`public_url` + "
            "path + query) followed by each form parameter's name and value, sorted by name "
            "(Mandrill sends one: `mandrill_events`)",
            "key": "the webhook's key (the Key column of the Webhooks page, or "
            "`webhooks/info`), as it is",
            "event id": "none is sent: a digest of the verified signature (a body batches up "
            "to 1,000 events: dedup each event in the app)",
            "timestamp": "none signed (each event's `ts` is informative)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "needs the route's `public_url`; only the exact URL is tried, and a "
            "body that repeats a parameter or is not a form is refused; the `HEAD` check "
            "Mandrill makes when a webhook is added is answered 200 by the guard; the "
            "fallback check signed with the public key `test-webhook` is refused",
        },
    ),
}
