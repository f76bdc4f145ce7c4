"""The ``webhook-guard`` command line: a thin shell over the library.

Exit codes: 0 success / accepted, 1 rejected, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import did_you_mean
from .errors import ConfigError
from .guard import Guard
from .proxy_limits import ClientLimits
from .request import WebhookRequest
from .signatures.presets import PRESETS

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


def _load(path: str) -> Guard:
    return Guard.from_file(path)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config and list its routes."""
    guard = _load(args.config)
    print(f"{args.config}: OK, {len(guard.config.routes)} route(s)")
    for r in guard.config.routes:
        auth = []
        if r.signature is not None:
            auth.append(f"{r.provider} signature, {len(r.secrets)} secret(s)")
        if r.token is not None:
            auth.append(f"token in {r.token.source}")
        if r.allow_ips:
            auth.append(f"from {', '.join(r.allow_ips)}")
        if r.client_cert is not None:
            auth.append(f"client certificate {', '.join(r.client_cert.subjects)}")
        print(
            f"  {r.name:<16} {','.join(sorted(r.methods)):<6} {r.path:<40} "
            f"{'; '.join(auth)}; mode={r.mode}"
        )
    return EXIT_OK


def _unknown_provider(name: str) -> str:
    return f"unknown provider {name!r}{did_you_mean(name, sorted(PRESETS))}"


def _read_body(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def cmd_sign(args: argparse.Namespace) -> int:
    """Print the headers the route's (or preset's) provider would send."""
    from .testing import SignArgumentError, sign

    if (args.config is None) == (args.provider is None):
        print("error: give --config with --route, or --provider with --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.secret is None:
        print("error: --provider needs --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.provider not in PRESETS:
        print(f"error: {_unknown_provider(args.provider)}", file=sys.stderr)
        return EXIT_USAGE
    if args.config is not None and args.route is None:
        print("error: --config needs --route", file=sys.stderr)
        return EXIT_USAGE
    if args.curl is not None and args.body_file == "-":
        # The printed command sends the body from its file; standard input is gone by then.
        print("error: --curl needs the body in a file (--body-file FILE)", file=sys.stderr)
        return EXIT_USAGE
    guard = None
    if args.config is not None:
        guard = _load(args.config)
        try:
            guard.config.route(args.route)
        except KeyError:
            names = ", ".join(r.name for r in guard.config.routes)
            print(f"error: no route named {args.route!r} (routes: {names})", file=sys.stderr)
            return EXIT_USAGE
    body = _read_body(args.body_file)
    when = {"timestamp": args.timestamp, "event_id": args.event_id}
    try:
        if guard is not None:
            headers = sign(guard, args.route, body, **when)
        else:
            headers = sign(args.provider, body, secret=args.secret, url=args.url, **when)
    except SignArgumentError as exc:  # name the option, not the Python argument
        hint = ""
        if exc.argument == "secret":
            hint = f" (make one: webhook-guard secret new --provider {args.provider})"
        print(f"error: --{exc.argument} {exc.problem}{hint}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # an Ed25519 route holds public keys only
        what = f"route {args.route!r}" if guard is not None else f"provider {args.provider!r}"
        print(f"error: cannot sign for {what}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Without it, frameworks refuse to parse the body (Flask's get_json() answers 415).
    headers.setdefault("content-type", args.content_type or _content_type(body))
    if args.curl is not None:
        print(_curl(args.curl, headers, args.body_file))
        return EXIT_OK
    for name, value in headers.items():
        print(f"{name}: {value}")
    return EXIT_OK


def _content_type(body: bytes) -> str:
    """What a provider would send with ``body``: JSON, a form, or bytes."""
    try:
        json.loads(body)
    except ValueError:
        pass
    else:
        return "application/json"
    text = body.decode("ascii", errors="replace")
    if body and all("=" in pair for pair in text.split("&")) and " " not in text:
        return "application/x-www-form-urlencoded"
    return "application/octet-stream"


def _curl(url: str, headers: dict[str, str], body_file: str) -> str:
    """A curl command that sends the exact signed bytes: ``--data-binary @FILE`` (never
    ``-d``, which strips newlines and would break the signature)."""
    lines = [f"curl -sS -X POST {shlex.quote(url)}"]
    lines += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items()]
    lines.append(f"--data-binary @{shlex.quote(body_file)}")
    return " \\\n  ".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    """Check one request and print the verdict as JSON."""
    guard = _load(args.config)
    headers: list[tuple[str, str]] = []
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            print(f"error: --header {raw!r} is not 'Name: value'", file=sys.stderr)
            return EXIT_USAGE
        headers.append((name.strip(), value.strip()))
    path, _, query = args.path.partition("?")
    req = WebhookRequest(
        args.method,
        path,
        query=query,
        headers=headers,
        body=_read_body(args.body_file),
        peer=args.peer,
    )
    # The verdict is printed below; the guard's log line would say it twice.
    logging.getLogger("webhook_guard").setLevel(logging.ERROR)
    verdict = guard.check(req)
    if verdict.route is None:
        # Nothing was checked: printing "ok": true would make a typo look like success.
        routes = ", ".join(f"{r.name} {r.path}" for r in guard.config.routes)
        print(
            f"error: --path {args.path!r}: no route of {args.config} covers it, so nothing was "
            f"checked (routes: {routes})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    out = {
        "ok": verdict.ok,
        "reason": verdict.reason.value if verdict.reason else None,
        "status": verdict.status,
        "detail": verdict.detail,
        "route": verdict.route,
        "client_ip": verdict.client_ip,
        "event_id": verdict.event_id,
        "secret_id": verdict.secret_id,
        "timestamp": verdict.timestamp,
        "duplicate": verdict.duplicate,
        "reported": [r.value for r in verdict.reported],
    }
    try:
        print(json.dumps(out, indent=2), flush=True)
    except BrokenPipeError:  # the reader stopped early; the verdict's exit status stands
        _quiet_stdout()
    return EXIT_OK if verdict.ok else EXIT_REJECTED


def cmd_ip_ranges_list(args: argparse.Namespace) -> int:
    """One line per provider list: where it comes from, how old it is, how big."""
    from .ipset import PROVIDERS, load_ranges

    for name in PROVIDERS:
        ranges = load_ranges(name, args.dir)
        print(
            f"{name:<11} {len(ranges.entries):>6} prefixes  {ranges.snapshot_date}  "
            f"{ranges.origin}  (source {ranges.source})"
        )
    return EXIT_OK


def cmd_ip_ranges_show(args: argparse.Namespace) -> int:
    """Print the merged networks a provider name stands for, one per line."""
    from .ipset import load_ranges, provider_set

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

    from .ipset import PROVIDERS, PUBLISHED_URLS, RangeUpdateError, update_ranges

    names = args.providers or list(PROVIDERS)
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


def _add_ip_ranges(sub: Any) -> None:
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


#: Providers that issue the signing secret themselves (in their dashboard or API): a
#: secret made here only suits tests and local development for them.
_ISSUED_BY_PROVIDER = {"stripe", "slack", "shopify", "twilio", "paddle"}
#: The shape of the secrets these providers issue, so a test secret looks like theirs.
_ISSUED_PREFIX = {"stripe": "whsec_", "paddle": "pdl_ntfset_"}


def new_secret(provider: str) -> str:
    """A fresh random secret (256 bits; 192 for the base64 ones, as Svix issues) in the
    form ``provider:`` expects: ``whsec_`` + base64 for ``standard``, text for the rest."""
    import base64
    import secrets

    preset = PRESETS[provider]
    if preset.signature.get("secret_encoding") == "base64":
        prefix = preset.signature.get("secret_prefix", "")
        return f"{prefix}{base64.b64encode(secrets.token_bytes(24)).decode()}"
    return _ISSUED_PREFIX.get(provider, "") + secrets.token_hex(32)


def cmd_secret_new(args: argparse.Namespace) -> int:
    """Print a new random secret in the form the provider preset expects."""
    if args.provider not in PRESETS:
        print(f"error: {_unknown_provider(args.provider)}", file=sys.stderr)
        return EXIT_USAGE
    print(new_secret(args.provider))
    if args.provider in _ISSUED_BY_PROVIDER:
        print(
            f"note: {args.provider} issues the real secret (copy it from its dashboard); use "
            "this one for tests and local development",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config format."""
    from .schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


def _needs_proxy_extra(exc: ImportError) -> int:
    print(
        f"error: {exc.name or 'a dependency'} is not installed; this command needs the "
        "proxy extra: pip install 'webhook-guard-middleware[proxy]'",
        file=sys.stderr,
    )
    return EXIT_USAGE


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the verifying reverse proxy."""
    try:
        from .proxy import check_upstream, serve
    except ImportError as exc:
        return _needs_proxy_extra(exc)
    try:
        check_upstream(args.upstream)
    except ValueError as exc:
        print(f"error: --upstream: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _cannot_listen(args.host, args.port)
    if problem is not None:
        print(f"error: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    limits = ClientLimits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_header_bytes=args.max_header_bytes,
        max_headers=args.max_headers,
    )
    if args.inspect_port is not None and _start_serve_inspector(args) is None:
        return EXIT_USAGE
    from .config import load_config, tls_with_options

    tls = tls_with_options(
        load_config(args.config).tls,
        certfile=args.certfile,
        keyfile=args.keyfile,
        client_ca=args.client_ca,
        client_cert=args.client_cert,
    )
    serve(
        tls=tls,
        config=args.config,
        upstream=args.upstream,
        host=args.host,
        port=args.port,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        log_level=args.log_level,
        limits=limits,
    )
    return EXIT_OK


def _start_serve_inspector(args: argparse.Namespace) -> Any:
    """serve --inspect-port: the inspector on loopback, in a thread of the proxy."""
    from .audit.inspect import start_inspector
    from .config import load_config

    audit = load_config(args.config).audit
    if audit is None:
        print(f"error: --inspect-port: {args.config} has no audit: section", file=sys.stderr)
        return None
    server = start_inspector(audit.path, "127.0.0.1", args.inspect_port)
    print(f"inspector on http://127.0.0.1:{server.server_port}/", file=sys.stderr)
    return server


def _cannot_listen(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (in use, privileged, no such address), else None.

    Checked before starting, so the answer is one line and exit status 2 rather than the
    server's own start-up failure.
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return str(exc.strerror)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As uvicorn binds: a port in TIME_WAIT after a restart is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return str(exc.strerror).lower()
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the self-contained walkthrough."""
    try:
        from .demo import run_demo
    except ImportError as exc:
        return _needs_proxy_extra(exc)
    if args.port:
        problem = _cannot_listen("127.0.0.1", args.port)
        if problem is not None:
            print(f"error: cannot listen on 127.0.0.1:{args.port}: {problem}", file=sys.stderr)
            return EXIT_USAGE
    # The walkthrough narrates each refusal with its reason; the log lines would repeat it.
    logging.getLogger("webhook_guard").setLevel(logging.ERROR)
    return run_demo(port=args.port)


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """An argparse type: ``kind`` of the text, refused unless > 0 (argparse exits 2)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value < math.inf:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
        return value

    return parse


def _audit_path(args: argparse.Namespace) -> str | None:
    """The delivery log named by --audit, or by the audit.path of --config."""
    if args.audit is not None:
        return str(args.audit)
    from .config import load_config

    config = load_config(args.config)
    if config.audit is None:
        print(f"error: {args.config} has no audit: section (no delivery log)", file=sys.stderr)
        return None
    return config.audit.path


def _log_filters(args: argparse.Namespace) -> Any:
    from .audit.report import Filters, parse_since

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

    from .audit import report

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
    from .audit import report

    lines = [report.json_record(r) for r in rows] if as_json else report.table(rows, header)
    if lines:
        print("\n".join(lines), flush=True)


def _add_audit_source(p: argparse.ArgumentParser) -> None:
    """--audit PATH or --config FILE: where the delivery log is (see _audit_path)."""
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--audit", metavar="PATH", help="the delivery log's SQLite file")
    where.add_argument("--config", metavar="FILE", help="take the file from its audit.path")


def _add_log(sub: Any) -> None:
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

    from .audit.inspect import InspectorServer

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


def _add_inspect(sub: Any) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="webhook-guard",
        description="Verify incoming webhooks: signatures, timestamps, replays, source IPs.",
        epilog="New here? Run 'webhook-guard demo'. 'webhook-guard COMMAND --help' explains "
        "each command. Exit codes: 0 ok/accepted, 1 rejected, 2 usage or config error.",
    )
    parser.add_argument("--version", action="version", version=f"webhook-guard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="validate a config file and list its routes")
    p.add_argument("config", help="path to webhook-guard.yaml")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "sign",
        help="print the headers a provider would send for a body",
        description="Print the headers a provider would send with the body, one 'Name: value' "
        "per line (ready for curl -H). Sign for a route of a config (--config, --route) or "
        "for a provider preset and a secret (--provider, --secret).",
    )
    p.add_argument("--config", help="path to webhook-guard.yaml")
    p.add_argument("--route", help="route name in --config")
    p.add_argument("--provider", help="provider preset, e.g. github or stripe (no config)")
    p.add_argument("--secret", help="signing secret for --provider")
    p.add_argument("--url", help="with --provider: the URL the provider calls (Twilio signs it)")
    p.add_argument("--body-file", required=True, help="file holding the exact body ('-': stdin)")
    p.add_argument("--timestamp", type=int, help="Unix seconds (default: now)")
    p.add_argument("--event-id", help="delivery ID (default: random)")
    p.add_argument(
        "--content-type",
        help="Content-Type header to send (default: application/json for a JSON body, "
        "application/x-www-form-urlencoded for a form, else application/octet-stream)",
    )
    p.add_argument(
        "--curl",
        metavar="URL",
        help="print a curl command that POSTs the body file to URL with every header",
    )
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify", help="check one request; print the verdict as JSON")
    p.add_argument("--config", required=True, help="path to webhook-guard.yaml")
    p.add_argument("--path", required=True, help="request path, optionally with ?query")
    p.add_argument("--method", default="POST", help="HTTP method (default: POST)")
    p.add_argument("--peer", help="socket peer address (default: none)")
    p.add_argument(
        "--header",
        "-H",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="a request header; repeat for more",
    )
    p.add_argument("--body-file", required=True, help="file holding the exact body ('-': stdin)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "serve",
        help="run the verifying reverse proxy in front of an application",
        description="Expose only the configured webhook routes and forward a request to the "
        "upstream only once it passed every check; every other path gets 404. Needs the "
        "proxy extra. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="path to webhook-guard.yaml")
    p.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="base URL of the application, e.g. http://127.0.0.1:8000",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long the upstream may take between bytes before 504 (a request still "
        "unanswered then keeps running, up to replay.processing_timeout, and its answer "
        "settles the event); SIGTERM waits the longer of the two for requests in flight "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to try to connect to the upstream before 502 (default: %(default)s)",
    )
    limits = p.add_argument_group(
        "client limits", "what one client connection may hold; over a limit it is closed"
    )
    for flag, kind, metavar, text in (
        ("--header-timeout", float, "SECONDS", "time for a request's line and headers "
         "to arrive, from the connection opening or the previous response"),
        ("--body-timeout", float, "SECONDS",
         "time for the whole body to arrive once the headers are in"),
        ("--max-header-bytes", int, "BYTES",
         "most bytes of request line and headers; more gets 431 (400 while still arriving)"),
        ("--max-headers", int, "N", "most header lines; more gets 431"),
    ):  # fmt: skip
        limits.add_argument(
            flag,
            type=_positive(kind),
            default=getattr(ClientLimits(), flag[2:].replace("-", "_")),
            metavar=metavar,
            help=f"{text} (default: %(default)s)",
        )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level; query strings are redacted from access lines "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--inspect-port",
        type=int,
        metavar="PORT",
        help="also serve the delivery log's inspector page on 127.0.0.1:PORT (needs an "
        "audit: section in --config)",
    )
    tls = p.add_argument_group(
        "TLS", "terminate TLS here (default: the config's tls section; these override it)"
    )
    tls.add_argument("--certfile", metavar="FILE", help="server certificate (PEM, with chain)")
    tls.add_argument("--keyfile", metavar="FILE", help="its private key, unless in --certfile")
    tls.add_argument(
        "--client-ca",
        metavar="FILE",
        help="ask for client certificates and verify them against this CA bundle",
    )
    tls.add_argument(
        "--client-cert",
        choices=["required", "optional"],
        help="with --client-ca: 'required' refuses a client without a valid certificate in "
        "the handshake (default); 'optional' lets routes' client_cert rules refuse it "
        "with a reason",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("schema", help="print the JSON Schema of the config format")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "demo",
        help="watch the guard refuse tampered, replayed, stale and spoofed webhooks",
        description="Start a local app behind the verifying proxy (on free loopback ports) "
        "and send it genuine and hostile deliveries, printing what happened to each. "
        "Needs the proxy extra; nothing else to set up.",
    )
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback port for the proxy (default: a free one)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("secret", help="make a new secret in the form a provider preset expects")
    actions = p.add_subparsers(dest="secret_command", required=True, metavar="ACTION")
    q = actions.add_parser(
        "new",
        help="print a new random secret for --provider",
        description="Print a new random secret in the form the provider preset expects "
        "(standard: whsec_ + base64; the others: 64 hex digits).",
    )
    q.add_argument("--provider", required=True, help="provider preset, e.g. standard or github")
    q.set_defaults(func=cmd_secret_new)

    _add_ip_ranges(sub)
    _add_log(sub)
    _add_inspect(sub)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at devnull so that the interpreter's last flush
    does not fail again (Python's documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webhook-guard`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int | None = None
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below and not at exit
    except BrokenPipeError:  # the reader stopped early (| head): end quietly
        _quiet_stdout()
        return EXIT_OK if code is None else code
    except SystemExit as exc:
        if exc.code in (None, EXIT_OK, EXIT_REJECTED, EXIT_USAGE):
            raise
        # uvicorn exits 3 when it cannot start (its log said why): keep the documented codes.
        print(f"error: the server could not start (exit status {exc.code})", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if code is None else code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
