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

import json
from collections.abc import Collection, Mapping
from typing import Any

import jwt

from ..verdict import Reason
from .base import Failure
from .keyfetch import GOOGLE_JWKS_URL, KeyFetcher, KeyUnavailable

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


__all__ = ["GOOGLE_ISSUERS", "MAX_TOKEN", "verify_google_oidc"]
