"""Twilio's ``X-Twilio-Signature``: HMAC-SHA1 over the URL Twilio called plus the form.

Follows twilio-python ``RequestValidator.validate`` (docs/providers/twilio.md shows a
request it signed verifying):

- form POST: ``url + "".join(name + value)`` over the parameter names sorted, and each
  name's distinct values sorted;
- JSON body: Twilio appends ``?bodySHA256=<hex sha256(body)>`` to the URL and signs the
  URL alone; the hash must then match the raw body (any other body without that hash is
  refused: the signature would not cover it);
- the URL is tried as configured and with the default port toggled, because Twilio's
  own signing is inconsistent about ``:443`` (twilio-python#392).

A form is read only as every framework behind the guard reads it: a ``Content-Type`` sent
once, with no parameter but ``charset=utf-8`` (Django 4.2 decodes a form in the
charset the sender names, unsigned, so ``charset=unicode_escape`` or ``utf-7`` turned a
verified value's escapes into other text), and a body with no raw ``;`` (python-multipart
before 0.0.21, behind Starlette and FastAPI, splits fields there too). A sender's form
encoder writes ``;`` as ``%3B`` and names no other charset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from ..request import WebhookRequest
from ..secrets import Secret
from .base import HmacScheme, ParsedSignature

FORM = "application/x-www-form-urlencoded"


def _form_suffix(body: bytes) -> bytes | None:
    """The sorted ``name + value`` octets of a form body; None when it has a raw ``;``,
    which some frameworks take for a field separator (see the module docstring)."""
    if b";" in body:
        return None
    # Latin-1 maps bytes to code points one to one, so percent-escapes decode to the exact
    # octets Twilio signed (and nothing can fail to decode); UTF-8 byte order equals
    # code-point order, so sorting the octets matches twilio-python's sort of the text.
    grouped: dict[bytes, set[bytes]] = {}
    text = body.decode("latin-1")
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        grouped.setdefault(name.encode("latin-1"), set()).add(value.encode("latin-1"))
    return b"".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))


def _url_variants(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port
    except ValueError:
        return (url,)
    host = parts.netloc.rpartition(":")[0] if port is not None else parts.netloc
    if port is None:
        other = parts._replace(netloc=f"{host}:{default}").geturl()
    elif port == default:
        other = parts._replace(netloc=host).geturl()
    else:
        return (url,)
    return (url, other)


def _body_hash(url: str) -> str | None:
    hashes = parse_qs(urlsplit(url).query).get("bodySHA256")
    return hashes[0] if hashes else None


#: What a request's Content-Type is taken for when frameworks could read its body other
#: than the guard does: never the form type.
UNREADABLE = "unreadable"


def body_type(types: list[str] | None) -> str:
    """The media type of a request's ``Content-Type`` lines, lower case; ``UNREADABLE``
    when it is sent more than once, or names a parameter other than ``charset=utf-8``
    (frameworks disagree on which line counts, and Django 4.2 decodes a form in
    the charset named: see the module docstring)."""
    if not types:
        return ""
    if len(types) != 1:
        return UNREADABLE
    media, *params = types[0].split(";")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            return UNREADABLE
    return media.strip().lower()


class TwilioScheme(HmacScheme):
    """``X-Twilio-Signature`` (HMAC-SHA1, base64) over the URL and form parameters."""

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        parsed = super().parse(req)
        parsed.context = body_type(req.values(b"content-type"))
        return parsed

    def _message(self, url: str, body: bytes, content_type: str) -> bytes | None:
        """The bytes after the URL, or None when the signature cannot cover the body: it
        does not match bodySHA256, or it is neither a form nor hashed in the URL, or it is
        a form the app's framework could read otherwise (see the module docstring)."""
        expected = _body_hash(url)
        if expected is not None:
            actual = hashlib.sha256(body).hexdigest()
            return b"" if hmac.compare_digest(actual, expected.lower()) else None
        if content_type == FORM:
            return _form_suffix(body)
        # Twilio signs such a body only through bodySHA256. Without it the signature would
        # cover the URL alone, and one captured from a parameterless request would carry
        # any body the sender likes (twilio-python accepts that; the guard does not).
        return None if body else b""

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | None:
        url = values["url"]
        suffix = self._message(url, body, parsed.context)
        if suffix is None:
            return None
        for variant in _url_variants(url):
            matched = self.match(parsed, keys, (variant.encode(), suffix))
            if matched is not None:
                return matched
        return None

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        url = values["url"]
        json_body = _body_hash(url) is not None
        content_type = "application/json" if json_body else FORM
        suffix = self._message(url, body, content_type)
        if suffix is None:
            raise ValueError(
                "the URL's bodySHA256 does not match the body, or the form has a raw ';' "
                "(Twilio sends it as %3B)"
            )
        digest = self._sign_bytes(key_secret, url.encode() + suffix)
        headers = {
            self.spec.headers[0]: base64.b64encode(digest).decode(),
            "content-type": content_type,
        }
        id_header = self.spec.id_headers[0] if self.spec.id_headers else None
        if id_header and "id" in values:
            headers[id_header] = values["id"]
        return headers
