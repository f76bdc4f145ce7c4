"""JSON Schema (draft 2020-12) of the ``webhook-guard.yaml`` format.

Built from the same constants the parser uses (presets, algorithms, modes...), and
tests/test_schema.py compares every mapping's keys with the keys ``load_config`` accepts,
so the schema cannot drift from the parser. The schema is for editors and documentation:
``load_config`` stays the authority (it also checks what a schema cannot say, such as
secrets resolving or ``allow_ips`` not overlapping ``trusted_proxies``).
"""

from __future__ import annotations

from typing import Any

from .clientip import SOURCES as CLIENT_IP_SOURCES
from .config import (
    ALL_HOPS_TRUSTED,
    CLIENT_CERT_MODES,
    COMMIT_ON,
    DEFAULTS,
    HTTP_METHODS,
    MODES,
    ON_DUPLICATE,
    ON_STORE_ERROR,
    TLS_VERSIONS,
)
from .replay.redis_store import DEFAULT_PREFIX, DEFAULT_SOCKET_TIMEOUT
from .signatures.base import ALGORITHMS, ENCODINGS, FORMATS, SECRET_ENCODINGS
from .signatures.presets import PRESETS

SCHEMA_ID = "urn:webhook-guard:config:v1"

_HEADER_NAME = {"type": "string", "pattern": r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"}


def _one_or_many(item: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "oneOf": [item, {"type": "array", "items": item, "minItems": 1}],
    }


def _obj(properties: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _settings() -> dict[str, Any]:
    """The keys allowed in ``defaults`` and overridable per route."""
    return {
        "tolerance": {
            "type": "integer",
            "minimum": 1,
            "maximum": 7 * 86_400,
            "default": DEFAULTS["tolerance"],
            "description": "Timestamp window in seconds, in both directions. 0 is invalid: "
            "the window cannot be turned off.",
        },
        "max_body_bytes": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1 << 31,
            "default": DEFAULTS["max_body_bytes"],
            "description": "Largest body accepted (a body of exactly this size passes); "
            "larger ones get 413 body_too_large before they are read.",
        },
        "on_duplicate": {
            "enum": list(ON_DUPLICATE),
            "default": DEFAULTS["on_duplicate"],
            "description": "An already processed event: 'acknowledge' answers 200 without "
            "calling the handler, 'reject' answers 409.",
        },
        "mode": {
            "enum": list(MODES),
            "default": DEFAULTS["mode"],
            "description": "'report' records failed checks in verdict.reported and lets the "
            "request through (route, canonical-path and body-size checks always apply).",
        },
        "methods": {
            "type": "array",
            # Any case, as the parser upper-cases them.
            "items": {"type": "string", "pattern": _any_case(HTTP_METHODS)},
            "minItems": 1,
            "default": DEFAULTS["methods"],
            "description": "HTTP methods the route accepts; others get 405.",
        },
    }


def _any_case(words: tuple[str, ...]) -> str:
    """A regex (ECMA-262, no inline flags) matching any of ``words`` in any case."""
    spelled = ("".join(f"[{c}{c.lower()}]" for c in word) for word in words)
    return f"^({'|'.join(spelled)})$"


def _secret(description: str) -> dict[str, Any]:
    source = {
        "type": "string",
        "minLength": 1,
        "description": "A literal secret, env:NAME or file:/path (never commit literals).",
    }
    return {
        "description": description,
        "oneOf": [
            source,
            _obj(
                {
                    "value": source,
                    "label": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Name reported as verdict.secret_id when it matches.",
                    },
                    "expires": {
                        "type": "string",
                        "description": "ISO 8601 date-time after which it no longer "
                        "verifies (rotation).",
                    },
                },
                "A secret with a label and an optional expiry.",
                required=["value"],
            ),
        ],
    }


def _secrets(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": _secret("One secret."),
        "minItems": 1,
        "description": description,
    }


def _signature() -> dict[str, Any]:
    return _obj(
        {
            "header": _one_or_many(_HEADER_NAME, "Header(s) carrying the signature(s)."),
            "algorithm": {"enum": sorted(ALGORITHMS), "default": "sha256"},
            "encoding": {"enum": list(ENCODINGS), "default": "hex"},
            "prefix": {
                "type": "string",
                "description": "Stripped before decoding, e.g. 'sha256='.",
            },
            "format": {
                "enum": list(FORMATS),
                "default": "plain",
                "description": "plain: one signature; kv: 't=..,v1=..' pairs (Stripe "
                "style); list: space-separated 'v1,<sig>' entries (Standard Webhooks).",
            },
            "separator": {"type": "string", "minLength": 1},
            "version": {
                "type": "string",
                "minLength": 1,
                "default": "v1",
                "description": "The signature version label in kv and list formats.",
            },
            "timestamp_key": {
                "type": "string",
                "minLength": 1,
                "description": "kv format: the key holding the timestamp (e.g. 't').",
            },
            "signed_content": {
                "type": "string",
                "minLength": 1,
                "default": "{body}",
                "description": "What is signed; placeholders {id} {timestamp} {body} "
                "{method} {url} {path}.",
            },
            "timestamp_header": _one_or_many(_HEADER_NAME, "Header with the Unix timestamp."),
            "id_header": _one_or_many(_HEADER_NAME, "Header with the delivery ID."),
            "secret_prefix": {
                "type": "string",
                "description": "Stripped from each secret, e.g. 'whsec_'.",
            },
            "secret_encoding": {
                "enum": list(SECRET_ENCODINGS),
                "default": "raw",
                "description": "How the secret (after secret_prefix) becomes key bytes.",
            },
        },
        "The generic signature scheme; with a provider, overrides its preset.",
    )


def _token() -> dict[str, Any]:
    return _obj(
        {
            "query": {"type": "string", "minLength": 1, "description": "Query parameter."},
            "header": {**_HEADER_NAME, "description": "Header carrying the token."},
            "basic": {
                "description": "HTTP basic auth: true (any username) or the username.",
                "oneOf": [{"const": True}, {"type": "string", "pattern": "^[^:]+$"}],
            },
            "secrets": _secrets("Accepted token values."),
        },
        "A shared token the sender puts in the URL, a header or basic auth (set exactly "
        "one of query, header, basic).",
        required=["secrets"],
        oneOf=[{"required": [k]} for k in ("query", "header", "basic")],
    )


def _event_id() -> dict[str, Any]:
    return {
        "description": "Where the delivery ID for replay protection comes from: 'auto' "
        "(the scheme's ID header, else the verified signature), 'none' (no dedup), a header "
        "or a JSON pointer into the verified body.",
        "default": "auto",
        "oneOf": [
            {"enum": ["auto", "none"]},
            _obj({"header": _HEADER_NAME}, "ID from a header.", required=["header"]),
            _obj(
                {"json": {"type": "string", "pattern": "^/"}},
                "ID from a JSON pointer (RFC 6901).",
                required=["json"],
            ),
        ],
    }


def _route() -> dict[str, Any]:
    return _obj(
        {
            "name": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                "description": "Unique route name (verdict.route).",
            },
            "path": {
                "type": "string",
                "pattern": "^/",
                "description": "Exact path, or a prefix pattern ending in '/*'.",
            },
            **_settings(),
            "provider": {
                "enum": sorted(PRESETS),
                "description": "Signature preset; 'generic' needs a signature block.",
            },
            "signature": _signature(),
            "secrets": _secrets("Signing secrets: current first, then previous ones."),
            "token": _token(),
            "event_id": _event_id(),
            "public_url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "The address the provider calls, for schemes that sign the URL.",
            },
            "allow_ips": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "Source addresses allowed: CIDRs, provider lists (github, "
                "stripe, cloudflare, aws:SERVICE[/region]), named sets or file:PATH.",
            },
            "forward_credentials": {
                "type": "boolean",
                "default": False,
                "description": "webhook-guard serve: pass the verified token (query "
                "parameter, header or Authorization) on to the upstream; by default it is "
                "stripped. Needs a token.",
            },
            "commit_on": {
                "enum": list(COMMIT_ON),
                "default": "2xx",
                "description": "Handler answers that use the event up: '2xx' (anything else "
                "releases it, so the provider's retry is processed) or 'below_500' (a 4xx "
                "means processed, never send again).",
            },
            "client_cert": _obj(
                {
                    "subjects": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "minItems": 1,
                        "description": "Names accepted: the certificate's DNS names "
                        "(subjectAltName), else its subject CN; case-insensitive, exact.",
                    }
                },
                "Require a verified client certificate (serve's own TLS, or a trusted "
                "terminator's headers per network.client_cert); checked before the body.",
                required=["subjects"],
            ),
        },
        "One protected webhook route. It needs a signature (provider or signature, with "
        "secrets), a token, or both.",
        required=["name", "path"],
        anyOf=[{"required": ["provider"]}, {"required": ["signature"]}, {"required": ["token"]}],
    )


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration format, as a dict."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "webhook-guard configuration",
        **_obj(
            {
                "version": {"const": 1, "description": "Format version; always 1."},
                "defaults": _obj(_settings(), "Settings every route inherits."),
                "network": _obj(
                    {
                        "client_ip": {
                            "description": "The one source of the client address.",
                            "default": "x-forwarded-for",
                            "anyOf": [
                                {"enum": list(CLIENT_IP_SOURCES)},
                                {
                                    "type": "string",
                                    "pattern": "^header:" + _HEADER_NAME["pattern"][1:],
                                },
                            ],
                        },
                        "trusted_proxies": {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1},
                            "description": "Peers whose forwarding headers are believed: "
                            "CIDRs or named sets (loopback, private, cloudflare).",
                        },
                        "deny_ips": {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1},
                            "description": "Addresses refused on every route (wins over "
                            "allow_ips); the same entries as allow_ips.",
                        },
                        "all_hops_trusted": {
                            "enum": list(ALL_HOPS_TRUSTED),
                            "default": "reject",
                            "description": "When every X-Forwarded-For/Forwarded hop is a "
                            "trusted proxy: reject, or take the leftmost.",
                        },
                        "trust_unix_socket": {
                            "type": "boolean",
                            "default": False,
                            "description": "Treat a Unix-socket peer as a trusted proxy.",
                        },
                        "client_cert": _obj(
                            {
                                "verify_header": {
                                    **_HEADER_NAME,
                                    "default": "X-SSL-Client-Verify",
                                    "description": "SUCCESS, FAILED:reason or NONE "
                                    "(nginx $ssl_client_verify).",
                                },
                                "subject_header": {
                                    "oneOf": [_HEADER_NAME, {"type": "null"}],
                                    "default": "X-SSL-Client-S-DN",
                                    "description": "The RFC 4514 subject (nginx "
                                    "$ssl_client_s_dn); its CN is matched.",
                                },
                                "cert_header": {
                                    "oneOf": [_HEADER_NAME, {"type": "null"}],
                                    "default": "X-SSL-Client-Cert",
                                    "description": "The URL-encoded PEM certificate (nginx "
                                    "$ssl_client_escaped_cert); its DNS names are matched. "
                                    "Needs the cryptography package; null to skip it.",
                                },
                                "xfcc": {
                                    "oneOf": [{"const": True}, _HEADER_NAME],
                                    "description": "Envoy's x-forwarded-client-cert "
                                    "instead (true, or its header name); one element only.",
                                },
                            },
                            "Headers of a TLS terminator in front that verified the "
                            "client certificate; believed only from trusted_proxies.",
                        ),
                    },
                    "Client address rules.",
                ),
                "replay": _obj(
                    {
                        "store": {
                            "type": "string",
                            "minLength": 1,
                            "default": "memory",
                            "description": "memory (one process), or a Redis URL: "
                            "redis://, rediss://, unix://, redis+sentinel://, "
                            "redis+cluster://; env:NAME or file:PATH to keep its password "
                            "out of the file.",
                        },
                        "prefix": {
                            "type": "string",
                            "maxLength": 100,
                            "default": DEFAULT_PREFIX,
                            "description": "Redis key prefix.",
                        },
                        "socket_timeout": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 60,
                            "default": DEFAULT_SOCKET_TIMEOUT,
                            "description": "Seconds a Redis call may take before the "
                            "on_store_error policy applies.",
                        },
                        "max_entries": {"type": "integer", "minimum": 1, "default": 1_000_000},
                        "processing_timeout": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 86_400,
                            "default": 60,
                            "description": "Seconds an event stays reserved while its "
                            "handler runs.",
                        },
                        "retention": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 259_200,
                            "description": "Seconds a processed event is remembered; at "
                            "least 2 x tolerance.",
                        },
                        "on_store_error": {"enum": list(ON_STORE_ERROR), "default": "fail_closed"},
                    },
                    "Replay protection store.",
                ),
                "routes": {"type": "array", "items": _route(), "minItems": 1},
                "audit": _obj(
                    {
                        "path": {
                            "type": "string",
                            "minLength": 1,
                            "description": "SQLite file of the delivery log, shared by "
                            "every worker.",
                        },
                        "retention": _obj(
                            {
                                "max_age": {
                                    "type": "integer",
                                    "minimum": 60,
                                    "default": 2_592_000,
                                    "description": "Seconds a delivery is kept.",
                                },
                                "max_rows": {
                                    "type": "integer",
                                    "minimum": 100,
                                    "default": 1_000_000,
                                    "description": "Deliveries kept at most; oldest first out.",
                                },
                            },
                            "How long deliveries are kept.",
                        ),
                        "store_bodies": {
                            "type": "boolean",
                            "default": False,
                            "description": "Also keep each body (size and SHA-256 always).",
                        },
                    },
                    "The delivery log: every verdict, with time, route, reason, status, "
                    "client address, event ID, secret_id, body size and SHA-256, latency.",
                    required=["path"],
                ),
                "tls": _obj(
                    {
                        "certfile": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Server certificate (PEM, with its chain).",
                        },
                        "keyfile": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Its private key (PEM), unless in certfile.",
                        },
                        "client_ca": {
                            "type": "string",
                            "minLength": 1,
                            "description": "CA bundle client certificates must chain to.",
                        },
                        "client_cert": {
                            "enum": list(CLIENT_CERT_MODES),
                            "default": "required",
                            "description": "With client_ca: required (refused in the "
                            "handshake) or optional (routes' client_cert rules decide).",
                        },
                        "min_version": {
                            "enum": list(TLS_VERSIONS),
                            "default": "1.2",
                            "description": "Oldest TLS version accepted.",
                        },
                    },
                    "TLS for webhook-guard serve (the adapters' servers do their own).",
                    required=["certfile"],
                ),
            },
            "A webhook_guard configuration file.",
            required=["version", "routes"],
        ),
    }
