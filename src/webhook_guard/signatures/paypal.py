"""PayPal webhooks: SHA256withRSA over ``id|time|webhook_id|crc32(body)``, certificate fetched.

https://developer.paypal.com/api/rest/webhooks/rest/ ("verify the signature" offline):
PayPal sends ``PAYPAL-TRANSMISSION-ID``, ``PAYPAL-TRANSMISSION-TIME`` (RFC 3339),
``PAYPAL-TRANSMISSION-SIG`` (base64), ``PAYPAL-AUTH-ALGO`` (``SHA256withRSA``) and
``PAYPAL-CERT-URL``. The signed string is the transmission ID, the transmission time,
the receiver's own webhook ID (from the PayPal dashboard) and the unsigned decimal CRC32
of the raw body, joined by ``|``. Because the webhook ID is the receiver's, a delivery
signed for another PayPal account's webhook does not verify here.

The certificate comes only from a PayPal API host (:func:`.keyfetch.paypal_certificate_url_ok`).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..request import WebhookRequest
from ..secrets import Secret
from ..verdict import Reason
from .base import Failure, ParsedSignature, SignatureSpec
from .keyfetch import NO_FETCHER, KeyFetcher, KeyUnavailable, paypal_certificate_url_ok
from .pubkey import fetched_certificate_key, verify_signature, verify_text
from .pubkey_scheme import PublicKeyScheme
from .timestamps import timestamp_outcome

#: The one algorithm PayPal documents and sends.
AUTH_ALGO = "SHA256withRSA"
HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-auth-algo",
    "paypal-cert-url",
)


@dataclass(frozen=True)
class PaypalDelivery:
    """A verified PayPal delivery."""

    transmission_id: str
    timestamp: int
    """Unix seconds of ``PAYPAL-TRANSMISSION-TIME``."""


def signed_string(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """The bytes PayPal signs for one delivery."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def verify_paypal(
    headers: Mapping[str, str],
    body: bytes,
    fetcher: KeyFetcher,
    *,
    webhook_id: str,
    tolerance: int,
    now: float,
) -> PaypalDelivery | Failure | KeyUnavailable:
    """Verify a PayPal delivery.

    Args:
        headers: the request headers, names in lower case.
        fetcher: built with ``allowed=paypal_certificate_url_ok``; checked again here.
        webhook_id: the route's webhook ID as the PayPal dashboard shows it.
        tolerance: seconds either side of ``now`` the transmission time may be.
    """
    tid, stamp, sig, algo, cert_url = (headers.get(h) for h in HEADERS)
    if not sig:
        return Failure(Reason.SIGNATURE_MISSING, "no PAYPAL-TRANSMISSION-SIG header")
    if not tid or len(tid) > 100 or "|" in tid:
        return Failure(Reason.SIGNATURE_MALFORMED, "PAYPAL-TRANSMISSION-ID is missing or invalid")
    if algo != AUTH_ALGO:
        return Failure(Reason.SIGNATURE_MALFORMED, f"PAYPAL-AUTH-ALGO must be {AUTH_ALGO}")
    if not (cert_url and paypal_certificate_url_ok(cert_url)):
        return Failure(
            Reason.SIGNATURE_MALFORMED,
            "PAYPAL-CERT-URL is not https://api.paypal.com/v1/notifications/certs/CERT-...",
        )
    if not stamp:
        return Failure(Reason.TIMESTAMP_MISSING, "no PAYPAL-TRANSMISSION-TIME header")
    ts = timestamp_outcome(stamp, "rfc3339", tolerance, now)
    if isinstance(ts, Failure):
        return ts
    key = fetched_certificate_key(fetcher, cert_url, "rsa-sha256")
    if isinstance(key, KeyUnavailable):
        return key
    failure = verify_text(key, "rsa-sha256", sig, signed_string(tid, stamp, webhook_id, body))
    if failure is not None:
        return failure
    return PaypalDelivery(transmission_id=tid, timestamp=ts)


#: Where a test's (and :func:`webhook_guard.testing.sign`'s) PayPal requests say the
#: certificate is; serve ``keypair("paypal").public_key`` there.
TEST_CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test"


class PaypalScheme(PublicKeyScheme):
    """``provider: paypal``: SHA256withRSA over ``id|time|webhook_id|crc32(body)``, with
    the certificate PayPal names in ``PAYPAL-CERT-URL`` fetched from a PayPal API host.

    The transmission ID and time are in the signed string, so they are this scheme's
    ``{id}``/``{timestamp}`` fields; the route's ``signature.webhook_id`` is the rest.
    """

    fetched_key_label = "paypal"
    weak_body = True

    def __init__(self, spec: SignatureSpec, fetcher: KeyFetcher | None = None) -> None:
        super().__init__(spec)
        self.fields = frozenset({"id", "timestamp"})
        self.webhook_id = spec.webhook_id or ""
        self.fetcher = fetcher

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        parsed = super().parse(req)
        if parsed.failure is not None:
            return parsed
        algo, cert_url = (_one(req, name) for name in ("paypal-auth-algo", "paypal-cert-url"))
        if algo != AUTH_ALGO:
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED, f"PAYPAL-AUTH-ALGO must be {AUTH_ALGO}"
            )
        elif cert_url is None or not paypal_certificate_url_ok(cert_url):
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED,
                "PAYPAL-CERT-URL is not https://api.paypal.com/v1/notifications/certs/CERT-...",
            )
        elif parsed.event_id is not None and (len(parsed.event_id) > 100 or "|" in parsed.event_id):
            # "|" separates the signed fields: an ID holding one could shift them.
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED, "PAYPAL-TRANSMISSION-ID is invalid"
            )
        parsed.payload = cert_url
        return parsed

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        if self.fetcher is None:
            return NO_FETCHER.failure()
        key = fetched_certificate_key(self.fetcher, parsed.payload, "rsa-sha256")
        if isinstance(key, KeyUnavailable):
            return key.failure()
        signed = signed_string(values["id"], values["timestamp"], self.webhook_id, body)
        for sig in parsed.signatures:
            if verify_signature(key, "rsa-sha256", sig, signed) is None:
                return Secret(b"", self.fetched_key_label), hashlib.sha256(signed).digest()
        return None

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        """PayPal's headers for ``body``, signed with the private key in ``key_secret``,
        naming :data:`TEST_CERT_URL` as the certificate."""
        from .testkeys import sign

        message = signed_string(values["id"], values["timestamp"], self.webhook_id, body)
        signature = sign("rsa-sha256", key_secret.reveal().decode(), message)
        return {
            "paypal-transmission-id": values["id"],
            "paypal-transmission-time": values["timestamp"],
            "paypal-transmission-sig": base64.b64encode(signature).decode(),
            "paypal-auth-algo": AUTH_ALGO,
            "paypal-cert-url": TEST_CERT_URL,
        }


def _one(req: WebhookRequest, name: str) -> str | None:
    lines = req.values(name.encode())
    return lines[0] if lines is not None and len(lines) == 1 else None


__all__ = [
    "AUTH_ALGO",
    "HEADERS",
    "TEST_CERT_URL",
    "PaypalDelivery",
    "PaypalScheme",
    "signed_string",
    "verify_paypal",
]
