"""``webhook-guard log`` and ``inspect``: read the delivery log (webhook_guard.audit)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from ._common import EXIT_OK, EXIT_USAGE


def _audit_path(args: argparse.Namespace) -> str | None:
    """The delivery log named by --audit, or by the audit.path of --config."""
    if args.audit is not None:
        return str(args.audit)
    from ..config import load_config

    config = load_config(args.config)
    if config.audit is None:
        print(f"error: {args.config} has no audit: section (no delivery log)", file=sys.stderr)
        return None
    return config.audit.path


def _log_filters(args: argparse.Namespace) -> Any:
    from ..audit.report import Filters, parse_since

    since = args.since
    if since is None and args.summary:
        since = "24h"
    return Filters(
        route=args.route,
        reason=args.reason,
        outcome=args.outcome,
        since=parse_since(since) if since is not None else None,
        event_id=args.event_id,
    )


def cmd_log(args: argparse.Namespace) -> int:
    """Show the delivery log: recent deliveries, following it, or a summary."""
    import sqlite3
    import time

    from ..audit import report

    path = _audit_path(args)
    if path is None:
        return EXIT_USAGE
    try:
        filters = _log_filters(args)
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        conn = report.open_readonly(path)
    except (FileNotFoundError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with contextlib.closing(conn):
        if args.summary:
            groups = report.summarise(conn, filters)
            lines = [json.dumps(groups, indent=2)] if args.json else report.summary_table(groups)
            print("\n".join(lines))
            return EXIT_OK
        rows = report.recent(conn, filters, args.limit)
        _print_rows(rows, args.json, header=True)
        if not args.follow:
            return EXIT_OK
        last = rows[-1]["id"] if rows else _newest_id(conn)
        try:
            while True:
                time.sleep(args.interval)
                rows = report.newer(conn, filters, last)
                if rows:
                    _print_rows(rows, args.json, header=False)
                    last = rows[-1]["id"]
        except KeyboardInterrupt:
            return EXIT_OK


def _newest_id(conn: Any) -> int:
    row = conn.execute("SELECT MAX(id) FROM deliveries").fetchone()
    return int(row[0] or 0)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, header: bool) -> None:
    from ..audit import report

    lines = [report.json_record(r) for r in rows] if as_json else report.table(rows, header)
    if lines:
        print("\n".join(lines), flush=True)


def _add_audit_source(p: argparse.ArgumentParser) -> None:
    """--audit PATH or --config FILE: where the delivery log is (see _audit_path)."""
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--audit", metavar="PATH", help="the delivery log's SQLite file")
    where.add_argument("--config", metavar="FILE", help="take the file from its audit.path")


def add_log(sub: Any) -> None:
    p = sub.add_parser(
        "log",
        help="show the delivery log: recent deliveries, filtered, followed or summarised",
        description="Read the delivery log an audit: section writes (read-only; safe while "
        "the app runs). Without --summary: the newest deliveries, oldest first, one a line; "
        "--follow keeps printing new ones. With --summary: counts per route, outcome and "
        "reason over --since (default 24h).",
    )
    _add_audit_source(p)
    p.add_argument("--route", help="only this route")
    p.add_argument(
        "--reason", help="only this reason code (e.g. signature_mismatch), or 'accepted'"
    )
    p.add_argument(
        "--outcome", choices=["accepted", "rejected", "duplicate", "handshake", "reported"]
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only deliveries since WHEN: a duration back (30s, 15m, 2h, 7d, 1w) or an ISO "
        "8601 time (UTC unless it says otherwise)",
    )
    p.add_argument("--event-id", help="only deliveries with this event ID")
    p.add_argument(
        "--limit", type=int, default=50, help="how many deliveries (default: %(default)s)"
    )
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new deliveries")
    p.add_argument(
        "--interval", type=float, default=1.0, help="--follow: seconds between looks (default: 1)"
    )
    p.add_argument("--summary", action="store_true", help="counts per route, outcome, reason")
    p.add_argument("--json", action="store_true", help="JSON: one object a line, or a list")
    p.set_defaults(func=cmd_log)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Serve the read-only inspector page of the delivery log until SIGTERM or Ctrl-C."""
    import os
    import signal

    from ..audit.inspect import InspectorServer

    path = _audit_path(args)
    if path is None:
        return EXIT_USAGE
    token = os.environ.get("WEBHOOK_GUARD_INSPECT_TOKEN") or None
    if args.token_file is not None:
        token = Path(args.token_file).read_text(encoding="utf-8").strip() or None
    try:
        server = InspectorServer(path, args.host, args.port, token)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"inspector of {path} on http://{host}:{server.server_port}/ (Ctrl-C stops)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def add_inspect(sub: Any) -> None:
    p = sub.add_parser(
        "inspect",
        help="serve a read-only page of the delivery log (loopback by default)",
        description="Serve a read-only page of recent deliveries, filterable by route, "
        "outcome, reason and time window, with counts per route and reason and a chart. "
        "Bound to loopback by default; bound elsewhere it needs a token, asked for as the "
        "HTTP Basic password (any user name) or sent as 'Authorization: Bearer TOKEN'.",
    )
    _add_audit_source(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument("--port", type=int, default=8081, help="port (default: %(default)s)")
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="file holding the token (default: $WEBHOOK_GUARD_INSPECT_TOKEN); required "
        "when --host is not loopback",
    )
    p.set_defaults(func=cmd_inspect)
