"""WorkOS.

Sources: workos-python 10.8 workos/webhooks/_resource.py (``verify_header``);
workos.com/docs/events/data-syncing/webhooks.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "workos": Preset(
        issued=True,
        signature={
            "header": "workos-signature",
            "format": "kv",
            "separator": ", ",
            "version": "v1",
            "timestamp_key": "t",
            "timestamp_format": "milliseconds",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp}.{body}",
        },
        event_id={"json": "/id"},
        summary={
            "headers": "`WorkOS-Signature: t=<ms>, v1=<hex>`",
            "signature": "HMAC-SHA256, lowercase hex, `v1=`",
            "signed bytes": "`{t}.{body}` (`t` in milliseconds, as sent)",
            "key": "the endpoint's webhook secret as the dashboard shows it, UTF-8 bytes",
            "event id": "the body's `id` (`event_...`), the same on every retry of the event",
            "timestamp": "`t=`, Unix milliseconds, both ways",
            "tolerance": "the route's `tolerance` (default 300 s); the WorkOS SDK's default "
            "is 180 s",
            "quirks": "pairs are separated by a comma and a space, as WorkOS sends them",
        },
    ),
}
