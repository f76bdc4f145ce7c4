"""The configuration format, declared once: every key's name, kind, default, constraints
and one-line doc (route keys and ``defaults`` in :mod:`.route_keys`, the rest here).

Derived from these declarations: the keys each mapping accepts and the "did you mean"
hints (:mod:`.values`), the defaults of the parser and of the dataclasses in
:mod:`.model`, the bounds and choices the parser enforces, ``DEFAULTS``, ``ROUTE_KEYS``
and the JSON Schema (:mod:`webhook_guard.schema`). tests/test_docs.py holds the tables of
docs/reference/configuration.md to the schema (keys, defaults, required keys), so the
reference page cannot drift either. What a declaration cannot say (secrets resolving,
allowlists not overlapping trusted proxies, one key depending on another) is checked in
the parser, which stays the authority.

Adding a key: declare it in its section, add its field to the dataclass in :mod:`.model`,
read it in :mod:`.parse` or :mod:`.route` (``get(SECTION, block, name, where)`` for a
plain one), and add its row to docs/reference/configuration.md.
"""

from __future__ import annotations

from typing import Any

from ..clientip import SOURCES as CLIENT_IP_SOURCES
from ..replay.redis_store import DEFAULT_PREFIX, DEFAULT_SOCKET_TIMEOUT
from .declare import Key, Section
from .route_keys import HEADER_PATTERN, ROUTE, SETTINGS

ON_STORE_ERROR = ("fail_closed", "fail_open")
ALL_HOPS_TRUSTED = ("reject", "leftmost")
TLS_VERSIONS = ("1.2", "1.3")
CLIENT_CERT_MODES = ("required", "optional")
#: ``replay.store`` for the in-process store; anything else is a Redis URL.
MEMORY_STORE = "memory"


# -- network, replay, audit, tls ----------------------------------------------------------

CLIENT_CERT_HEADERS = Section(
    "Headers of a TLS terminator in front that verified the client certificate; believed "
    "only from trusted_proxies.",
    (
        Key(
            "verify_header",
            "SUCCESS, FAILED:reason or NONE (nginx $ssl_client_verify).",
            "header",
            default="X-SSL-Client-Verify",
        ),
        Key(
            "subject_header",
            "The RFC 4514 subject (nginx $ssl_client_s_dn); its CN is matched; null: not used.",
            "custom",
            default="X-SSL-Client-S-DN",
            schema={"oneOf": [{"type": "string", "pattern": HEADER_PATTERN}, {"type": "null"}]},
        ),
        Key(
            "cert_header",
            "The URL-encoded PEM certificate (nginx $ssl_client_escaped_cert); its DNS "
            "names are matched. Needs the cryptography package; null to skip it.",
            "custom",
            default="X-SSL-Client-Cert",
            schema={"oneOf": [{"type": "string", "pattern": HEADER_PATTERN}, {"type": "null"}]},
        ),
        Key(
            "xfcc",
            "Envoy's x-forwarded-client-cert instead (true, or its header name); one element only.",
            "custom",
            schema={"oneOf": [{"const": True}, {"type": "string", "pattern": HEADER_PATTERN}]},
        ),
    ),
)
#: The header ``xfcc: true`` reads.
XFCC_HEADER = "x-forwarded-client-cert"

NETWORK = Section(
    "Client address rules.",
    (
        Key(
            "client_ip",
            "The one source of the client address.",
            "custom",
            default="x-forwarded-for",
            schema={
                "anyOf": [
                    {"enum": list(CLIENT_IP_SOURCES)},
                    {"type": "string", "pattern": "^header:" + HEADER_PATTERN[1:]},
                ]
            },
        ),
        Key(
            "trusted_proxies",
            "Peers whose forwarding headers are believed: CIDRs or named sets (loopback, "
            "private, cloudflare).",
            "strings",
        ),
        Key(
            "deny_ips",
            "Addresses refused on every route (wins over allow_ips); the same entries as "
            "allow_ips.",
            "strings",
        ),
        Key(
            "all_hops_trusted",
            "When every X-Forwarded-For/Forwarded hop is a trusted proxy: reject, or take "
            "the leftmost.",
            "choice",
            default="reject",
            choices=ALL_HOPS_TRUSTED,
        ),
        Key(
            "trust_unix_socket",
            "Treat a Unix-socket peer as a trusted proxy.",
            "bool",
            default=False,
        ),
        Key("client_cert", CLIENT_CERT_HEADERS.doc, "section", section=CLIENT_CERT_HEADERS),
    ),
)

REPLAY = Section(
    "Replay protection store.",
    (
        Key(
            "store",
            "memory (one process), or a Redis URL: redis://, rediss://, unix://, "
            "redis+sentinel://, redis+cluster://; env:NAME or file:PATH to keep its "
            "password out of the file.",
            "str",
            default=MEMORY_STORE,
        ),
        Key(
            "max_entries",
            "The memory store's bound; the oldest entries are evicted first.",
            "int",
            default=1_000_000,
            minimum=1,
        ),
        Key(
            "processing_timeout",
            "Seconds an event stays reserved while its handler runs.",
            "int",
            default=60,
            minimum=1,
            maximum=86_400,
        ),
        Key(
            "retention",
            "Seconds a processed event is remembered (default 3 days: Stripe's and "
            "Paddle's retry horizon); at least 2 x tolerance.",
            "int",
            default=259_200,
            minimum=1,
        ),
        Key(
            "on_store_error",
            "When the store fails: fail_closed (503, the provider retries) or fail_open "
            "(accept without dedup).",
            "choice",
            default="fail_closed",
            choices=ON_STORE_ERROR,
        ),
        Key(
            "prefix",
            "Redis key prefix, so several guards (or apps) can share one Redis.",
            "custom",
            default=DEFAULT_PREFIX,
            schema={"type": "string", "maxLength": 100},
        ),
        Key(
            "socket_timeout",
            "Seconds a Redis call may take before the on_store_error policy applies.",
            "custom",
            default=DEFAULT_SOCKET_TIMEOUT,
            schema={"type": "number", "exclusiveMinimum": 0, "maximum": 60},
        ),
    ),
)

AUDIT_RETENTION = Section(
    "How long deliveries are kept.",
    (
        Key(
            "max_age",
            "Seconds a delivery is kept (default 30 days).",
            "int",
            default=2_592_000,
            minimum=60,
        ),
        Key(
            "max_rows",
            "Deliveries kept at most; oldest first out.",
            "int",
            default=1_000_000,
            minimum=100,
        ),
    ),
)

AUDIT = Section(
    "The delivery log: every verdict, with time, route, reason, status, client address, "
    "event ID, secret_id, body size and SHA-256, latency.",
    (
        Key(
            "path",
            "SQLite file of the delivery log, shared by every worker.",
            "str",
            required=True,
        ),
        Key("retention", AUDIT_RETENTION.doc, "section", section=AUDIT_RETENTION),
        Key(
            "store_bodies",
            "Also keep each body (they may hold personal data; size and SHA-256 always).",
            "bool",
            default=False,
        ),
    ),
)

TLS = Section(
    "TLS for webhook-guard serve (the adapters' servers do their own).",
    (
        Key("certfile", "Server certificate (PEM, with its chain).", "str", required=True),
        Key("keyfile", "Its private key (PEM), unless in certfile.", "str"),
        Key("client_ca", "CA bundle client certificates must chain to.", "str"),
        Key(
            "client_cert",
            "With client_ca: required (refused in the handshake) or optional (routes' "
            "client_cert rules decide).",
            "choice",
            default="required",
            choices=CLIENT_CERT_MODES,
        ),
        Key(
            "min_version",
            "Oldest TLS version accepted.",
            "choice",
            default="1.2",
            choices=TLS_VERSIONS,
        ),
    ),
)

TOP = Section(
    "A webhook_guard configuration file.",
    (
        Key(
            "version",
            "Format version; always 1.",
            "custom",
            required=True,
            schema={"const": 1},
        ),
        Key("defaults", SETTINGS.doc, "section", section=SETTINGS),
        Key("network", NETWORK.doc, "section", section=NETWORK),
        Key("replay", REPLAY.doc, "section", section=REPLAY),
        Key("routes", "The protected webhook routes.", "custom", required=True),
        Key("audit", AUDIT.doc, "section", section=AUDIT),
        Key("tls", TLS.doc, "section", section=TLS),
    ),
)

#: The route-level defaults, as a fresh ``defaults:`` block would give them.
DEFAULTS: dict[str, Any] = {key.name: SETTINGS.default(key.name) for key in SETTINGS}

#: Every key a route may have.
ROUTE_KEYS: frozenset[str] = frozenset(ROUTE.names)
