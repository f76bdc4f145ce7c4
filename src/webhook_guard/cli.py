"""The ``webhook-guard`` command line: a thin shell over the library.

Exit codes: 0 success / accepted, 1 rejected, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import did_you_mean
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
    serve(
        config=args.config,
        upstream=args.upstream,
        host=args.host,
        port=args.port,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        log_level=args.log_level,
    )
    return EXIT_OK


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
    return run_demo(port=args.port)


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
