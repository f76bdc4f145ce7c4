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

# A JSON string literal (kept as it is), or a run of the whitespace JSON allows between
# tokens (dropped): what Go's json.Compact does to valid JSON.
_STRING_OR_SPACE = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\r\n]+', re.S)


def go_compact(body: bytes) -> bytes:
    """``body`` with the whitespace between JSON tokens removed (strings untouched)."""
    return _STRING_OR_SPACE.sub(lambda m: m.group(1) or b"", body)


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
        return matched

    def content_digest(self, before: bytes, body: bytes, after: bytes) -> bytes:
        # A body verifies as sent or compacted, so a replay with other whitespace must be
        # the same delivery: the compacted form identifies it.
        if _is_json(body):
            body = go_compact(body)
        return super().content_digest(before, body, after)


def _is_json(body: bytes) -> bool:
    # Convoy cannot sign invalid JSON (encoding fails), and in valid JSON every string is
    # closed, which keeps go_compact linear: an unclosed '"\"\"...' would make the
    # regex rescan the rest of the body from every quote.
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True
