"""Immutable CIDR sets for IPv4 and IPv6 with O(log n) membership tests.

Each address family is kept as a sorted list of merged, disjoint, inclusive integer ranges,
so a lookup is one address parse plus one :func:`bisect.bisect_right`. The sets that config
may name (``loopback``, ``private``, ``cloudflare``, ``github``, ``aws:<service>``, ...) and
the provider lists behind them live in :mod:`webhook_guard.ip_ranges`.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    # Moved to ip_ranges; still importable from here (see __getattr__ below).
    from .ip_ranges import (
        NAMED_SETS,
        PROVIDERS,
        PUBLISHED_URLS,
        RangeList,
        RangeUpdateError,
        load_ranges,
        parse_published,
        provider_set,
        ranges_dir,
        resolve_named,
        update_ranges,
    )

__all__ = [
    "NAMED_SETS",
    "PROVIDERS",
    "PUBLISHED_URLS",
    "IPSet",
    "RangeList",
    "RangeUpdateError",
    "load_ranges",
    "parse_published",
    "provider_set",
    "ranges_dir",
    "resolve_named",
    "update_ranges",
]

# Names that lived here before the provider lists got their own module. They resolve lazily:
# ip_ranges imports this module, so importing it back at load time would be a cycle.
_MOVED_TO_IP_RANGES = frozenset(__all__) - {"IPSet"}

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_Range: TypeAlias = tuple[int, int]

# ::ffff:0:0/96 as integers; a mapped address is an IPv4 client that reached an IPv6 socket.
_MAPPED_LO = 0xFFFF_0000_0000
_MAPPED_HI = 0xFFFF_FFFF_FFFF

# Longest textual address: 45 characters of IPv6-with-embedded-IPv4 plus a zone id. Anything
# longer is rejected before it reaches the parse cache so hostile input cannot bloat it.
_MAX_ADDRESS_TEXT = 100

# ipaddress.ip_network() is lenient about a few things a security allowlist should not be
# (zone ids, "/08" prefix lengths, surrounding junk), so the shape is checked first.
_CIDR_SHAPE = re.compile(r"[0-9A-Fa-f.:]+(?:/(?:0|[1-9][0-9]{0,2}))?")


# Canonical dotted quad only (ASCII digits, no leading zeros), so this fast path accepts
# exactly what ipaddress accepts; anything else takes the slow path below.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


@lru_cache(maxsize=8192)
def _parse_text(text: str) -> tuple[int, int] | None:
    """(version, integer) of an address string, or None if it is not one.

    Cached: a guard sees the same few proxy and client addresses over and over, and a cache
    hit is about ten times cheaper than an ipaddress parse. IPv4 skips ipaddress, whose
    general parser is about twice the cost of this regex.
    """
    quad = _DOTTED_QUAD.fullmatch(text)
    if quad is not None:
        a, b, c, d = quad.groups()
        return 4, (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr.version, int(addr)


def _key(addr: IPAddress) -> tuple[int, int]:
    n = int(addr)
    if addr.version == 6 and _MAPPED_LO <= n <= _MAPPED_HI:
        return 4, n - _MAPPED_LO
    return addr.version, n


def _merge(ranges: Iterable[_Range]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort and coalesce overlapping or adjacent ranges into parallel start/end tuples."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(ranges):
        if ends and start <= ends[-1] + 1:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return tuple(starts), tuple(ends)


def _parse_entry(entry: object) -> tuple[int, _Range]:
    """(version, range) for one configured entry, or ValueError naming the entry."""
    if not isinstance(entry, str):
        raise ValueError(f"invalid CIDR {entry!r}: expected a string")
    if not entry.isascii() or not _CIDR_SHAPE.fullmatch(entry):
        raise ValueError(
            f"invalid CIDR {entry!r}: expected an address or address/prefix such as "
            "'10.0.0.0/8' or '2001:db8::/32' (no spaces, zone ids or leading zeros)"
        )
    try:
        net: IPNetwork = ipaddress.ip_network(entry, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"invalid CIDR {entry!r}: {exc}") from None
        # Host bits usually mean a typo ("10.0.0.1/8"), so refuse rather than widen silently.
        raise ValueError(
            f"invalid CIDR {entry!r}: host bits set (did you mean {str(loose)!r}?)"
        ) from None
    start = int(net.network_address)
    end = int(net.broadcast_address)
    if net.version == 6 and start >= _MAPPED_LO and end <= _MAPPED_HI:
        # Lookups unmap ::ffff:a.b.c.d to IPv4, so a mapped entry must be stored as IPv4 too.
        return 4, (start - _MAPPED_LO, end - _MAPPED_LO)
    return net.version, (start, end)


class IPSet:
    """An immutable set of IPv4 and IPv6 address ranges.

    Entries are merged on construction; membership is O(log n) in the number of merged
    ranges. IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) are looked up as IPv4, and
    mapped entries are stored as IPv4.

    Example:
        >>> trusted = IPSet(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])
        >>> "10.1.2.3" in trusted, "::ffff:10.1.2.3" in trusted, "192.0.2.8" in trusted
        (True, True, False)
    """

    __slots__ = ("_v4_ends", "_v4_starts", "_v6_ends", "_v6_starts")

    _v4_starts: tuple[int, ...]
    _v4_ends: tuple[int, ...]
    _v6_starts: tuple[int, ...]
    _v6_ends: tuple[int, ...]

    def __init__(self, entries: Iterable[str] = ()) -> None:
        """Build a set from CIDR or single-address strings.

        Args:
            entries: Strings such as ``"10.0.0.0/8"``, ``"2001:db8::/32"`` or
                ``"192.0.2.7"`` (a single address is a /32 or /128).

        Raises:
            ValueError: An entry is malformed or has host bits set (``"10.0.0.1/8"``);
                the message names the offending entry.
            TypeError: ``entries`` is a single string rather than an iterable of them.
        """
        if isinstance(entries, str | bytes):
            raise TypeError("IPSet() takes an iterable of CIDR strings, not a single string")
        v4: list[_Range] = []
        v6: list[_Range] = []
        for entry in entries:
            version, rng = _parse_entry(entry)
            (v4 if version == 4 else v6).append(rng)
        self._set(_merge(v4), _merge(v6))

    def _set(
        self,
        v4: tuple[tuple[int, ...], tuple[int, ...]],
        v6: tuple[tuple[int, ...], tuple[int, ...]],
    ) -> None:
        # object.__setattr__ because __setattr__ is blocked to keep instances immutable.
        object.__setattr__(self, "_v4_starts", v4[0])
        object.__setattr__(self, "_v4_ends", v4[1])
        object.__setattr__(self, "_v6_starts", v6[0])
        object.__setattr__(self, "_v6_ends", v6[1])

    @classmethod
    def _from_ranges(cls, v4: Iterable[_Range], v6: Iterable[_Range]) -> IPSet:
        new = cls.__new__(cls)
        new._set(_merge(v4), _merge(v6))
        return new

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("IPSet is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("IPSet is immutable")

    def __contains__(self, addr: object) -> bool:
        """Whether ``addr`` lies in the set.

        Args:
            addr: An ``IPv4Address``/``IPv6Address`` or an address string. A string that is
                not an address (or any other type) is simply not a member: this never raises.

        Returns:
            True if the address is covered by one of the ranges.
        """
        if isinstance(addr, str):
            if len(addr) > _MAX_ADDRESS_TEXT:
                return False
            parsed = _parse_text(addr)
            if parsed is None:
                return False
            version, n = parsed
            if version == 6 and _MAPPED_LO <= n <= _MAPPED_HI:
                version, n = 4, n - _MAPPED_LO
        elif isinstance(addr, ipaddress.IPv4Address | ipaddress.IPv6Address):
            version, n = _key(addr)
        else:
            return False
        if version == 4:
            starts, ends = self._v4_starts, self._v4_ends
        else:
            starts, ends = self._v6_starts, self._v6_ends
        i = bisect_right(starts, n) - 1
        return i >= 0 and n <= ends[i]

    def contains(self, addr: IPAddress | str) -> bool:
        """Same as ``addr in self``; see :meth:`__contains__`."""
        return addr in self

    def overlaps(self, other: IPSet) -> bool:
        """Whether the two sets share at least one address.

        Args:
            other: Another set.

        Returns:
            True if some address is in both sets.
        """
        return _ranges_overlap(
            self._v4_starts, self._v4_ends, other._v4_starts, other._v4_ends
        ) or _ranges_overlap(self._v6_starts, self._v6_ends, other._v6_starts, other._v6_ends)

    def union(self, *others: IPSet) -> IPSet:
        """A new set holding every address of this set and of ``others``.

        Args:
            *others: Sets to add.

        Returns:
            The merged set.
        """
        sets = (self, *others)
        return IPSet._from_ranges(
            (r for s in sets for r in zip(s._v4_starts, s._v4_ends, strict=True)),
            (r for s in sets for r in zip(s._v6_starts, s._v6_ends, strict=True)),
        )

    def __or__(self, other: object) -> IPSet:
        if not isinstance(other, IPSet):
            return NotImplemented
        return self.union(other)

    def networks(self) -> Iterator[IPNetwork]:
        """The set as the minimal list of CIDR networks, IPv4 first, each family sorted.

        Meant for error messages and config dumps; it is not used by lookups.
        """
        for starts, ends, cls in (
            (self._v4_starts, self._v4_ends, ipaddress.IPv4Address),
            (self._v6_starts, self._v6_ends, ipaddress.IPv6Address),
        ):
            for start, end in zip(starts, ends, strict=True):
                yield from ipaddress.summarize_address_range(cls(start), cls(end))

    def __len__(self) -> int:
        """Number of merged ranges (both families), not the number of addresses."""
        return len(self._v4_starts) + len(self._v6_starts)

    def __bool__(self) -> bool:
        return bool(self._v4_starts or self._v6_starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IPSet):
            return NotImplemented
        return (
            self._v4_starts == other._v4_starts
            and self._v4_ends == other._v4_ends
            and self._v6_starts == other._v6_starts
            and self._v6_ends == other._v6_ends
        )

    def __hash__(self) -> int:
        return hash((self._v4_starts, self._v4_ends, self._v6_starts, self._v6_ends))

    def __repr__(self) -> str:
        # Counts only: a provider list can hold thousands of prefixes.
        return f"IPSet(<{len(self._v4_starts)} IPv4, {len(self._v6_starts)} IPv6 ranges>)"

    def __reduce__(self) -> tuple[object, ...]:
        return (
            IPSet._from_ranges,
            (
                tuple(zip(self._v4_starts, self._v4_ends, strict=True)),
                tuple(zip(self._v6_starts, self._v6_ends, strict=True)),
            ),
        )


def _ranges_overlap(
    a_starts: tuple[int, ...],
    a_ends: tuple[int, ...],
    b_starts: tuple[int, ...],
    b_ends: tuple[int, ...],
) -> bool:
    # Both sides are sorted and disjoint, so a linear merge walk finds any intersection.
    i = j = 0
    while i < len(a_starts) and j < len(b_starts):
        if a_ends[i] < b_starts[j]:
            i += 1
        elif b_ends[j] < a_starts[i]:
            j += 1
        else:
            return True
    return False


def __getattr__(name: str) -> object:
    if name in _MOVED_TO_IP_RANGES:
        from . import ip_ranges

        return getattr(ip_ranges, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
