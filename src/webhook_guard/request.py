"""The framework-neutral request the guard inspects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from .untrusted import shown

MAX_PEER: Final = 128
"""Characters of a socket peer kept (an IPv6 address with a zone id and a port fits)."""

if TYPE_CHECKING:
    from .clientcert import ClientCert

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
        peer: the socket peer address, or ``None`` for a Unix socket. Kept printable and
            at most :data:`MAX_PEER` characters (escaped by
            :func:`~webhook_guard.untrusted.shown` otherwise): it is reported as
            ``verdict.client_ip``, which applications log, and a server may have copied it
            from a client's header (uvicorn's ``proxy_headers``). No address is changed.
        client_cert: the client certificate the server's own TLS layer verified on this
            connection (``webhook-guard serve``, or an ASGI server's ``tls`` extension);
            ``None`` when there is none. Never from request headers.
    """

    __slots__ = (
        "_dups",
        "_index",
        "_text",
        "body",
        "client_cert",
        "headers",
        "method",
        "path",
        "peer",
        "query",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: str | bytes = "",
        headers: HeadersInput = (),
        body: bytes = b"",
        peer: str | None = None,
        client_cert: ClientCert | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.query = query.decode("latin-1") if isinstance(query, bytes) else query
        self.headers = headers
        self.body = body
        if peer is not None and not (len(peer) <= MAX_PEER and peer.isprintable()):
            peer = shown(peer, MAX_PEER)
        self.peer = peer
        self.client_cert = client_cert
        self._index: dict[Any, Any] | None = None
        self._dups: dict[bytes, list[bytes]] | None = None
        self._text = False  # whether _index is keyed by str names (a dict of str headers)

    def _build(self) -> dict[Any, Any]:
        # One dict comprehension over raw bytes is ~3x cheaper than decoding every header;
        # the few headers the guard reads are decoded on lookup. Repeated names (which
        # the guard must notice) are collected separately, only when there are any.
        headers = self.headers
        unique = unique_header_table(headers)
        if unique is not None:
            # ASGI's shape, or a dict of str headers: used as it is, converted on lookup.
            self._index, self._text = unique[0], not unique[1]
            return unique[0]
        items = list(headers.items() if isinstance(headers, Mapping) else headers)
        # Every pair as bytes: a list mixing str and bytes pairs loses no header.
        if not all(n.__class__ is bytes and v.__class__ is bytes for n, v in items):
            items = [(_to_bytes(n), _to_bytes(v)) for n, v in items]
        index = {n.lower(): v for n, v in items}
        if len(index) != len(items):
            dups: dict[bytes, list[bytes]] = {}
            for n, v in items:
                dups.setdefault(n.lower(), []).append(v)
            self._dups = {k: v for k, v in dups.items() if len(v) > 1}
        self._index = index
        return index

    def values(self, name: bytes) -> list[str] | None:
        """Every line of header ``name`` (lower-case bytes), decoded; None when absent.

        Bytes are decoded as latin-1, which round-trips every byte: re-encoding a value
        as latin-1 gives back exactly what was on the wire.
        """
        index = self._index
        if index is None:
            index = self._build()
        if self._text:
            text = index.get(name.decode("latin-1"))
            if text.__class__ is str and text.isascii():
                return [text]
            return _text_value(text)
        value = index.get(name)
        if value is None:
            return None
        dups = self._dups
        if dups is not None and name in dups:
            return [v.decode("latin-1") for v in dups[name]]
        return [value.decode("latin-1")]

    def header(self, name: str) -> list[str]:
        """Every line of header ``name`` (case-insensitive); empty when absent."""
        return self.values(name.lower().encode("latin-1")) or []

    def header_lines(self) -> dict[str, list[str]]:
        """All header lines, by lower-case name, values in the order received."""
        index = self._index
        if index is None:
            index = self._build()
        if self._text:
            return {k: _text_value(v) or [] for k, v in index.items()}
        dups = self._dups or {}
        return {
            k.decode("latin-1"): [v.decode("latin-1") for v in dups.get(k, [index[k]])]
            for k in index
        }

    def __repr__(self) -> str:
        # Headers and query are left out on purpose: they may carry tokens.
        return (
            f"WebhookRequest(method={self.method!r}, path={self.path!r}, "
            f"body=<{len(self.body)} bytes>, peer={self.peer!r})"
        )


def unique_header_table(headers: HeadersInput) -> tuple[dict[Any, Any], bool] | None:
    """The headers as one dict of lower-case name -> value, when that loses nothing.

    That is for a dict or a list/tuple of pairs whose names are ASCII, either all str or
    all bytes, none repeated (case-insensitively). Otherwise None, and the caller needs
    the general index. Returns the dict and whether its names are bytes; names and values
    keep their type. Only C-level calls (``dict()``, ``join``, ``islower``): it runs once
    per request on the hot path.
    """
    cls = headers.__class__
    table: dict[Any, Any]
    if cls is dict:
        table = headers  # type: ignore[assignment]
    elif cls is list or cls is tuple:
        try:
            table = dict(headers)
        except (TypeError, ValueError):  # not pairs
            return None
        if len(table) != len(headers):  # type: ignore[arg-type]
            return None
    else:
        return None
    if not table:
        return None
    as_bytes = next(iter(table)).__class__ is bytes
    try:
        names = (b"" if as_bytes else "").join(table)
    except TypeError:  # str and bytes names mixed
        return None
    # Non-ASCII names are left to the general index: str.lower() could fold one onto an
    # ASCII name (the Kelvin sign lowers to "k") where the index's bytes.lower() does not.
    if not names.isascii():
        return None
    if names.islower():
        return table, as_bytes
    lowered = {name.lower(): value for name, value in table.items()}
    return (lowered, as_bytes) if len(lowered) == len(table) else None


def _text_value(value: Any) -> list[str] | None:
    """A value of a str-keyed header table, as :meth:`WebhookRequest.values` gives it: the
    text its latin-1 bytes decode to (other characters become ``?``, as on the wire)."""
    if value is None:
        return None
    if value.__class__ is str and value.isascii():
        return [value]
    return [_to_bytes(value).decode("latin-1")]


def _to_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1", "replace")
