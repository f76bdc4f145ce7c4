"""The handshake step: the endpoint checks providers make before (or while) sending
events, answered by the guard itself instead of the app (see docs/architecture.md,
"Handshakes").

A check the provider signs (Slack, Zoom, Twitch, Discord, Okta's authenticated GET) runs
*after* the route's signature or token verified: answering an unsigned Zoom validation
with its HMAC would make the endpoint a signing oracle. A check that carries no
signature (Meta's GET, proved by the route's ``verify_token``; Microsoft Graph's
``validationToken`` and Dropbox's ``challenge``, plain echoes; WooCommerce's activation
ping and the ``HEAD`` URL checks of Trello and Mandrill, answered with an empty 200) runs
*before* authentication, and a request that is not such a check goes on to the ordinary
checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from ..config import RouteConfig
from ..request import WebhookRequest
from ..secrets import Secret
from ..signatures import handshakes
from ..signatures.base import Failure
from ..signatures.handshakes import HandshakeAnswer
from ..signatures.keyfetch import NO_FETCHER, KeyFetcher
from ..verdict import Reason

Answer = HandshakeAnswer | Failure | None
#: (request, route config, the secret that verified it, or None) -> the answer, a
#: refusal, or None for an ordinary delivery.
Answerer = Callable[[WebhookRequest, RouteConfig, "Secret | None"], Answer]


@dataclass(frozen=True)
class Handshake:
    """One provider's endpoint check."""

    stage: Literal["before", "after"]
    """``after``: answered only once the request's signature or token verified;
    ``before``: the check carries its own proof (or none is needed to echo it)."""
    answer: Answerer
    fetches: bool = False
    """Whether ``answer`` takes the route's key fetcher too (``fetcher=``)."""


def _query(req: WebhookRequest) -> dict[str, str]:
    # The query is only read when the route's provider makes a query-string check. A
    # query of more fields than any check has is no check: the route's other checks decide.
    try:
        return dict(parse_qsl(req.query, keep_blank_values=True, max_num_fields=32))
    except ValueError:
        return {}


def _header(req: WebhookRequest, name: bytes) -> str | None:
    lines = req.values(name)
    return lines[0] if lines is not None and len(lines) == 1 else None


def _meta(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    if req.method != "GET":
        return None
    token = config.handshake.verify_token
    query = _query(req)
    if token is None:
        if query.get("hub.mode") != "subscribe":
            return None
        return Failure(
            Reason.TOKEN_INVALID,
            "this route sets no handshake.verify_token, so its verification GET cannot be answered",
        )
    return handshakes.meta(query, token.reveal())


def _zoom(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    return None if secret is None else handshakes.zoom(req.body, secret.reveal())


def _okta(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    if req.method != "GET":
        return None
    name = "x-okta-verification-challenge"
    challenge = _header(req, name.encode())
    return None if challenge is None else handshakes.okta({name: challenge})


def _twitch(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    return handshakes.twitch(_header(req, b"twitch-eventsub-message-type"), req.body)


def _sns(
    req: WebhookRequest, config: RouteConfig, secret: Secret | None, fetcher: KeyFetcher | None
) -> Answer:
    # A verified SubscriptionConfirmation; confirmed here only when the route opts in,
    # else it reaches the app like any message.
    if not config.handshake.confirm:
        return None
    from ..signatures.sns import confirm_subscription, subscription_confirmation

    message = subscription_confirmation(req.body)
    if message is None:
        return None
    failed = confirm_subscription(message, fetcher) if fetcher is not None else NO_FETCHER
    if failed is not None:
        # 503: SNS sends the confirmation again later.
        return Failure(Reason.KEY_UNAVAILABLE, f"confirming the subscription: {failed.detail}")
    return handshakes.HandshakeAnswer(b"subscription confirmed\n", handshakes.TEXT)


def _dropbox(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    return handshakes.dropbox(_query(req)) if req.method == "GET" else None


def _woocommerce(req: WebhookRequest, config: RouteConfig, secret: Secret | None) -> Answer:
    if req.method != "POST":
        return None
    signed = req.values(b"x-wc-webhook-signature") is not None
    return handshakes.woocommerce(req.body, signed)


#: Every check a preset may name (``Preset.handshake``).
# Trello's and Mandrill's check that a new webhook's URL exists.
_HEAD_CHECK = Handshake(
    "before", lambda req, config, secret: handshakes.head_check(req.method, req.body)
)

HANDSHAKES: dict[str, Handshake] = {
    "slack": Handshake("after", lambda req, config, secret: handshakes.slack(req.body)),
    "zoom": Handshake("after", _zoom),
    "twitch": Handshake("after", _twitch),
    "discord": Handshake("after", lambda req, config, secret: handshakes.discord(req.body)),
    "okta": Handshake("after", _okta),
    "meta": Handshake("before", _meta),
    "msgraph": Handshake("before", lambda req, config, secret: handshakes.msgraph(_query(req))),
    "dropbox": Handshake("before", _dropbox),
    "woocommerce": Handshake("before", _woocommerce),
    "trello": _HEAD_CHECK,
    "mandrill": _HEAD_CHECK,
    "sns": Handshake("after", _sns, fetches=True),  # type: ignore[arg-type]
}


class HandshakeStep:
    """A route's endpoint check, specialised for the route's config."""

    __slots__ = ("_answer", "_config", "before", "kind")

    def __init__(self, kind: str, config: RouteConfig, fetcher: KeyFetcher | None = None) -> None:
        handshake = HANDSHAKES[kind]
        self.kind = kind
        self.before = handshake.stage == "before"
        answer: Callable[..., Answer] = handshake.answer
        self._answer = functools.partial(answer, fetcher=fetcher) if handshake.fetches else answer
        self._config = config

    def answer(self, req: WebhookRequest, secret: Secret | None) -> Answer:
        """The answer when ``req`` is the provider's check, a refusal when it is one that
        fails its own proof, else None."""
        return self._answer(req, self._config, secret)


__all__ = ["HANDSHAKES", "Handshake", "HandshakeStep"]
