"""Customer.io reporting webhooks (Journeys message activity).

Sources: customer.io/docs/api/webhooks ("Reporting webhooks": every webhook carries
``X-CIO-Signature``, an HMAC-SHA256 made with the webhook signing key shown on the
reporting webhook's page, over the request body with the ``X-CIO-Timestamp`` header;
a 4-second timeout; failed calls retried with exponential backoff for seven days,
later calls held back until the failed one succeeds). The exact layout of the signed
bytes, ``v0:<X-CIO-Timestamp>:<body>``, lowercase hex, is what every independent
verifier in production we found computes (the stored copy of Customer.io's page stops
before its example); the body's ``event_id`` is the event's ID.

Customer.io also sends ``X-CIO-Signature`` on campaign webhook actions, signed with a
key of its own that the account cannot see: this preset is for reporting webhooks.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "customerio": Preset(
        issued=True,
        signature={
            "header": "x-cio-signature",
            "timestamp_header": "x-cio-timestamp",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
            "signed_content": "v0:{timestamp}:{body}",
        },
        event_id={"json": "/event_id"},
        summary={
            "headers": "`X-CIO-Signature: <hex>`, `X-CIO-Timestamp`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "`v0:{timestamp}:{body}`",
            "key": "the reporting webhook's signing key (Data & Integrations > "
            "Integrations > Reporting Webhooks), UTF-8 bytes as shown",
            "event id": "the body's `event_id`, else a digest of the verified signature",
            "timestamp": "`X-CIO-Timestamp`, Unix seconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "Customer.io holds back later events while one is retried (for up "
            "to seven days): a refused delivery delays every event after it; campaign "
            "webhook actions are signed with Customer.io's own key, not this one",
        },
    ),
}
