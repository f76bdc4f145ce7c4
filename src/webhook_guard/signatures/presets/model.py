"""What a preset is: :class:`Preset`, and the pieces several presets share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base import ALGORITHMS as HMAC_ALGORITHMS


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
        token_source: where a token preset's token is: ``header`` (``token_header``'s
            whole value), ``basic`` (the password of Basic auth credentials) or
            ``clientstate`` (each Microsoft Graph notification's ``clientState``).
        ed25519: overrides applied when the route sets ``signature.algorithm: ed25519``.
        summary: docs-ready facts, keyed by topic.
        handshake: the endpoint check its provider makes, which the guard answers
            itself (a name in :data:`webhook_guard.pipeline.handshake.HANDSHAKES`).
        methods: methods that check uses besides the route's own (Meta's GET).
        tolerance: the timestamp window the provider documents, used unless the route
            sets its own ``tolerance`` (Twitch: 10 minutes).
        issued: the provider issues the secret itself (dashboard or API); a secret made
            by ``webhook-guard secret new`` only suits tests and local development.
        secret_shape: how ``secret new`` writes a test secret that looks like the
            provider's: a template with ``{hex}`` (64 random hex digits) or ``{base64}``
            (base64 of 24 random bytes); None: ``secret_prefix`` + ``{base64}`` for a
            base64 secret, else ``{hex}``.
        sent_headers: fixed headers the provider sends with every delivery, which
            ``testing.sign`` adds so the provider's own SDK accepts what it signs (Box's
            version and algorithm); the guard does not read them.
    """

    signature: Mapping[str, Any]
    event_id: str | Mapping[str, str] = "auto"
    token_header: str | None = None
    token_source: str = "header"
    ed25519: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, str] = field(default_factory=dict)
    handshake: str | None = None
    methods: tuple[str, ...] = ()
    tolerance: int | None = None
    issued: bool = False
    secret_shape: str | None = None
    sent_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def public_key(self) -> bool:
        """Whether the route's ``secrets`` are the provider's public keys (the provider
        signs with a private key no ``secret new`` can make)."""
        return self.signature.get("algorithm", "sha256") not in HMAC_ALGORITHMS


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

STANDARD: dict[str, Any] = {
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

HUB = {"algorithm": "sha256", "encoding": "hex", "prefix": "sha256=", "format": "plain"}

#: Stripe's header scheme, ``t=<ts>,v1=<hex>`` over ``{t}.{body}``, which others copied
#: (Calendly).
STRIPE_STYLE: dict[str, Any] = {
    "format": "kv",
    "separator": ",",
    "version": "v1",
    "timestamp_key": "t",
    "algorithm": "sha256",
    "encoding": "hex",
    "signed_content": "{timestamp}.{body}",
}

# Appended to the "event id" summary of presets whose ID header is outside the signature
# (see docs/architecture.md, "Event IDs and replay keys").
UNSIGNED_ID = "; the header is not signed, so the replay check keys on the verified signature"
