"""Gitea and Forgejo (Forgejo is a fork of Gitea and signs the same way).

Sources: go-gitea/gitea services/webhook/deliver.go (``addDefaultHeaders``:
``X-Gitea-Signature`` is the hex HMAC-SHA256 of the request body under the webhook's
secret, ``X-Gitea-Delivery`` a UUID outside the signature; for the form content type the
signed bytes are the JSON payload, not the form, and the GET method puts the payload in
the query); forgejo/forgejo services/webhook/deliver.go (the same code, which sends
``X-Forgejo-Signature`` and ``X-Forgejo-Delivery`` beside the ``X-Gitea-*`` pair).
"""

from __future__ import annotations

from .model import UNSIGNED_ID, Preset

_SIGNATURE = {"algorithm": "sha256", "encoding": "hex", "format": "plain"}
_BYTES = "the raw body (a POST with content type `application/json`)"
_KEY = "the webhook's Secret (you choose it in the webhook's settings), UTF-8 bytes"
_QUIRKS = (
    "only `POST` with `application/json` works: with `application/x-www-form-urlencoded` "
    "{name} signs the JSON inside the form, not the body sent, and a `GET` webhook sends "
    "no body to sign"
)

PRESETS: dict[str, Preset] = {
    "gitea": Preset(
        signature={
            **_SIGNATURE,
            "header": "x-gitea-signature",
            "id_header": "x-gitea-delivery",
        },
        summary={
            "headers": "`X-Gitea-Signature: <hex>`, `X-Gitea-Delivery`, `X-Gitea-Event`",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": _BYTES,
            "key": _KEY,
            "event id": "`X-Gitea-Delivery`" + UNSIGNED_ID,
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": _QUIRKS.format(name="Gitea"),
        },
    ),
    "forgejo": Preset(
        signature={
            **_SIGNATURE,
            # Forgejo sends both pairs, signed alike: either verifies (first present wins).
            "header": ["x-forgejo-signature", "x-gitea-signature"],
            "id_header": ["x-forgejo-delivery", "x-gitea-delivery"],
        },
        summary={
            "headers": "`X-Forgejo-Signature: <hex>`, `X-Forgejo-Delivery`, `X-Forgejo-Event` "
            "(also sent as `X-Gitea-*`, which is accepted too)",
            "signature": "HMAC-SHA256, lowercase hex, no prefix",
            "signed bytes": _BYTES,
            "key": _KEY,
            "event id": "`X-Forgejo-Delivery`" + UNSIGNED_ID,
            "timestamp": "none signed: replay protection is dedup only",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": _QUIRKS.format(name="Forgejo"),
        },
    ),
}
