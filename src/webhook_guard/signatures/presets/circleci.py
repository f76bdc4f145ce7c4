"""CircleCI outbound webhooks.

Sources: circleci/circleci-docs docs/guides/modules/integration/pages/
outbound-webhooks.adoc ("Validate outbound webhooks": ``circleci-signature``, a
comma-separated list of versioned signatures of which only ``v1`` exists, the hex
HMAC-SHA256 of the request body under the webhook's Secret token, with three example
signatures; "Webhook requests may be duplicated": deduplicate on the body's ``id``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "circleci": Preset(
        signature={
            "header": "circleci-signature",
            "format": "kv",
            "separator": ",",
            "version": "v1",
            "algorithm": "sha256",
            "encoding": "hex",
        },
        event_id={"json": "/id"},
        summary={
            "headers": "`circleci-signature: v1=<hex>[,v2=...]`, `circleci-event-type`",
            "signature": "HMAC-SHA256, lowercase hex, in the `v1` entry of a comma-separated "
            "`key=value` list; other versions are ignored (a header without `v1` is malformed)",
            "signed bytes": "the raw body",
            "key": "the webhook's Secret token (you choose it in Project Settings > "
            "Webhooks), UTF-8 bytes",
            "event id": "the body's `id` (the same on a duplicated delivery), else a digest "
            "of the signature",
            "timestamp": "none signed (`happened_at` in the body is informative)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the Secret token is optional in CircleCI: a webhook without one sends "
            "no signature and is refused (`signature_missing`); `circleci-event-type` is not "
            "signed: take `type` from the verified body",
        },
    ),
}
