"""Immutable CIDR sets for IPv4 and IPv6 with O(log n) membership tests.

Each address family is kept as a sorted list of merged, disjoint, inclusive integer ranges,
so a lookup is one address parse plus one :func:`bisect.bisect_right`. Named sets
(``loopback``, ``private``, ``cloudflare``) are what ``network.trusted_proxies`` may refer to
by name; provider lists (``github``, ``stripe``, ``cloudflare``, ``aws:<service>``) are what
``allow_ips``/``deny_ips`` may name: a dated snapshot ships with the package and
:func:`update_ranges` refreshes it from the provider's published JSON (DESIGN.md section 5).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

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


# -- provider range lists ----------------------------------------------------------------
#
# A snapshot of each provider's published list ships in webhook_guard/ip_ranges/*.json;
# `webhook-guard ip-ranges update` writes a fresher copy to ranges_dir(), which then wins.
# Both use one format: {"provider", "source", "snapshot_date", "note", "prefixes"}, where a
# prefix is a CIDR string or, for AWS, {"prefix", "service", "region"}.

PROVIDERS: Final = ("aws", "cloudflare", "github", "stripe")
"""Providers whose published ranges ``allow_ips``/``deny_ips`` may name (``aws:<service>``)."""

PUBLISHED_URLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "aws": "https://ip-ranges.amazonaws.com/ip-ranges.json",
        "cloudflare": "https://api.cloudflare.com/client/v4/ips",
        "github": "https://api.github.com/meta",
        "stripe": "https://stripe.com/files/ips/ips_webhooks.json",
    }
)
"""Where each provider publishes its list as JSON (what ``ip-ranges update`` fetches)."""

RANGES_DIR_ENV: Final = "WEBHOOK_GUARD_IP_RANGES_DIR"

# A published list that contains 0.0.0.0/0 (or any very wide block) is a broken or hostile
# feed, not a list of webhook senders: refuse it rather than open the allowlist to everyone.
_WIDEST_PREFIX: Final = {4: 8, 6: 16}
_MAX_DOWNLOAD: Final = 32 << 20  # AWS's full list is about 2 MB
_AWS_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

_Entry: TypeAlias = tuple[str, str, str]  # (prefix, service, region); service "" if none


@dataclass(frozen=True)
class RangeList:
    """One provider's published ranges, as loaded.

    Attributes:
        provider: ``github``, ``stripe``, ``cloudflare`` or ``aws``.
        source: The URL the list was published at.
        snapshot_date: When the list was taken (ISO date, UTC).
        origin: ``"shipped"`` for the snapshot in the package, else the file it came from.
        entries: ``(prefix, service, region)``; service and region are empty except for AWS.
        note: Provenance notes of the shipped snapshot.
    """

    provider: str
    source: str
    snapshot_date: str
    origin: str
    entries: tuple[_Entry, ...]
    note: str = ""

    def ipset(self, service: str | None = None, region: str | None = None) -> IPSet:
        """The entries (of one AWS ``service``/``region`` when given) as an :class:`IPSet`."""
        return IPSet(
            p
            for p, s, r in self.entries
            if (service is None or s == service) and (region is None or r == region)
        )


class RangeUpdateError(Exception):
    """A provider list could not be fetched or failed validation; nothing was written."""


def ranges_dir() -> Path:
    """Where ``ip-ranges update`` keeps refreshed lists.

    ``$WEBHOOK_GUARD_IP_RANGES_DIR`` if set, else ``$XDG_DATA_HOME/webhook-guard/ip-ranges``
    (``~/.local/share/webhook-guard/ip-ranges``).
    """
    explicit = os.environ.get(RANGES_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "webhook-guard" / "ip-ranges"


def _validated_entries(raw: object, where: str) -> tuple[_Entry, ...]:
    """Every entry checked: a list that is empty or has one bad entry is refused whole."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: expected a non-empty list of prefixes")
    out: list[_Entry] = []
    for i, item in enumerate(raw):
        service: object = ""
        region: object = ""
        prefix: object = item
        if isinstance(item, Mapping):
            prefix, service, region = item.get("prefix"), item.get("service"), item.get("region")
        if not (isinstance(service, str) and isinstance(region, str)):
            raise ValueError(f"{where}[{i}]: service and region must be strings")
        try:
            version, (start, end) = _parse_entry(prefix)
        except ValueError as exc:
            raise ValueError(f"{where}[{i}]: {exc}") from None
        bits = 32 if version == 4 else 128
        if (end - start + 1).bit_length() - 1 > bits - _WIDEST_PREFIX[version]:
            raise ValueError(
                f"{where}[{i}]: {prefix!r} is wider than /{_WIDEST_PREFIX[version]}; "
                "no webhook sender publishes such a block"
            )
        out.append((str(prefix), service, region))
    return tuple(out)


def _snapshot_from_json(data: object, where: str) -> tuple[dict[str, str], tuple[_Entry, ...]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a JSON object")
    meta = {}
    for key in ("provider", "source", "snapshot_date"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{where}: missing {key!r}")
        meta[key] = value
    note = data.get("note", "")
    meta["note"] = note if isinstance(note, str) else ""
    return meta, _validated_entries(data.get("prefixes"), f"{where}: prefixes")


def _read_snapshot(provider: str) -> tuple[dict[str, str], tuple[_Entry, ...]]:
    text = resources.files("webhook_guard").joinpath(f"ip_ranges/{provider}.json").read_text()
    return _snapshot_from_json(json.loads(text), f"shipped {provider} snapshot")


def load_ranges(provider: str, directory: str | os.PathLike[str] | None = None) -> RangeList:
    """A provider's list: the refreshed copy in ``directory`` if there is one, else the snapshot.

    Args:
        provider: One of :data:`PROVIDERS`.
        directory: Where refreshed lists live (default :func:`ranges_dir`).

    Raises:
        ValueError: Unknown provider, or a refreshed file exists but is unreadable or
            invalid (it is never silently ignored: it was written to be used).
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    path = Path(directory if directory is not None else ranges_dir()) / f"{provider}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the refreshed {provider} list: {exc}") from None
        meta, entries = _snapshot_from_json(data, str(path))
        origin = str(path)
    else:
        meta, entries = _read_snapshot(provider)
        origin = "shipped"
    return RangeList(
        provider=provider,
        source=meta["source"],
        snapshot_date=meta["snapshot_date"],
        origin=origin,
        entries=entries,
        note=meta["note"],
    )


def provider_set(spec: str, directory: str | os.PathLike[str] | None = None) -> IPSet:
    """The addresses of a provider name as used in ``allow_ips``.

    Args:
        spec: ``github``, ``stripe``, ``cloudflare``, ``aws:<SERVICE>`` or
            ``aws:<SERVICE>/<region>`` (``aws:ROUTE53_HEALTHCHECKS/us-east-1``; the service
            is matched case-insensitively, the region exactly).
        directory: Where refreshed lists live (default :func:`ranges_dir`).

    Raises:
        ValueError: Unknown provider, malformed ``aws:`` spec, or nothing matches it.
    """
    if not spec.startswith("aws:"):
        if spec == "aws":
            raise ValueError("'aws' needs a service: aws:<SERVICE> or aws:<SERVICE>/<region>")
        return load_ranges(spec, directory).ipset()
    service, _, region = spec[4:].partition("/")
    if not _AWS_NAME.fullmatch(service) or (region and not _AWS_NAME.fullmatch(region)):
        raise ValueError(f"{spec!r} is not aws:<SERVICE> or aws:<SERVICE>/<region>")
    ranges = load_ranges("aws", directory)
    found = ranges.ipset(service.upper(), region or None)
    if not found:
        services = sorted({s for _, s, _ in ranges.entries})
        regions = sorted({r for _, s, r in ranges.entries if s == service.upper()})
        hint = (
            f"regions of {service.upper()}: {', '.join(regions)}"
            if regions
            else f"services: {', '.join(services)}"
        )
        raise ValueError(
            f"no AWS prefixes match {spec!r} in the {ranges.origin} list of "
            f"{ranges.snapshot_date} ({hint})"
        )
    return found


def parse_published(provider: str, body: bytes) -> tuple[_Entry, ...]:
    """The entries of a provider's published JSON, every one validated.

    Raises:
        ValueError: The document is not the provider's format, or any entry is invalid.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError("expected a JSON object")
    raw: list[object]
    if provider == "github":
        raw = _json_list(data, "hooks")
    elif provider == "stripe":
        raw = _json_list(data, "WEBHOOKS")
    elif provider == "cloudflare":
        result = data.get("result")
        if data.get("success") is not True or not isinstance(result, Mapping):
            raise ValueError("expected {'success': true, 'result': {...}}")
        raw = _json_list(result, "ipv4_cidrs") + _json_list(result, "ipv6_cidrs")
    elif provider == "aws":
        raw = []
        for key, field_name in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
            for i, item in enumerate(_json_list(data, key)):
                if not isinstance(item, Mapping):
                    raise ValueError(f"{key}[{i}]: expected an object")
                raw.append(
                    {
                        "prefix": item.get(field_name),
                        "service": item.get("service"),
                        "region": item.get("region"),
                    }
                )
    else:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    return _validated_entries(raw, "entries")


def _json_list(data: Mapping[str, object], key: str) -> list[object]:
    value = data.get(key)
    if not isinstance(value, list):
        raise ValueError(f"expected a list under {key!r}")
    return value


def update_ranges(
    provider: str,
    *,
    url: str | None = None,
    directory: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
    today: str | None = None,
    force: bool = False,
) -> RangeList:
    """Fetch a provider's published list, validate every entry, and store it.

    The new file replaces the old one atomically and only once everything has been
    validated, so on any failure the last good list stays in use. A list that is
    well-formed but implausible is refused too, unless ``force``: one with a network that
    is not public (private, loopback, link-local, reserved, shared or multicast: no
    provider sends from there, and an allowlist holding it would admit your own network),
    or one less than half the size of the list in use (a truncated or tampered download).

    Args:
        provider: One of :data:`PROVIDERS`.
        url: Where to fetch from (default :data:`PUBLISHED_URLS`); ``http``/``https`` only.
        directory: Where to store it (default :func:`ranges_dir`).
        timeout: Seconds for the whole download.
        today: The snapshot date to record (default: today, UTC).

    Raises:
        RangeUpdateError: Download failed, or the document or an entry is invalid.
    """
    import urllib.error
    import urllib.request
    from datetime import datetime, timezone

    if provider not in PROVIDERS:
        raise RangeUpdateError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    source = url or PUBLISHED_URLS[provider]
    if not source.lower().startswith(("http://", "https://")):
        raise RangeUpdateError(f"{provider}: {source!r} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        source, headers={"Accept": "application/json", "User-Agent": "webhook-guard"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(_MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RangeUpdateError(f"{provider}: cannot fetch {source}: {exc}") from None
    if len(body) > _MAX_DOWNLOAD:
        raise RangeUpdateError(f"{provider}: {source} is larger than {_MAX_DOWNLOAD} bytes")
    try:
        entries = parse_published(provider, body)
    except ValueError as exc:
        raise RangeUpdateError(f"{provider}: {source}: {exc}") from None
    if not force:
        problem = _implausible(provider, entries, directory)
        if problem is not None:
            raise RangeUpdateError(
                f"{provider}: {source}: {problem}; if the provider really publishes this, "
                "force=True (ip-ranges update --force) accepts it"
            )
    date = today or datetime.now(timezone.utc).date().isoformat()
    document = {
        "provider": provider,
        "source": source,
        "snapshot_date": date,
        "prefixes": [
            {"prefix": p, "service": s, "region": r} if provider == "aws" else p
            for p, s, r in entries
        ],
    }
    folder = Path(directory if directory is not None else ranges_dir())
    target = folder / f"{provider}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{provider}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1)
                out.write("\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RangeUpdateError(f"{provider}: cannot write {target}: {exc}") from None
    return RangeList(
        provider=provider,
        source=source,
        snapshot_date=date,
        origin=str(target),
        entries=entries,
    )


def _implausible(
    provider: str, entries: tuple[_Entry, ...], directory: str | os.PathLike[str] | None
) -> str | None:
    """Why a well-formed new list should not replace the one in use, else None."""
    for i, (prefix, _, _) in enumerate(entries):
        network = ipaddress.ip_network(prefix)
        if not network.is_global or network.is_multicast:
            return (
                f"entries[{i}]: {prefix} is not a public network (private, loopback, "
                "link-local, reserved, shared or multicast)"
            )
    try:
        current = load_ranges(provider, directory)
    except ValueError:  # an unreadable last list: nothing to compare with
        return None
    if 2 * len(entries) < len(current.entries):
        return (
            f"{len(entries)} prefixes, less than half of the {len(current.entries)} in use "
            f"({current.origin}, {current.snapshot_date})"
        )
    return None


_LOOPBACK = ("127.0.0.0/8", "::1/128")

# "private" means "cannot be a peer on the public internet, so it is inside your network":
# RFC 1918 and IPv6 ULA (fc00::/7), plus two ranges people forget and then lose traffic on:
# 100.64.0.0/10 (RFC 6598 shared/CGNAT space, used internally by Kubernetes CNIs, Tailscale
# and some cloud load balancers) and link-local 169.254.0.0/16 / fe80::/10 (container and
# VPC plumbing). Loopback is deliberately not included: list `loopback` separately.
_PRIVATE = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
)

NAMED_SETS: Mapping[str, IPSet] = MappingProxyType(
    {
        "loopback": IPSet(_LOOPBACK),
        "private": IPSet(_PRIVATE),
        # Read from the shipped snapshot, the same data as allow_ips: [cloudflare].
        "cloudflare": IPSet(p for p, _, _ in _read_snapshot("cloudflare")[1]),
    }
)
"""Named sets usable in ``network.trusted_proxies``, keyed by lower-case name."""


def resolve_named(name: str) -> IPSet:
    """The named set ``name`` (``loopback``, ``private`` or ``cloudflare``).

    Args:
        name: A key of :data:`NAMED_SETS`; exact, lower-case.

    Returns:
        The shared, immutable set.

    Raises:
        ValueError: ``name`` is not a known set; the message lists the known names.
    """
    try:
        return NAMED_SETS[name]
    except KeyError:
        known = ", ".join(sorted(NAMED_SETS))
        raise ValueError(f"unknown named IP set {name!r} (known: {known})") from None
