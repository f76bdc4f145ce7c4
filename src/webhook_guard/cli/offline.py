"""Commands that need no server: ``check``, ``sign``, ``verify``, ``secret new``, ``schema``."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from typing import Any

from ..request import WebhookRequest
from ..secrets import issued_by_provider, new_secret
from ..signatures.base import ASYMMETRIC, FETCHED_KEY_SCHEMES
from ..signatures.presets import PRESETS
from ._common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    load_guard,
    quiet_stdout,
    read_body,
    unknown_provider,
)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config and list its routes."""
    guard = load_guard(args.config)
    routes = guard.config.routes
    print(f"{args.config}: OK, {len(routes)} route(s)")
    methods = [",".join(sorted(r.methods)) for r in routes]
    # Columns as wide as their longest entry, so a GET,POST route (Meta) stays aligned.
    name_w = max((len(r.name) for r in routes), default=0)
    method_w = max(map(len, methods), default=0)
    path_w = max((len(r.path) for r in routes), default=0)
    for r, method in zip(routes, methods, strict=True):
        auth = []
        if r.signature is not None and r.signature.scheme in FETCHED_KEY_SCHEMES:
            auth.append(f"{r.provider} signature, keys fetched from the provider")
        elif r.signature is not None:
            kind = "public key" if r.signature.algorithm in ASYMMETRIC else "secret"
            auth.append(f"{r.provider} signature, {len(r.secrets)} {kind}(s)")
        if r.token is not None:
            auth.append(f"token in {r.token.source}")
        if r.allow_ips:
            auth.append(f"from {', '.join(r.allow_ips)}")
        if r.client_cert is not None:
            auth.append(f"client certificate {', '.join(r.client_cert.subjects)}")
        print(
            f"  {r.name:<{name_w}}  {method:<{method_w}}  {r.path:<{path_w}}  "
            f"{'; '.join(auth)}; mode={r.mode}"
        )
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    """Print the headers the route's (or preset's) provider would send."""
    from ..testing import SignArgumentError, sign

    if (args.config is None) == (args.provider is None):
        print("error: give --config with --route, or --provider with --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.secret is None:
        print("error: --provider needs --secret", file=sys.stderr)
        return EXIT_USAGE
    if args.provider is not None and args.provider not in PRESETS:
        print(f"error: {unknown_provider(args.provider)}", file=sys.stderr)
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
        guard = load_guard(args.config)
        try:
            guard.config.route(args.route)
        except KeyError:
            names = ", ".join(r.name for r in guard.config.routes)
            print(f"error: no route named {args.route!r} (routes: {names})", file=sys.stderr)
            return EXIT_USAGE
    body = read_body(args.body_file)
    when = {"timestamp": args.timestamp, "event_id": args.event_id}
    if _signs_in_body(guard, args):
        return _sign_body(guard, args, body, when)
    try:
        if guard is not None:
            headers = sign(guard, args.route, body, secret=args.secret, **when)
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


def _signs_in_body(guard: Any, args: argparse.Namespace) -> bool:
    """Whether the route's (or preset's) provider puts its signature in the body."""
    if guard is not None:
        route = guard.config.route(args.route)
        spec, token = route.signature, route.token
        return (spec is not None and spec.scheme == "mailgun") or (
            token is not None and token.source == "clientstate"
        )
    preset = PRESETS[args.provider]
    return preset.signature.get("scheme") == "mailgun" or preset.token_source == "clientstate"


def _sign_body(guard: Any, args: argparse.Namespace, body: bytes, when: dict[str, Any]) -> int:
    """Print the body with its signature fields (Mailgun), which is what gets sent."""
    from ..testing import sign_body

    if args.curl is not None:
        print(
            "error: --curl: this provider signs inside the body; save the printed body "
            "and send that file",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        if guard is not None:
            signed = sign_body(guard, args.route, body, **when)
        else:
            signed = sign_body(args.provider, body, secret=args.secret, **when)
    except ValueError as exc:
        print(f"error: cannot sign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(signed.decode("utf-8", "replace"))
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
    guard = load_guard(args.config)
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
        body=read_body(args.body_file),
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
    out: dict[str, Any] = {
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
    if verdict.answer is not None:
        # A handshake: what the guard sends the provider instead of calling the app.
        content_type, body = verdict.answer
        out["answer"] = {"content_type": content_type, "body": body.decode("utf-8", "replace")}
    try:
        print(json.dumps(out, indent=2), flush=True)
    except BrokenPipeError:  # the reader stopped early; the verdict's exit status stands
        quiet_stdout()
    return EXIT_OK if verdict.ok else EXIT_REJECTED


def cmd_secret_new(args: argparse.Namespace) -> int:
    """Print a new random secret in the form the provider preset expects."""
    if args.provider not in PRESETS:
        print(f"error: {unknown_provider(args.provider)}", file=sys.stderr)
        return EXIT_USAGE
    if PRESETS[args.provider].signature.get("algorithm") in ASYMMETRIC:
        return _new_keypair(args.provider)
    print(new_secret(args.provider))
    if issued_by_provider(args.provider):
        print(
            f"note: {args.provider} issues the real secret (copy it from its dashboard); use "
            "this one for tests and local development",
            file=sys.stderr,
        )
    return EXIT_OK


def _new_keypair(provider: str) -> int:
    """A test key pair for a public-key preset: the private key (one line, for ``sign
    --secret``) on standard output, its public key in the note."""
    from ..signatures.testkeys import keypair, private_key_line

    pair = keypair(provider)
    print(private_key_line(pair.private_key))
    print(
        f"note: {provider} signs with its own private key; put the public key its dashboard "
        "shows in the route's secrets. This private key is for tests (webhook-guard sign "
        f"--provider {provider} --secret ...); its public key, for the test route:\n"
        f"{pair.public_key.strip()}",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config format."""
    from ..schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


def add_check(sub: Any) -> None:
    """Register ``check``."""
    p = sub.add_parser("check", help="validate a config file and list its routes")
    p.add_argument("config", help="path to webhook-guard.yaml")
    p.set_defaults(func=cmd_check)


def add_sign(sub: Any) -> None:
    """Register ``sign``."""
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
    p.add_argument(
        "--secret",
        help="signing secret for --provider; for a public-key provider (or route), the "
        "private key to sign with",
    )
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


def add_verify(sub: Any) -> None:
    """Register ``verify``."""
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


def add_schema(sub: Any) -> None:
    """Register ``schema``."""
    p = sub.add_parser("schema", help="print the JSON Schema of the config format")
    p.set_defaults(func=cmd_schema)


def add_secret(sub: Any) -> None:
    """Register ``secret new``."""
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
