"""Request data quoted in verdict details, problem+json and log lines.

Everything a request carries (method, path, header values and names, addresses a server
took from a header) is written through :func:`shown`, so a client can neither start a new
log line, move a terminal's cursor, reorder text with bidi controls, nor grow a log line
or a response without bound.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_DETAIL", "MAX_SHOWN", "shown"]

MAX_SHOWN: Final = 64
"""Characters of one request-derived value kept in a detail or log field."""

MAX_DETAIL: Final = 1024
"""Characters of a whole detail kept in problem+json and log lines."""


def shown(value: str | bytes, limit: int = MAX_SHOWN) -> str:
    """``value`` safe to put in a detail or a log line.

    Every character that is not printable (C0 and C1 controls, DEL, line and paragraph
    separators, bidi and other format characters, lone surrogates left by undecodable
    bytes) becomes a Python-style escape such as ``\\x1b`` or ``\\u2028``; printable
    non-ASCII text is kept. The result is at most ``limit`` characters, then a note of how
    much was left out. Bytes are read as latin-1 (as header values are). Backslashes are
    kept as they are, so the function is idempotent: a detail built from shown values can
    be shown again (as the log line does) without changing.

    Example:
        >>> shown("G\\x1b[2JET")
        'G\\\\x1b[2JET'
        >>> shown("x" * 100, 8)
        'xxxxxxxx... (92 more characters)'
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    head = text[:limit]
    used = len(head)
    if not head.isprintable():
        pieces: list[str] = []
        size = used = 0
        for char in head:
            piece = char if char.isprintable() else _escape(char)
            if size + len(piece) > limit:
                break  # never half an escape
            pieces.append(piece)
            size += len(piece)
            used += 1
        head = "".join(pieces)
    if used < len(text):
        return f"{head}... ({len(text) - used} more characters)"
    return head


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
