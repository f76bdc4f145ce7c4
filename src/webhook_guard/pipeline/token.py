"""The shared-token check: a query parameter, a header or Basic auth credentials."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
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
        presented = self._presented(req)
        if isinstance(presented, Failure):
            return presented
        value, where = presented
        if value is None:
            return Failure(Reason.TOKEN_MISSING, f"{where} is missing")
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
        return Failure(Reason.TOKEN_INVALID, f"{where} does not match any active token")

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
