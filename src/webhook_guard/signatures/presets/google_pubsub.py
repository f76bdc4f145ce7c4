"""Google Cloud Pub/Sub push subscriptions with authentication.

Sources: https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions (the
``Authorization: Bearer`` OIDC token, signed by Google, ``aud`` the subscription's
audience, ``email`` its service account; verify with Google's keys) and
https://cloud.google.com/pubsub/docs/push (the body: ``{"message": {"data",
"attributes", "messageId", "publishTime"}, "subscription"}``; redeliveries keep the
``messageId``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "google-pubsub": Preset(
        signature={
            "header": "authorization",
            "algorithm": "jwt",
            "scheme": "google-oidc",
        },
        event_id={"json": "/message/messageId"},
        summary={
            "headers": "`Authorization: Bearer <JWT>`",
            "signature": "an OIDC token (JWT, RS256) signed by Google",
            "signed bytes": "the token's claims only: the body is not signed",
            "key": "no secret: Google's published keys (`https://www.googleapis.com/oauth2/"
            "v3/certs`), fetched and cached; `signature.audience` and `signature.emails` "
            "(the push subscription's audience and service accounts) are required; needs "
            "the `pubkey` extra",
            "event id": "the body's `message.messageId` (kept on redelivery)",
            "timestamp": "the token's `exp` and `iat` (Google's tokens live an hour), on "
            "the real clock",
            "tolerance": "a minute of clock skew on `exp`/`iat`; the route's `tolerance` "
            "does not apply",
            "quirks": "the token authenticates the sender, not the body: anyone who "
            "captures one can send other bodies with it until it expires, so keep the "
            "endpoint on HTTPS; a key that cannot be fetched is 503 `key_unavailable`",
        },
    ),
}
