"""Mailgun (the signature is an object in the body).

Sources: documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
(``signature: {timestamp, token, signature}``; ``signature`` is the hex HMAC-SHA256 of
``timestamp + token`` under the HTTP webhook signing key; ``parent-signature`` for
subaccounts; "cache the token" against replays). See signatures/mailgun.py.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "mailgun": Preset(
        issued=True,
        signature={
            # Never read: the scheme takes the signature from the body; the name only
            # satisfies the generic block.
            "header": "x-mailgun-signature-in-body",
            "algorithm": "sha256",
            "encoding": "hex",
            "scheme": "mailgun",
        },
        summary={
            "headers": "none: the body's `signature` object `{timestamp, token, signature}` "
            "(legacy webhooks and routes: the same three form fields)",
            "signature": "HMAC-SHA256, lowercase hex; a subaccount's `parent-signature` "
            "(the primary account's key) counts too",
            "signed bytes": "`timestamp` followed by `token`, no separator; `event-data` is "
            "not signed",
            "key": "the HTTP webhook signing key (Sending > Webhooks), as it is",
            "event id": "the signed `token`: each is accepted once, as Mailgun asks",
            "timestamp": "`signature.timestamp`, Unix seconds (a string or a number), both ways",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "quirks": "the body is not signed: a captured signature object verifies with any "
            "`event-data` inside the window, so each one is accepted once; multipart route "
            "posts are not read",
        },
    ),
}
