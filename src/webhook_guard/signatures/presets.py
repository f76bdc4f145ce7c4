"""Provider presets: named, checked fill-ins for the generic ``signature:`` block.

A preset is correct only when a request signed by the provider's own SDK, or by its
documented algorithm, verifies. tests/test_presets.py signs with the real SDKs
(standardwebhooks, svix, stripe, slack_sdk, twilio, paddle-python-sdk, convoy-python)
and with the providers' published test vectors (GitHub, Slack, Twilio, Convoy).

Each :class:`Preset` carries a ``summary`` for the docs (one page per preset): headers,
signed bytes, key handling, event-ID source, timestamp source and quirks. Sources are in
``shared/reference/providers.md`` (§ numbers below).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preset:
    """What ``provider: NAME`` fills in for a route.

    Attributes:
        signature: defaults for the ``signature:`` block (the user's block overrides
            them key by key); empty for token presets.
        event_id: the default ``event_id:`` of the route (``auto``: the scheme's ID
            header, else a digest of the verified signature).
        token_header: token presets only: the route's ``secrets`` are compared, in
            constant time, with this header instead of verifying a signature.
        ed25519: overrides applied when the route sets ``signature.algorithm: ed25519``.
        summary: docs-ready facts, keyed by topic.
    """

    signature: Mapping[str, Any]
    event_id: str | Mapping[str, str] = "auto"
    token_header: str | None = None
    ed25519: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, str] = field(default_factory=dict)


#: The topics of every preset's ``summary``, in the order the docs show them.
SUMMARY_KEYS = (
    "headers",
    "signature",
    "signed bytes",
    "key",
    "event id",
    "timestamp",
    "tolerance",
    "quirks",
)

_STANDARD: dict[str, Any] = {
    "header": ["webhook-signature", "svix-signature"],
    "timestamp_header": ["webhook-timestamp", "svix-timestamp"],
    "id_header": ["webhook-id", "svix-id"],
    "algorithm": "sha256",
    "encoding": "base64",
    "format": "list",
    "separator": " ",
    "version": "v1",
    "signed_content": "{id}.{timestamp}.{body}",
    "secret_prefix": "whsec_",
    "secret_encoding": "base64",
}

_HUB = {"algorithm": "sha256", "encoding": "hex", "prefix": "sha256=", "format": "plain"}

# Appended to the "event id" summary of presets whose ID header is outside the signature
# (see docs/architecture.md, "Event IDs and replay keys").
_UNSIGNED_ID = "; the header is not signed, so the replay check keys on the verified signature"

PRESETS: dict[str, Preset] = {
    "generic": Preset(
        signature={},
        summary={
            "signature": "`signature.algorithm` (sha1, sha256, sha512, ed25519) and `encoding`",
            "tolerance": "the route's `tolerance` when a timestamp is configured",
            "headers": "whatever `signature.header` names (required)",
            "signed bytes": "`signature.signed_content` (default `{body}`)",
            "key": "the secret's UTF-8 bytes (`secret_encoding: base64` to decode it)",
            "event id": "`signature.id_header` if set, else a digest of the verified signature",
            "timestamp": "`timestamp_header` or `timestamp_key`, if set",
            "quirks": "everything is explicit; use it for providers without a preset",
        },
    ),
    # providers.md §2.1, §2.2; standardwebhooks 1.1.0 and svix 2.9.1 sources.
    "standard": Preset(
        signature=_STANDARD,
        ed25519={"version": "v1a", "secret_prefix": "whpk_", "secret_encoding": "base64"},
        summary={
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`webhook-id`, `webhook-timestamp`, `webhook-signature` "
            "(Svix: the same as `svix-*`)",
            "signature": "space-separated `v1,<base64>` tokens (several during rotation); "
            "`v1a,<base64>` with `signature.algorithm: ed25519`",
            "signed bytes": "`{webhook-id}.{webhook-timestamp}.{body}`",
            "key": "`whsec_` stripped, the rest base64-decoded (v1); for v1a the public key "
            "`whpk_` + base64 of the 32 raw bytes (needs the `ed25519` extra)",
            "event id": "`webhook-id` (stable across retries)",
            "timestamp": "`webhook-timestamp`, Unix seconds, checked both ways (tolerance)",
            "quirks": "unknown or malformed tokens are skipped, not fatal (the reference "
            "library raises); tokens of the other version are ignored",
        },
    ),
    # providers.md §2.3; stripe-python 16.1.0 stripe/_webhook.py.
    "stripe": Preset(
        signature={
            "header": "stripe-signature",
            "format": "kv",
            "separator": ",",
            "version": "v1",
            "timestamp_key": "t",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp}.{body}",
        },
        event_id={"json": "/id"},
        summary={
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`",
            "signature": "HMAC-SHA256, lowercase hex; only `v1` counts (`v0` test-mode "
            "signatures are ignored, so a `v0`-only header is malformed)",
            "signed bytes": "`{t}.{body}`",
            "key": "the `whsec_...` string used as it is (UTF-8 bytes, NOT base64-decoded)",
            "event id": "the body's `id` (`evt_...`), else a digest of the signature",
            "timestamp": "`t=`, Unix seconds, checked both ways (stripe-python checks only "
            "the past)",
            "quirks": "several `v1` during a secret roll; keep event IDs 3 days",
        },
    ),
    # providers.md §2.4; docs.github.com validating-webhook-deliveries (test vector).
    "github": Preset(
        signature={**_HUB, "header": "x-hub-signature-256", "id_header": "x-github-delivery"},
        summary={
            "signature": "HMAC-SHA256, lowercase hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature-256: sha256=<hex>`, `X-GitHub-Delivery`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-GitHub-Delivery` (the same on redelivery)" + _UNSIGNED_ID,
            "timestamp": "none signed: replay protection is dedup only",
            "quirks": "the legacy SHA-1 `X-Hub-Signature` is never accepted (downgrade)",
        },
    ),
    # providers.md §2.5; docs.gitlab.com webhooks (delivery headers), MR !160952.
    "gitlab": Preset(
        signature={},
        token_header="x-gitlab-token",  # noqa: S106 (a header name, not a password)
        event_id={"header": "idempotency-key"},
        summary={
            "signature": "none: a shared token, compared in constant time",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Gitlab-Token: <token>` (plaintext), `Idempotency-Key`",
            "signed bytes": "none: the token authenticates the sender, not the body",
            "key": "the route's `secrets` are the accepted tokens (constant-time compare)",
            "event id": "`Idempotency-Key` (GitLab 17.4+, the same on retry and resend); "
            "not `X-Gitlab-Event-UUID`, which recursive hooks share; without it, a digest "
            "of the body",
            "timestamp": "none",
            "quirks": "GitLab 19 signing tokens are Standard Webhooks: use "
            "`provider: standard` for those; a 4xx disables the hook permanently",
        },
    ),
    # providers.md §2.6; slack_sdk signature/__init__.py, docs test vector.
    "slack": Preset(
        signature={
            "header": "x-slack-signature",
            "timestamp_header": "x-slack-request-timestamp",
            "algorithm": "sha256",
            "encoding": "hex",
            "prefix": "v0=",
            "signed_content": "v0:{timestamp}:{body}",
        },
        # Slack re-signs retries (new timestamp, new signature), so only the body's ID
        # recognises them; forms (slash commands) have none and fall back to the digest.
        event_id={"json": "/event_id"},
        summary={
            "signature": "HMAC-SHA256, hex, prefix `v0=`",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp`",
            "signed bytes": "`v0:{timestamp}:{body}`",
            "key": "the signing secret's UTF-8 bytes",
            "event id": "the body's `event_id` (Events API: the same on Slack's re-signed "
            "retries), else a digest of the verified signature (slash commands, "
            "interactivity)",
            "timestamp": "`X-Slack-Request-Timestamp`, Unix seconds, both ways",
            "quirks": "slash-command and interactivity bodies are forms: verified raw",
        },
    ),
    # providers.md §2.7; shopify.dev/docs/apps/build/webhooks/verify-deliveries.
    "shopify": Preset(
        signature={
            "header": ["x-shopify-hmac-sha256", "shopify-hmac-sha256"],
            "id_header": ["x-shopify-webhook-id", "shopify-webhook-id"],
            "algorithm": "sha256",
            "encoding": "base64",
        },
        summary={
            "signature": "HMAC-SHA256, base64",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Shopify-Hmac-Sha256: <base64>`, `X-Shopify-Webhook-Id` "
            "(Events preview: the same without `X-`)",
            "signed bytes": "the raw body",
            "key": "the app's client secret, UTF-8 bytes",
            "event id": "`X-Shopify-Webhook-Id`" + _UNSIGNED_ID,
            "timestamp": "none signed (`X-Shopify-Triggered-At` is informative)",
            "quirks": "after a secret rotation Shopify may sign with the old secret for up "
            "to an hour: keep it with an `expires`",
        },
    ),
    # providers.md §2.8; support.atlassian.com bitbucket-cloud event-payloads.
    "bitbucket": Preset(
        signature={**_HUB, "header": "x-hub-signature", "id_header": "x-request-uuid"},
        summary={
            "signature": "HMAC-SHA256, hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature: sha256=<hex>` (GitHub's SHA-1 header name, "
            "SHA-256 value), `X-Request-UUID`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-Request-UUID`" + _UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "Bitbucket Cloud; for Server/Data Center use `bitbucket-server`",
        },
    ),
    # providers.md §2.9; confluence.atlassian.com bitbucketserver event-payload.
    "bitbucket-server": Preset(
        signature={**_HUB, "header": "x-hub-signature", "id_header": "x-request-id"},
        summary={
            "signature": "HMAC-SHA256, hex, prefix `sha256=`",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Hub-Signature: sha256=<hex>`, `X-Request-Id`",
            "signed bytes": "the raw body",
            "key": "the webhook secret's UTF-8 bytes",
            "event id": "`X-Request-Id` (no retries, so one per delivery)" + _UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "HMACSha256 is the default; another algorithm needs "
            "`signature: {algorithm: ..., prefix: ...}`",
        },
    ),
    # providers.md §2.11; frain-dev/convoy pkg/signature (vectors), convoy-python.
    "convoy": Preset(
        signature={
            "header": "x-convoy-signature",
            "id_header": "x-convoy-idempotency-key",
            "algorithm": "sha256",
            "encoding": "hex",
            "scheme": "convoy",
        },
        summary={
            "signature": "HMAC-SHA256 hex by default (per project: SHA-512, base64)",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Convoy-Signature: <hex>` (simple format), `X-Convoy-Idempotency-Key`",
            "signed bytes": "the body as Convoy re-encodes it (compact JSON); the raw body "
            "is tried first, then with the whitespace between JSON tokens removed",
            "key": "the endpoint secret's UTF-8 bytes",
            "event id": "`X-Convoy-Idempotency-Key` when the producer set one, else a "
            "digest of the signature" + _UNSIGNED_ID,
            "timestamp": "none (use `convoy-advanced` for timestamped signatures)",
            "quirks": "hash and encoding are per project: override `algorithm` (sha512) "
            "and `encoding` (base64) to match; whitespace between JSON tokens is not "
            "covered by Convoy's signature",
        },
    ),
    "convoy-advanced": Preset(
        signature={
            "header": "x-convoy-signature",
            "id_header": "x-convoy-idempotency-key",
            "format": "kv",
            "separator": ",",
            "version": "v1",
            "timestamp_key": "t",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp},{body}",
            "scheme": "convoy",
        },
        summary={
            "signature": "HMAC-SHA256 hex by default; one `v1=` per active endpoint secret",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`X-Convoy-Signature: t=<ts>,v1=<sig>[,v1=<sig>...]`",
            "signed bytes": "`{t},{body}` (a comma, not a dot); the body as in `convoy`",
            "key": "each endpoint secret's UTF-8 bytes (one `v1` per active secret)",
            "event id": "`X-Convoy-Idempotency-Key`, else a digest of the signature" + _UNSIGNED_ID,
            "timestamp": "`t=`, Unix seconds, both ways (the SDKs check only the past)",
            "quirks": "`vN` is the N-th signature version of the project: set "
            "`signature.version` to match",
        },
    ),
    # providers.md §2.10; twilio-python twilio/request_validator.py, docs vectors.
    "twilio": Preset(
        signature={
            "header": "x-twilio-signature",
            "id_header": "i-twilio-idempotency-token",
            "algorithm": "sha1",
            "encoding": "base64",
            "signed_content": "{url}{body}",
            "scheme": "twilio",
        },
        summary={
            "signature": "HMAC-SHA1, base64",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Twilio-Signature: <base64>`, `I-Twilio-Idempotency-Token`",
            "signed bytes": "the full URL Twilio called (`public_url` + path + query) "
            "followed by each form parameter's name and value, sorted; JSON bodies: the "
            "URL only, and its `bodySHA256` query parameter must be the body's SHA-256",
            "key": "the account Auth Token's UTF-8 bytes",
            "event id": "`I-Twilio-Idempotency-Token`, else a digest of the signature"
            + _UNSIGNED_ID,
            "timestamp": "none",
            "quirks": "needs the route's `public_url`; the URL is also tried with the "
            "default port added or removed, as twilio-python does; a SharedKey with "
            "HMAC_SHA256 needs `signature: {algorithm: sha256}`",
        },
    ),
    # providers.md §2.12; paddle-python-sdk Notifications/PaddleSignature.py, Verifier.py.
    "paddle": Preset(
        signature={
            "header": "paddle-signature",
            "format": "kv",
            "separator": ";",
            "version": "h1",
            "timestamp_key": "ts",
            "algorithm": "sha256",
            "encoding": "hex",
            "signed_content": "{timestamp}:{body}",
        },
        event_id={"json": "/event_id"},
        summary={
            "signature": "HMAC-SHA256, hex; one `h1=` per active secret during rotation",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`Paddle-Signature: ts=<ts>;h1=<hex>[;h1=<hex>...]`",
            "signed bytes": "`{ts}:{body}` (a colon)",
            "key": "the notification destination's secret key (`pdl_ntfset_...`), as it is",
            "event id": "the body's `event_id` (`evt_...`)",
            "timestamp": "`ts=`, Unix seconds, both ways; the SDK default is 5 s, ours the "
            "route's tolerance (300 s unless set)",
            "quirks": "unknown keys are ignored (the SDK raises on them)",
        },
    ),
}
