"""The ``webhook-guard`` command line: a thin shell over the library.

Exit codes: 0 success / accepted, 1 rejected, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError
from .guard import Guard
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


def _read_body(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def cmd_sign(args: argparse.Namespace) -> int:
    """Print the headers the route's (or preset's) provider would send."""
    from .testing import sign

    if (args.config is None) == (args.provider is None):
        print("error: give --config with --route, or --provider with --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.secret is None:
        print("error: --provider needs --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.provider not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        print(f"error: unknown provider {args.provider!r} (known: {known})", file=sys.stderr)
        return EXIT_USAGE
    if args.config is not None and args.route is None:
        print("error: --config needs --route", file=sys.stderr)
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
    except ValueError as exc:  # an unknown preset; an Ed25519 route holds public keys only
        what = f"route {args.route!r}" if guard is not None else f"provider {args.provider!r}"
        print(f"error: cannot sign for {what}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for name, value in headers.items():
        print(f"{name}: {value}")
    return EXIT_OK


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
    verdict = guard.check(req)
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
    print(json.dumps(out, indent=2))
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
            ranges = update_ranges(name, url=url, directory=args.dir, timeout=args.timeout)
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
    q.set_defaults(func=cmd_ip_ranges_update)


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
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the self-contained walkthrough."""
    try:
        from .demo import run_demo
    except ImportError as exc:
        return _needs_proxy_extra(exc)
    return run_demo()


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
        help="how long the upstream may take between bytes before 504; also how long "
        "SIGTERM waits for requests in flight (default: %(default)s)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to try to connect to the upstream before 502 (default: %(default)s)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level; query strings are redacted from access lines "
        "(default: %(default)s)",
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
    p.set_defaults(func=cmd_demo)

    _add_ip_ranges(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webhook-guard`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
