"""Segment (Twilio Segment) webhook destinations signed with a shared secret.

Sources: segmentio/action-destinations packages/destination-actions/src/destinations/
webhook/index.ts (``extendRequest``: ``X-Signature`` is
``createHmac('sha1', sharedSecret).update(JSON.stringify(data), 'utf8').digest('hex')``,
and ``send/index.ts`` sends the same ``data`` as the JSON body; for a batch it signs only
the first event's ``data`` while the body is the array of all of them), the same code in
webhook-extensible/index.ts; twilio.com/docs/segment/connections/destinations/catalog/
actions-webhook ("Segment will sign requests with an HMAC in the "X-Signature" request
header. The HMAC is a hex-encoded SHA1 hash generated using the shared secret and the
request body"). The default ``data`` mapping (``@path: $.``) is the whole event, whose
``messageId`` is Segment's unique ID of the message; a retry sends the same event.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "segment": Preset(
        signature={
            "header": "x-signature",
            "algorithm": "sha1",
            "encoding": "hex",
            "format": "plain",
        },
        event_id={"json": "/messageId"},
        summary={
            "headers": "`X-Signature: <hex>`",
            "signature": "HMAC-SHA1, lowercase hex, no prefix",
            "signed bytes": "the raw body (one event's `data`, JSON-encoded)",
            "key": "the destination's Shared Secret (you choose it in its settings), UTF-8 bytes",
            "event id": "the body's `messageId` (the default mapping sends the whole event), "
            "else a digest of the signature",
            "timestamp": "none signed (the event's `timestamp` and `sentAt` are when it "
            "happened, and are not checked)",
            "tolerance": "none: no send time is signed, so replays are stopped by dedup alone",
            "quirks": "batching must stay off: a batched request's `X-Signature` covers only "
            "the first event's `data`, not the array sent, so it is refused "
            "(`signature_invalid`); a `PUT` or `PATCH` destination needs that method in "
            "the route's `methods`",
        },
    ),
}
