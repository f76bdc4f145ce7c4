"""Address ranges known by name: provider lists and the named sets of trusted proxies.

``allow_ips``/``deny_ips`` may name a provider (``github``, ``stripe``, ``cloudflare``,
``aws:<service>[/<region>]``); ``network.trusted_proxies`` may name a set (``loopback``,
``private``, ``cloudflare``). A dated snapshot of each provider's published list ships in
``webhook_guard/ip_ranges_data/*.json``; :func:`update_ranges` (``webhook-guard ip-ranges
update``) writes a fresher copy to :func:`ranges_dir`, which then wins. See
docs/guides/behind-proxies.md and docs/reference/cli.md (``ip-ranges``) for how to keep them
current.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeAlias

from .errors import WebhookGuardError
from .ipset import IPSet, _parse_entry

__all__ = [
    "NAMED_LISTS",
    "NAMED_SETS",
    "PAGE_LISTS",
    "PROVIDERS",
    "PUBLISHED_URLS",
    "RANGES_DIR_ENV",
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

# The shipped snapshot and a refreshed copy use one format: {"provider", "source",
# "snapshot_date", "note", "prefixes"}, where a prefix is a CIDR string or, for AWS,
# {"prefix", "service", "region"}.

PROVIDERS: Final = ("aws", "cloudflare", "github", "stripe")
"""Providers whose published ranges ``allow_ips``/``deny_ips`` may name (``aws:<service>``)
and ``ip-ranges update`` fetches."""

PAGE_LISTS: Final = ("paystack", "postmark")
"""Providers that list their webhook addresses only on a web page: ``allow_ips`` may name
them too, but only the shipped snapshot (or a hand-edited copy in :func:`ranges_dir`)
exists; ``ip-ranges update`` has no machine-readable source to fetch."""

NAMED_LISTS: Final = PROVIDERS + PAGE_LISTS
"""Every provider list ``allow_ips``/``deny_ips`` may name."""

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


class RangeUpdateError(WebhookGuardError):
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
    text = resources.files("webhook_guard").joinpath(f"ip_ranges_data/{provider}.json").read_text()
    return _snapshot_from_json(json.loads(text), f"shipped {provider} snapshot")


def load_ranges(provider: str, directory: str | os.PathLike[str] | None = None) -> RangeList:
    """A provider's list: the refreshed copy in ``directory`` if there is one, else the snapshot.

    Args:
        provider: One of :data:`NAMED_LISTS`.
        directory: Where refreshed lists live (default :func:`ranges_dir`).

    Raises:
        ValueError: Unknown provider, or a refreshed file exists but is unreadable or
            invalid (it is never silently ignored: it was written to be used).
    """
    if provider not in NAMED_LISTS:
        raise ValueError(f"unknown provider {provider!r} (known: {', '.join(NAMED_LISTS)})")
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
    from datetime import datetime, timezone

    if provider not in PROVIDERS:
        raise RangeUpdateError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    source = url or PUBLISHED_URLS[provider]
    body = _download(provider, source, timeout)
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
    target = _replace_file(provider, document, directory)
    return RangeList(
        provider=provider,
        source=source,
        snapshot_date=date,
        origin=str(target),
        entries=entries,
    )


def _download(provider: str, source: str, timeout: float) -> bytes:
    import urllib.error
    import urllib.request

    if not source.lower().startswith(("http://", "https://")):
        raise RangeUpdateError(f"{provider}: {source!r} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        source, headers={"Accept": "application/json", "User-Agent": "webhook-guard"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(_MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RangeUpdateError(f"{provider}: cannot fetch {source}: {exc}") from None
    if len(body) > _MAX_DOWNLOAD:
        raise RangeUpdateError(f"{provider}: {source} is larger than {_MAX_DOWNLOAD} bytes")
    return body


def _replace_file(
    provider: str, document: object, directory: str | os.PathLike[str] | None
) -> Path:
    """Write ``<provider>.json`` atomically, so a reader sees the old list or the new one."""
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
    return target


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
# 100.64.0.0/10 (RFC 6598 shared address space for CGNAT, used internally by Kubernetes
# CNIs, Tailscale and some cloud load balancers) and link-local 169.254.0.0/16 / fe80::/10
# (container and VPC plumbing). Loopback is deliberately not included: list `loopback`
# separately.
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
