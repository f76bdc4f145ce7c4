"""Microsoft Graph change notifications (a shared secret in the body, not a signature).

Sources: learn.microsoft.com/graph/change-notifications-delivery-webhooks (the
``validationToken`` query parameter echoed as text/plain within 10 seconds; each
notification in the body's ``value`` array carries the subscription's ``clientState``,
"validate that the clientState matches"); learn.microsoft.com/graph/
change-notifications-lifecycle-events (lifecycle notifications carry it too);
learn.microsoft.com/graph/change-notifications-with-resource-data (the
``validationTokens`` JWTs of rich notifications).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "msgraph": Preset(
        signature={},
        token_source="clientstate",  # noqa: S106 (where the token is, not a password)
        handshake="msgraph",
        summary={
            "headers": "none: the secret is each notification's `clientState` in the body",
            "signature": "none: `clientState` is a shared secret, compared in constant time "
            "for every item of `value[]`",
            "signed bytes": "none: nothing in the body is integrity-protected",
            "key": "the `clientState` you set when creating each subscription (route "
            "`secrets`; up to 128 characters)",
            "event id": "none is sent: a digest of the body",
            "timestamp": "none",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "the `validationToken` check is echoed by the guard before any "
            "authentication; lifecycle notifications are checked the same way; rich "
            "notifications' `validationTokens` JWTs are not verified",
        },
    ),
}
