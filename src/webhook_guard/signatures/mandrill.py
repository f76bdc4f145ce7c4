"""Mandrill's (Mailchimp Transactional's) ``X-Mandrill-Signature``: HMAC-SHA1 over the
webhook URL and the form parameters.

Mandrill's documented algorithm ("Authenticating webhook requests"): the webhook URL
exactly as entered in Mandrill, then each POST variable's key and value, sorted by key,
with no delimiter; HMAC-SHA1 under the webhook's key; base64. It is Twilio's form
scheme (:mod:`.twilio`) with three differences that make it stricter:

- only the exact URL is tried (Mandrill signs what was entered; the default-port toggle
  is a twilio-python quirk);
- the body must be an ``application/x-www-form-urlencoded`` form (Mandrill has no JSON
  variant);
- a parameter name sent twice is refused: Mandrill's reference code keys a map by name,
  so a repeated name has no one documented reading, and the frameworks behind the guard
  disagree on which value they give the app.

As for Twilio, a form is read only as every framework reads it (a single ``Content-Type``
naming no charset but UTF-8, no raw ``;`` in the body), and the URL is the wire bytes
(its query decoded as Latin-1 by the adapters, so encoded back as Latin-1).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from ..secrets import Secret
from .base import ParsedSignature
from .twilio import FORM, TwilioScheme


def form_suffix(body: bytes) -> bytes | None:
    """``name + value`` of each form parameter, sorted by name, as bytes; None when a
    name repeats, or the body has a raw ``;`` (a field separator to python-multipart
    before 0.0.21: see :mod:`.twilio`).

    Latin-1 maps bytes to code points one to one, so percent-escapes decode to the exact
    octets Mandrill signed; sorting the octets sorts the UTF-8 text alike.
    """
    if b";" in body:
        return None
    fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    params = {name.encode("latin-1"): value.encode("latin-1") for name, value in fields}
    if len(params) != len(fields):
        return None
    return b"".join(name + params[name] for name in sorted(params))


def _url(values: dict[str, str]) -> bytes:
    """The URL as sent: the path and query are the wire bytes decoded as Latin-1 (a query
    with raw UTF-8, as entered in Mandrill, stays those bytes)."""
    return values["url"].encode("latin-1", "replace")


class MandrillScheme(TwilioScheme):
    """``X-Mandrill-Signature`` (HMAC-SHA1, base64) over the URL and form parameters."""

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | None:
        if parsed.context != FORM:
            return None
        suffix = form_suffix(body)
        if suffix is None:
            return None
        return self.match(parsed, keys, (_url(values), suffix))

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        suffix = form_suffix(body)
        if suffix is None:
            raise ValueError(
                "a form parameter is repeated, or the body has a raw ';': Mandrill sends "
                "each parameter once, ';' as %3B"
            )
        digest = self._sign_bytes(key_secret, _url(values) + suffix)
        return {
            self.spec.headers[0]: base64.b64encode(digest).decode(),
            "content-type": FORM,
        }


__all__ = ["MandrillScheme", "form_suffix"]
