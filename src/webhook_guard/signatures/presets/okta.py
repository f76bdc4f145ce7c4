"""Okta event hooks (a shared secret in a header, not a signature).

Sources: developer.okta.com/docs/concepts/event-hooks/ (the authentication field: a
header name and secret sent with every request, usually ``Authorization``; the one-time
verification GET with ``X-Okta-Verification-Challenge``, answered
``{"verification": <value>}``; the body's ``eventId``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "okta": Preset(
        signature={},
        token_header="authorization",  # noqa: S106 (a header name)
        event_id={"json": "/eventId"},
        handshake="okta",
        methods=("GET",),
        summary={
            "headers": "`Authorization: <secret>` (the header value you set in Okta), "
            "`X-Okta-Verification-Challenge` on the verification GET",
            "signature": "none: a shared secret in a header, compared in constant time",
            "signed bytes": "none: the secret authenticates the sender, not the body",
            "key": "the whole Authorization value you entered in the event hook (route `secrets`)",
            "event id": "the body's `eventId`, else a digest of the body",
            "timestamp": "none",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the one-time verification GET is answered by the guard, only when "
            "its Authorization value matched; a custom header name needs a `generic` "
            "route with `token: {header: ...}`",
        },
    ),
}
