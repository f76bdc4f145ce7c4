"""Public-key signature verification (Ed25519, ECDSA P-256, RSA PKCS#1 v1.5), behind an extra.

Keys are accepted in the form providers publish them, so users paste what the dashboard
shows: Discord's hex Ed25519 key, SendGrid's base64 DER ("verification key"), a PEM
public key, or a PEM X.509 certificate (AWS SNS, PayPal). All parsing is done by
``cryptography``; nothing here reads DER by hand.

Loading a key is configuration: a bad key raises ``ValueError`` with a message that names
the expected form and never the value. Verifying is request handling: it never raises and
returns ``None`` (verified) or a :class:`~webhook_guard.signatures.base.Failure` whose
reason is ``signature_malformed`` (the signature cannot be what this scheme produces) or
``signature_mismatch`` (well-formed, but not made by this key over these bytes).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from ..verdict import Reason
from .base import Failure
from .keyfetch import KeyFetcher, KeyUnavailable

Algorithm = Literal["ed25519", "ecdsa-p256-sha256", "rsa-sha256", "rsa-sha1"]
ALGORITHMS: tuple[Algorithm, ...] = ("ed25519", "ecdsa-p256-sha256", "rsa-sha256", "rsa-sha1")
# (base.ASYMMETRIC lists the same names for config, which must not import cryptography.)
#: Raw Ed25519 key and signature sizes (RFC 8032).
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

#: RSA keys outside these sizes are refused: smaller ones are forgeable, larger ones make
#: every verification slow for no security a provider actually uses.
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
#: Longest signature text examined (an 8192-bit RSA signature is 1366 base64 characters).
MAX_SIGNATURE_TEXT = 2048
#: Longest key text accepted in config (a PEM certificate chain is a few KiB).
MAX_KEY_TEXT = 64 * 1024
#: A DER ECDSA P-256 signature is a SEQUENCE of two INTEGERs of at most 33 bytes each.
_ECDSA_P256_MAX_DER = 72

_HEX = re.compile(r"[0-9a-fA-F]+")
_EXPECTED_KEY = {
    "ed25519": "an Ed25519 public key: 64 hex characters (Discord), base64 of 32 bytes, "
    "base64 DER, or PEM",
    "ecdsa-p256-sha256": "a P-256 public key: base64 DER (SendGrid's verification key), "
    "PEM, or a PEM certificate",
    "rsa-sha256": f"an RSA public key of {MIN_RSA_BITS}-{MAX_RSA_BITS} bits: PEM, base64 DER, "
    "or a PEM certificate",
}
_EXPECTED_KEY["rsa-sha1"] = _EXPECTED_KEY["rsa-sha256"]


def load_public_key(text: str | bytes, algorithm: Algorithm) -> PublicKey:
    """The public key in ``text`` for ``algorithm``, in any form a provider publishes.

    Raises:
        ValueError: not a key of that type in a known form (the message names the forms,
            never the value), or an unknown algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    raw = text.encode() if isinstance(text, str) else text
    raw = raw.strip()
    key = _parse_key(raw, algorithm) if 0 < len(raw) <= MAX_KEY_TEXT else None
    if key is None or not _fits(key, algorithm):
        raise ValueError(f"is not {_EXPECTED_KEY[algorithm]}")
    return key


def _parse_key(raw: bytes, algorithm: Algorithm) -> PublicKey | None:
    try:
        if raw.startswith(b"-----BEGIN CERTIFICATE-----"):
            return _public(x509.load_pem_x509_certificate(raw).public_key())
        if raw.startswith(b"-----BEGIN"):
            return _public(load_pem_public_key(raw))
        if (
            algorithm == "ed25519"
            and len(raw) == 2 * ED25519_KEY_SIZE
            and _HEX.fullmatch(raw.decode())
        ):
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw.decode()))
        raw = raw.removeprefix(b"whpk_")
        der = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
        if algorithm == "ed25519" and len(der) == ED25519_KEY_SIZE:
            return Ed25519PublicKey.from_public_bytes(der)
        return _public(load_der_public_key(der))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        # cryptography raises ValueError for every malformed encoding; binascii for base64.
        return None


def _public(key: object) -> PublicKey | None:
    """``key`` if it is of a type this module verifies with (DSA, X25519... are not)."""
    return (
        key
        if isinstance(key, (Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey))
        else None
    )


def _fits(key: object, algorithm: Algorithm) -> bool:
    if algorithm == "ed25519":
        return isinstance(key, Ed25519PublicKey)
    if algorithm == "ecdsa-p256-sha256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return isinstance(key, rsa.RSAPublicKey) and MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS


def fetched_certificate_key(
    fetcher: KeyFetcher, url: str, algorithm: Algorithm
) -> PublicKey | KeyUnavailable:
    """The public key of the PEM certificate ``fetcher`` serves at ``url`` (AWS SNS,
    PayPal). Anything but a certificate with a key for ``algorithm`` is unavailable
    (503): the pinned host served it, so the sender is not to blame."""
    pem = fetcher.get(url)
    if isinstance(pem, KeyUnavailable):
        return pem
    try:
        key = _public(x509.load_pem_x509_certificate(pem).public_key())
    except ValueError:
        return KeyUnavailable(f"{url} did not serve a PEM certificate")
    if key is None or not _fits(key, algorithm):
        return KeyUnavailable(f"{url} did not serve a certificate with {_EXPECTED_KEY[algorithm]}")
    return key


def decode_signature(text: str, encoding: Literal["hex", "base64"] = "base64") -> bytes | Failure:
    """The signature bytes in ``text`` (untrusted header or body text), or the failure."""
    detail = f"the signature is not {encoding}"
    if not text or len(text) > MAX_SIGNATURE_TEXT or not text.isascii():
        return Failure(Reason.SIGNATURE_MALFORMED, detail)
    try:
        if encoding == "hex":
            if not _HEX.fullmatch(text):
                raise ValueError
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return Failure(Reason.SIGNATURE_MALFORMED, detail)


def verify_signature(
    key: PublicKey, algorithm: Algorithm, signature: bytes, message: bytes
) -> Failure | None:
    """``None`` if ``signature`` is ``key``'s signature over ``message``, else the failure.

    Signatures are Ed25519 (64 bytes), ECDSA as DER (what SendGrid sends), or RSA
    PKCS#1 v1.5 (exactly the key's size). Never raises.
    """
    malformed = _shape_failure(key, algorithm, signature)
    if malformed is not None:
        return Failure(Reason.SIGNATURE_MALFORMED, malformed)
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            digest = hashes.SHA1() if algorithm == "rsa-sha1" else hashes.SHA256()  # noqa: S303
            key.verify(signature, message, padding.PKCS1v15(), digest)
    except InvalidSignature:
        return Failure(Reason.SIGNATURE_MISMATCH, f"no {algorithm} signature matches the key")
    return None


def signature_shape_ok(algorithm: Algorithm, signature: bytes) -> bool:
    """Whether ``signature`` can be an ``algorithm`` signature for some key: Ed25519's 64
    bytes, a DER ECDSA SEQUENCE, or an RSA signature of 2048-8192 bits."""
    if algorithm == "ed25519":
        return len(signature) == ED25519_SIGNATURE_SIZE
    if algorithm == "ecdsa-p256-sha256":
        if len(signature) > _ECDSA_P256_MAX_DER:
            return False
        try:
            decode_dss_signature(signature)
        except ValueError:
            return False
        return True
    return MIN_RSA_BITS // 8 <= len(signature) <= MAX_RSA_BITS // 8


def _shape_failure(key: PublicKey, algorithm: Algorithm, signature: bytes) -> str | None:
    """Why ``signature`` cannot be a signature of this kind at all, or ``None``."""
    if not _fits(key, algorithm):
        # A programming error in the caller, reported as a refusal, never an accept.
        return f"the key is not a {algorithm} key"
    if isinstance(key, Ed25519PublicKey):
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return f"an Ed25519 signature is {ED25519_SIGNATURE_SIZE} bytes, not {len(signature)}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        try:
            if len(signature) > _ECDSA_P256_MAX_DER:
                raise ValueError
            decode_dss_signature(signature)
        except ValueError:
            return "an ECDSA signature is a DER SEQUENCE of two INTEGERs"
    elif len(signature) != (size := (key.key_size + 7) // 8):
        return f"an RSA signature for this key is {size} bytes, not {len(signature)}"
    return None


def verify_text(
    key: PublicKey,
    algorithm: Algorithm,
    signature_text: str,
    message: bytes,
    encoding: Literal["hex", "base64"] = "base64",
) -> Failure | None:
    """:func:`decode_signature` then :func:`verify_signature`: ``None`` when it verifies."""
    signature = decode_signature(signature_text, encoding)
    if isinstance(signature, Failure):
        return signature
    return verify_signature(key, algorithm, signature, message)


__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PublicKey",
    "decode_signature",
    "fetched_certificate_key",
    "load_public_key",
    "signature_shape_ok",
    "verify_signature",
    "verify_text",
]
