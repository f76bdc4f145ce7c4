"""Ed25519 signatures (Standard Webhooks ``v1a``), behind the ``ed25519`` extra.

Importing this module needs ``cryptography``; config refuses ``algorithm: ed25519``
with a clear error when it is missing (see :func:`require_cryptography`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ..secrets import Secret
from .base import HmacScheme, ParsedSignature

#: Raw Ed25519 key and signature sizes (RFC 8032).
KEY_SIZE = 32
SIGNATURE_SIZE = 64


class Ed25519Scheme(HmacScheme):
    """Verifies Ed25519 signatures with the route's public keys (``whpk_`` + base64).

    The key is the 32 raw public-key bytes (what most Standard Webhooks senders publish)
    or a DER SubjectPublicKeyInfo. Signing, for tests, takes the private key as
    ``whsk_`` + base64 of the 32-byte seed (or of seed + public key, 64 bytes).
    """

    def _signature_size(self) -> int:
        return SIGNATURE_SIZE

    def prepare(self, secret: Secret) -> Ed25519PublicKey:
        raw = self.derive_key(secret)
        try:
            if len(raw) == KEY_SIZE:
                return Ed25519PublicKey.from_public_bytes(raw)
            key = load_der_public_key(raw)
        except ValueError:
            key = None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(
                f"is not an Ed25519 public key ({self.spec.secret_prefix}<base64 of 32 bytes>)"
            )
        return key

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | None:
        before, after = self.signed_parts(values)
        message = before + body + after
        for secret, public_key in keys:
            for sig in parsed.signatures:
                try:
                    public_key.verify(sig, message)
                except InvalidSignature:
                    continue
                # Ed25519 is deterministic: the signature identifies the delivery.
                return secret, sig
        return None

    def _sign_bytes(self, key_secret: Secret, message: bytes) -> bytes:
        return _private_key(key_secret.reveal()).sign(message)


def _private_key(text: bytes) -> Ed25519PrivateKey:
    text = text.removeprefix(b"whsk_")
    try:
        seed = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) not in (KEY_SIZE, 2 * KEY_SIZE):
        raise ValueError("an Ed25519 signing key is whsk_ + base64 of its 32-byte seed")
    return Ed25519PrivateKey.from_private_bytes(seed[:KEY_SIZE])


def public_key_for(signing_key: str) -> str:
    """The ``whpk_`` public key that verifies what ``whsk_`` ``signing_key`` signs."""
    raw = _private_key(signing_key.encode()).public_key().public_bytes_raw()
    return "whpk_" + base64.b64encode(raw).decode()
