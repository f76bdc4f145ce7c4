"""The shared-token check: a query parameter, a header, Basic auth credentials, or the
``clientState`` of each Microsoft Graph change notification in the body."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from urllib.parse import parse_qsl

from ..config import TokenConfig
from ..request import WebhookRequest
from ..secrets import MAX_ACTIVE_SECRETS
from ..signatures.base import Failure
from ..verdict import Reason


class TokenCheck:
    """A route's ``token:`` rule, compiled: where the token is and its secrets' digests."""

    def __init__(self, token: TokenConfig) -> None:
        self._source = token.source
        self._name = token.name
        # Tokens are compared as SHA-256 digests so the comparison time does not depend
        # on the length of the configured token.
        self._digests = [(s, hashlib.sha256(s.reveal()).digest()) for s in token.secrets]

    def check(self, req: WebhookRequest, now: float) -> Failure | str:
        """The label of the secret the presented token matches, or the failure."""
        if self._source == "clientstate":
            return self._check_all(req, now)
        presented = self._presented(req)
        if isinstance(presented, Failure):
            return presented
        value, where = presented
        if value is None:
            return Failure(Reason.TOKEN_MISSING, f"{where} is missing")
        return self._match(value, now) or Failure(
            Reason.TOKEN_INVALID, f"{where} does not match any active token"
        )

    def _match(self, value: str, now: float) -> str | None:
        """The label of the active secret equal to ``value`` (constant time), or None."""
        digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()
        examined = 0
        for secret, expected in self._digests:
            if not secret.active(now):
                continue
            examined += 1
            if examined > MAX_ACTIVE_SECRETS:
                break
            if hmac.compare_digest(digest, expected):
                return secret.label
        return None

    def _check_all(self, req: WebhookRequest, now: float) -> Failure | str:
        """Microsoft Graph: every notification in the body's ``value`` array must carry a
        ``clientState`` equal to an active secret (a batch may mix subscriptions, each
        with its own); the first one's label is reported."""
        states = _client_states(req.body)
        if isinstance(states, Failure):
            return states
        labels = [self._match(state, now) for state in states]
        for i, label in enumerate(labels):
            if label is None:
                return Failure(
                    Reason.TOKEN_INVALID, f"value[{i}].clientState does not match any active token"
                )
        first = labels[0]
        assert first is not None
        return first

    def _presented(self, req: WebhookRequest) -> Failure | tuple[str | None, str]:
        """The token sent (None when absent) and where it was looked for."""
        name = self._name
        if self._source == "query":
            try:
                pairs = parse_qsl(req.query, keep_blank_values=True)
            except ValueError:  # undecodable text handed in by a caller, never on the wire
                return Failure(Reason.TOKEN_INVALID, "the query string cannot be decoded")
            values = [v for k, v in pairs if k == name]
            if len(values) > 1:
                return Failure(
                    Reason.TOKEN_INVALID,
                    f"the {name} query parameter was sent {len(values)} times",
                )
            return (values[0] if values and values[0] else None), f"the {name} query parameter"
        if self._source == "header":
            lines = req.header(name or "")
            if len(lines) > 1:
                return Failure(
                    Reason.TOKEN_INVALID, f"the {name} header was sent {len(lines)} times"
                )
            value = lines[0].strip() if lines and lines[0].strip() else None
            return value, f"the {name} header"
        outcome = _basic_password(req, name)
        if isinstance(outcome, Failure):
            return outcome
        return outcome, "basic auth credentials"


def _basic_password(req: WebhookRequest, username: str | None) -> Failure | str | None:
    lines = req.header("authorization")
    if not lines:
        return None
    if len(lines) > 1:
        return Failure(Reason.TOKEN_INVALID, "the Authorization header was sent more than once")
    if not lines[0].strip():  # an empty header is a missing one, as for header tokens
        return None
    scheme, _, encoded = lines[0].strip().partition(" ")
    if scheme.lower() != "basic":
        return Failure(Reason.TOKEN_INVALID, "the Authorization header is not Basic auth")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials are not valid base64")
    user, sep, password = decoded.partition(":")
    if not sep:
        return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials have no ':'")
    if username is not None and not hmac.compare_digest(
        user.encode("utf-8"), username.encode("utf-8")
    ):
        return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials do not match")
    return password or None


#: At most this many notifications of one Graph batch are examined; a longer one is refused.
MAX_NOTIFICATIONS = 1000


def _client_states(body: bytes) -> Failure | list[str]:
    """The ``clientState`` of each item of a Graph notification body's ``value`` array."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return Failure(Reason.TOKEN_MISSING, "the body is not JSON, so it has no clientState")
    items = event.get("value") if isinstance(event, dict) else None
    if not isinstance(items, list) or not items:
        return Failure(Reason.TOKEN_MISSING, "the body has no value[] of notifications")
    if len(items) > MAX_NOTIFICATIONS:
        return Failure(
            Reason.TOKEN_INVALID, f"the body holds more than {MAX_NOTIFICATIONS} notifications"
        )
    states: list[str] = []
    for i, item in enumerate(items):
        state = item.get("clientState") if isinstance(item, dict) else None
        if not isinstance(state, str) or not state:
            return Failure(Reason.TOKEN_MISSING, f"value[{i}].clientState is missing")
        states.append(state)
    return states
