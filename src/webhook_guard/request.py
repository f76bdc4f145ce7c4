"""The framework-neutral request the guard inspects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

HeadersInput: TypeAlias = (
    Mapping[str, str] | Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]]
)


class WebhookRequest:
    """One incoming HTTP request, as the guard needs to see it.

    Args:
        method: HTTP method, any case.
        path: the request path *as sent* (still percent-encoded, without the query);
            adapters pass the raw path so that encoded tricks can be recognised.
        query: the raw query string, without the ``?``.
        headers: ``(name, value)`` pairs as bytes (ASGI style) or str, or a mapping.
            Repeated header lines are kept, in order.
        body: the raw body bytes, exactly as received.
        peer: the socket peer address, or ``None`` for a Unix socket.
    """

    __slots__ = ("_index", "body", "headers", "method", "path", "peer", "query")

    def __init__(
        self,
        method: str,
        path: str,
        query: str | bytes = "",
        headers: HeadersInput = (),
        body: bytes = b"",
        peer: str | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.query = query.decode("latin-1") if isinstance(query, bytes) else query
        self.headers = headers
        self.body = body
        self.peer = peer
        self._index: dict[str, list[str]] | None = None

    def header_lines(self) -> dict[str, list[str]]:
        """All header lines, by lower-case name, values in the order received.

        Bytes are decoded as latin-1, which round-trips every byte: re-encoding a value
        as latin-1 gives back exactly what was on the wire.
        """
        index = self._index
        if index is None:
            index = {}
            items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
            for name, value in items:
                if isinstance(name, bytes):
                    name = name.decode("latin-1")
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                key = name.lower()
                lines = index.get(key)
                if lines is None:
                    index[key] = [value]
                else:
                    lines.append(value)
            self._index = index
        return index

    def header(self, name: str) -> list[str]:
        """Every line of header ``name`` (case-insensitive); empty when absent."""
        return self.header_lines().get(name.lower(), [])

    def __repr__(self) -> str:
        # Headers and query are left out on purpose: they may carry tokens.
        return (
            f"WebhookRequest(method={self.method!r}, path={self.path!r}, "
            f"body=<{len(self.body)} bytes>, peer={self.peer!r})"
        )
