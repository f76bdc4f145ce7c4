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

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from ..verdict import Reason
from .base import Failure
from .keyfetch import KeyFetcher, KeyUnavailable, paypal_certificate_url_ok
from .pubkey import fetched_certificate_key, verify_text
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


__all__ = ["AUTH_ALGO", "HEADERS", "PaypalDelivery", "signed_string", "verify_paypal"]
