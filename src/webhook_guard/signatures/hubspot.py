"""HubSpot's ``X-HubSpot-Signature-v3``: HMAC-SHA256 (base64) of method + URI + body +
timestamp, with the URI's percent-escapes of a few reserved characters decoded first.

HubSpot's request-validation page lists the escapes to decode before signing (``%3A`` to
``:`` ... ``%3B`` to ``;``); nothing else is decoded, so the URI otherwise stays as the
request sent it. hubspot-api-python's ``Signature.get_signature`` takes the URI already
decoded by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..secrets import Secret
from .base import Failure, HmacScheme, ParsedSignature

#: The escapes HubSpot decodes in the URI it signs (its documented table).
DECODED = {
    "3A": ":",
    "2F": "/",
    "3F": "?",
    "40": "@",
    "21": "!",
    "24": "$",
    "27": "'",
    "28": "(",
    "29": ")",
    "2A": "*",
    "2C": ",",
    "3B": ";",
}
# Hex digits are case-insensitive in a percent-escape (RFC 3986 section 2.1).
_ESCAPE = re.compile("%(" + "|".join(DECODED) + ")", re.IGNORECASE)


def decode_uri(uri: str) -> str:
    """``uri`` with HubSpot's listed escapes decoded, and nothing else."""
    return _ESCAPE.sub(lambda m: DECODED[m.group(1).upper()], uri)


class HubSpotScheme(HmacScheme):
    """The generic template (``{method}{url}{body}{timestamp}``) over the decoded URI."""

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        return super().verify(parsed, body, {**values, "url": decode_uri(values["url"])}, keys)

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        return super().sign(key_secret, body, {**values, "url": decode_uri(values["url"])})
