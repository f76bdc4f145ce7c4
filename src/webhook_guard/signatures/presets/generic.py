"""Generic: every part of the signature is configured explicitly."""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "generic": Preset(
        signature={},
        summary={
            "signature": "`signature.algorithm` (sha1, sha256, sha512, ed25519) and `encoding`",
            "tolerance": "the route's `tolerance` when a timestamp is configured",
            "headers": "whatever `signature.header` names (required)",
            "signed bytes": "`signature.signed_content` (default `{body}`)",
            "key": "the secret's UTF-8 bytes (`secret_encoding: base64` to decode it)",
            "event id": "`signature.id_header` if set, else a digest of the verified signature",
            "timestamp": "`timestamp_header` or `timestamp_key`, if set",
            "quirks": "everything is explicit; use it for providers without a preset",
        },
    ),
}
