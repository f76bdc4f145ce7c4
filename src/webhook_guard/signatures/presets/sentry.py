"""Sentry (integration platform webhooks).

Sources: docs.sentry.io/integrations/integration-platform/webhooks/ (headers
``Request-ID``, ``Sentry-Hook-Resource``, ``Sentry-Hook-Timestamp``,
``Sentry-Hook-Signature``: the hex HMAC-SHA256 of the request body under the
integration's Client Secret); getsentry/integration-platform-example verifies the body
alone, so the timestamp header is not signed.
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

PRESETS: dict[str, Preset] = {
    "sentry": Preset(
        issued=True,
        signature={
            "header": "sentry-hook-signature",
            "id_header": "request-id",
            "algorithm": "sha256",
            "encoding": "hex",
            "format": "plain",
        },
        summary={
            "headers": "`Sentry-Hook-Signature: <hex>`, `Request-ID`, `Sentry-Hook-Resource`, "
            "`Sentry-Hook-Timestamp`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": "the raw body",
            "key": "the integration's Client Secret (Settings > Developer Settings), as it is",
            "event id": "`Request-ID`" + UNSIGNED_ID,
            "timestamp": "`Sentry-Hook-Timestamp` is sent but not signed, so it is not checked",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "`Sentry-Hook-Resource` (installation, issue, error, ...) is not signed "
            "either: take the resource from the verified body",
        },
    ),
}
