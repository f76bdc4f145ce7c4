"""Jira Cloud admin webhooks registered with a secret (the same scheme as Jira Data
Center's).

Sources: developer.atlassian.com/cloud/jira/platform/webhooks ("Secure admin webhooks":
``X-Hub-Signature`` formatted ``method=signature`` as WebSub defines it, the HMAC-SHA256
of the payload bytes under the webhook's secret, hex; its example, secret ``It's a Secret
to Everybody`` and payload ``Hello World!``, is recomputed in the tests; "Retry policy":
``X-Atlassian-Webhook-Identifier`` is unique within a Jira Cloud tenant and the same
across retries, ``X-Atlassian-Webhook-Retry`` counts them; only webhooks registered in
Jira administration or by ``/rest/webhooks/1.0/webhook`` take a secret, dynamic webhooks
of Connect and OAuth 2.0 apps are authenticated with a JWT instead);
confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html (Jira Data
Center: the same ``X-Hub-Signature: sha256=<hex>``, HMAC-SHA256 of the received body with
the secret as key); community.developer.atlassian.com/t/new-jira-cloud-webhook-retry-policy/30554
(Atlassian's announcement of the retries and ``X-Atlassian-Webhook-Retry``); the Jira Cloud
REST API's ``FailedWebhook.id``, "as sent in the X-Atlassian-Webhook-Identifier header".
"""

from __future__ import annotations

from .model import HUB, UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "jira": Preset(
        signature={
            **HUB,
            "header": "x-hub-signature",
            "id_header": "x-atlassian-webhook-identifier",
        },
        summary={
            "headers": "`X-Hub-Signature: sha256=<hex>`, `X-Atlassian-Webhook-Identifier`, "
            "`X-Atlassian-Webhook-Retry` (on retries)",
            "signature": "HMAC-SHA256, lowercase hex, prefix `sha256=` (WebSub's "
            "`method=signature`)",
            "signed bytes": "the raw body",
            "key": "the webhook's Secret (yours, or the one Jira's \"Generate secret\" "
            "makes), UTF-8 bytes",
            "event id": "`X-Atlassian-Webhook-Identifier` (unique within the site, the same "
            "on retries)" + UNSIGNED_ID,
            "timestamp": "none signed in a header (the body's `timestamp` is when the event "
            "happened, and is not checked)",
            "tolerance": "none: no send time is signed, so replays are stopped by dedup alone",
            "quirks": "only admin webhooks (Jira administration, or `/rest/webhooks/1.0/"
            "webhook`) saved with a secret are signed; dynamic webhooks of Connect and "
            "OAuth 2.0 apps carry a JWT instead, which this preset does not check; a "
            "method other than `sha256` is refused",
        },
    ),
}
