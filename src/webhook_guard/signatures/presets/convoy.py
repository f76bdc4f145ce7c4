"""Convoy, simple and advanced signature formats.

Sources: frain-dev/convoy pkg/signature (vectors), convoy-python.
"""

from __future__ import annotations

from .model import STRIPE_STYLE, UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "convoy": Preset(
        signature={
            "header": "x-convoy-signature",
            "id_header": "x-convoy-idempotency-key",
            "algorithm": "sha256",
            "encoding": "hex",
            "scheme": "convoy",
        },
        summary={
            "signature": "HMAC-SHA256 hex by default (per project: SHA-512, base64)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Convoy-Signature: <hex>` (simple format), `X-Convoy-Idempotency-Key`",
            "signed bytes": "the body as Convoy re-encodes it (compact JSON); the raw body "
            "is tried first, then with the whitespace between JSON tokens removed",
            "key": "the endpoint secret's UTF-8 bytes",
            "event id": "`X-Convoy-Idempotency-Key` when the producer set one, else a "
            "digest of the signature" + UNSIGNED_ID,
            "timestamp": "none (use `convoy-advanced` for timestamped signatures)",
            "quirks": "hash and encoding are per project: override `algorithm` (sha512) "
            "and `encoding` (base64) to match; whitespace between JSON tokens is not "
            "covered by Convoy's signature",
        },
    ),
    "convoy-advanced": Preset(
        signature={
            "header": "x-convoy-signature",
            "id_header": "x-convoy-idempotency-key",
            **STRIPE_STYLE,
            "signed_content": "{timestamp},{body}",  # a comma, not Stripe's dot
            "scheme": "convoy",
        },
        summary={
            "signature": "HMAC-SHA256 hex by default; one `v1=` per active endpoint secret",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`X-Convoy-Signature: t=<ts>,v1=<sig>[,v1=<sig>...]`",
            "signed bytes": "`{t},{body}` (a comma, not a dot); the body as in `convoy`",
            "key": "each endpoint secret's UTF-8 bytes (one `v1` per active secret)",
            "event id": "`X-Convoy-Idempotency-Key`, else a digest of the signature" + UNSIGNED_ID,
            "timestamp": "`t=`, Unix seconds, both ways (the SDKs check only the past)",
            "quirks": "`vN` is the N-th signature version of the project: set "
            "`signature.version` to match",
        },
    ),
}
