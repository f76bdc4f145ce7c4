"""Configuration loading and validation (docs/reference/configuration.md).

Every error config.py and secrets.py can produce is in ``ERROR_CASES``: each row takes a
small valid configuration, breaks one thing, and states the exact place and message.
Secret values must never appear in an error, a log line or a repr.
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Config, ConfigError, load_config
from webhook_guard.signatures import PRESETS

# -- fixtures: a small valid base and the secrets it uses -------------------------------

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WHSEC_OLD = "whsec_dGhpcyBpcyB0aGUgb2xkIGRlbW8gc2VjcmV0"
BAD_WHSEC = "whsec_Zq8*n0t~base64!"
BAD_BASE64 = "Yq7*not~b64-Kx"
GENERIC_SECRET = "gen-Hk3Qz9-secret"
TOKEN = "tok-Wv7Lp2-token"
ENV_SECRET = "env-Rt6Yb1-secret"
FILE_SECRET = "file-Mx4Nc8-secret"
ENV = {"ORDERS_SECRET": WHSEC, "GENERIC_SECRET": ENV_SECRET, "EMPTY_SECRET": ""}

#: Every secret value used below; none may show up in any error message.
SECRET_VALUES = (
    WHSEC,
    WHSEC.removeprefix("whsec_"),
    WHSEC_OLD,
    WHSEC_OLD.removeprefix("whsec_"),
    BAD_WHSEC,
    BAD_WHSEC.removeprefix("whsec_"),
    BAD_BASE64,
    GENERIC_SECRET,
    TOKEN,
    ENV_SECRET,
    FILE_SECRET,
)

NOW = 1_800_000_000.0  # 2027-01-15
PAST = "2026-01-01T00:00:00Z"
FUTURE = "2028-01-01T00:00:00Z"

DEL = object()
"""Marks a key to delete in the helpers below."""


def _patch(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is DEL:
            target.pop(key, None)
        else:
            target[key] = value


def base() -> dict[str, Any]:
    """A valid configuration: one Standard Webhooks route."""
    return {
        "version": 1,
        "routes": [
            {
                "name": "orders",
                "path": "/hooks/orders",
                "provider": "standard",
                "secrets": [WHSEC],
            }
        ],
    }


def top(**changes: Any) -> dict[str, Any]:
    """The base with top-level keys changed."""
    cfg = base()
    _patch(cfg, changes)
    return cfg


def route(**changes: Any) -> dict[str, Any]:
    """The base with keys of routes[0] changed."""
    cfg = base()
    _patch(cfg["routes"][0], changes)
    return cfg


def generic(secrets: list[Any] | None = None, **sig: Any) -> dict[str, Any]:
    """routes[0] as a generic HMAC route: header X-Signature over {body}, hex."""
    signature: dict[str, Any] = {"header": "X-Signature"}
    _patch(signature, sig)
    return route(
        provider="generic",
        signature=signature,
        secrets=[GENERIC_SECRET] if secrets is None else secrets,
    )


def token(**changes: Any) -> dict[str, Any]:
    """routes[0] as a token-only route (query parameter 'token')."""
    block: dict[str, Any] = {"query": "token", "secrets": [TOKEN]}
    _patch(block, changes)
    return route(provider=DEL, secrets=DEL, token=block)


def second_route(**changes: Any) -> dict[str, Any]:
    """The base plus a valid routes[1] with keys changed."""
    cfg = base()
    extra: dict[str, Any] = {
        "name": "builds",
        "path": "/hooks/builds/*",
        "provider": "standard",
        "secrets": [WHSEC_OLD],
    }
    _patch(extra, changes)
    cfg["routes"].append(extra)
    return cfg


def whsec(i: int) -> str:
    return "whsec_" + base64.b64encode(bytes([i + 1]) * 24).decode()


def _file_secret(content: bytes | None, name: str = "secret") -> Callable[[Path], dict[str, Any]]:
    """A config factory whose routes[0].secrets[0] is file:<tmp_path>/<name>."""

    def build(tmp_path: Path) -> dict[str, Any]:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        return generic(secrets=[f"file:{path}"])

    return build


def _ip_file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "ips.txt"
    path.write_text(content)
    return f"file:{path}"


def _file_is_dir(tmp_path: Path) -> dict[str, Any]:
    return generic(secrets=[f"file:{tmp_path}"])


# -- the error table ---------------------------------------------------------------------

P = pytest.param
SIG = "routes[0].signature"
SC = "routes[0].signature.signed_content"
TOK = "routes[0].token"

ERROR_CASES = [
    # top level
    P(
        top(rotues=[]),
        [("rotues", "unknown key; did you mean 'routes'?")],
        id="top-unknown-key-hint",
    ),
    P(
        top(colour=1),
        [("colour", "unknown key (allowed: version, defaults, network, replay, routes")],
        id="top-unknown-key-allowed-list",
    ),
    P(
        top(version=DEL),
        [("version", "missing; this format is 'version: 1'")],
        id="version-missing",
    ),
    P(top(version=2), [("version", "unsupported version 2; expected 1")], id="version-2"),
    P(top(version="1"), [("version", "unsupported version '1'; expected 1")], id="version-str"),
    P(top(version=True), [("version", "unsupported version True; expected 1")], id="version-bool"),
    P(
        top(routes=DEL),
        [("routes", "missing; at least one route is required")],
        id="routes-missing",
    ),
    P(top(routes=None), [("routes", "missing; at least one route is required")], id="routes-null"),
    P(top(routes=[]), [("routes", "at least one route is required")], id="routes-empty"),
    P(top(routes={}), [("routes", "expected a list, got dict")], id="routes-not-list"),
    P(
        top(routes=["orders"]),
        [("routes[0]", "expected a mapping, got str")],
        id="route-not-mapping",
    ),
    # defaults
    P(top(defaults=[]), [("defaults", "expected a mapping, got list")], id="defaults-not-mapping"),
    P(
        top(defaults={"tolerence": 60}),
        [("defaults.tolerence", "unknown key; did you mean 'tolerance'?")],
        id="defaults-unknown-key-hint",
    ),
    P(
        top(defaults={"tolerance": 0}),
        [("defaults.tolerance", "0 is not allowed: tolerance is the replay window in seconds")],
        id="defaults-tolerance-0",
    ),
    P(
        top(defaults={"tolerance": True}),
        [("defaults.tolerance", "expected an integer, got bool")],
        id="defaults-tolerance-bool",
    ),
    P(
        top(defaults={"mode": "audit"}),
        [("defaults.mode", "must be one of enforce, report; got 'audit'")],
        id="defaults-mode",
    ),
    P(
        top(defaults={"methods": "POST"}),
        [("defaults.methods", "expected a list, got str")],
        id="defaults-methods-str",
    ),
    # route keys, name, path
    P(
        route(secret=[WHSEC]),
        [("routes[0].secret", "unknown key; did you mean 'secrets'?")],
        id="route-unknown-key-hint",
    ),
    P(
        route(colour="red"),
        [("routes[0].colour", "unknown key (allowed: name, path, methods, provider, signature,")],
        id="route-unknown-key-allowed-list",
    ),
    P(route(name=DEL), [("routes[0]", "missing 'name'")], id="name-missing"),
    P(route(name=7), [("routes[0].name", "expected a string, got int")], id="name-int"),
    P(route(name=""), [("routes[0].name", "must not be empty")], id="name-empty"),
    P(
        route(name="my orders"),
        [("routes[0].name", "'my orders' must be letters, digits, '_', '.' or '-' (max 64)")],
        id="name-space",
    ),
    P(
        route(name="-orders"),
        [("routes[0].name", "must be letters, digits")],
        id="name-leading-dash",
    ),
    P(route(name="o" * 65), [("routes[0].name", "(max 64)")], id="name-too-long"),
    P(route(path=DEL), [("routes[0]", "missing 'path'")], id="path-missing"),
    P(
        route(path=["/a"]),
        [("routes[0].path", "expected a string, got list")],
        id="path-list",
    ),
    P(
        route(path="hooks/orders"),
        [("routes[0].path", "'hooks/orders': must start with '/'")],
        id="path-no-slash",
    ),
    P(
        route(path="/hooks/*/orders"),
        [("routes[0].path", "'/hooks/*/orders': '*' is only allowed as the last segment")],
        id="path-star-middle",
    ),
    P(
        route(path="/hooks/x*"),
        [("routes[0].path", "'*' is only allowed as the last segment")],
        id="path-star-glued",
    ),
    P(
        route(path="/hooks/*/*"),
        [("routes[0].path", "only one '*' is allowed")],
        id="path-two-stars",
    ),
    P(
        route(path="/hooks//orders"),
        [("routes[0].path", "must be a plain path of unencoded segments such as /hooks/github")],
        id="path-double-slash",
    ),
    P(route(path="/hooks/a%2Fb"), [("routes[0].path", "must be a plain path")], id="path-percent"),
    P(route(path="/hooks/a?b=1"), [("routes[0].path", "must be a plain path")], id="path-query"),
    P(route(path="/hooks/ü"), [("routes[0].path", "must be a plain path")], id="path-non-ascii"),
    P(
        route(path="/hooks/./orders"),
        [("routes[0].path", "must not contain '.' or '..' segments")],
        id="path-dot",
    ),
    P(
        route(path="/hooks/../admin"),
        [("routes[0].path", "must not contain '.' or '..' segments")],
        id="path-dotdot",
    ),
    # methods
    P(route(methods="POST"), [("routes[0].methods", "expected a list, got str")], id="methods-str"),
    P(
        route(methods=[]),
        [("routes[0].methods", "expected at least one method")],
        id="methods-empty",
    ),
    P(
        route(methods=["POST", 1]),
        [("routes[0].methods[1]", "expected a string, got int")],
        id="methods-int",
    ),
    P(
        route(methods=["GET POST"]),
        [("routes[0].methods[0]", "'GET POST' is not an HTTP method")],
        id="methods-space",
    ),
    P(
        route(methods=["P0ST"]),
        [("routes[0].methods[0]", "'P0ST' is not an HTTP method")],
        id="methods-digit",
    ),
    # per-route settings, wrong types
    P(
        route(tolerance=0),
        [
            (
                "routes[0].tolerance",
                "0 is not allowed: tolerance is the replay window in seconds "
                "(e.g. 300); it cannot be turned off",
            )
        ],
        id="tolerance-0",
    ),
    P(
        route(tolerance=True),
        [("routes[0].tolerance", "expected an integer, got bool")],
        id="tolerance-true",
    ),
    P(
        route(tolerance=False),
        [("routes[0].tolerance", "expected an integer, got bool")],
        id="tolerance-false",
    ),
    P(
        route(tolerance="300"),
        [("routes[0].tolerance", "expected an integer, got str")],
        id="tolerance-str",
    ),
    P(
        route(tolerance=1.5),
        [("routes[0].tolerance", "expected an integer, got float")],
        id="tolerance-float",
    ),
    P(
        route(tolerance=None),
        [("routes[0].tolerance", "expected an integer, got nothing")],
        id="tolerance-null",
    ),
    P(
        route(tolerance=-5),
        [("routes[0].tolerance", "must be between 1 and 604800, got -5")],
        id="tolerance-negative",
    ),
    P(
        route(tolerance=604_801),
        [("routes[0].tolerance", "must be between 1 and 604800, got 604801")],
        id="tolerance-too-big",
    ),
    P(
        route(max_body_bytes=0),
        [("routes[0].max_body_bytes", "must be between 1 and 2147483648, got 0")],
        id="max-body-0",
    ),
    P(
        route(max_body_bytes=True),
        [("routes[0].max_body_bytes", "expected an integer, got bool")],
        id="max-body-bool",
    ),
    P(
        route(max_body_bytes=2**31 + 1),
        [("routes[0].max_body_bytes", "must be between 1 and 2147483648")],
        id="max-body-too-big",
    ),
    P(
        route(on_duplicate="drop"),
        [("routes[0].on_duplicate", "must be one of acknowledge, reject; got 'drop'")],
        id="on-duplicate",
    ),
    P(route(on_duplicate=True), [("routes[0].on_duplicate", "got True")], id="on-duplicate-bool"),
    P(
        route(mode="audit"),
        [("routes[0].mode", "must be one of enforce, report; got 'audit'")],
        id="mode",
    ),
    # duplicates across routes
    P(
        second_route(name="orders"),
        [("routes[1].name", "'orders' is already used by routes[0]")],
        id="duplicate-name",
    ),
    P(
        second_route(path="/hooks/orders"),
        [("routes[1].path", "'/hooks/orders' is already used by routes[0]")],
        id="duplicate-path",
    ),
    # allow_ips (docs/guides/behind-proxies.md)
    P(
        route(allow_ips=[]),
        [("routes[0].allow_ips", "is empty, which would refuse every request")],
        id="allow-ips-empty",
    ),
    P(
        route(allow_ips="github"),
        [("routes[0].allow_ips", "expected a list, got str")],
        id="allow-ips-not-list",
    ),
    P(
        route(allow_ips=["github", "10.0.0.1/8"]),
        [("routes[0].allow_ips[1]", "host bits set (did you mean '10.0.0.0/8'?)")],
        id="allow-ips-host-bits",
    ),
    P(
        route(allow_ips=["192.0.2.0/33"]),
        [("routes[0].allow_ips[0]", "invalid CIDR '192.0.2.0/33'")],
        id="allow-ips-prefix-too-long",
    ),
    P(
        route(allow_ips=["010.0.0.0/8"]),
        [("routes[0].allow_ips[0]", "invalid CIDR '010.0.0.0/8'")],
        id="allow-ips-leading-zero",
    ),
    P(
        route(allow_ips=["githbu"]),
        [("routes[0].allow_ips[0]", "did you mean 'github'?")],
        id="allow-ips-typo-provider",
    ),
    P(
        route(allow_ips=[" 10.0.0.0/8"]),
        [("routes[0].allow_ips[0]", "invalid CIDR ' 10.0.0.0/8'")],
        id="allow-ips-space",
    ),
    P(
        route(allow_ips=[None]),
        [("routes[0].allow_ips[0]", "expected a string, got nothing")],
        id="allow-ips-null-entry",
    ),
    P(
        route(allow_ips=["aws"]),
        [("routes[0].allow_ips[0]", "'aws' needs a service")],
        id="allow-ips-aws-no-service",
    ),
    P(
        route(allow_ips=["aws:NOT_A_SERVICE"]),
        [("routes[0].allow_ips[0]", "no AWS prefixes match 'aws:NOT_A_SERVICE'")],
        id="allow-ips-aws-unknown-service",
    ),
    P(
        route(allow_ips=["aws:ROUTE53_HEALTHCHECKS/mars-1"]),
        [("routes[0].allow_ips[0]", "regions of ROUTE53_HEALTHCHECKS: ")],
        id="allow-ips-aws-unknown-region",
    ),
    P(
        route(allow_ips=["aws:x y"]),
        [("routes[0].allow_ips[0]", "is not aws:<SERVICE> or aws:<SERVICE>/<region>")],
        id="allow-ips-aws-malformed",
    ),
    P(
        route(allow_ips=["file:"]),
        [("routes[0].allow_ips[0]", "'file:' needs a path")],
        id="allow-ips-file-no-path",
    ),
    P(
        lambda tmp: route(allow_ips=[f"file:{tmp}/missing.txt"]),
        [("routes[0].allow_ips[0]", "missing.txt: No such file or directory")],
        id="allow-ips-file-missing",
    ),
    P(
        lambda tmp: route(allow_ips=[_ip_file(tmp, "# ours\n192.0.2.0/24\n\n10.1.1.1/8 # typo\n")]),
        [("routes[0].allow_ips[0]", "ips.txt line 4: invalid CIDR '10.1.1.1/8': host bits set")],
        id="allow-ips-file-bad-line",
    ),
    P(
        lambda tmp: route(allow_ips=[_ip_file(tmp, "# nothing yet\n\n")]),
        [("routes[0].allow_ips[0]", "ips.txt lists no addresses")],
        id="allow-ips-file-empty",
    ),
    P(
        lambda tmp: route(allow_ips=[_ip_file(tmp, "github\n")]),
        [("routes[0].allow_ips[0]", "ips.txt line 1: invalid CIDR 'github'")],
        id="allow-ips-file-no-provider-names",
    ),
    # allow_ips that overlap the trusted proxies: the proxy itself would pass
    P(
        {
            **route(allow_ips=["192.0.2.0/24", "10.20.0.0/16"]),
            "network": {"trusted_proxies": ["10.0.0.0/8"]},
        },
        [("routes[0].allow_ips[1]", "'10.20.0.0/16' overlaps network.trusted_proxies")],
        id="allow-ips-overlap-trusted",
    ),
    P(
        {
            **second_route(allow_ips=["cloudflare"]),
            "network": {"trusted_proxies": ["loopback", "cloudflare"]},
        },
        [("routes[1].allow_ips[0]", "'cloudflare' overlaps network.trusted_proxies")],
        id="allow-ips-overlap-named",
    ),
    P(
        {
            **route(allow_ips=["::ffff:127.0.0.1"]),
            "network": {"trusted_proxies": ["loopback"]},
        },
        [("routes[0].allow_ips[0]", "overlaps network.trusted_proxies")],
        id="allow-ips-overlap-mapped",
    ),
    # public_url
    P(
        route(public_url="/hooks"),
        [("routes[0].public_url", "'/hooks' must be an absolute http(s) URL")],
        id="public-url-relative",
    ),
    P(
        route(public_url="ftp://h.example"),
        [("routes[0].public_url", "must be an absolute http(s) URL")],
        id="public-url-ftp",
    ),
    P(
        route(public_url="https://"),
        [("routes[0].public_url", "must be an absolute http(s) URL")],
        id="public-url-no-host",
    ),
    P(
        route(public_url="https://h.example/?a=1"),
        [("routes[0].public_url", "must not contain a query or fragment")],
        id="public-url-query",
    ),
    P(
        route(public_url="https://h.example/#x"),
        [("routes[0].public_url", "must not contain a query or fragment")],
        id="public-url-fragment",
    ),
    P(
        route(public_url=80),
        [("routes[0].public_url", "expected a string, got int")],
        id="public-url-int",
    ),
    # provider and signature block
    P(
        route(provider="acme"),
        [
            (
                "routes[0].provider",
                # Every preset, sorted (presets are added often: the list is not spelled out).
                f"unknown provider 'acme' (known: {', '.join(sorted(PRESETS))})",
            )
        ],
        id="provider-unknown",
    ),
    P(
        route(provider=1),
        [("routes[0].provider", "expected a string, got int")],
        id="provider-int",
    ),
    P(
        route(provider=""),
        [("routes[0].provider", "must not be empty")],
        id="provider-empty",
    ),
    P(route(signature=[]), [(SIG, "expected a mapping, got list")], id="signature-not-mapping"),
    P(
        route(signature={"singed_content": "{body}"}),
        [(f"{SIG}.singed_content", "unknown key; did you mean 'signed_content'?")],
        id="signature-unknown-key-hint",
    ),
    P(
        route(provider="generic"),
        [(SIG, "missing: the generic provider needs 'signature.header'")],
        id="generic-no-signature-block",
    ),
    P(
        route(provider=DEL, signature={"algorithm": "sha256"}),
        [(f"{SIG}.header", "missing: the generic provider needs 'signature.header'")],
        id="generic-no-header",
    ),
    P(
        generic(header="X Signature"),
        [(f"{SIG}.header", "'X Signature' is not a valid header name")],
        id="header-space",
    ),
    P(
        generic(header="X-Sig:"),
        [(f"{SIG}.header", "'X-Sig:' is not a valid header name")],
        id="header-colon",
    ),
    P(
        generic(header=[]),
        [(f"{SIG}.header", "expected at least one header name")],
        id="header-empty-list",
    ),
    P(
        generic(header=["X-A", "X(B)"]),
        [(f"{SIG}.header[1]", "'X(B)' is not a valid header name")],
        id="header-list-bad",
    ),
    P(
        generic(header=5),
        [(f"{SIG}.header", "expected a string, got int")],
        id="header-int",
    ),
    P(
        generic(timestamp_header="X Time", signed_content="{timestamp}.{body}"),
        [(f"{SIG}.timestamp_header", "'X Time' is not a valid header name")],
        id="timestamp-header-bad",
    ),
    P(
        generic(id_header="X/Id"),
        [(f"{SIG}.id_header", "'X/Id' is not a valid header name")],
        id="id-header-bad",
    ),
    P(
        generic(header=["X-A", "X-B"], timestamp_header=["T-A", "T-B", "T-C"]),
        [(f"{SIG}.timestamp_header", "give 1 name, or one per signature header (2)")],
        id="timestamp-header-count",
    ),
    P(
        generic(header=["X-A", "X-B", "X-C"], id_header=["I-A", "I-B"]),
        [(f"{SIG}.id_header", "give 1 name, or one per signature header (3)")],
        id="id-header-count",
    ),
    P(
        generic(algorithm="md5"),
        [
            (
                f"{SIG}.algorithm",
                "must be one of sha1, sha256, sha512, ed25519, ecdsa-p256-sha256, rsa-sha256, "
                "rsa-sha1, jwt; got 'md5'",
            )
        ],
        id="algorithm",
    ),
    P(
        generic(algorithm="jwt"),
        [
            (
                f"{SIG}.algorithm",
                "jwt verifies a bearer token against its issuer's published keys, which only "
                "provider: google-pubsub knows today",
            )
        ],
        id="algorithm-jwt-without-issuer",
    ),
    P(
        generic(encoding="base32"),
        [(f"{SIG}.encoding", "must be one of hex, base64; got 'base32'")],
        id="encoding",
    ),
    P(
        generic(format="json"),
        [(f"{SIG}.format", "must be one of plain, kv, list; got 'json'")],
        id="format",
    ),
    P(
        generic(secret_encoding="hex"),
        [(f"{SIG}.secret_encoding", "must be one of raw, base64; got 'hex'")],
        id="secret-encoding",
    ),
    P(generic(prefix=5), [(f"{SIG}.prefix", "expected a string, got int")], id="prefix-int"),
    P(
        generic(secret_prefix=None),
        [(f"{SIG}.secret_prefix", "expected a string, got nothing")],
        id="secret-prefix-null",
    ),
    P(
        generic(separator=""),
        [(f"{SIG}.separator", "must not be empty")],
        id="separator-empty",
    ),
    P(
        generic(version=1),
        [(f"{SIG}.version", "expected a string, got int")],
        id="version-int",
    ),
    P(
        generic(timestamp_key="t"),
        [(f"{SIG}.timestamp_key", "only applies to format: kv")],
        id="timestamp-key-plain",
    ),
    P(
        generic(format="kv", timestamp_key=1),
        [(f"{SIG}.timestamp_key", "expected a string, got int")],
        id="timestamp-key-int",
    ),
    # signed_content templates
    P(generic(signed_content="{timestamp}"), [(SC, "must contain {body}")], id="template-no-body"),
    P(
        generic(signed_content="{body}.{body}"),
        [(SC, "{body} may appear only once")],
        id="template-body-twice",
    ),
    P(
        generic(signed_content="{body}.{nonce}"),
        [(SC, "unknown placeholder {nonce} (known: id, timestamp, body, method, url, path)")],
        id="template-unknown-placeholder",
    ),
    P(
        generic(signed_content="{}{body}"),
        [(SC, "unknown placeholder {}")],
        id="template-empty-placeholder",
    ),
    P(
        generic(signed_content="{0}{body}"),
        [(SC, "unknown placeholder {0}")],
        id="template-positional",
    ),
    P(
        generic(signed_content="{body:>10}"),
        [(SC, "placeholder {body} takes no format spec or conversion")],
        id="template-format-spec",
    ),
    P(
        generic(signed_content="{body!r}"),
        [(SC, "placeholder {body} takes no format spec or conversion")],
        id="template-conversion",
    ),
    P(
        generic(signed_content="{body"),
        [(SC, "expected '}' before end of string")],
        id="template-unclosed",
    ),
    P(
        generic(signed_content="}{body}"),
        [(SC, "Single '}' encountered in format string")],
        id="template-stray-brace",
    ),
    P(generic(signed_content=""), [(SC, "must not be empty")], id="template-empty"),
    P(
        generic(signed_content="{timestamp}.{body}"),
        [(SC, "uses {timestamp} but no timestamp_header or timestamp_key says where it is")],
        id="template-timestamp-without-source",
    ),
    P(
        route(signature={"timestamp_header": None}),
        [(SC, "uses {timestamp} but no timestamp_header or timestamp_key says where it is")],
        id="standard-timestamp-header-removed",
    ),
    P(
        generic(timestamp_header="X-Timestamp"),
        [(SC, "does not use {timestamp}, so the timestamp the route checks would be unsigned")],
        id="timestamp-header-outside-the-signed-content",
    ),
    P(
        generic(signed_content="{id}.{body}"),
        [(SC, "uses {id} but no id_header is set")],
        id="template-id-without-header",
    ),
    P(
        generic(signed_content="{url}{body}"),
        [
            (
                "routes[0].public_url",
                "missing: this signature covers the URL the provider calls, "
                "so set public_url (e.g. https://hooks.example.com)",
            )
        ],
        id="template-url-without-public-url",
    ),
    # route secrets
    P(
        route(secrets=DEL),
        [("routes[0].secrets", "missing; at least one secret is required")],
        id="secrets-missing",
    ),
    P(
        route(secrets=[]),
        [("routes[0].secrets", "at least one secret is required")],
        id="secrets-empty",
    ),
    P(
        route(secrets=WHSEC),
        [("routes[0].secrets", "expected a list, got str")],
        id="secrets-not-list",
    ),
    P(
        route(provider=DEL, secrets=[GENERIC_SECRET], token={"query": "t", "secrets": [TOKEN]}),
        [("routes[0].secrets", "secrets need a provider or signature block to verify with")],
        id="secrets-without-provider",
    ),
    P(
        route(secrets=[BAD_WHSEC]),
        [("routes[0].secrets[0]", "is not a valid whsec_<base64> secret")],
        id="whsec-bad-base64",
    ),
    P(
        route(secrets=["whsec_"]),
        [("routes[0].secrets[0]", "decodes to an empty key")],
        id="whsec-empty-key",
    ),
    P(
        generic(secret_encoding="base64", secrets=[BAD_BASE64]),
        [("routes[0].secrets[0]", "is not a valid base64 secret")],
        id="base64-secret-invalid",
    ),
    P(
        route(secrets=["env:ORDERS_SECRET", "env:OLD_SECRET"]),
        [("routes[0].secrets[1]", "environment variable OLD_SECRET is not set")],
        id="env-not-set",
    ),
    P(
        route(secrets=[{"value": "env:OLD_SECRET", "label": "old"}]),
        [("routes[0].secrets[0].value", "environment variable OLD_SECRET is not set")],
        id="env-not-set-in-mapping",
    ),
    P(
        generic(secrets=["env:EMPTY_SECRET"]),
        [("routes[0].secrets[0]", "environment variable EMPTY_SECRET is empty")],
        id="env-empty",
    ),
    P(
        generic(secrets=["env:"]),
        [("routes[0].secrets[0]", "'env:' needs a variable name")],
        id="env-no-name",
    ),
    P(generic(secrets=[""]), [("routes[0].secrets[0]", "secret is empty")], id="literal-empty"),
    P(
        generic(secrets=[1234]),
        [("routes[0].secrets[0]", "expected a string (literal, env:NAME or file:PATH)")],
        id="secret-int",
    ),
    P(generic(secrets=[None]), [("routes[0].secrets[0]", "expected a string")], id="secret-null"),
    P(
        generic(secrets=[{"label": "x"}]),
        [("routes[0].secrets[0]", "missing 'value'")],
        id="secret-mapping-no-value",
    ),
    P(
        generic(secrets=[{"value": 5}]),
        [("routes[0].secrets[0].value", "expected a string (literal, env:NAME or file:PATH)")],
        id="secret-mapping-value-int",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "lable": "x"}]),
        [("routes[0].secrets[0].lable", "unknown key; did you mean 'label'?")],
        id="secret-mapping-unknown-key",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "label": ""}]),
        [("routes[0].secrets[0].label", "expected a non-empty string")],
        id="secret-label-empty",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "label": 3}]),
        [("routes[0].secrets[0].label", "expected a non-empty string")],
        id="secret-label-int",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "label": "k"}, {"value": TOKEN, "label": "k"}]),
        [("routes[0].secrets[1]", "label 'k' is already used by routes[0].secrets[0]")],
        id="secret-label-duplicate",
    ),
    P(
        generic(secrets=["env:GENERIC_SECRET", "env:GENERIC_SECRET"]),
        [
            (
                "routes[0].secrets[1]",
                "label 'env:GENERIC_SECRET' is already used by routes[0].secrets[0]",
            )
        ],
        id="secret-env-twice",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "expires": "2026-13-01"}]),
        [
            (
                "routes[0].secrets[0].expires",
                "'2026-13-01' is not an ISO 8601 date-time (e.g. 2026-12-01T00:00:00Z)",
            )
        ],
        id="expires-bad-month",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "expires": "next week"}]),
        [("routes[0].secrets[0].expires", "'next week' is not an ISO 8601 date-time")],
        id="expires-words",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "expires": 1_800_000_000}]),
        [("routes[0].secrets[0].expires", "expected an ISO 8601 date-time, got int")],
        id="expires-int",
    ),
    P(
        generic(secrets=[{"value": GENERIC_SECRET, "expires": True}]),
        [("routes[0].secrets[0].expires", "expected an ISO 8601 date-time, got bool")],
        id="expires-bool",
    ),
    P(
        _file_secret(None, "missing"),
        [("routes[0].secrets[0]", "cannot read secret file ")],
        id="file-missing",
    ),
    P(_file_secret(b""), [("routes[0].secrets[0]", "secret file ")], id="file-empty"),
    P(_file_secret(b"\n"), [("routes[0].secrets[0]", " is empty")], id="file-only-newline"),
    P(
        _file_secret(b"\xff\xfe\x00k"),
        [("routes[0].secrets[0]", " is not UTF-8 text")],
        id="file-not-utf8",
    ),
    P(_file_is_dir, [("routes[0].secrets[0]", "cannot read secret file ")], id="file-is-directory"),
    P(
        generic(secrets=["file:"]),
        [("routes[0].secrets[0]", "'file:' needs a path")],
        id="file-no-path",
    ),
    P(
        route(secrets=[whsec(i) for i in range(6)]),
        [
            (
                "routes[0].secrets",
                "6 active secrets; at most 5 are examined per request, "
                "so retire old ones (set 'expires')",
            )
        ],
        id="too-many-active-secrets",
    ),
    # token
    P(route(token="abc"), [(TOK, "expected a mapping, got str")], id="token-not-mapping"),
    P(
        token(query=DEL),
        [(TOK, "set exactly one of 'query', 'header' or 'basic'")],
        id="token-no-source",
    ),
    P(
        token(header="X-Token"),
        [(TOK, "set exactly one of 'query', 'header' or 'basic'")],
        id="token-two-sources",
    ),
    P(
        token(query=DEL, header="X-Token", basic=True),
        [(TOK, "set exactly one of 'query', 'header' or 'basic'")],
        id="token-header-and-basic",
    ),
    P(
        token(query=DEL, basic="user:pass"),
        [(f"{TOK}.basic", "expected true (any username) or a username without ':'")],
        id="token-basic-colon",
    ),
    P(
        token(query=DEL, basic=False),
        [(f"{TOK}.basic", "expected true (any username)")],
        id="token-basic-false",
    ),
    P(
        token(query=DEL, basic=""),
        [(f"{TOK}.basic", "expected true (any username)")],
        id="token-basic-empty",
    ),
    P(token(query=""), [(f"{TOK}.query", "must not be empty")], id="token-query-empty"),
    P(
        token(query=DEL, header="X Token"),
        [(f"{TOK}.header", "'X Token' is not a valid header name")],
        id="token-header-bad",
    ),
    P(
        token(secrets=DEL),
        [(f"{TOK}.secrets", "missing; at least one secret is required")],
        id="token-secrets-missing",
    ),
    P(
        token(secrets=[]),
        [(f"{TOK}.secrets", "at least one secret is required")],
        id="token-secrets-empty",
    ),
    P(
        token(secrets=["env:FLEX_TOKEN"]),
        [(f"{TOK}.secrets[0]", "environment variable FLEX_TOKEN is not set")],
        id="token-secret-env-not-set",
    ),
    P(
        token(secret=[TOKEN]),
        [(f"{TOK}.secret", "unknown key; did you mean 'secrets'?")],
        id="token-unknown-key",
    ),
    P(
        route(provider=DEL, secrets=DEL),
        [
            (
                "routes[0]",
                "no authentication configured: set 'provider' (or 'signature') with "
                "'secrets', and/or 'token'",
            )
        ],
        id="no-authentication",
    ),
    P(
        route(provider=DEL, secrets=DEL, token=None),
        [("routes[0]", "no authentication configured")],
        id="no-authentication-token-null",
    ),
    # event_id
    P(
        route(event_id="bogus"),
        [
            (
                "routes[0].event_id",
                "expected 'auto', 'none', {header: NAME} or {json: /pointer}; got 'bogus'",
            )
        ],
        id="event-id-str",
    ),
    P(
        route(event_id=None),
        [
            (
                "routes[0].event_id",
                "expected 'auto', 'none', {header: NAME} or {json: /pointer}; got None",
            )
        ],
        id="event-id-null",
    ),
    P(
        route(event_id={}),
        [("routes[0].event_id", "expected 'auto', 'none', {header: NAME} or {json: /pointer}")],
        id="event-id-empty",
    ),
    P(
        route(event_id={"header": "X-Id", "json": "/id"}),
        [("routes[0].event_id", "expected 'auto', 'none', {header: NAME} or {json: /pointer}")],
        id="event-id-two-keys",
    ),
    P(
        route(event_id={"hedaer": "X-Id"}),
        [("routes[0].event_id.hedaer", "unknown key; did you mean 'header'?")],
        id="event-id-unknown-key",
    ),
    P(
        route(event_id={"header": "X Id"}),
        [("routes[0].event_id.header", "'X Id' is not a valid header name")],
        id="event-id-header-bad",
    ),
    P(
        route(event_id={"json": "id"}),
        [("routes[0].event_id.json", "'id' is not a JSON pointer (RFC 6901), e.g. /id")],
        id="event-id-json-not-pointer",
    ),
    P(
        route(event_id={"json": ""}),
        [("routes[0].event_id.json", "must not be empty")],
        id="event-id-json-empty",
    ),
    # replay
    P(top(replay=[]), [("replay", "expected a mapping, got list")], id="replay-not-mapping"),
    P(
        top(replay={"stroe": "memory"}),
        [("replay.stroe", "unknown key; did you mean 'store'?")],
        id="replay-unknown-key",
    ),
    P(
        top(replay={"store": "redis"}),
        [("replay.store", "'redis' is not a store; use memory or a URL such as redis://")],
        id="replay-store-redis",
    ),
    P(
        top(replay={"max_entries": 0}),
        [("replay.max_entries", "must be >= 1, got 0")],
        id="replay-max-entries-0",
    ),
    P(
        top(replay={"max_entries": True}),
        [("replay.max_entries", "expected an integer, got bool")],
        id="replay-max-entries-bool",
    ),
    P(
        top(replay={"processing_timeout": 86_401}),
        [("replay.processing_timeout", "must be between 1 and 86400, got 86401")],
        id="replay-processing-timeout-too-big",
    ),
    P(
        top(replay={"retention": "3d"}),
        [("replay.retention", "expected an integer, got str")],
        id="replay-retention-str",
    ),
    P(
        top(replay={"retention": 599}),
        [
            (
                "replay.retention",
                "599 s is shorter than the replay window of route 'orders' (2 x tolerance = 600 s)",
            )
        ],
        id="replay-retention-short",
    ),
    P(
        {**route(tolerance=1000), "replay": {"retention": 1999}},
        [
            (
                "replay.retention",
                "1999 s is shorter than the replay window of route 'orders' "
                "(2 x tolerance = 2000 s)",
            )
        ],
        id="replay-retention-short-route-tolerance",
    ),
    P(
        top(replay={"on_store_error": "ignore"}),
        [("replay.on_store_error", "must be one of fail_closed, fail_open; got 'ignore'")],
        id="replay-on-store-error",
    ),
    # network
    P(top(network="peer"), [("network", "expected a mapping, got str")], id="network-not-mapping"),
    P(
        top(network={"client-ip": "peer"}),
        [("network.client-ip", "unknown key; did you mean 'client_ip'?")],
        id="network-unknown-key",
    ),
    P(
        top(network={"trusted_proxies": ["loopback", "10.0.0.0/33"]}),
        [("network.trusted_proxies[1]", "invalid CIDR '10.0.0.0/33'")],
        id="network-trusted-proxies-bad-cidr",
    ),
    P(
        top(network={"trusted_proxies": ["Loopback"]}),
        [("network.trusted_proxies[0]", "did you mean 'loopback'?")],
        id="network-trusted-proxies-case",
    ),
    P(
        top(network={"trusted_proxies": ["github"]}),
        [("network.trusted_proxies[0]", "'github' is a list of webhook senders, not of proxies")],
        id="network-trusted-proxies-provider",
    ),
    P(
        top(network={"trusted_proxies": "10.0.0.0/8"}),
        [("network.trusted_proxies", "expected a list, got str")],
        id="network-trusted-proxies-not-list",
    ),
    P(
        top(network={"trusted_proxies": ["10.0.0.0/8", "fe80::1%eth0"]}),
        [("network.trusted_proxies[1]", "no spaces, zone ids or leading zeros")],
        id="network-trusted-proxies-zone",
    ),
    P(
        top(network={"deny_ips": ["192.0.2.1", "192.0.2.300"]}),
        [("network.deny_ips[1]", "invalid CIDR '192.0.2.300'")],
        id="network-deny-ips-bad",
    ),
    P(
        top(network={"deny_ips": [7]}),
        [("network.deny_ips[0]", "expected a string, got int")],
        id="network-deny-ips-int",
    ),
    P(
        top(network={"all_hops_trusted": "first"}),
        [("network.all_hops_trusted", "must be one of reject, leftmost; got 'first'")],
        id="network-all-hops-trusted",
    ),
    P(
        top(network={"trust_unix_socket": "yes"}),
        [("network.trust_unix_socket", "expected true or false, got 'yes'")],
        id="network-trust-unix-socket",
    ),
    P(
        top(network={"client_ip": "header:"}),
        [("network.client_ip", "is not 'header:<name>' with a valid header name")],
        id="network-client-ip-empty-header",
    ),
    P(
        top(network={"client_ip": "X-Forwarded-For"}),
        [("network.client_ip", "unknown source 'X-Forwarded-For'")],
        id="network-client-ip-case",
    ),
    P(
        top(network={"client_ip": 4}),
        [("network.client_ip", "expected a string, got int")],
        id="network-client-ip-int",
    ),
    P(
        route(forward_credentials=True),
        [("routes[0].forward_credentials", "verifies no token, so there is no credential")],
        id="forward-credentials-without-token",
    ),
    P(
        route(forward_credentials="yes"),
        [("routes[0].forward_credentials", "expected true or false, got 'yes'")],
        id="forward-credentials-not-bool",
    ),
]


def _ids(cases: list[Any]) -> list[str]:
    return [c.id for c in cases]


def test_every_error_case_has_a_unique_id() -> None:
    ids = _ids(ERROR_CASES)
    assert len(ids) == len(set(ids))
    assert all(ids)


def assert_errors(errors: tuple[str, ...], expected: list[tuple[str, str]]) -> None:
    assert len(errors) == len(expected), errors
    for line, (place, fragment) in zip(errors, expected, strict=True):
        assert line.startswith(f"{place}: "), (line, place)
        assert fragment in line.removeprefix(f"{place}: "), (line, fragment)
        assert "\n" not in line


def assert_no_secret(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text


@pytest.mark.parametrize(("config", "expected"), ERROR_CASES)
def test_config_error(
    config: dict[str, Any] | Callable[[Path], dict[str, Any]],
    expected: list[tuple[str, str]],
    tmp_path: Path,
) -> None:
    data = config(tmp_path) if callable(config) else copy.deepcopy(config)
    with pytest.raises(ConfigError) as info:
        load_config(data, env=ENV, now=NOW)
    assert_errors(info.value.errors, expected)
    assert str(info.value) == "\n".join(info.value.errors)
    assert_no_secret(str(info.value))
    assert isinstance(info.value, ValueError)


def test_error_for_bad_whsec_never_shows_the_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(route(secrets=[BAD_WHSEC]), env=ENV, now=NOW)
    message = str(info.value)
    assert message == "routes[0].secrets[0]: is not a valid whsec_<base64> secret"
    assert "Zq8" not in message
    assert "n0t~base64" not in message


def test_error_for_env_secret_never_shows_other_values() -> None:
    cfg = route(secrets=["env:ORDERS_SECRET", "env:OLD_SECRET"])
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env=ENV, now=NOW)
    assert info.value.errors == (
        "routes[0].secrets[1]: environment variable OLD_SECRET is not set",
    )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as info:
        load_config(generic(secrets=[f"file:{missing}"]), env=ENV)
    assert info.value.errors == (
        f"routes[0].secrets[0]: cannot read secret file {missing}: No such file or directory",
    )
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError) as info:
        load_config(generic(secrets=[f"file:{empty}"]), env=ENV)
    assert info.value.errors == (f"routes[0].secrets[0]: secret file {empty} is empty",)


# -- all errors together -----------------------------------------------------------------


def test_two_broken_routes_give_two_lines() -> None:
    cfg = second_route(tolerance=0)
    cfg["routes"][0]["secrets"] = ["env:OLD_SECRET"]
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env=ENV, now=NOW)
    assert info.value.errors == (
        "routes[0].secrets[0]: environment variable OLD_SECRET is not set",
        "routes[1].tolerance: 0 is not allowed: tolerance is the replay window in seconds "
        "(e.g. 300); it cannot be turned off",
    )
    assert str(info.value).count("\n") == 1


def test_errors_from_every_section_are_reported_together() -> None:
    cfg = second_route(path="no-slash")
    cfg["version"] = 2
    cfg["defaults"] = {"mode": "audit"}
    cfg["replay"] = {"store": "redis"}
    cfg["network"] = {"trusted_proxies": ["10.0.0.0/88"]}
    cfg["routes"][0]["provider"] = "acme"
    tok = {"query": "t", "secrets": [TOKEN]}
    cfg["routes"].append({"name": "x", "path": "/x", "token": tok})
    cfg["routes"].append({"name": "x", "path": "/y", "token": tok})
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env=ENV, now=NOW)
    assert [line.split(": ")[0] for line in info.value.errors] == [
        "version",
        "defaults.mode",
        "replay.store",
        "network.trusted_proxies[0]",
        "routes[0].provider",
        "routes[1].path",
        "routes[3].name",
    ]
    assert_no_secret(str(info.value))


def test_retention_error_is_reported_for_each_route() -> None:
    cfg = second_route(tolerance=400)
    cfg["replay"] = {"retention": 700}
    with pytest.raises(ConfigError) as info:
        load_config(cfg, env=ENV, now=NOW)
    assert info.value.errors == (
        "replay.retention: 700 s is shorter than the replay window of route 'builds' "
        "(2 x tolerance = 800 s)",
    )


def test_retention_of_exactly_twice_the_tolerance_is_enough() -> None:
    config = load_config(top(replay={"retention": 600}), env=ENV, now=NOW)
    assert config.replay.retention == 600


# -- YAML files --------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "webhook-guard.yaml"
    path.write_text("version: 1\nroutes:\n  - name: a\n   path: /x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == (
        f"{path}:4:4: expected <block end>, but found '<block mapping start>'",
    )


def test_yaml_unclosed_bracket_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nroutes: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    (line,) = info.value.errors
    assert line.startswith(f"{path}:3:1: ")


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == (f"{path}: cannot read: No such file or directory",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        P("", "expected a mapping with 'version: 1', got nothing", id="empty-file"),
        P("- a\n- b\n", "expected a mapping with 'version: 1', got list", id="top-level-list"),
        P("just a string\n", "expected a mapping with 'version: 1', got str", id="top-level-str"),
    ],
)
def test_yaml_file_that_is_not_a_mapping(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == (f"{path}: {message}",)


def test_yaml_file_errors_carry_the_place(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\n"
        "routes:\n"
        "  - name: orders\n"
        "    path: /hooks/orders\n"
        "    provider: standard\n"
        "    tolerance: true\n"
        "    secrets: [env:ORDERS_SECRET]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    # FILE:LINE:COLUMN of the offending value, as for a YAML syntax error.
    assert info.value.errors == (
        f"{path}:6:16: routes[0].tolerance: expected an integer, got bool",
    )


QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart" / "webhook-guard.yaml"


@pytest.mark.parametrize("as_str", [True, False], ids=["str", "path"])
def test_quickstart_example_loads(as_str: bool) -> None:
    config = load_config(str(QUICKSTART) if as_str else QUICKSTART, env={})
    assert [r.name for r in config.routes] == ["orders", "builds"]
    orders, builds = config.routes
    assert [s.label for s in orders.secrets] == ["current", "previous"]
    assert orders.secrets[1].expires == datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    assert builds.token is not None
    assert builds.token.source == "query"
    assert builds.token.name == "token"
    assert builds.event_id.source == "json"
    assert builds.event_id.pointer == ("delivery", "id")
    assert builds.signature is not None
    assert builds.signature.headers == ("x-signature",)
    assert builds.signature.timestamp_headers == ("x-timestamp",)
    assert config.route("orders") is orders
    with pytest.raises(KeyError):
        config.route("nope")


# -- valid configurations ----------------------------------------------------------------


def test_minimal_route_gets_the_defaults() -> None:
    config = load_config(base(), env=ENV, now=NOW)
    assert isinstance(config, Config)
    (r,) = config.routes
    assert r.name == "orders"
    assert r.path == "/hooks/orders"
    assert r.methods == frozenset({"POST"})
    assert r.provider == "standard"
    assert r.tolerance == 300
    assert r.max_body_bytes == 1_048_576
    assert r.on_duplicate == "acknowledge"
    assert r.mode == "enforce"
    assert r.event_id.source == "auto"
    assert r.token is None
    assert r.public_url is None
    assert r.signature is not None
    assert r.signature.headers == ("webhook-signature", "svix-signature")
    assert r.signature.signed_content == "{id}.{timestamp}.{body}"
    assert r.secrets[0].reveal() == WHSEC.encode()
    assert r.secrets[0].active(NOW)
    assert config.replay.store == "memory"
    assert config.replay.max_entries == 1_000_000
    assert config.replay.processing_timeout == 60
    assert config.replay.retention == 259_200
    assert config.replay.on_store_error == "fail_closed"
    assert config.network.client_ip == "x-forwarded-for"
    assert config.network.trusted_proxies == ()
    assert config.network.deny_ips == ()


def test_null_sections_mean_defaults() -> None:
    config = load_config(top(defaults=None, replay=None, network=None), env=ENV, now=NOW)
    assert config.routes[0].tolerance == 300
    assert config.replay.retention == 259_200
    assert config.network.client_ip == "x-forwarded-for"


DEFAULTS_BLOCK = {
    "tolerance": 120,
    "max_body_bytes": 4096,
    "on_duplicate": "reject",
    "mode": "report",
    "methods": ["PUT"],
}


def test_defaults_block_applies_to_every_route() -> None:
    cfg = second_route()
    cfg["defaults"] = dict(DEFAULTS_BLOCK)
    config = load_config(cfg, env=ENV, now=NOW)
    for r in config.routes:
        assert r.tolerance == 120
        assert r.max_body_bytes == 4096
        assert r.on_duplicate == "reject"
        assert r.mode == "report"
        assert r.methods == frozenset({"PUT"})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        P("tolerance", 30, 30, id="tolerance"),
        P("max_body_bytes", 10, 10, id="max_body_bytes"),
        P("on_duplicate", "acknowledge", "acknowledge", id="on_duplicate"),
        P("mode", "enforce", "enforce", id="mode"),
        P("methods", ["post", "Patch"], frozenset({"POST", "PATCH"}), id="methods"),
    ],
)
def test_route_overrides_each_defaults_key(key: str, value: Any, expected: Any) -> None:
    cfg = second_route(**{key: value})
    cfg["defaults"] = dict(DEFAULTS_BLOCK)
    config = load_config(cfg, env=ENV, now=NOW)
    orders, builds = config.routes
    assert getattr(builds, key) == expected
    default = frozenset({"PUT"}) if key == "methods" else DEFAULTS_BLOCK[key]
    assert getattr(orders, key) == default


def test_every_defaults_key_is_covered_by_the_override_test() -> None:
    from webhook_guard.config import DEFAULTS

    assert set(DEFAULTS) == set(DEFAULTS_BLOCK)


def test_header_names_are_lowercased() -> None:
    config = load_config(
        generic(
            header=["X-Signature", "X-Alt-Signature"],
            timestamp_header="X-Timestamp",
            id_header="X-Delivery",
            signed_content="{id}.{timestamp}.{method}.{path}.{body}",
        ),
        env=ENV,
        now=NOW,
    )
    spec = config.routes[0].signature
    assert spec is not None
    assert spec.headers == ("x-signature", "x-alt-signature")
    assert spec.timestamp_headers == ("x-timestamp",)
    assert spec.id_headers == ("x-delivery",)


def test_url_signing_route_with_public_url_loads() -> None:
    cfg = generic(signed_content="{method} {url}\n{body}")
    cfg["routes"][0]["public_url"] = "https://hooks.example.com/"
    config = load_config(cfg, env=ENV, now=NOW)
    assert config.routes[0].public_url == "https://hooks.example.com"


def test_kv_format_with_timestamp_key_loads() -> None:
    config = load_config(
        generic(format="kv", timestamp_key="t", version="v1", signed_content="{timestamp}.{body}"),
        env=ENV,
        now=NOW,
    )
    spec = config.routes[0].signature
    assert spec is not None
    assert spec.timestamp_key == "t"
    assert spec.separator == ","


@pytest.mark.parametrize("value", [True, False, DEL])
def test_forward_credentials(value: Any) -> None:
    cfg = token()
    _patch(cfg["routes"][0], {"forward_credentials": value})
    config = load_config(cfg, env=ENV, now=NOW)
    assert config.routes[0].forward_credentials is (value is True)


@pytest.mark.parametrize(
    ("block", "source", "name"),
    [
        P({"query": "token"}, "query", "token", id="query"),
        P({"header": "X-Flex-Token"}, "header", "x-flex-token", id="header"),
        P({"basic": True}, "basic", None, id="basic-any-user"),
        P({"basic": "flexdeploy"}, "basic", "flexdeploy", id="basic-user"),
    ],
)
def test_token_variants(block: dict[str, Any], source: str, name: str | None) -> None:
    config = load_config(token(**{"query": DEL, **block}), env=ENV, now=NOW)
    r = config.routes[0]
    assert r.signature is None
    assert r.secrets == ()
    assert r.token is not None
    assert r.token.source == source
    assert r.token.name == name
    assert r.token.secrets[0].reveal() == TOKEN.encode()


@pytest.mark.parametrize(
    ("raw", "source", "header", "pointer"),
    [
        P("auto", "auto", None, (), id="auto"),
        P("none", "none", None, (), id="none"),
        P({"header": "X-GitHub-Delivery"}, "header", "x-github-delivery", (), id="header"),
        P({"json": "/data/id"}, "json", None, ("data", "id"), id="json"),
        P({"json": "/a~1b/c~0d"}, "json", None, ("a/b", "c~d"), id="json-escapes"),
    ],
)
def test_event_id_variants(
    raw: Any, source: str, header: str | None, pointer: tuple[str, ...]
) -> None:
    r = load_config(route(event_id=raw), env=ENV, now=NOW).routes[0]
    assert (r.event_id.source, r.event_id.header, r.event_id.pointer) == (source, header, pointer)


def test_five_active_secrets_plus_expired_ones_load() -> None:
    secrets: list[Any] = [whsec(i) for i in range(5)]
    secrets += [{"value": whsec(5), "label": "old", "expires": PAST}]
    config = load_config(route(secrets=secrets), env=ENV, now=NOW)
    assert [s.active(NOW) for s in config.routes[0].secrets] == [True] * 5 + [False]


# -- expiry ------------------------------------------------------------------------------


def test_expired_secret_loads_inactive_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = route(secrets=[WHSEC, {"value": WHSEC_OLD, "label": "previous", "expires": PAST}])
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        config = load_config(cfg, env=ENV, now=NOW)
    current, previous = config.routes[0].secrets
    assert current.active(NOW)
    assert not previous.active(NOW)
    assert previous.label == "previous"
    assert previous.reveal() == WHSEC_OLD.encode()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("routes[0].secrets[1]: secret 'previous' expired at 2026-01-01")
    assert "never verifies" in message
    assert_no_secret(caplog.text)


def test_expired_env_secret_warning_shows_the_reference_not_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = generic(secrets=[GENERIC_SECRET, {"value": "env:GENERIC_SECRET", "expires": PAST}])
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        load_config(cfg, env=ENV, now=NOW)
    assert "'env:GENERIC_SECRET'" in caplog.text
    assert_no_secret(caplog.text)


def test_future_expiry_is_active_and_silent(caplog: pytest.LogCaptureFixture) -> None:
    cfg = route(secrets=[{"value": WHSEC, "label": "current", "expires": FUTURE}])
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        config = load_config(cfg, env=ENV, now=NOW)
    (secret,) = config.routes[0].secrets
    assert secret.active(NOW)
    assert not secret.active(datetime(2028, 1, 1, tzinfo=timezone.utc).timestamp())
    assert caplog.records == []


@pytest.mark.parametrize(
    "expires",
    [
        P("2028-01-01T00:00:00Z", id="str-Z"),
        P("2028-01-01T00:00:00+00:00", id="str-offset"),
        P("2028-01-01T01:00:00+01:00", id="str-other-offset"),
        P("2028-01-01T00:00:00", id="str-naive-is-utc"),
        P("2028-01-01", id="str-date"),
        P(datetime(2028, 1, 1, tzinfo=timezone.utc), id="datetime"),
        P(datetime(2028, 1, 1), id="datetime-naive-is-utc"),
        P(date(2028, 1, 1), id="date"),
    ],
)
def test_expires_forms(expires: Any) -> None:
    cfg = generic(secrets=[{"value": GENERIC_SECRET, "expires": expires}])
    (secret,) = load_config(cfg, env=ENV, now=NOW).routes[0].secrets
    assert secret.expires == datetime(2028, 1, 1, tzinfo=timezone.utc).timestamp()


def test_expires_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\n"
        "routes:\n"
        "  - name: a\n"
        "    path: /a\n"
        "    provider: standard\n"
        "    secrets:\n"
        "      - env:ORDERS_SECRET\n"
        "      - value: whsec_dGhpcyBpcyB0aGUgb2xkIGRlbW8gc2VjcmV0\n"
        "        expires: 2028-01-01T00:00:00Z\n"
        "      - {value: whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, expires: 2028-01-01}\n",
        encoding="utf-8",
    )
    secrets = load_config(path, env=ENV, now=NOW).routes[0].secrets
    moment = datetime(2028, 1, 1, tzinfo=timezone.utc).timestamp()
    assert [s.expires for s in secrets] == [None, moment, moment]
    assert [s.label for s in secrets] == ["env:ORDERS_SECRET", "secrets[1]", "secrets[2]"]


# -- env: and file: ----------------------------------------------------------------------


def test_env_secrets_come_from_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENERIC_SECRET", "from-os-environ")
    config = load_config(generic(secrets=["env:GENERIC_SECRET"]), env=ENV, now=NOW)
    (secret,) = config.routes[0].secrets
    assert secret.reveal() == ENV_SECRET.encode()
    assert secret.label == "env:GENERIC_SECRET"


def test_given_env_mapping_does_not_fall_back_to_os_environ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENERIC_SECRET", "from-os-environ")
    with pytest.raises(ConfigError) as info:
        load_config(generic(secrets=["env:GENERIC_SECRET"]), env={}, now=NOW)
    assert info.value.errors == (
        "routes[0].secrets[0]: environment variable GENERIC_SECRET is not set",
    )


def test_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WG_TEST_CONFIG_SECRET", ENV_SECRET)
    config = load_config(generic(secrets=["env:WG_TEST_CONFIG_SECRET"]), now=NOW)
    assert config.routes[0].secrets[0].reveal() == ENV_SECRET.encode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        P(b"s3cret", b"s3cret", id="no-newline"),
        P(b"s3cret\n", b"s3cret", id="one-newline"),
        P(b"s3cret\r\n", b"s3cret", id="crlf"),
        P(b"s3cret\n\n", b"s3cret\n", id="two-newlines-keep-one"),
        P(b" s3cret \n", b" s3cret ", id="spaces-kept"),
        P(b"s3cret\t\n", b"s3cret\t", id="tab-kept"),
        P(b"\ns3cret\n", b"\ns3cret", id="leading-newline-kept"),
        P("sécret\n".encode(), "sécret".encode(), id="utf8"),
    ],
)
def test_file_secret_strips_exactly_one_trailing_newline(
    tmp_path: Path, content: bytes, expected: bytes
) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content)
    config = load_config(generic(secrets=[f"file:{path}"]), env=ENV, now=NOW)
    (secret,) = config.routes[0].secrets
    assert secret.reveal() == expected
    assert secret.label == f"file:{path}"


def test_file_secret_keeps_inner_carriage_returns(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"ab\r\ncd\ref\n")
    config = load_config(generic(secrets=[f"file:{path}"]), env=ENV, now=NOW)
    assert config.routes[0].secrets[0].reveal() == b"ab\r\ncd\ref"


# -- secrets never leak ------------------------------------------------------------------


def test_repr_of_config_never_contains_a_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(FILE_SECRET + "\n", encoding="utf-8")
    cfg = second_route(
        provider="generic",
        signature={"header": "X-Signature"},
        secrets=[GENERIC_SECRET, "env:GENERIC_SECRET", f"file:{secret_file}"],
        token={"header": "X-Token", "secrets": [TOKEN]},
    )
    cfg["routes"][0]["secrets"] = [
        {"value": "env:ORDERS_SECRET", "label": "current"},
        {"value": WHSEC_OLD, "label": "previous", "expires": FUTURE},
    ]
    config = load_config(cfg, env=ENV, now=NOW)
    assert config.routes[1].token is not None
    texts = [
        repr(config),
        str(config),
        repr(config.routes),
        *(repr(r) for r in config.routes),
        repr(config.routes[1].token),
        *(repr(s) for r in config.routes for s in r.secrets),
        *(str(s) for r in config.routes for s in r.secrets),
        f"{config.routes[0].secrets[0]}",
    ]
    for text in texts:
        assert_no_secret(text)
    assert "Secret(label='current', value='**********')" in repr(config)
    # and the values really are loaded
    revealed = {s.reveal() for r in config.routes for s in r.secrets}
    revealed |= {s.reveal() for s in config.routes[1].token.secrets}
    assert revealed == {
        v.encode() for v in (WHSEC, WHSEC_OLD, GENERIC_SECRET, ENV_SECRET, FILE_SECRET, TOKEN)
    }


# -- bugs found while writing these tests ------------------------------------------------


def test_paths_differing_only_by_trailing_slash_are_duplicates() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(second_route(path="/hooks/orders/"), env=ENV, now=NOW)
    assert info.value.errors[0].startswith("routes[1].path: ")
    assert "already used by routes[0]" in info.value.errors[0]


def test_trailing_slash_path_shadows_the_first_route() -> None:
    """/hooks/orders/ would route like /hooks/orders and shadow routes[0], so it is refused."""
    with pytest.raises(ConfigError) as info:
        load_config(second_route(path="/hooks/orders/"), env=ENV, now=NOW)
    assert info.value.errors == ("routes[1].path: '/hooks/orders/' is already used by routes[0]",)


def test_network_client_ip_must_be_a_known_source() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(top(network={"client_ip": "x-forwarded-fro"}), env=ENV, now=NOW)
    assert info.value.errors[0].startswith("network.client_ip: ")


def test_version_float_is_rejected() -> None:
    with pytest.raises(ConfigError):
        load_config(top(version=1.0), env=ENV, now=NOW)


def test_now_zero_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    cfg = route(secrets=[{"value": WHSEC, "expires": "1970-01-02T00:00:00Z"}])
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        load_config(cfg, env=ENV, now=0)
    assert caplog.records == []


def test_network_and_allow_ips_are_compiled(tmp_path: Path) -> None:
    ips = tmp_path / "partners.txt"
    ips.write_text("# partner egress\n198.51.100.0/24  # office\n2001:db8:77::/48\n")
    cfg = route(allow_ips=["github", "203.0.113.7", f"file:{ips}", "aws:route53_healthchecks"])
    cfg["network"] = {
        "client_ip": "header:X-Client-IP",
        "trusted_proxies": ["loopback", "10.0.0.0/8"],
        "deny_ips": ["192.0.2.66"],
        "all_hops_trusted": "leftmost",
        "trust_unix_socket": True,
    }
    config = load_config(cfg, env=ENV, now=NOW)
    net = config.network
    assert net.client_ip == "header:x-client-ip"
    assert net.trusted_proxies == ("loopback", "10.0.0.0/8")
    assert "127.0.0.1" in net.trusted_set
    assert "10.9.9.9" in net.trusted_set
    assert "11.0.0.1" not in net.trusted_set
    assert "192.0.2.66" in net.deny_set
    assert net.all_hops_trusted == "leftmost"
    assert net.trust_unix_socket is True
    r = config.routes[0]
    assert r.allow_ips == ("github", "203.0.113.7", f"file:{ips}", "aws:route53_healthchecks")
    assert r.allow_set is not None
    for inside in ("140.82.112.1", "203.0.113.7", "198.51.100.200", "2001:db8:77::1", "15.177.0.1"):
        assert inside in r.allow_set, inside
    for outside in ("203.0.113.8", "8.8.8.8", "2001:db8:78::1"):
        assert outside not in r.allow_set, outside
    resolver_config = net.client_ip_config()
    assert resolver_config.source == "header:x-client-ip"
    assert resolver_config.trusted_proxies == net.trusted_set


def test_route_without_allow_ips_has_no_allowlist() -> None:
    config = load_config(base(), env=ENV, now=NOW)
    assert config.routes[0].allow_ips == ()
    assert config.routes[0].allow_set is None
    assert not config.network.trusted_set
    assert not config.network.deny_set


def test_trusted_proxies_from_a_file_and_deny_ips_by_provider(tmp_path: Path) -> None:
    lbs = tmp_path / "lbs.txt"
    lbs.write_text("10.1.0.0/16\n2001:db8:1b::/48\n")
    cfg = top(network={"trusted_proxies": [f"file:{lbs}", "private"], "deny_ips": ["stripe"]})
    net = load_config(cfg, env=ENV, now=NOW).network
    assert "10.1.2.3" in net.trusted_set
    assert "2001:db8:1b::9" in net.trusted_set
    assert "192.168.1.1" in net.trusted_set
    assert "3.18.12.63" in net.deny_set
    assert "3.18.12.64" not in net.deny_set


def test_hand_built_configs_cannot_drop_the_compiled_address_sets() -> None:
    from dataclasses import replace

    from webhook_guard.config import NetworkConfig

    with pytest.raises(ValueError, match="build it with load_config"):
        NetworkConfig(trusted_proxies=("10.0.0.0/8",))
    with pytest.raises(ValueError, match="build it with load_config"):
        NetworkConfig(deny_ips=("192.0.2.1",))
    route_config = load_config(base(), env=ENV, now=NOW).routes[0]
    with pytest.raises(ValueError, match="allow_ips given without allow_set"):
        replace(route_config, allow_ips=("github",))


def test_every_problem_of_a_route_in_one_run() -> None:
    """A misspelt key, a bad setting, an unknown provider and each unloadable secret are
    reported together, so fixing a config takes one run of `check`, not one per error."""
    with pytest.raises(ConfigError) as info:
        load_config(
            {
                "version": 1,
                "defaults": {"mode": "strict", "tolerance": 0},
                "routes": [
                    {
                        "name": "orders",
                        "path": "/hooks/orders",
                        "provider": "stripes",
                        "tolerence": 300,
                        "methods": ["POST", "FETCH"],
                        "secrets": [
                            "env:WG_UNSET_A",
                            "env:WG_UNSET_B",
                            {"value": "x", "lable": "y"},
                        ],
                    }
                ],
            },
            env={},
        )
    places = [e.partition(": ")[0] for e in info.value.errors]
    assert places == [
        "defaults.mode",
        "defaults.tolerance",
        "routes[0].tolerence",
        "routes[0].methods[1]",
        "routes[0].provider",
        "routes[0].secrets[0]",
        "routes[0].secrets[1]",
        "routes[0].secrets[2].lable",
    ]
    assert "did you mean 'tolerance'?" in info.value.errors[2]
    assert "did you mean 'stripe'?" in info.value.errors[4]
