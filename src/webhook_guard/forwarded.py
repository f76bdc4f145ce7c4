"""Strict parsing of the headers proxies use to name a client.

``X-Forwarded-For`` (no grammar: what proxies actually emit), ``Forwarded`` (RFC 7239) and
single-address headers (``X-Real-IP``, ``CF-Connecting-IP``): one node at a time, ASCII only,
canonical forms only, bounded in size. Deciding which node is the client is
:mod:`webhook_guard.clientip`'s job; anything doubtful here raises
:class:`ProxyHeadersInvalid` with a detail that is safe to log.

References:
    RFC 7239 (Forwarded), RFC 9110 section 5.6 (lists, tokens, quoted strings),
    RFC 6874 (IPv6 zone ids)
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Final, TypeAlias

from .errors import WebhookGuardError
from .untrusted import shown

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_HEADER_CHARS",
    "OWS",
    "QUOTED_PAIR_RE",
    "TOKEN_RE",
    "IPAddress",
    "PeerInvalid",
    "ProxyHeadersInvalid",
    "check_size",
    "parse_forwarded_element",
    "parse_node",
    "parse_peer",
    "parse_xff_element",
    "show",
    "split_outside_quotes",
]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

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
TOKEN_RE: Final = re.compile(_TCHARS)
_PAIR_RE: Final = re.compile(rf"(?P<name>{_TCHARS})=(?P<value>{_TCHARS}|{_QUOTED})")
QUOTED_PAIR_RE: Final = re.compile(r"\\(.)", re.DOTALL)

OWS: Final = " \t"


class ProxyHeadersInvalid(WebhookGuardError):
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


def show(text: str) -> str:
    """Hostile text quoted in a detail message: escaped and bounded by :func:`shown`."""
    return f"'{shown(text, _SHOW_CHARS)}'"


def check_size(header: str, lines: Sequence[str]) -> None:
    # Bounded before any splitting, so parsing cost stays bounded too.
    size = sum(len(line) for line in lines)
    if size > MAX_HEADER_CHARS:
        raise ProxyHeadersInvalid(f"{header}: {size} characters, more than {MAX_HEADER_CHARS}")


def parse_peer(peer: str) -> IPAddress:
    try:
        return parse_node(peer, forwarded=False)
    except ProxyHeadersInvalid as exc:
        raise PeerInvalid(
            f"socket peer {show(peer)} is not a usable IP address: {exc.detail}"
        ) from None


def parse_xff_element(element: str) -> IPAddress:
    return parse_node(element.strip(OWS), forwarded=False)


def parse_node(text: str, *, forwarded: bool) -> IPAddress:
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
        raise ProxyHeadersInvalid(f"non-ASCII characters in {show(text)}")
    match = (_FWD_NODE if forwarded else _XFF_NODE).fullmatch(text)
    if match is None:
        raise ProxyHeadersInvalid(_why_malformed(text, forwarded=forwarded))
    groups = match.groupdict()
    port = groups["port4"] or groups["port6"]
    if port is not None and not port.startswith("_") and not 1 <= int(port) <= 65535:
        raise ProxyHeadersInvalid(f"port out of range in {show(text)}")
    addr: IPAddress
    if groups["v4"] is not None:
        addr = ipaddress.IPv4Address(groups["v4"])  # the regex admits only valid quads
    else:
        v6 = groups["v6b"] or groups.get("v6") or ""
        if "." in v6 and not _IPV4_RE.fullmatch(v6.rpartition(":")[2]):
            raise ProxyHeadersInvalid(f"ambiguous embedded IPv4 in {show(text)}")
        try:
            v6addr = ipaddress.IPv6Address(v6)
        except ValueError:
            raise ProxyHeadersInvalid(f"malformed IPv6 address {show(text)}") from None
        # Unmapped before any match, so "::ffff:10.0.0.1" is matched against 10.0.0.0/8.
        addr = v6addr.ipv4_mapped or v6addr
    if addr.is_unspecified:
        raise ProxyHeadersInvalid(f"unspecified address {show(text)}")
    return addr


def _why_malformed(text: str, *, forwarded: bool) -> str:
    if text.lower() == "unknown":
        return "node is 'unknown'"
    if text.startswith("_"):
        return f"obfuscated node {show(text)}"
    if forwarded and ":" in text and not text.startswith("[") and text.count(":") > 1:
        return f"IPv6 node {show(text)} must be bracketed and quoted (RFC 7239 section 6)"
    if _AMBIGUOUS_V4.fullmatch(text):
        return (
            f"{show(text)} is not a canonical dotted-quad IPv4 address "
            "(leading zeros, hex, octal, integer and short forms are ambiguous)"
        )
    return f"malformed address {show(text)}"


def split_outside_quotes(text: str, sep: str) -> list[str]:
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
        raise ProxyHeadersInvalid(f"forwarded: unterminated quoted string in {show(text)}")
    parts.append(text[start:])
    return parts


def parse_forwarded_element(element: str) -> IPAddress:
    """The ``for=`` node of one RFC 7239 forwarded-element."""
    element = element.strip(OWS)
    if not element:
        raise ProxyHeadersInvalid("empty element")
    node: str | None = None
    seen: set[str] = set()
    for raw_pair in split_outside_quotes(element, ";"):
        # OWS around ";" is not in the RFC but common and harmless; around "=" it is refused.
        pair = raw_pair.strip(OWS)
        if not pair:
            continue  # forwarded-element = [ pair ] *( ";" [ pair ] )
        match = _PAIR_RE.fullmatch(pair)
        if match is None:
            raise ProxyHeadersInvalid(f"malformed parameter {show(pair)}")
        name = match["name"].lower()
        if name in seen:
            # RFC 7239 section 4: each parameter at most once; two for= would be ambiguous.
            raise ProxyHeadersInvalid(f"duplicate parameter {name!r} in {show(element)}")
        seen.add(name)
        if name == "for":
            value = match["value"]
            if value.startswith('"'):
                value = QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
            node = value
    if node is None:
        raise ProxyHeadersInvalid(f"no for= parameter in {show(element)}")
    return parse_node(node, forwarded=True)
