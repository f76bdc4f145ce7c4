"""Convoy's signatures cover its compact re-encoding of the JSON body, not always the
bytes sent.

Convoy (frain-dev/convoy ``pkg/signature/signature.go``) signs
``json.Encoder.Encode(json.RawMessage(stored))`` with HTML escaping off, which Go compacts
(insignificant whitespace removed, nothing else changed), but the dispatcher sends the
stored bytes as they are. So when the raw body does not verify, the compacted body is
tried too; both are checked against the same signatures and secrets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..secrets import Secret
from .base import Failure, HmacScheme, ParsedSignature

# A JSON string literal, captured so that split() keeps it between the stretches outside
# strings (unrolled, so a long string is one scan, not one step per character).
_STRING = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*")', re.S)
_JSON_SPACE = b" \t\r\n"


def go_compact(body: bytes) -> bytes:
    """``body`` with the whitespace between JSON tokens removed (strings untouched): what
    Go's json.Compact does to valid JSON."""
    parts = _STRING.split(body)
    # Even places are outside strings; there every byte of JSON whitespace goes.
    parts[0::2] = [part.translate(None, _JSON_SPACE) for part in parts[0::2]]
    return b"".join(parts)


class ConvoyScheme(HmacScheme):
    """The generic HMAC scheme, retried over the compacted body (see module docstring)."""

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        matched = super().verify(parsed, body, values, keys)
        if matched is None and _is_json(body):
            compact = go_compact(body)
            if compact != body:
                matched = super().verify(parsed, compact, values, keys)
                if matched is not None:
                    parsed.payload = compact
        return matched

    def content_digest(self, parsed: ParsedSignature, body: bytes) -> bytes:
        # What verified is always the compacted body (a body sent compact verifies as it
        # is), so a replay with other whitespace has the same content: never compacted
        # twice, and a body that verified as sent is not compacted at all.
        return super().content_digest(parsed, parsed.payload or body)


def _is_json(body: bytes) -> bool:
    # Convoy cannot sign invalid JSON (encoding fails), and in valid JSON every string is
    # closed, which keeps go_compact linear: an unclosed '"\"\"...' would make the
    # regex rescan the rest of the body from every quote.
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True
