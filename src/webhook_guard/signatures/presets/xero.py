"""Xero.

Sources: developer.xero.com/documentation/guides/webhooks/overview
(``x-xero-signature``: the base64 HMAC-SHA256 of the request body under the app's
webhooks key; the body ``{events, firstEventSequence, lastEventSequence, entropy}``;
"Intent to Receive": correctly and incorrectly signed POSTs with an empty ``events``
array, to be answered 200 with an empty body and 401 respectively, within 5 seconds).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "xero": Preset(
        issued=True,
        signature={
            "header": "x-xero-signature",
            "algorithm": "sha256",
            "encoding": "base64",
        },
        summary={
            "headers": "`x-xero-signature: <base64>`",
            "signature": "HMAC-SHA256, base64",
            "signed bytes": "the raw body",
            "key": "the app's webhooks key (the Webhooks tab of the app in My Apps), UTF-8 bytes",
            "event id": "none is sent: a digest of the verified signature (a body batches "
            "several `events`, and its random `entropy` makes each one unique)",
            "timestamp": "none signed (each event's `eventDateUtc` is informative)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "Intent to Receive: a wrongly signed check gets 401 from the guard; a "
            "correctly signed one (`events: []`) reaches your app, which must answer 200 "
            "with an empty body within 5 seconds",
        },
    ),
}
