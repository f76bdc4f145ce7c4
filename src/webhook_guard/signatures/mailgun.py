"""Mailgun's webhook signature: an object in the body, not a header.

Mailgun (documentation.mailgun.com, "Securing Webhooks") posts
``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}``, where
``signature`` is the hex HMAC-SHA256 of ``timestamp + token`` (no separator) under the
HTTP webhook signing key, and a subaccount's event also carries ``parent-signature``,
the same under the primary account's key. Legacy webhooks and routes post the same three
fields as form parameters.

The signature covers the timestamp and the random token only, never ``event-data``: a
captured signature object verifies with any body until its timestamp leaves the window.
Mailgun therefore asks receivers to remember tokens: the route's replay check keys on
the token (once the signature over it verified), so each signed token is accepted once,
whichever of ``signature`` and ``parent-signature`` verified it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..request import WebhookRequest
from ..secrets import Secret
from ..verdict import Reason
from .base import Failure, HmacScheme, ParsedSignature

FORM = "application/x-www-form-urlencoded"
#: Longest token accepted (Mailgun's are 50 characters).
MAX_TOKEN = 256


def _fields(req: WebhookRequest) -> Mapping[str, Any] | str:
    """The signature fields of the body, or why there are none."""
    types = req.values(b"content-type")
    content_type = types[0].split(";")[0].strip().lower() if types else ""
    if content_type == FORM:
        try:
            pairs = parse_qsl(req.body.decode("latin-1"), keep_blank_values=True)
        except ValueError:
            return "the form body cannot be decoded"
        form: dict[str, Any] = {}
        for name, value in pairs:
            if name in ("timestamp", "token", "signature"):
                # A repeated field is ambiguous: which one would the app read?
                form[name] = None if name in form else value
        return form
    if content_type.startswith("multipart/"):
        return "multipart bodies (Mailgun routes with attachments) are not read"
    try:
        event = json.loads(req.body)
    except (ValueError, RecursionError):
        return "the body is not JSON (nor a form)"
    signature = event.get("signature") if isinstance(event, dict) else None
    if not isinstance(signature, dict):
        return "the body has no signature object"
    return signature


def _text(value: object) -> str | None:
    """A JSON string or non-negative integer as text (Mailgun's docs show both forms)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return None


class MailgunScheme(HmacScheme):
    """HMAC-SHA256 (hex) of ``timestamp + token``, both read from the body."""

    digest_is_match = False

    def __init__(self, spec: Any) -> None:
        super().__init__(spec)
        # The timestamp lives in the body, not in a header the generic parser reads.
        self.has_timestamp = True

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        parsed = ParsedSignature()
        fields = _fields(req)
        if isinstance(fields, str):
            parsed.failure = Failure(Reason.SIGNATURE_MISSING, fields)
            return parsed
        timestamp = _text(fields.get("timestamp"))
        if "timestamp" not in fields:
            parsed.ts_failure = Failure(Reason.TIMESTAMP_MISSING, "signature.timestamp is missing")
        elif timestamp is None:
            parsed.ts_failure = Failure(
                Reason.TIMESTAMP_MALFORMED, "signature.timestamp is not Unix seconds"
            )
        else:
            parsed.timestamp = timestamp
        token = fields.get("token")
        sent = [fields.get(k) for k in ("signature", "parent-signature") if k in fields]
        parsed.seen = len(sent)
        if not sent:
            parsed.failure = Failure(Reason.SIGNATURE_MISSING, "signature.signature is missing")
            return parsed
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or not token.isascii():
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED, "signature.token is missing or not ASCII text"
            )
            return parsed
        decoded = [self._decode(s) for s in sent if isinstance(s, str)]
        parsed.signatures = [d for d in decoded if d is not None]
        if not parsed.signatures:
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED,
                f"signature.signature is not a hex HMAC ({self.digest_size} bytes)",
            )
            return parsed
        parsed.context = token
        parsed.event_id = token
        return parsed

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | None:
        if parsed.timestamp is None:
            return None
        # surrogatepass: text from a \ud800 escape cannot verify, but must not raise.
        token = parsed.context.encode("utf-8", "surrogatepass")
        stamp = parsed.timestamp.encode("utf-8", "surrogatepass")
        matched = self.match(parsed, keys, (stamp, token))
        if matched is None:
            return None
        # The delivery's identity is its signed token, not the digest that matched: a
        # subaccount's event verifies by `signature` or by `parent-signature`, and a
        # replay stripped of one must still be the same delivery.
        return matched[0], hashlib.sha256(b"mailgun-token:" + token).digest()

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        raise ValueError(
            "mailgun signs inside the body, not in a header: use "
            "webhook_guard.testing.sign_body() for the signed body"
        )

    def sign_body(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> bytes:
        """``body`` (a JSON object, or a form) with the signature fields Mailgun adds,
        signed over ``values["timestamp"]`` and the token ``values["id"]``."""
        timestamp, token = values["timestamp"], values["id"]
        digest = self._sign_bytes(key_secret, f"{timestamp}{token}".encode())
        fields = {"timestamp": timestamp, "token": token, "signature": digest.hex()}
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError:  # a legacy form body: the fields are form parameters
            return body + (b"&" if body else b"") + urlencode(fields).encode()
        if not isinstance(event, dict):
            raise ValueError("the body must be a JSON object (or a form) to carry the signature")
        event["signature"] = fields
        return json.dumps(event, separators=(",", ":")).encode()
