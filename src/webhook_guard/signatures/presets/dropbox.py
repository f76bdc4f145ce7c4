"""Dropbox.

Sources: dropbox.com/developers/reference/webhooks ("Verification request": a GET with
``?challenge=...`` to be echoed back as the body, with ``Content-Type: text/plain`` and
``X-Content-Type-Options: nosniff``; "Receiving notifications": ``X-Dropbox-Signature``,
the hex HMAC-SHA256 of the request body under the app secret; a notification only names
the accounts whose files changed, and the app then asks the API what changed).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "dropbox": Preset(
        issued=True,
        signature={
            "header": "x-dropbox-signature",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        # Two notifications for the same accounts are the same bytes and the same
        # signature, and both are real changes: a replay check would drop the second.
        event_id="none",
        handshake="dropbox",
        methods=("GET",),
        summary={
            "headers": "`X-Dropbox-Signature: <hex>`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the app secret (App Console > Settings), as it is",
            "event id": "none, and no replay check (`event_id: none`): a notification only "
            "names accounts, and the next change to the same accounts sends the same bytes",
            "timestamp": "none signed",
            "tolerance": "none: no timestamp is signed, and no dedup either: a replayed "
            "notification only makes your app ask Dropbox again",
            "quirks": "the verification GET (`?challenge=...`) is echoed by the guard before "
            "any authentication, as `text/plain` with `nosniff`",
        },
    ),
}
