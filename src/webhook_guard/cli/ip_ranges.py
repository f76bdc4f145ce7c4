"""``webhook-guard ip-ranges list|show|update``: the provider lists of webhook_guard.ip_ranges."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EXIT_OK, EXIT_REJECTED, EXIT_USAGE


def cmd_ip_ranges_list(args: argparse.Namespace) -> int:
    """One line per provider list: where it comes from, how old it is, how big."""
    from ..ip_ranges import NAMED_LISTS, load_ranges

    for name in NAMED_LISTS:
        ranges = load_ranges(name, args.dir)
        print(
            f"{name:<11} {len(ranges.entries):>6} prefixes  {ranges.snapshot_date}  "
            f"{ranges.origin}  (source {ranges.source})"
        )
    return EXIT_OK


def cmd_ip_ranges_show(args: argparse.Namespace) -> int:
    """Print the merged networks a provider name stands for, one per line."""
    from ..ip_ranges import load_ranges, provider_set

    try:
        ipset = provider_set(args.name, args.dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ranges = load_ranges(args.name.partition(":")[0], args.dir)
    print(f"# {args.name}: {ranges.snapshot_date} from {ranges.source} ({ranges.origin})")
    for network in ipset.networks():
        print(network)
    return EXIT_OK


def cmd_ip_ranges_update(args: argparse.Namespace) -> int:
    """Refresh provider lists; a failed one keeps its last good list."""
    from urllib.parse import urlsplit

    from ..ip_ranges import PAGE_LISTS, PROVIDERS, PUBLISHED_URLS, RangeUpdateError, update_ranges

    names = args.providers or list(PROVIDERS)
    pages = [n for n in names if n in PAGE_LISTS]
    if pages:
        print(
            f"error: {', '.join(pages)} publish their addresses only on a web page, so there "
            "is nothing to fetch; see 'ip-ranges list' for the page and the snapshot's date",
            file=sys.stderr,
        )
        return EXIT_USAGE
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        print(f"error: unknown provider(s) {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    if args.source_url and len(names) != 1:
        print("error: --source-url needs exactly one provider", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    for name in names:
        url = args.source_url
        if args.base_url:
            url = args.base_url.rstrip("/") + urlsplit(PUBLISHED_URLS[name]).path
        try:
            ranges = update_ranges(
                name, url=url, directory=args.dir, timeout=args.timeout, force=args.force
            )
        except RangeUpdateError as exc:
            failed += 1
            print(f"error: {exc}; keeping the last good list", file=sys.stderr)
            continue
        print(f"{name}: {len(ranges.entries)} prefixes from {ranges.source} -> {ranges.origin}")
    return EXIT_REJECTED if failed else EXIT_OK


def add_ip_ranges(sub: Any) -> None:
    p = sub.add_parser("ip-ranges", help="provider IP range lists: list, show, update")
    commands = p.add_subparsers(dest="ip_ranges_command", required=True, metavar="ACTION")
    dir_help = (
        "where refreshed lists live (default: $WEBHOOK_GUARD_IP_RANGES_DIR, else "
        "$XDG_DATA_HOME/webhook-guard/ip-ranges)"
    )
    q = commands.add_parser("list", help="each provider list: origin, date, size")
    q.add_argument("--dir", help=dir_help)
    q.set_defaults(func=cmd_ip_ranges_list)
    q = commands.add_parser("show", help="print the networks of github, stripe, aws:SERVICE...")
    q.add_argument("name", help="github | stripe | cloudflare | aws:SERVICE[/region]")
    q.add_argument("--dir", help=dir_help)
    q.set_defaults(func=cmd_ip_ranges_show)
    q = commands.add_parser(
        "update",
        help="fetch the providers' published JSON; validate every entry; keep the last good "
        "list on failure (exit 1)",
    )
    q.add_argument("providers", nargs="*", help="providers to refresh (default: all)")
    q.add_argument("--dir", help=dir_help)
    where = q.add_mutually_exclusive_group()
    where.add_argument("--source-url", help="fetch this URL instead (one provider only)")
    where.add_argument(
        "--base-url",
        help="fetch each provider's published path from this base (a mirror), e.g. "
        "http://127.0.0.1:8080 -> http://127.0.0.1:8080/meta for github",
    )
    q.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    q.add_argument(
        "--force",
        action="store_true",
        help="accept a list that is refused as implausible: less than half the size of the "
        "one in use, or holding a private, loopback or reserved network",
    )
    q.set_defaults(func=cmd_ip_ranges_update)
