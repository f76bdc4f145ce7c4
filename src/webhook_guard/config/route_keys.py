"""The keys of a route (``routes[i]``) and of ``defaults``, declared (see :mod:`.keys`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..signatures.base import (
    ALGORITHMS,
    ASYMMETRIC,
    ENCODINGS,
    FORMATS,
    SECRET_ENCODINGS,
    SignatureSpec,
)
from ..signatures.presets import PRESETS
from ..signatures.timestamps import FORMS as TIMESTAMP_FORMS
from .declare import Key, Section

ON_DUPLICATE = ("acknowledge", "reject")
COMMIT_ON = ("2xx", "below_500")
MODES = ("enforce", "report")
#: The methods of RFC 9110 and PATCH (RFC 5789); a route with any other (a typo such as
#: FETCH) could never be called, so it is refused rather than silently never matching.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
HEADER_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


def _spec_default(name: str) -> Any:
    """A ``signature`` key's default: :class:`SignatureSpec`'s, so it is written once."""
    return next(f.default for f in dataclasses.fields(SignatureSpec) if f.name == name)


def any_case(words: tuple[str, ...]) -> str:
    """A regex (ECMA-262, no inline flags) matching any of ``words`` in any case."""
    spelled = ("".join(f"[{c}{c.lower()}]" for c in word) for word in words)
    return f"^({'|'.join(spelled)})$"


# -- settings: the keys of `defaults`, each overridable on a route ------------------------

SETTINGS = Section(
    "Settings every route inherits.",
    (
        Key(
            "tolerance",
            "Timestamp window in seconds, in both directions. 0 is invalid: the window "
            "cannot be turned off.",
            "int",
            default=300,
            minimum=1,
            maximum=7 * 86_400,
        ),
        Key(
            "max_body_bytes",
            "Largest body accepted (a body of exactly this size passes); larger ones get "
            "413 body_too_large before they are read.",
            "int",
            default=1_048_576,
            minimum=1,
            maximum=1 << 31,
        ),
        Key(
            "on_duplicate",
            "An already processed event: 'acknowledge' answers 200 without calling the "
            "handler, 'reject' answers 409.",
            "choice",
            default="acknowledge",
            choices=ON_DUPLICATE,
        ),
        Key(
            "mode",
            "'report' records failed checks in verdict.reported and lets the request "
            "through (route, canonical-path and body-size checks always apply).",
            "choice",
            default="enforce",
            choices=MODES,
            see="guides/report-mode.md",
        ),
        Key(
            "methods",
            "HTTP methods the route accepts; others get 405.",
            "custom",
            default=["POST"],
            # Any case, as the parser upper-cases them.
            schema={
                "type": "array",
                "items": {"type": "string", "pattern": any_case(HTTP_METHODS)},
                "minItems": 1,
            },
        ),
    ),
)

# -- routes -------------------------------------------------------------------------------

SIGNATURE = Section(
    "The generic signature scheme; with a provider, overrides its preset.",
    (
        Key(
            "header",
            "The header(s) holding the signature(s); of a list, the first present is read.",
            "headers",
        ),
        Key(
            "algorithm",
            "The HMAC digest, or a public-key algorithm (needs the pubkey extra); jwt: a "
            "bearer token checked against the issuer's published keys (google-pubsub).",
            "choice",
            default=_spec_default("algorithm"),
            choices=(*ALGORITHMS, *ASYMMETRIC),
        ),
        Key(
            "encoding",
            "How the signature is written.",
            "choice",
            default=_spec_default("encoding"),
            choices=ENCODINGS,
        ),
        Key(
            "prefix",
            "Stripped before decoding, e.g. 'sha256='.",
            "text",
            default=_spec_default("prefix"),
        ),
        Key(
            "format",
            "plain: one signature; kv: 't=..,v1=..' pairs (Stripe style); list: "
            "space-separated 'v1,<sig>' entries (Standard Webhooks).",
            "choice",
            default=_spec_default("format"),
            choices=FORMATS,
        ),
        Key(
            "separator",
            "What separates the items of a kv or list header (',' for kv, a space for list).",
            "str",
        ),
        Key(
            "version",
            "The signature version label in kv and list formats.",
            "str",
            default=_spec_default("version"),
        ),
        Key("timestamp_key", "kv format: the key holding the timestamp (e.g. 't').", "str"),
        Key(
            "signed_content",
            "What is signed: a template with {body} once and optionally {id}, {timestamp}, "
            "{method}, {path}, {url}.",
            "str",
            default=_spec_default("signed_content"),
        ),
        Key("timestamp_header", "Header with the signed timestamp.", "headers"),
        Key(
            "timestamp_format",
            "How the signed timestamp is written: Unix seconds, Unix milliseconds or an "
            "RFC 3339 date-time (e.g. 2026-01-31T04:37:04.321Z); the window check is the "
            "same for all.",
            "choice",
            default=_spec_default("timestamp_format"),
            choices=TIMESTAMP_FORMS,
        ),
        Key(
            "timestamp_json",
            "A JSON pointer (RFC 6901) to the signed timestamp inside the body, for "
            "senders that put it there (e.g. /webhookTimestamp); checked once the "
            "signature verified.",
            "custom",
            schema={"type": "string", "pattern": "^/"},
        ),
        Key(
            "id_header",
            "Header with the delivery ID (used in {id} and for replay protection).",
            "headers",
        ),
        Key(
            "secret_prefix",
            "Stripped from each secret, e.g. 'whsec_'.",
            "text",
            default=_spec_default("secret_prefix"),
        ),
        Key(
            "secret_encoding",
            "How the secret (after secret_prefix) becomes key bytes: raw (its UTF-8 "
            "bytes) or base64.",
            "choice",
            default=_spec_default("secret_encoding"),
            choices=SECRET_ENCODINGS,
        ),
        Key(
            "topics",
            "provider sns: the TopicArn values accepted (required: AWS signs every "
            "account's topics with the same certificates).",
            "strings",
            schema={"minItems": 1},
        ),
        Key(
            "audience",
            "provider google-pubsub: the audience the push subscription's token is for.",
            "str",
        ),
        Key(
            "emails",
            "provider google-pubsub: the service accounts whose tokens are accepted.",
            "strings",
            schema={"minItems": 1},
        ),
        Key(
            "webhook_id",
            "provider paypal: the webhook's ID as the PayPal dashboard shows it.",
            "str",
        ),
    ),
)

SECRET = Section(
    "A secret with a label and an optional expiry.",
    (
        Key(
            "value",
            "A literal secret, env:NAME or file:/path (never commit literals).",
            "str",
            required=True,
        ),
        Key("label", "Name reported as verdict.secret_id when it matches.", "str"),
        Key(
            "expires",
            "ISO 8601 date-time after which it no longer verifies (rotation).",
            "custom",
            schema={"type": "string"},
        ),
    ),
)

TOKEN_SOURCES = ("query", "header", "basic")

TOKEN = Section(
    "A shared token the sender puts in the URL, a header or basic auth (set exactly one "
    "of query, header, basic).",
    (
        Key("query", "The query parameter holding the token, e.g. 'token'.", "str"),
        Key("header", "The header holding the token, e.g. 'X-Gitlab-Token'.", "header"),
        Key(
            "basic",
            "HTTP basic auth: true (any username) or the required username; the password "
            "is the token.",
            "custom",
            schema={"oneOf": [{"const": True}, {"type": "string", "pattern": "^[^:]+$"}]},
        ),
        Key(
            "secrets",
            "The accepted tokens, in the same forms as signing secrets.",
            "custom",
            required=True,
            see="#secrets",
        ),
    ),
    schema={"oneOf": [{"required": [k]} for k in TOKEN_SOURCES]},
)

EVENT_ID_HEADER = Section("ID from a header.", (Key("header", "", "header", required=True),))
EVENT_ID_JSON = Section(
    "ID from a JSON pointer (RFC 6901).",
    (Key("json", "", "custom", required=True, schema={"type": "string", "pattern": "^/"}),),
)
EVENT_ID_WORDS = ("auto", "none")

CLIENT_CERT_RULE = Section(
    "Require a verified client certificate (serve's own TLS, or a trusted terminator's "
    "headers per network.client_cert); checked before the body.",
    (
        Key(
            "subjects",
            "Names accepted: the certificate's DNS names (subjectAltName), else its subject "
            "CN; case-insensitive, exact; a wildcard certificate matches only the same "
            "wildcard.",
            "strings",
            required=True,
            schema={"minItems": 1},
        ),
    ),
)

HANDSHAKE = Section(
    "Answers to the provider's endpoint checks that need route settings (the preset "
    "says which check its provider makes).",
    (
        Key(
            "verify_token",
            "Meta: the Verify Token typed in the app dashboard (a literal, env:NAME or "
            "file:/path), compared with hub.verify_token.",
            "str",
        ),
        Key(
            "confirm",
            "sns: confirm a verified SubscriptionConfirmation by fetching its SubscribeURL "
            "(only from the pinned AWS host).",
            "bool",
            default=False,
        ),
    ),
)

ROUTE = Section(
    "One protected webhook route. It needs a signature (provider or signature, with "
    "secrets), a token, or both.",
    (
        Key(
            "name",
            "Unique route name, reported as verdict.route: letters, digits, '_', '.', '-' "
            "(at most 64).",
            "custom",
            required=True,
            schema={"type": "string", "pattern": NAME_PATTERN},
        ),
        Key(
            "path",
            "An exact path, or a prefix pattern ending in '/*' ('/a/*' covers '/a/b' and "
            "'/a/', not '/a').",
            "custom",
            required=True,
            schema={"type": "string", "pattern": "^/"},
        ),
        SETTINGS["methods"],
        Key(
            "provider",
            "Signature preset; 'generic' needs a signature block.",
            "custom",
            see="providers/index.md",
            schema={"enum": sorted(PRESETS)},
        ),
        Key("signature", SIGNATURE.doc, "section", section=SIGNATURE, see="#signature"),
        Key(
            "secrets",
            "Signing secrets: current first, then previous ones.",
            "custom",
            see="#secrets",
        ),
        Key("token", TOKEN.doc, "section", section=TOKEN, see="#token"),
        Key(
            "event_id",
            "Where the delivery ID for replay protection comes from: 'auto' (the scheme's "
            "ID header, else the verified signature), 'none' (no dedup), a header or a JSON "
            "pointer into the verified body.",
            "custom",
            default="auto",
            see="#event_id",
        ),
        *(key for key in SETTINGS if key.name != "methods"),
        Key(
            "public_url",
            "The scheme and host the provider calls (e.g. https://hooks.example.com), for "
            "schemes that sign the URL.",
            "custom",
            schema={"type": "string", "pattern": "^https?://"},
        ),
        Key(
            "allow_ips",
            "The only client addresses allowed on this route: CIDRs, provider lists (github, "
            "stripe, cloudflare, aws:SERVICE[/region]), named sets or file:PATH; must not "
            "overlap network.trusted_proxies.",
            "strings",
        ),
        Key(
            "forward_credentials",
            "webhook-guard serve: pass the verified token (query parameter, header or "
            "Authorization) on to the upstream; by default it is stripped. Needs a token.",
            "bool",
            default=False,
            see="getting-started/reverse-proxy.md#credentials",
        ),
        Key(
            "commit_on",
            "Handler answers that use the event up: '2xx' (any other status, an exception "
            "or an answer cut short releases it, so the provider's retry is processed) or "
            "'below_500' (a 4xx means processed, never send again; the framework's own 4xx too).",
            "choice",
            default="2xx",
            choices=COMMIT_ON,
        ),
        Key(
            "client_cert",
            CLIENT_CERT_RULE.doc,
            "section",
            section=CLIENT_CERT_RULE,
            see="#client_cert",
        ),
        Key("handshake", HANDSHAKE.doc, "section", section=HANDSHAKE, see="#handshake"),
    ),
    schema={"anyOf": [{"required": [k]} for k in ("provider", "signature", "token")]},
)
