"""The client address, from the socket peer and proxy headers under trusted-proxy rules.

One configured source, never a fallback chain (a fallback is what an attacker picks); forwarding
headers are believed only when the socket peer is a trusted proxy; ``X-Forwarded-For`` and
``Forwarded`` are walked right to left past trusted proxies and the first untrusted hop is
the client. Anything doubtful at or right of that boundary raises
:class:`ProxyHeadersInvalid`, which the guard turns into ``proxy_headers_invalid``; so does
an untrusted peer that its own X-Forwarded-For/Forwarded names, which is what a server that
rewrites the peer from those headers (uvicorn's ``proxy_headers``) hands over. How to set
it up behind each kind of proxy: docs/guides/behind-proxies.md. The header syntax is parsed
by :mod:`webhook_guard.forwarded`.

References:
    https://developers.cloudflare.com/fundamentals/reference/http-headers/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .forwarded import (
    MAX_HEADER_CHARS,
    OWS,
    QUOTED_PAIR_RE,
    TOKEN_RE,
    IPAddress,
    PeerInvalid,
    ProxyHeadersInvalid,
    check_size,
    parse_forwarded_element,
    parse_node,
    parse_peer,
    parse_xff_element,
    show,
    split_outside_quotes,
)
from .ip_ranges import NAMED_SETS
from .ipset import IPSet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

__all__ = [
    "MAX_ELEMENTS",
    "MAX_HEADER_CHARS",
    "SOURCES",
    "ClientIPConfig",
    "ClientIPResolver",
    "PeerInvalid",
    "ProxyHeadersInvalid",
]

SOURCES: Final = ("peer", "x-forwarded-for", "forwarded", "x-real-ip", "cf-connecting-ip")
"""Fixed values of ``network.client_ip``; ``header:<name>`` is accepted as well."""

MAX_ELEMENTS: Final = 20
"""More hops than this in X-Forwarded-For/Forwarded is rejected (no real chain is that long)."""


# Cloudflare puts these in CF-Connecting-IP (and X-Forwarded-For) instead of a real client:
# the one address shared by subrequests from every customer's Workers, and the unroutable
# Class E range its "Pseudo IPv4" feature substitutes for IPv6 visitors. Neither is a place
# a request came from, so neither may pass an allowlist or be skipped as a trusted hop.
_CF_NEVER_CLIENT: Final = IPSet(("2a06:98c0:3600::103/128", "240.0.0.0/4"))
_EMPTY: Final = IPSet(())


@dataclass(frozen=True)
class ClientIPConfig:
    """How to find the client address; validated on construction.

    Attributes:
        source: ``peer``, ``x-forwarded-for`` (default), ``forwarded``, ``x-real-ip``,
            ``cf-connecting-ip`` or ``header:<name>``. Exactly one source is consulted.
        trusted_proxies: Peers whose forwarding headers are believed. Default empty: no
            header is believed and the socket peer is always the client.
        all_hops_trusted: What to do when every hop of X-Forwarded-For/Forwarded is a
            trusted proxy: ``reject`` (default, ``proxy_headers_invalid``) or ``leftmost``
            (take the leftmost hop, for requests that originate inside your network).
        trust_unix_socket: Whether a Unix-socket peer (no address) is a trusted proxy.

    Raises:
        ValueError: ``source`` or ``all_hops_trusted`` is not one of the values above.
        TypeError: A field has the wrong type (``trusted_proxies`` must be an
            :class:`~webhook_guard.ipset.IPSet`, not a list of strings).
    """

    source: str = "x-forwarded-for"
    trusted_proxies: IPSet = _EMPTY
    all_hops_trusted: str = "reject"
    trust_unix_socket: bool = False

    def __post_init__(self) -> None:
        # Config often comes from YAML, where a typo yields None or a number, not a str.
        for name, value, kind in (
            ("client_ip", self.source, str),
            ("all_hops_trusted", self.all_hops_trusted, str),
            ("trust_unix_socket", self.trust_unix_socket, bool),
        ):
            if not isinstance(value, kind):
                raise TypeError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
        if self.source.startswith("header:"):
            name = self.source[len("header:") :]
            if not TOKEN_RE.fullmatch(name):
                raise ValueError(
                    f"client_ip: {self.source!r} is not 'header:<name>' with a valid header name"
                )
            if name.lower() == "forwarded":
                raise ValueError("client_ip: use 'forwarded', not 'header:forwarded'")
        elif self.source not in SOURCES:
            raise ValueError(
                f"client_ip: unknown source {self.source!r}; expected one of "
                f"{', '.join(SOURCES)} or header:<name>"
            )
        if self.all_hops_trusted not in ("reject", "leftmost"):
            raise ValueError(
                f"all_hops_trusted: expected 'reject' or 'leftmost', got {self.all_hops_trusted!r}"
            )
        if not isinstance(self.trusted_proxies, IPSet):
            raise TypeError(
                "trusted_proxies must be an IPSet, got "
                f"{type(self.trusted_proxies).__name__} (build one with IPSet([...]))"
            )


class ClientIPResolver:
    """Resolves the client address of one request; build once per configuration.

    Example:
        >>> resolver = ClientIPResolver(ClientIPConfig(trusted_proxies=IPSet(["10.0.0.0/8"])))
        >>> resolver.resolve("10.0.0.2", {"x-forwarded-for": ["6.6.6.6, 203.0.113.9"]})
        '203.0.113.9'
    """

    __slots__ = ("_behind_cloudflare", "_header", "_kind", "_leftmost", "_trusted", "_unix")

    def __init__(self, config: ClientIPConfig) -> None:
        """Parse ``config`` once.

        Args:
            config: A validated :class:`ClientIPConfig`.
        """
        source = config.source
        self._kind: str
        self._header: str
        if source.startswith("header:"):
            self._kind, self._header = "single", source[len("header:") :].lower()
        elif source in ("x-real-ip", "cf-connecting-ip"):
            self._kind, self._header = "single", source
        elif source == "x-forwarded-for":
            self._kind, self._header = "xff", source
        elif source == "forwarded":
            self._kind, self._header = "forwarded", source
        else:
            self._kind, self._header = "peer", ""
        self._trusted = config.trusted_proxies
        self._leftmost = config.all_hops_trusted == "leftmost"
        self._unix = config.trust_unix_socket
        # "Behind Cloudflare": the pseudo addresses can only show up when Cloudflare writes
        # the headers, and then they must never be taken for a client or a trusted hop.
        self._behind_cloudflare = source == "cf-connecting-ip" or config.trusted_proxies.overlaps(
            NAMED_SETS["cloudflare"]
        )

    @property
    def header(self) -> str | None:
        """The one (lower-case) header this resolver reads, or None for source ``peer``."""
        return self._header or None

    def resolve(self, peer: str | None, headers: Mapping[str, Sequence[str]]) -> str | None:
        """The client address as a normalised string.

        Args:
            peer: The socket peer address (``"203.0.113.9"``, ``"::1"``, ``"[::1]"``, zone ids
                allowed), or None for a Unix-socket peer.
            headers: Lower-case header name to the list of raw values, one per header line,
                in arrival order.

        Returns:
            IPv4 dotted quad or compressed lower-case IPv6, without port, brackets or zone;
            IPv4-mapped IPv6 is returned as IPv4. None when no address is known: the peer
            is a Unix socket and either it is not trusted, or it is trusted and sent no
            X-Forwarded-For/Forwarded (so the proxy itself is the client).

        Raises:
            ProxyHeadersInvalid: The headers of a trusted peer are missing (single-value
                sources), malformed, ambiguous or oversized, or all hops are trusted under
                ``all_hops_trusted: reject``; or ``peer`` is not an IP address; or an
                untrusted ``peer`` is named in ``headers["x-forwarded-for"]`` or
                ``headers["forwarded"]`` (a server replaced the real peer with it).
        """
        addr = self.resolve_address(peer, headers)
        return None if addr is None else str(addr)

    def resolve_address(
        self, peer: str | None, headers: Mapping[str, Sequence[str]]
    ) -> IPAddress | None:
        """Like :meth:`resolve`, but returns the ``ipaddress`` object (for allowlist lookups)."""
        if peer is None:
            peer_addr: IPAddress | None = None
            trusted = self._unix
        else:
            peer_addr = parse_peer(peer)
            trusted = peer_addr in self._trusted
            if not trusted:
                _check_not_rewritten(peer, peer_addr, headers)
        if not trusted or self._kind == "peer":
            return peer_addr
        lines = headers.get(self._header)
        if self._kind == "single":
            return self._single(lines)
        if not lines:
            # A trusted proxy that adds no chain is itself the client (e.g. a health check).
            return peer_addr
        check_size(self._header, lines)
        if self._kind == "xff":
            elements = [e for line in lines for e in line.split(",")]
            parse: Callable[[str], IPAddress] = parse_xff_element
        else:
            elements = [e for line in lines for e in split_outside_quotes(line, ",")]
            parse = parse_forwarded_element
        if len(elements) > MAX_ELEMENTS:
            raise ProxyHeadersInvalid(
                f"{self._header}: {len(elements)} elements, more than {MAX_ELEMENTS}"
            )
        return self._walk(elements, parse)

    def _walk(self, elements: list[str], parse: Callable[[str], IPAddress]) -> IPAddress:
        addr: IPAddress | None = None
        count = len(elements)
        # Right to left: each proxy appends the address it saw, so only the suffix written by
        # our own proxies is trustworthy; everything left of the first stranger is the
        # client's own say-so and is never looked at.
        for index in range(count - 1, -1, -1):
            try:
                addr = parse(elements[index])
            except ProxyHeadersInvalid as exc:
                raise ProxyHeadersInvalid(
                    f"{self._header}: element {index + 1} of {count}: {exc.detail}"
                ) from None
            self._check_not_pseudo(addr)
            if addr not in self._trusted:
                return addr
        if self._leftmost and addr is not None:
            return addr
        raise ProxyHeadersInvalid(
            f"{self._header}: every hop is a trusted proxy (all_hops_trusted: reject)"
        )

    def _single(self, lines: Sequence[str] | None) -> IPAddress:
        header = self._header
        if not lines:
            raise ProxyHeadersInvalid(
                f"{header}: missing from a trusted proxy (is the proxy configured to set it?)"
            )
        if len(lines) != 1:
            raise ProxyHeadersInvalid(f"{header}: {len(lines)} header lines, expected exactly 1")
        check_size(header, lines)
        value = lines[0].strip(OWS)
        if "," in value:
            raise ProxyHeadersInvalid(f"{header}: more than one address in {show(value)}")
        try:
            addr = parse_node(value, forwarded=False)
        except ProxyHeadersInvalid as exc:
            raise ProxyHeadersInvalid(f"{header}: {exc.detail}") from None
        self._check_not_pseudo(addr)
        return addr

    def _check_not_pseudo(self, addr: IPAddress) -> None:
        if self._behind_cloudflare and addr in _CF_NEVER_CLIENT:
            raise ProxyHeadersInvalid(
                f"{self._header}: {addr} is a Cloudflare placeholder (Workers shared address "
                "or Pseudo IPv4), not a client address"
            )


_REWRITTEN_PEER: Final = (
    "the socket peer {peer} is an address from the request's {header} header, which the "
    "client can write: the server replaced the real peer with it before the guard ran. "
    "Let the guard read proxy headers itself: run uvicorn with --no-proxy-headers "
    "(gunicorn with uvicorn workers: --forwarded-allow-ips=''), remove any middleware that "
    "rewrites the client address, and set network.trusted_proxies and network.client_ip"
)
"""The detail of a refused rewritten peer (see :func:`_check_not_rewritten`)."""


def _check_not_rewritten(
    peer: str, peer_addr: IPAddress, headers: Mapping[str, Sequence[str]]
) -> None:
    """Refuse a peer that some server took from X-Forwarded-For or Forwarded.

    uvicorn (``proxy_headers``, on by default, trusting loopback) and its gunicorn worker
    (``forwarded_allow_ips``) replace the ASGI client with an element of X-Forwarded-For
    and leave the header in place; werkzeug's ``ProxyFix`` does the same to REMOTE_ADDR.
    Behind nginx, which passes a client's X-Forwarded-For on unless told otherwise, the
    guard would then take the client's own claim for the socket peer. A genuine untrusted
    peer does not name itself in those headers (a proxy appends the address it came from,
    not its own), so one that does is refused, not believed. A header too large to
    examine is refused as it would be from a trusted proxy.
    """
    for name in ("x-forwarded-for", "forwarded"):
        lines = headers.get(name)
        if not lines:
            continue
        check_size(name, lines)
        for line in lines:
            for value in _claimed(name, line):
                if _same_peer(value, peer, peer_addr):
                    raise ProxyHeadersInvalid(_REWRITTEN_PEER.format(peer=show(peer), header=name))


def _claimed(name: str, line: str) -> Iterator[str]:
    """The client addresses one header line claims, read as leniently as the servers
    that rewrite the peer read them: split on commas, stripped of every kind of
    whitespace as uvicorn's ``str.strip()`` does (``\\xa0`` is whitespace there, not to
    this module's parser), unquoted as werkzeug's ``parse_list_header`` does, and for
    Forwarded the ``for=`` values."""
    if name == "x-forwarded-for":
        for element in line.split(","):
            text = element.strip()
            yield text
            if len(text) > 1 and text[0] == text[-1] == '"':
                yield QUOTED_PAIR_RE.sub(r"\1", text[1:-1])
        return
    for element in line.split(","):
        for pair in element.split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key.strip().lower() == "for":
                yield value.strip().strip('"').strip()


def _same_peer(value: str, peer: str, peer_addr: IPAddress) -> bool:
    """Whether ``value`` (one claimed address) is what a server would make the peer."""
    if value == peer:
        return True  # copied as it was (ProxyFix, and uvicorn without a port)
    if value.startswith("["):  # uvicorn's reading: "[host]:port", "host:port", or host
        host = value[1:].partition("]")[0]
    else:
        host = value.rpartition(":")[0] if value.count(":") == 1 else value
    if host == peer:
        return True
    try:  # the same address in another spelling ("::ffff:a.b.c.d", upper case, zeros)
        return parse_node(value, forwarded=False) == peer_addr
    except ProxyHeadersInvalid:
        return False
