"""Key pairs and signers for tests, in each provider's published formats.

``keypair("discord")`` gives what Discord's dashboard shows (the hex public key) and a
private key to sign test requests with; likewise SendGrid's base64 DER verification key,
a PEM key for RSA schemes, an SNS-style certificate, and a JWKS for Google's OIDC tokens.
Keys are generated fresh on each call: never use them outside tests.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from .paypal import AUTH_ALGO, signed_string
from .pubkey import Algorithm
from .sns import SIGNED_FIELDS, canonical_string

#: preset (or algorithm) -> the algorithm and the public key form its dashboard shows.
FORMS: dict[str, tuple[Algorithm, str]] = {
    "ed25519": ("ed25519", "hex"),
    "discord": ("ed25519", "hex"),
    "standard": ("ed25519", "whpk"),
    "ecdsa-p256-sha256": ("ecdsa-p256-sha256", "der-base64"),
    "sendgrid": ("ecdsa-p256-sha256", "der-base64"),
    "rsa-sha256": ("rsa-sha256", "pem"),
    "rsa-sha1": ("rsa-sha1", "pem"),
    "sns": ("rsa-sha256", "certificate"),
    "paypal": ("rsa-sha256", "certificate"),
    "google-pubsub": ("rsa-sha256", "jwks"),
    "jwt": ("rsa-sha256", "jwks"),
}


@dataclass(frozen=True)
class KeyPair:
    """A private key to sign with and the public key as the provider publishes it.

    ``private_key`` is PKCS#8 PEM, or for ``standard`` the ``whsk_`` signing key.
    ``public_key`` is the provider's form: hex (Discord), ``whpk_``, base64 DER
    (SendGrid), PEM, a PEM certificate (SNS, PayPal), or a JWKS JSON (Google).
    """

    algorithm: Algorithm
    private_key: str
    public_key: str
    key_id: str = field(default="")
    """The JWKS ``kid`` (Google) ; empty otherwise."""


def keypair(preset_or_algorithm: str, *, common_name: str = "sns.amazonaws.com") -> KeyPair:
    """A fresh key pair for ``preset_or_algorithm`` (a key of :data:`FORMS`).

    Raises:
        ValueError: a name with no public-key form.
    """
    if preset_or_algorithm not in FORMS:
        raise ValueError(
            f"no public-key form for {preset_or_algorithm!r} (known: {', '.join(sorted(FORMS))})"
        )
    algorithm, form = FORMS[preset_or_algorithm]
    if algorithm == "ed25519":
        ed = Ed25519PrivateKey.generate()
        if form == "whpk":
            signing = "whsk_" + base64.b64encode(ed.private_bytes_raw()).decode()
            return KeyPair(algorithm, signing, public_key_for(signing, "standard"))
        return KeyPair(algorithm, _pem(ed), ed.public_key().public_bytes_raw().hex())
    if algorithm == "ecdsa-p256-sha256":
        ecdsa = ec.generate_private_key(ec.SECP256R1())
        der = ecdsa.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return KeyPair(algorithm, _pem(ecdsa), base64.b64encode(der).decode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if form == "certificate":
        return KeyPair(algorithm, _pem(key), self_signed_certificate(key, common_name))
    if form == "jwks":
        kid = uuid.uuid4().hex
        return KeyPair(algorithm, _pem(key), jwks(key, kid), key_id=kid)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(algorithm, _pem(key), public.decode())


def _pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


_HEX_SEED = re.compile(r"[0-9a-fA-F]{64}")


def load_private_key(text: str) -> Any:
    """The private key in ``text``: PKCS#8 (or traditional) PEM, base64 DER, or for
    Ed25519 Standard Webhooks' ``whsk_`` + base64 of the seed or the 32-byte seed in hex
    (PyNaCl's ``SigningKey`` encoded with ``HexEncoder``).

    Raises:
        ValueError: none of those (the message never shows the value).
    """
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            return serialization.load_pem_private_key(text.encode(), password=None)
        if _HEX_SEED.fullmatch(text):
            return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
        if text.startswith("whsk_"):
            raw = text.removeprefix("whsk_")
            seed = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            if len(seed) in (32, 64):
                return Ed25519PrivateKey.from_private_bytes(seed[:32])
            raise ValueError
        return serialization.load_der_private_key(base64.b64decode(text, validate=True), None)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ValueError(
            "is not a private key: PKCS#8 PEM, base64 DER, or for Ed25519 whsk_ + base64 "
            "or the 32-byte seed in hex"
        ) from None


def private_key_line(private_key: str) -> str:
    """``private_key`` on one line, for a command line: an Ed25519 seed as hex (PyNaCl's
    form), any other key as base64 DER (PKCS#8). :func:`load_private_key` reads both."""
    key = load_private_key(private_key)
    if isinstance(key, Ed25519PrivateKey):
        return key.private_bytes_raw().hex()
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


def public_key_for(private_key: str, preset_or_algorithm: str) -> str:
    """The public key, in the form ``preset_or_algorithm``'s dashboard shows it (see
    :data:`FORMS`), that verifies what ``private_key`` signs.

    Raises:
        ValueError: not a private key, or one of another algorithm.
    """
    algorithm, form = FORMS[preset_or_algorithm]
    key = load_private_key(private_key)
    expected: type[Any] = {
        "ed25519": Ed25519PrivateKey,
        "ecdsa-p256-sha256": ec.EllipticCurvePrivateKey,
    }.get(algorithm, rsa.RSAPrivateKey)
    if not isinstance(key, expected):
        raise ValueError(f"is not a private key for {algorithm}")
    public: Any = key.public_key()
    if form == "hex":
        return str(public.public_bytes_raw().hex())
    if form == "whpk":
        return "whpk_" + base64.b64encode(public.public_bytes_raw()).decode()
    encoding = serialization.Encoding.DER if form == "der-base64" else serialization.Encoding.PEM
    spki = public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(spki).decode() if form == "der-base64" else spki.decode()


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> str:
    """A PEM certificate for ``key`` valid from yesterday for 30 days."""
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def jwks(key: rsa.RSAPrivateKey, kid: str) -> str:
    """A JWKS (JSON text) holding ``key``'s public half as RS256 key ``kid``."""
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid}
    jwk |= {"n": b64(numbers.n), "e": b64(numbers.e)}
    return json.dumps({"keys": [jwk]})


def sign(algorithm: Algorithm, private_key: str, message: bytes) -> bytes:
    """``private_key``'s (PKCS#8 PEM) signature over ``message``, as the scheme sends it
    before encoding: raw Ed25519, DER ECDSA, or PKCS#1 v1.5 RSA."""
    key = load_private_key(private_key)
    if algorithm == "ed25519":
        return bytes(key.sign(message))
    if algorithm == "ecdsa-p256-sha256":
        return bytes(key.sign(message, ec.ECDSA(hashes.SHA256())))
    digest = hashes.SHA1() if algorithm == "rsa-sha1" else hashes.SHA256()  # noqa: S303
    return bytes(key.sign(message, padding.PKCS1v15(), digest))


def sign_sns(message: Mapping[str, Any], private_key: str, *, version: str = "2") -> dict[str, Any]:
    """``message`` with ``SignatureVersion`` and ``Signature`` added, as SNS signs it.

    ``message`` needs its type's fields (see :data:`.sns.SIGNED_FIELDS`) and a
    ``SigningCertURL`` where the test serves the matching certificate.
    """
    if message.get("Type") not in SIGNED_FIELDS:
        raise ValueError("Type must be an SNS message type")
    signed = canonical_string(message)
    if not isinstance(signed, bytes):
        raise ValueError(signed.detail)
    algorithm: Algorithm = "rsa-sha1" if version == "1" else "rsa-sha256"
    signature = base64.b64encode(sign(algorithm, private_key, signed)).decode()
    return {**message, "SignatureVersion": version, "Signature": signature}


def sign_paypal(
    pair: KeyPair,
    body: bytes,
    *,
    webhook_id: str,
    cert_url: str,
    transmission_id: str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
    transmission_time: str = "2016-02-18T20:01:35Z",
) -> dict[str, str]:
    """The PAYPAL-* headers PayPal would send with ``body`` (names in lower case)."""
    message = signed_string(transmission_id, transmission_time, webhook_id, body)
    signature = base64.b64encode(sign("rsa-sha256", pair.private_key, message)).decode()
    return {
        "paypal-transmission-id": transmission_id,
        "paypal-transmission-time": transmission_time,
        "paypal-transmission-sig": signature,
        "paypal-auth-algo": AUTH_ALGO,
        "paypal-cert-url": cert_url,
    }


def google_oidc_token(
    pair: KeyPair,
    *,
    audience: str,
    email: str,
    email_verified: bool = True,
    issuer: str = "https://accounts.google.com",
    issued_at: float | None = None,
    lifetime: int = 3600,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """An RS256 token shaped like the one Google attaches to a Pub/Sub push."""
    import jwt  # the pubkey extra; imported here so the rest works without it

    iat = int(time.time() if issued_at is None else issued_at)
    claims: dict[str, Any] = {
        "aud": audience,
        "azp": "1234567890",
        "email": email,
        "email_verified": email_verified,
        "exp": iat + lifetime,
        "iat": iat,
        "iss": issuer,
        "sub": "1234567890",
    }
    claims |= dict(extra or {})
    return jwt.encode(
        claims, load_private_key(pair.private_key), "RS256", headers={"kid": pair.key_id}
    )


__all__ = [
    "FORMS",
    "KeyPair",
    "google_oidc_token",
    "jwks",
    "keypair",
    "load_private_key",
    "private_key_line",
    "public_key_for",
    "self_signed_certificate",
    "sign",
    "sign_paypal",
    "sign_sns",
]
