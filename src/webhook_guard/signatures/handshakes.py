"""Answers to the endpoint checks providers make before (or while) sending events.

Each function takes the parts of an already *verified* request it needs and returns a
:class:`HandshakeAnswer` when the request is that provider's handshake, or ``None`` when
it is an ordinary delivery (or not a well-formed handshake: the app sees it as usual).
Callers must verify the request's signature first wherever the provider signs the
handshake (Slack, Zoom, Twitch, Discord): answering an unsigned Zoom validation with its
HMAC would make the endpoint a signing oracle. Meta's GET is checked here, against the
route's ``verify_token``; Okta's, Microsoft Graph's and Dropbox's carry no signature, and
answering them only echoes a value the caller sent (WooCommerce's ping and the ``HEAD``
URL checks of Trello and Mandrill echo nothing: their answer is an empty 200).

Echoed values are bounded and restricted to visible ASCII, and answered as
``text/plain`` or JSON, so the echo cannot carry markup or header tricks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..verdict import Reason
from .base import Failure

#: Longest challenge echoed back.
MAX_CHALLENGE = 2048
#: Largest body looked at as a possible check (Slack, Zoom, Discord). Their checks are
#: small objects around a challenge of at most MAX_CHALLENGE characters; a larger body is
#: an ordinary delivery, passed to the app unsearched, so large events cost no extra scan.
MAX_CHECK_BODY = 8192
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
_VISIBLE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class HandshakeAnswer:
    """The response a guard sends itself, instead of calling the app."""

    body: bytes
    content_type: str
    status: int = 200


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _check_event(body: bytes, key: str, kind: str) -> dict[str, Any] | None:
    """The parsed body when its top-level ``key`` is ``kind`` (a check), else None.

    Every delivery on the route passes here, so most bodies are turned away unparsed:
    a large one (see MAX_CHECK_BODY), and one that cannot hold the string ``kind``. A
    UTF-8 body can hold it only as its own bytes or written with a \\u escape (kinds are
    letters, digits, "_" and "."; no other escape gives those).
    """
    if len(body) > MAX_CHECK_BODY:
        return None
    if kind.encode() not in body and b"\\u" not in body and _plain_utf8(body):
        return None
    event = _json_object(body)
    return event if event is not None and event.get(key) == kind else None


def _plain_utf8(body: bytes) -> bool:
    """Whether json.loads reads ``body`` as UTF-8 (no BOM, no NUL among the first bytes:
    those mean UTF-16 or UTF-32 to it)."""
    return body[:1] in b'{[ \t\n\r"' and b"\x00" not in body[:4]


def _challenge(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_CHALLENGE and _VISIBLE.fullmatch(value):
        return value
    return None


def _text(value: str) -> HandshakeAnswer:
    return HandshakeAnswer(value.encode(), TEXT)


def _json(value: Mapping[str, Any]) -> HandshakeAnswer:
    return HandshakeAnswer(json.dumps(value, separators=(",", ":")).encode(), JSON)


def slack(body: bytes) -> HandshakeAnswer | None:
    """Slack Events API ``url_verification``: answer the ``challenge`` (signed request).

    https://api.slack.com/events/url_verification
    """
    event = _check_event(body, "type", "url_verification")
    if event is None:
        return None
    challenge = _challenge(event.get("challenge"))
    return None if challenge is None else _text(challenge)


def zoom(body: bytes, secret_token: bytes) -> HandshakeAnswer | None:
    """Zoom ``endpoint.url_validation``: ``{plainToken, encryptedToken}``, the latter the
    hex HMAC-SHA256 of ``plainToken`` under the app's secret token (signed request).

    https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
    """
    event = _check_event(body, "event", "endpoint.url_validation")
    if event is None:
        return None
    payload = event.get("payload")
    plain = _challenge(payload.get("plainToken")) if isinstance(payload, dict) else None
    if plain is None:
        return None
    encrypted = hmac.new(secret_token, plain.encode(), hashlib.sha256).hexdigest()
    return _json({"plainToken": plain, "encryptedToken": encrypted})


def twitch(message_type: str | None, body: bytes) -> HandshakeAnswer | None:
    """Twitch EventSub ``webhook_callback_verification``: the ``challenge`` as text/plain
    (signed request; ``message_type`` is the ``Twitch-Eventsub-Message-Type`` header).

    https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
    """
    if message_type != "webhook_callback_verification":
        return None
    event = _json_object(body)
    challenge = _challenge(event.get("challenge")) if event is not None else None
    return None if challenge is None else _text(challenge)


def discord(body: bytes) -> HandshakeAnswer | None:
    """Discord interactions PING (``{"type": 1}``) answered with PONG ``{"type": 1}``
    (signed request).

    https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
    """
    event = _json_object(body) if len(body) <= MAX_CHECK_BODY else None
    # `is 1`-style check: True == 1 in Python, and {"type": true} is not a PING.
    if event is None or type(event.get("type")) is not int or event["type"] != 1:
        return None
    return _json({"type": 1})


def meta(query: Mapping[str, str], verify_token: bytes) -> HandshakeAnswer | Failure | None:
    """Meta (Facebook, Instagram, WhatsApp) GET verification: echo ``hub.challenge`` when
    ``hub.mode=subscribe`` and ``hub.verify_token`` equals the route's token.

    ``query`` is the decoded query string. This request is unsigned: the verify token is
    its only proof, so a wrong or missing token is a refusal, not a pass-through.

    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    """
    if query.get("hub.mode") != "subscribe":
        return None
    given = query.get("hub.verify_token")
    if not given:
        return Failure(Reason.TOKEN_MISSING, "hub.verify_token is missing")
    # surrogatepass: a query decoded with replacement or escapes must not raise here.
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), verify_token):
        return Failure(Reason.TOKEN_INVALID, "hub.verify_token does not match the route's")
    challenge = _challenge(query.get("hub.challenge"))
    if challenge is None:
        return Failure(Reason.TOKEN_INVALID, "hub.challenge is missing or not visible ASCII")
    return _text(challenge)


def okta(headers: Mapping[str, str]) -> HandshakeAnswer | None:
    """Okta event hook one-time verification: ``{"verification": <the
    x-okta-verification-challenge header>}``. ``headers`` keys are lower case.

    https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request
    """
    challenge = _challenge(headers.get("x-okta-verification-challenge"))
    return None if challenge is None else _json({"verification": challenge})


def msgraph(query: Mapping[str, str]) -> HandshakeAnswer | None:
    """Microsoft Graph change-notification endpoint validation: echo the decoded
    ``validationToken`` query parameter as text/plain.

    https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation
    """
    token = query.get("validationToken")
    if token is None:
        return None
    # Graph's token is text with spaces and punctuation; allow those, nothing else.
    if len(token) > MAX_CHALLENGE or not token.isascii() or not token.isprintable():
        return None
    return _text(token)


def dropbox(query: Mapping[str, str]) -> HandshakeAnswer | None:
    """Dropbox verification GET: echo the ``challenge`` query parameter as text/plain
    (unsigned; Dropbox asks for ``X-Content-Type-Options: nosniff``, which every answer
    carries).

    https://www.dropbox.com/developers/reference/webhooks#documentation
    """
    challenge = _challenge(query.get("challenge"))
    return None if challenge is None else _text(challenge)


#: WooCommerce's activation ping, the whole body: ``webhook_id=`` and the webhook's ID.
_WC_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def woocommerce(body: bytes, signed: bool) -> HandshakeAnswer | None:
    """WooCommerce activation ping: an unsigned POST whose body is exactly
    ``webhook_id=<n>``, answered 200 with an empty body (``signed``: whether the request
    carries a signature header; a signed request is a delivery, never the ping).

    https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php
    (``deliver_ping``)
    """
    if signed or _WC_PING.fullmatch(body) is None:
        return None
    return HandshakeAnswer(b"", TEXT)


def head_check(method: str, body: bytes) -> HandshakeAnswer | None:
    """A provider's check that a new webhook's URL exists: a ``HEAD`` request, answered
    200 with an empty body (unsigned; nothing is echoed, and a ``HEAD`` carries no event).
    Any other method, or a HEAD that carries a body, is not the check.

    Trello: https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/
    ("Creating a Webhook"); Mandrill: mandrill.zendesk.com, "Why can't my webhook or
    inbound route URL be verified?"
    """
    if method != "HEAD" or body:
        return None
    return HandshakeAnswer(b"", TEXT)


__all__ = [
    "JSON",
    "MAX_CHALLENGE",
    "MAX_CHECK_BODY",
    "TEXT",
    "HandshakeAnswer",
    "discord",
    "dropbox",
    "head_check",
    "meta",
    "msgraph",
    "okta",
    "slack",
    "twitch",
    "woocommerce",
    "zoom",
]
