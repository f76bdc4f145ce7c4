"""A signature scheme for header-carried public-key signatures (Standard Webhooks ``v1a``,
Discord, SendGrid, RSA): every ``signature.algorithm`` of :data:`.base.ASYMMETRIC`.

It is the HMAC scheme's template (headers, ``signed_content``, timestamp, ``kv``/``list``
formats) with the last step swapped: instead of recomputing an HMAC, the signature is
checked with the route's public key through :mod:`.pubkey`. Keys are given the way the
provider shows them (see :func:`.pubkey.load_public_key`); for tests, ``sign`` takes
the private key as PKCS#8 PEM (see :mod:`.testkeys`).

The replay identity of a verified delivery is the SHA-256 of the signed bytes, never
the signature: ECDSA signatures are malleable ((r, s) and (r, n - s) both verify), so
keying replays on the signature would let a replay with the other half through.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

from ..secrets import Secret
from .base import Failure, HmacScheme, ParsedSignature, SignatureSpec, _b64decode_strict
from .pubkey import (
    ALGORITHMS,
    ED25519_SIGNATURE_SIZE,
    MAX_SIGNATURE_TEXT,
    Algorithm,
    PublicKey,
    load_public_key,
    signature_shape_ok,
    verify_signature,
)

#: Largest decoded signature: an 8192-bit RSA signature.
MAX_SIGNATURE_BYTES = 1024
#: The size named in a "malformed" detail: exact for Ed25519, the most for the others.
_SHOWN_SIZE = {"ed25519": ED25519_SIGNATURE_SIZE, "ecdsa-p256-sha256": 72}


class PublicKeyScheme(HmacScheme):
    """Verifies ``spec.algorithm`` (one of :data:`.pubkey.ALGORITHMS`) signatures."""

    digest_is_match = False

    def __init__(self, spec: SignatureSpec) -> None:
        if spec.algorithm not in ALGORITHMS:
            raise ValueError(
                f"unknown public-key algorithm {spec.algorithm!r} (known: {', '.join(ALGORITHMS)})"
            )
        self.algorithm: Algorithm = spec.algorithm
        super().__init__(spec)

    def _signature_size(self) -> int:
        # Variable for DER ECDSA and RSA: _decode checks the shape instead, and
        # verify_signature the exact size against the key.
        return _SHOWN_SIZE.get(self.spec.algorithm, MAX_SIGNATURE_BYTES)

    def _decode(self, token: str) -> bytes | None:
        prefix = self.spec.prefix
        if prefix:
            if not token.startswith(prefix):
                return None
            token = token[len(prefix) :]
        if not token or len(token) > MAX_SIGNATURE_TEXT:
            return None
        try:
            if self.spec.encoding == "hex":
                sig = bytes.fromhex(token) if token.isascii() and token.isalnum() else None
            else:
                sig = _b64decode_strict(token)
        except (binascii.Error, ValueError):
            return None
        # A token that cannot be this algorithm's signature is malformed, like a
        # truncated HMAC: never examined against the keys.
        return sig if sig and signature_shape_ok(self.algorithm, sig) else None

    def prepare(self, secret: Secret) -> PublicKey:
        """The public key in ``secret`` (any published form for the algorithm, and
        Standard Webhooks' ``whpk_`` + base64).

        Raises:
            ValueError: not such a key (the message names the forms, never the value).
        """
        return load_public_key(secret.reveal(), self.algorithm)

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        before, after = self.signed_parts(values)
        message = before + body + after
        for secret, public_key in keys:
            for sig in parsed.signatures:
                if verify_signature(public_key, self.algorithm, sig, message) is None:
                    return secret, hashlib.sha256(message).digest()
        return None

    def _sign_bytes(self, key_secret: Secret, message: bytes) -> bytes:
        from .testkeys import sign  # tests only: keeps key generation off the import path

        return sign(self.algorithm, key_secret.reveal().decode(), message)


__all__ = ["MAX_SIGNATURE_BYTES", "PublicKeyScheme"]
