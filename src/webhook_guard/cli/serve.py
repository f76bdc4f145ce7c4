"""``webhook-guard serve``: the verifying reverse proxy (the work is in proxy_server)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..proxy_limits import ClientLimits
from ._common import EXIT_OK, EXIT_USAGE, needs_proxy_extra, positive


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the verifying reverse proxy."""
    try:
        from ..proxy import check_upstream, serve
        from ..proxy_server import cannot_listen
    except ImportError as exc:
        return needs_proxy_extra(exc)
    try:
        check_upstream(args.upstream)
    except ValueError as exc:
        print(f"error: --upstream: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = cannot_listen(args.host, args.port)
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
    from ..config import load_config, tls_with_options

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
    from ..audit.inspect import start_inspector
    from ..config import load_config

    audit = load_config(args.config).audit
    if audit is None:
        print(f"error: --inspect-port: {args.config} has no audit: section", file=sys.stderr)
        return None
    server = start_inspector(audit.path, "127.0.0.1", args.inspect_port)
    print(f"inspector on http://127.0.0.1:{server.server_port}/", file=sys.stderr)
    return server


def add_serve(sub: Any) -> None:
    """Register ``serve``."""
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
    _add_client_limits(p)
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
    _add_tls(p)
    p.set_defaults(func=cmd_serve)


def _add_client_limits(p: argparse.ArgumentParser) -> None:
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
            type=positive(kind),
            default=getattr(ClientLimits(), flag[2:].replace("-", "_")),
            metavar=metavar,
            help=f"{text} (default: %(default)s)",
        )


def _add_tls(p: argparse.ArgumentParser) -> None:
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
