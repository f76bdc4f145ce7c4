"""Address lists of the configuration (``allow_ips``, ``deny_ips``, ``trusted_proxies``):
CIDRs, named sets, provider lists and ``file:PATH``, compiled to :class:`IPSet`."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from ..ip_ranges import NAMED_LISTS, NAMED_SETS, PROVIDERS, provider_set
from ..ipset import IPSet
from .values import Invalid, listing, string


def ip_list(raw: object, where: str, *, providers: bool) -> tuple[tuple[str, ...], IPSet]:
    """The entries as written and their union; ``providers``: webhook senders' lists are
    allowed (not for ``trusted_proxies``)."""
    if raw is None:
        return (), IPSet()
    items = listing(raw, where)
    sets = [ip_entry(item, f"{where}[{i}]", providers) for i, item in enumerate(items)]
    return tuple(items), IPSet().union(*sets)


def ip_entry(item: object, where: str, providers: bool) -> IPSet:
    """One entry: a CIDR, a named set, a provider list or ``file:PATH``."""
    text = string(item, where)
    if text in NAMED_SETS:
        # "cloudflare" resolves through the provider lists, so a refreshed list applies.
        return provider_set(text) if text in PROVIDERS else NAMED_SETS[text]
    if text.startswith("file:"):
        return _ip_file(text[5:], where)
    if text in NAMED_LISTS or text.startswith("aws:"):
        if not providers:
            raise Invalid(
                where,
                f"{text!r} is a list of webhook senders, not of proxies; trusted_proxies "
                f"takes CIDRs, file:PATH and {', '.join(sorted(NAMED_SETS))}",
            )
        try:
            return provider_set(text)
        except ValueError as exc:
            raise Invalid(where, str(exc)) from None
    try:
        return IPSet((text,))
    except ValueError as exc:
        names = sorted({*NAMED_SETS, *(NAMED_LISTS if providers else ())} - {"aws"})
        near = difflib.get_close_matches(text, names, n=1)
        hint = (
            f"; did you mean '{near[0]}'?"
            if near
            else f" (or one of {', '.join(names)}{', aws:SERVICE' if providers else ''}, file:PATH)"
        )
        raise Invalid(where, f"{exc}{hint}") from None


def _ip_file(name: str, where: str) -> IPSet:
    if not name:
        raise Invalid(where, "'file:' needs a path")
    path = Path(name)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise Invalid(where, f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise Invalid(where, f"{path} is not UTF-8 text") from None
    entries = []
    for number, line in enumerate(lines, 1):
        entry = line.partition("#")[0].strip()
        if not entry:
            continue
        try:
            IPSet((entry,))
        except ValueError as exc:
            raise Invalid(where, f"{path} line {number}: {exc}") from None
        entries.append(entry)
    if not entries:
        raise Invalid(where, f"{path} lists no addresses")
    return IPSet(entries)


def overlaps_with_trusted(where: str, entries: Sequence[str], trusted: IPSet) -> list[str]:
    """An error for each entry of an allowlist at ``where`` that overlaps ``trusted``: a
    trusted proxy would pass that allowlist itself."""
    errors = []
    # Name the offending entry; re-resolving one entry is cheap and only on error.
    for j, entry in enumerate(entries):
        try:
            entry_set = ip_entry(entry, "", providers=True)
        except Invalid:  # pragma: no cover - parsed once already
            continue
        if entry_set.overlaps(trusted):
            errors.append(
                f"{where}[{j}]: {entry!r} overlaps network.trusted_proxies "
                "(a trusted proxy would pass this allowlist itself); narrow one of them"
            )
    return errors
