"""Google Pub/Sub push OIDC tokens, checked against a JWKS served as www.googleapis.com."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from webhook_guard import Reason
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.jwt_oidc import verify_google_oidc
from webhook_guard.signatures.keyfetch import KeyFetcher, KeyUnavailable, google_jwks_url_ok
from webhook_guard.signatures.testkeys import KeyPair, google_oidc_token, keypair

from .keyserver import KeyServer, key_server

JWKS_PATH = "/oauth2/v3/certs"
AUDIENCE = "https://hooks.example.com/pubsub"
ACCOUNT = "pusher@my-project.iam.gserviceaccount.com"


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[KeyServer, KeyPair, KeyFetcher]]:
    pair = keypair("google-pubsub")
    with key_server(tmp_path) as server:
        server.serve(JWKS_PATH, pair.public_key, Content_Type="application/json")
        fetcher = KeyFetcher(
            google_jwks_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        yield server, pair, fetcher


def check(fetcher: KeyFetcher, authorization: str | None, **options: Any) -> Any:
    options.setdefault("audience", AUDIENCE)
    options.setdefault("emails", [ACCOUNT])
    return verify_google_oidc(authorization, fetcher, **options)


def token(pair: KeyPair, **claims: Any) -> str:
    claims.setdefault("audience", AUDIENCE)
    claims.setdefault("email", ACCOUNT)
    return google_oidc_token(pair, **claims)


def test_a_google_shaped_token_verifies(google: tuple[KeyServer, KeyPair, KeyFetcher]) -> None:
    server, pair, fetcher = google
    claims = check(fetcher, f"Bearer {token(pair)}")
    assert isinstance(claims, dict), claims
    assert claims["email"] == ACCOUNT
    assert claims["aud"] == AUDIENCE
    # Both issuer spellings Google documents.
    assert isinstance(check(fetcher, f"Bearer {token(pair, issuer='accounts.google.com')}"), dict)
    assert server.requests == [JWKS_PATH]  # the JWKS was fetched once


@pytest.mark.parametrize(
    ("claims", "reason", "detail"),
    [
        ({"audience": "https://other.example/hook"}, Reason.SIGNATURE_MISMATCH, "audience"),
        ({"email": "attacker@evil.iam.gserviceaccount.com"}, Reason.SIGNATURE_MISMATCH, "account"),
        ({"email_verified": False}, Reason.SIGNATURE_MISMATCH, "not verified"),
        ({"issuer": "https://evil.example"}, Reason.SIGNATURE_MISMATCH, "not issued by Google"),
        ({"issued_at": time.time() - 7200}, Reason.TIMESTAMP_TOO_OLD, "expired"),
        ({"issued_at": time.time() + 3600}, Reason.TIMESTAMP_IN_FUTURE, "not valid yet"),
    ],
)
def test_claims_are_checked(
    google: tuple[KeyServer, KeyPair, KeyFetcher],
    claims: dict[str, Any],
    reason: Reason,
    detail: str,
) -> None:
    _, pair, fetcher = google
    outcome = check(fetcher, f"Bearer {token(pair, **claims)}")
    assert isinstance(outcome, Failure), outcome
    assert outcome.reason is reason
    assert detail in outcome.detail


def test_email_verified_must_be_true_not_truthy(
    google: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    _, pair, fetcher = google
    outcome = check(fetcher, f"Bearer {token(pair, extra={'email_verified': 'true'})}")
    assert isinstance(outcome, Failure)


def test_a_token_signed_by_another_key_with_the_same_kid(
    google: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    _, pair, fetcher = google
    forger = keypair("google-pubsub")
    forged = google_oidc_token(
        KeyPair(forger.algorithm, forger.private_key, forger.public_key, pair.key_id),
        audience=AUDIENCE,
        email=ACCOUNT,
    )
    outcome = check(fetcher, f"Bearer {forged}")
    assert outcome == Failure(Reason.SIGNATURE_MISMATCH, "the token's signature does not verify")


def test_an_unknown_kid_refetches_once_then_refuses(
    google: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    server, _, fetcher = google
    stranger = keypair("google-pubsub")
    outcome = check(fetcher, f"Bearer {token(stranger)}")
    assert outcome == Failure(Reason.SIGNATURE_MISMATCH, "no Google key has the token's kid")
    # First fetch; the refresh is rate-limited (min_refresh), so no second request now.
    assert server.requests == [JWKS_PATH]


def test_rotated_key_is_found_after_refresh(tmp_path: Path) -> None:
    old, new = keypair("google-pubsub"), keypair("google-pubsub")
    with key_server(tmp_path) as server:
        server.serve(JWKS_PATH, old.public_key)
        fetcher = KeyFetcher(
            google_jwks_url_ok,
            pins=server.pins(),
            ssl_context=server.client_context(),
            min_refresh=0,
        )
        assert isinstance(check(fetcher, f"Bearer {token(old)}"), dict)
        both = {"keys": json.loads(old.public_key)["keys"] + json.loads(new.public_key)["keys"]}
        server.serve(JWKS_PATH, json.dumps(both))
        assert isinstance(check(fetcher, f"Bearer {token(new)}"), dict)
        assert server.requests == [JWKS_PATH, JWKS_PATH]


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, Reason.SIGNATURE_MISSING),
        ("", Reason.SIGNATURE_MISSING),
        ("Bearer", Reason.SIGNATURE_MALFORMED),
        ("Basic dXNlcjpwYXNz", Reason.SIGNATURE_MALFORMED),
        ("Bearer not.a.jwt", Reason.SIGNATURE_MALFORMED),
        ("Bearer " + "a" * 9000, Reason.SIGNATURE_MALFORMED),
        ("Bearer é.é.é", Reason.SIGNATURE_MALFORMED),
        # alg "none" and HS256 (key confusion with the RSA public key) are refused.
        (
            f"Bearer {_b64({'alg': 'none', 'kid': 'k'})}.{_b64({'aud': AUDIENCE})}.",
            Reason.SIGNATURE_MALFORMED,
        ),
        (
            f"Bearer {_b64({'alg': 'HS256', 'kid': 'k'})}.{_b64({})}.{_b64(b'x')}",
            Reason.SIGNATURE_MALFORMED,
        ),
        (f"Bearer {_b64({'alg': 'RS256'})}.{_b64({})}.{_b64(b'x')}", Reason.SIGNATURE_MALFORMED),
    ],
)
def test_hostile_headers_never_raise(
    google: tuple[KeyServer, KeyPair, KeyFetcher], authorization: str | None, reason: Reason
) -> None:
    server, _, fetcher = google
    outcome = check(fetcher, authorization)
    assert isinstance(outcome, Failure), outcome
    assert outcome.reason is reason
    assert server.requests == []


def test_missing_required_claim_is_malformed(google: tuple[KeyServer, KeyPair, KeyFetcher]) -> None:
    _, pair, fetcher = google
    now = int(time.time())
    raw = jwt.encode(
        {"aud": AUDIENCE, "iss": "https://accounts.google.com", "iat": now, "exp": now + 60},
        load_pem_private_key(pair.private_key.encode(), None),
        "RS256",
        headers={"kid": pair.key_id},
    )
    outcome = check(fetcher, f"Bearer {raw}")
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.SIGNATURE_MALFORMED  # no email claim


def test_jwks_unavailable_is_key_unavailable_never_an_accept(tmp_path: Path) -> None:
    pair = keypair("google-pubsub")
    with key_server(tmp_path) as server:
        fetcher = KeyFetcher(
            google_jwks_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        outcome = check(fetcher, f"Bearer {token(pair)}")  # 404
        assert isinstance(outcome, KeyUnavailable)
        server.serve(JWKS_PATH, "<html>oops</html>")
        fetcher = KeyFetcher(
            google_jwks_url_ok, pins=server.pins(), ssl_context=server.client_context()
        )
        outcome = check(fetcher, f"Bearer {token(pair)}")
        assert isinstance(outcome, KeyUnavailable)
        assert "did not serve a JWKS" in outcome.detail


def test_google_auth_and_the_guard_agree_on_a_token(
    google: tuple[KeyServer, KeyPair, KeyFetcher],
) -> None:
    """google-auth (what Google's Pub/Sub docs verify push tokens with) accepts the
    tokens testkeys makes, fetching the same JWKS; the guard accepts exactly those."""
    server, pair, fetcher = google
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
    session.verify = str(server.ca.path)
    certs_url = f"https://127.0.0.1:{server.port}{JWKS_PATH}"
    good = token(pair)
    claims = id_token.verify_token(good, Request(session), audience=AUDIENCE, certs_url=certs_url)
    assert claims["iss"] in ("accounts.google.com", "https://accounts.google.com")
    assert isinstance(check(fetcher, f"Bearer {good}"), dict)
    other_audience = token(pair, audience="https://elsewhere.example/")
    with pytest.raises((ValueError, GoogleAuthError, jwt.PyJWTError)):
        id_token.verify_token(
            other_audience, Request(session), audience=AUDIENCE, certs_url=certs_url
        )
    assert isinstance(check(fetcher, f"Bearer {other_audience}"), Failure)
