"""A signature scheme for header-carried public-key signatures (Discord, SendGrid, RSA).

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
from .base import HmacScheme, ParsedSignature, SignatureSpec, _b64decode_strict
from .pubkey import (
    ALGORITHMS,
    MAX_SIGNATURE_TEXT,
    Algorithm,
    PublicKey,
    load_public_key,
    verify_signature,
)

#: Largest decoded signature: an 8192-bit RSA signature.
MAX_SIGNATURE_BYTES = 1024


class PublicKeyScheme(HmacScheme):
    """Verifies ``spec.algorithm`` (one of :data:`.pubkey.ALGORITHMS`) signatures."""

    def __init__(self, spec: SignatureSpec) -> None:
        if spec.algorithm not in ALGORITHMS:
            raise ValueError(
                f"unknown public-key algorithm {spec.algorithm!r} (known: {', '.join(ALGORITHMS)})"
            )
        self.algorithm: Algorithm = spec.algorithm
        super().__init__(spec)

    def _signature_size(self) -> int:
        # Variable (DER ECDSA, RSA by key size): _decode bounds it instead, and
        # verify_signature checks the exact shape against the key.
        return MAX_SIGNATURE_BYTES

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
        return sig if sig and len(sig) <= MAX_SIGNATURE_BYTES else None

    def prepare(self, secret: Secret) -> PublicKey:
        """The public key in ``secret`` (any published form for the algorithm).

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
    ) -> tuple[Secret, bytes] | None:
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
