"""RFC 6901 JSON pointers into a request body: the one resolver behind ``event_id: {json:
...}`` and ``signature.timestamp_json`` (both read only bodies whose signature verified)."""

from __future__ import annotations

import json
from typing import Any, Final

#: What :func:`resolve` returns when the body is not JSON or the pointer leads nowhere.
MISSING: Final = object()


def resolve(body: bytes, pointer: tuple[str, ...]) -> Any:
    """The value ``pointer`` (its unescaped reference tokens) designates in the JSON
    ``body``, or :data:`MISSING`. Never raises on hostile input."""
    try:
        node: Any = json.loads(body)
    except (ValueError, RecursionError):
        return MISSING
    for token in pointer:
        if isinstance(node, dict):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and token.isascii():
            index = int(token)
            if index >= len(node) or (token != "0" and token.startswith("0")):
                return MISSING
            node = node[index]
        else:
            return MISSING
    return node


def scalar(body: bytes, pointer: tuple[str, ...]) -> str | None:
    """The string or integer ``pointer`` designates, as text; None for anything else
    (absent, an object, a list, a float, a boolean or null)."""
    node = resolve(body, pointer)
    if isinstance(node, bool) or not isinstance(node, (str, int)):
        return None
    return str(node)


__all__ = ["MISSING", "resolve", "scalar"]
