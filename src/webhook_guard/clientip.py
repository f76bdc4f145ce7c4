"""The client address, from the socket peer and proxy headers under trusted-proxy rules.

Implements DESIGN.md section 5. One configured source, never a fallback chain; forwarding
headers are believed only when the socket peer is a trusted proxy; ``X-Forwarded-For`` and
``Forwarded`` are walked right to left past trusted proxies and the first untrusted hop is
the client. Anything doubtful at or right of that boundary raises
:class:`ProxyHeadersInvalid`, which the guard turns into ``proxy_headers_invalid``; so does
an untrusted peer that its own X-Forwarded-For/Forwarded names, which is what a server that
rewrites the peer from those headers (uvicorn's ``proxy_headers``) hands over.

References:
    RFC 7239 (Forwarded), RFC 9110 section 5.6 (lists, tokens, quoted strings),
    RFC 6874 (IPv6 zone ids), https://developers.cloudflare.com/fundamentals/reference/http-headers/
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, TypeAlias

from webhook_guard.ip_ranges import NAMED_SETS
from webhook_guard.ipset import IPSet
from webhook_guard.untrusted import shown

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

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

SOURCES: Final = ("peer", "x-forwarded-for", "forwarded", "x-real-ip", "cf-connecting-ip")
"""Fixed values of ``network.client_ip``; ``header:<name>`` is accepted as well."""

MAX_ELEMENTS: Final = 20
"""More hops than this in X-Forwarded-For/Forwarded is rejected (no real chain is that long)."""

MAX_HEADER_CHARS: Final = 4096
"""More characters than this across all lines of the source header is rejected."""

# The longest honest node, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%zone]:65535",
# is about 60 characters; anything much longer is padding meant to stress the parser.
_MAX_NODE_CHARS: Final = 100
_SHOW_CHARS: Final = 60

# ASCII-only character classes throughout: Python's str.isdigit() and int() accept
# Arabic-Indic and fullwidth digits, and a proxy or allowlist in another language would read
# such an element differently from us. Octets are canonical decimal only: "010" is octal to
# inet_aton() and decimal to ipaddress, so leading zeros are ambiguous and refused.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
# Shape only (every IPv6 text has two colons); ipaddress.IPv6Address does the validation.
_IPV6 = r"[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*"
_ZONE = r"%[A-Za-z0-9_.~-]{1,32}"  # RFC 6874 unreserved; "%25eth0" matches too
_PORT = r"[0-9]{1,5}"
_OBFPORT = r"_[A-Za-z0-9._-]{1,32}"  # RFC 7239 section 6.3

_IPV4_RE: Final = re.compile(_IPV4)
# X-Forwarded-For has no grammar; accept what proxies actually emit: bare addresses,
# IPv4 with a port, bracketed IPv6 with an optional port, bare IPv6, zone ids.
_XFF_NODE: Final = re.compile(
    rf"(?P<v4>{_IPV4})(?::(?P<port4>{_PORT}))?"
    rf"|\[(?P<v6b>{_IPV6})(?:{_ZONE})?\](?::(?P<port6>{_PORT}))?"
    rf"|(?P<v6>{_IPV6})(?:{_ZONE})?"
)
# RFC 7239 section 6: IPv6 must be bracketed, so "2001:db8::1:80" cannot be misread.
_FWD_NODE: Final = re.compile(
    rf"(?P<v4>{_IPV4})(?::(?P<port4>{_PORT}|{_OBFPORT}))?"
    rf"|\[(?P<v6b>{_IPV6})(?:{_ZONE})?\](?::(?P<port6>{_PORT}|{_OBFPORT}))?"
)
# Things that look numeric but are not canonical dotted quads: leading zeros, hex, octal,
# integer and short forms ("2130706433", "0x7f.1", "127.1"), which inet_aton() would accept.
_NUMBER = r"(?:0[Xx][0-9A-Fa-f]*|[0-9]+)"
_AMBIGUOUS_V4: Final = re.compile(rf"{_NUMBER}(?:\.(?:{_NUMBER})?)*(?::[0-9]*)?")

# RFC 9110 section 5.6.2 token and 5.6.4 quoted-string (obs-text refused).
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
_TCHARS_RE: Final = re.compile(_TCHARS)
_PAIR_RE: Final = re.compile(rf"(?P<name>{_TCHARS})=(?P<value>{_TCHARS}|{_QUOTED})")
_QUOTED_PAIR_RE: Final = re.compile(r"\\(.)", re.DOTALL)

_OWS: Final = " \t"

# Cloudflare puts these in CF-Connecting-IP (and X-Forwarded-For) instead of a real client:
# the one address shared by subrequests from every customer's Workers, and the unroutable
# Class E range its "Pseudo IPv4" feature substitutes for IPv6 visitors. Neither is a place
# a request came from, so neither may pass an allowlist or be skipped as a trusted hop.
_CF_NEVER_CLIENT: Final = IPSet(("2a06:98c0:3600::103/128", "240.0.0.0/4"))
_EMPTY: Final = IPSet(())


class ProxyHeadersInvalid(Exception):
    """The proxy headers cannot be trusted to name the client.

    Raised for anything doubtful in the configured source header of a trusted peer; the guard
    answers ``proxy_headers_invalid``. Hostile input never raises any other exception.

    Attributes:
        detail: A human-readable reason, safe to log (offending values are truncated and
            ``repr``-escaped).
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class PeerInvalid(ProxyHeadersInvalid):
    """The socket peer itself is not an IP address (a test client's placeholder name, say).

    No header was at fault, so the guard answers ``ip_not_allowed`` when an address rule
    has to be applied, and otherwise reports the peer as given.
    """


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
            if not _TCHARS_RE.fullmatch(name):
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
            peer_addr = _parse_peer(peer)
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
        _check_size(self._header, lines)
        if self._kind == "xff":
            elements = [e for line in lines for e in line.split(",")]
            parse: Callable[[str], IPAddress] = _parse_xff_element
        else:
            elements = [e for line in lines for e in _split_outside_quotes(line, ",")]
            parse = _parse_forwarded_element
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
        _check_size(header, lines)
        value = lines[0].strip(_OWS)
        if "," in value:
            raise ProxyHeadersInvalid(f"{header}: more than one address in {_show(value)}")
        try:
            addr = _parse_node(value, forwarded=False)
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


def _show(text: str) -> str:
    """Hostile text quoted in a detail message: escaped and bounded by :func:`shown`."""
    return f"'{shown(text, _SHOW_CHARS)}'"


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
        _check_size(name, lines)
        for line in lines:
            for value in _claimed(name, line):
                if _same_peer(value, peer, peer_addr):
                    raise ProxyHeadersInvalid(_REWRITTEN_PEER.format(peer=_show(peer), header=name))


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
                yield _QUOTED_PAIR_RE.sub(r"\1", text[1:-1])
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
        return _parse_node(value, forwarded=False) == peer_addr
    except ProxyHeadersInvalid:
        return False


def _check_size(header: str, lines: Sequence[str]) -> None:
    # Bounded before any splitting, so parsing cost stays bounded too.
    size = sum(len(line) for line in lines)
    if size > MAX_HEADER_CHARS:
        raise ProxyHeadersInvalid(f"{header}: {size} characters, more than {MAX_HEADER_CHARS}")


def _parse_peer(peer: str) -> IPAddress:
    try:
        return _parse_node(peer, forwarded=False)
    except ProxyHeadersInvalid as exc:
        raise PeerInvalid(
            f"socket peer {_show(peer)} is not a usable IP address: {exc.detail}"
        ) from None


def _parse_xff_element(element: str) -> IPAddress:
    return _parse_node(element.strip(_OWS), forwarded=False)


def _parse_node(text: str, *, forwarded: bool) -> IPAddress:
    """One address with optional port, brackets and zone id; strict, ASCII only."""
    if not text:
        raise ProxyHeadersInvalid("empty element")
    if len(text) > _MAX_NODE_CHARS:
        raise ProxyHeadersInvalid(f"oversized element ({len(text)} characters)")
    result = _parse_node_cached(text, forwarded)
    if isinstance(result, str):
        raise ProxyHeadersInvalid(result)
    return result


@lru_cache(maxsize=4096)
def _parse_node_cached(text: str, forwarded: bool) -> IPAddress | str:
    """The address, or why not. Cached: the same proxies and clients come back over and over,
    and a hit is several times cheaper than building an ``ipaddress`` object; the length is
    bounded by the caller, so hostile input cannot make the cache large."""
    try:
        return _parse_node_uncached(text, forwarded=forwarded)
    except ProxyHeadersInvalid as exc:
        return exc.detail


def _parse_node_uncached(text: str, *, forwarded: bool) -> IPAddress:
    if not text.isascii():
        raise ProxyHeadersInvalid(f"non-ASCII characters in {_show(text)}")
    match = (_FWD_NODE if forwarded else _XFF_NODE).fullmatch(text)
    if match is None:
        raise ProxyHeadersInvalid(_why_malformed(text, forwarded=forwarded))
    groups = match.groupdict()
    port = groups["port4"] or groups["port6"]
    if port is not None and not port.startswith("_") and not 1 <= int(port) <= 65535:
        raise ProxyHeadersInvalid(f"port out of range in {_show(text)}")
    addr: IPAddress
    if groups["v4"] is not None:
        addr = ipaddress.IPv4Address(groups["v4"])  # the regex admits only valid quads
    else:
        v6 = groups["v6b"] or groups.get("v6") or ""
        if "." in v6 and not _IPV4_RE.fullmatch(v6.rpartition(":")[2]):
            raise ProxyHeadersInvalid(f"ambiguous embedded IPv4 in {_show(text)}")
        try:
            v6addr = ipaddress.IPv6Address(v6)
        except ValueError:
            raise ProxyHeadersInvalid(f"malformed IPv6 address {_show(text)}") from None
        # Unmapped before any match, so "::ffff:10.0.0.1" is matched against 10.0.0.0/8.
        addr = v6addr.ipv4_mapped or v6addr
    if addr.is_unspecified:
        raise ProxyHeadersInvalid(f"unspecified address {_show(text)}")
    return addr


def _why_malformed(text: str, *, forwarded: bool) -> str:
    if text.lower() == "unknown":
        return "node is 'unknown'"
    if text.startswith("_"):
        return f"obfuscated node {_show(text)}"
    if forwarded and ":" in text and not text.startswith("[") and text.count(":") > 1:
        return f"IPv6 node {_show(text)} must be bracketed and quoted (RFC 7239 section 6)"
    if _AMBIGUOUS_V4.fullmatch(text):
        return (
            f"{_show(text)} is not a canonical dotted-quad IPv4 address "
            "(leading zeros, hex, octal, integer and short forms are ambiguous)"
        )
    return f"malformed address {_show(text)}"


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside RFC 9110 quoted strings; an unterminated quote is an error."""
    if '"' not in text:
        return text.split(sep)
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for i, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == sep:
            parts.append(text[start:i])
            start = i + 1
    if quoted:
        raise ProxyHeadersInvalid(f"forwarded: unterminated quoted string in {_show(text)}")
    parts.append(text[start:])
    return parts


def _parse_forwarded_element(element: str) -> IPAddress:
    """The ``for=`` node of one RFC 7239 forwarded-element."""
    element = element.strip(_OWS)
    if not element:
        raise ProxyHeadersInvalid("empty element")
    node: str | None = None
    seen: set[str] = set()
    for raw_pair in _split_outside_quotes(element, ";"):
        # OWS around ";" is not in the RFC but common and harmless; around "=" it is refused.
        pair = raw_pair.strip(_OWS)
        if not pair:
            continue  # forwarded-element = [ pair ] *( ";" [ pair ] )
        match = _PAIR_RE.fullmatch(pair)
        if match is None:
            raise ProxyHeadersInvalid(f"malformed parameter {_show(pair)}")
        name = match["name"].lower()
        if name in seen:
            # RFC 7239 section 4: each parameter at most once; two for= would be ambiguous.
            raise ProxyHeadersInvalid(f"duplicate parameter {name!r} in {_show(element)}")
        seen.add(name)
        if name == "for":
            value = match["value"]
            if value.startswith('"'):
                value = _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
            node = value
    if node is None:
        raise ProxyHeadersInvalid(f"no for= parameter in {_show(element)}")
    return _parse_node(node, forwarded=True)
