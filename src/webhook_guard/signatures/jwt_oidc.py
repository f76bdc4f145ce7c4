"""Google Cloud Pub/Sub push: the OIDC bearer token Google attaches to each push request.

https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions: the
``Authorization: Bearer <JWT>`` is signed by Google (RS256, keys at
:data:`~.keyfetch.GOOGLE_JWKS_URL`), its ``aud`` is the audience configured on the
subscription (the push endpoint URL by default), ``iss`` is ``accounts.google.com`` or
``https://accounts.google.com``, and ``email`` is the subscription's service account with
``email_verified`` true. Anyone can get Google to sign a token for *their* service
account and *their* audience, so both are checked, not only the signature.

JWT parsing and checking is PyJWT's; keys come through the injectable
:class:`~.keyfetch.KeyFetcher` (so tests serve a JWKS from a local HTTPS server).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import jwt

from ..request import WebhookRequest
from ..secrets import Secret
from ..verdict import Reason
from .base import Failure, HmacScheme, ParsedSignature, SignatureSpec
from .keyfetch import GOOGLE_JWKS_URL, NO_FETCHER, KeyFetcher, KeyUnavailable

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
#: Longest token examined: Google's are about 1 KiB.
MAX_TOKEN = 8 * 1024
_ALGORITHMS = ["RS256"]
_REQUIRED = ["exp", "iat", "iss", "aud", "email"]


def verify_google_oidc(
    authorization: str | None,
    fetcher: KeyFetcher,
    *,
    audience: str,
    emails: Collection[str],
    leeway: int = 60,
    jwks_url: str = GOOGLE_JWKS_URL,
) -> Mapping[str, Any] | Failure | KeyUnavailable:
    """The verified claims of a Pub/Sub push token, or why it is refused.

    Args:
        authorization: the request's ``Authorization`` header value, or ``None``.
        fetcher: built with ``allowed=google_jwks_url_ok``.
        audience: the ``aud`` the subscription was configured with.
        emails: the service-account e-mails this route accepts.
        leeway: seconds of clock skew allowed on ``exp``/``iat``/``nbf``.

    Returns:
        The claims; a failure (``signature_missing|malformed|mismatch``,
        ``timestamp_too_old|in_future``); or :class:`KeyUnavailable` (503).
    """
    if not authorization:
        return Failure(Reason.SIGNATURE_MISSING, "no Authorization: Bearer token")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN or not token.isascii():
        return Failure(Reason.SIGNATURE_MALFORMED, "Authorization must be 'Bearer <JWT>'")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return Failure(Reason.SIGNATURE_MALFORMED, "the bearer token is not a JWT")
    kid = header.get("kid")
    if header.get("alg") not in _ALGORITHMS or not isinstance(kid, str):
        return Failure(Reason.SIGNATURE_MALFORMED, "the token is not an RS256 JWT with a kid")
    key = _find_key(fetcher, jwks_url, kid)
    if not isinstance(key, jwt.PyJWK):
        return key
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=_ALGORITHMS,
            audience=audience,
            issuer=GOOGLE_ISSUERS,
            leeway=leeway,
            options={"require": _REQUIRED},
        )
    except jwt.ExpiredSignatureError:
        return Failure(Reason.TIMESTAMP_TOO_OLD, "the token has expired")
    except jwt.ImmatureSignatureError:
        return Failure(Reason.TIMESTAMP_IN_FUTURE, "the token is not valid yet (iat/nbf)")
    except jwt.InvalidSignatureError:
        return Failure(Reason.SIGNATURE_MISMATCH, "the token's signature does not verify")
    except jwt.InvalidAudienceError:
        return Failure(Reason.SIGNATURE_MISMATCH, "the token is for another audience")
    except jwt.InvalidIssuerError:
        return Failure(Reason.SIGNATURE_MISMATCH, "the token was not issued by Google")
    except jwt.PyJWTError as exc:
        return Failure(Reason.SIGNATURE_MALFORMED, f"the token is invalid: {type(exc).__name__}")
    # The signature and audience are checked first: these refusals then tell a sender
    # nothing about which accounts the route accepts that it did not already know.
    if claims.get("email") not in emails:
        return Failure(Reason.SIGNATURE_MISMATCH, "the token's service account is not accepted")
    if claims.get("email_verified") is not True:
        return Failure(Reason.SIGNATURE_MISMATCH, "the token's e-mail is not verified")
    return claims


def _find_key(fetcher: KeyFetcher, url: str, kid: str) -> jwt.PyJWK | Failure | KeyUnavailable:
    """The JWKS key ``kid``; refetched once (rate-limited by the fetcher) when absent,
    since Google rotates its keys."""
    for refresh in (False, True):
        body = fetcher.get(url, refresh=refresh)
        if isinstance(body, KeyUnavailable):
            return body
        try:
            keys = jwt.PyJWKSet.from_json(body.decode()).keys
        except (jwt.PyJWTError, ValueError, json.JSONDecodeError):
            return KeyUnavailable(f"{url} did not serve a JWKS")
        for key in keys:
            if key.key_id == kid:
                return key
    return Failure(Reason.SIGNATURE_MISMATCH, "no Google key has the token's kid")


class GoogleOidcScheme(HmacScheme):
    """``provider: google-pubsub``: the ``Authorization: Bearer`` token of a push, checked
    by :func:`verify_google_oidc` against the route's ``signature.audience`` and
    ``signature.emails``, with Google's keys fetched through the route's fetcher.

    The token's ``exp``/``iat`` are its time window (checked on the real clock, with a
    minute of leeway). It signs the sender, not the body: the message ID in the body
    keys the replay check.
    """

    digest_is_match = False
    fetched_key_label = "google-oidc"

    def __init__(self, spec: SignatureSpec, fetcher: KeyFetcher | None = None) -> None:
        super().__init__(spec)
        self.audience = spec.audience or ""
        self.emails = frozenset(spec.emails)
        self.fetcher = fetcher
        self._header = spec.headers[0]

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        parsed = ParsedSignature()
        lines = req.values(self._header.encode())
        if lines is None:
            parsed.failure = Failure(
                Reason.SIGNATURE_MISSING, f"the {self._header} header (Bearer token) is missing"
            )
        elif len(lines) != 1:
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED, f"the {self._header} header was sent {len(lines)} times"
            )
        else:
            parsed.context = lines[0]
            parsed.seen = 1
        return parsed

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        if self.fetcher is None:
            return NO_FETCHER.failure()
        claims = verify_google_oidc(
            parsed.context, self.fetcher, audience=self.audience, emails=self.emails
        )
        if isinstance(claims, KeyUnavailable):
            return claims.failure()
        if isinstance(claims, Failure):
            return claims
        # The token does not cover the body: a body without a message ID is keyed on
        # its own digest.
        return Secret(b"", self.fetched_key_label), hashlib.sha256(body).digest()

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        raise ValueError(
            "a Pub/Sub push carries a Google-signed token: make one with "
            "webhook_guard.testing.google_token()"
        )


__all__ = ["GOOGLE_ISSUERS", "MAX_TOKEN", "GoogleOidcScheme", "verify_google_oidc"]
