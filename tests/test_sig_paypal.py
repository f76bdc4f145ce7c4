"""PayPal: SHA256withRSA over id|time|webhook_id|crc32(body), certificate from a PayPal host."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Reason
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.keyfetch import (
    KeyFetcher,
    KeyUnavailable,
    paypal_certificate_url_ok,
)
from webhook_guard.signatures.paypal import PaypalDelivery, signed_string, verify_paypal
from webhook_guard.signatures.testkeys import KeyPair, keypair, sign_paypal

from .keyserver import key_server

HOST = "api.paypal.com"
CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
CERT_URL = f"https://{HOST}{CERT_PATH}"
WEBHOOK_ID = "9XL90610J3647323C"
BODY = b'{"id":"WH-9UG43882HX7271132-6E0871324L7949614","event_type":"PAYMENT.SALE.COMPLETED"}'
NOW = 1_455_825_695  # 2016-02-18T20:01:35Z, the default transmission time


def test_signed_string_is_the_documented_form() -> None:
    crc = zlib.crc32(BODY) & 0xFFFFFFFF
    assert signed_string("tid", "2016-02-18T20:01:35Z", WEBHOOK_ID, BODY) == (
        f"tid|2016-02-18T20:01:35Z|{WEBHOOK_ID}|{crc}".encode()
    )
    # The CRC is unsigned decimal even when its top bit is set.
    assert signed_string("t", "x", "w", b"\xff" * 4) == b"t|x|w|4294967295"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (CERT_URL, True),
        (f"https://api.sandbox.paypal.com{CERT_PATH}", True),
        (f"https://api-m.paypal.com{CERT_PATH}", True),
        (f"https://api-m.sandbox.paypal.com{CERT_PATH}", True),
        (f"https://evil.com{CERT_PATH}", False),
        (f"https://api.paypal.com.evil.com{CERT_PATH}", False),
        (f"https://evilpaypal.com{CERT_PATH}", False),
        (f"https://www.paypal.com{CERT_PATH}", False),
        (f"http://{HOST}{CERT_PATH}", False),
        (f"https://{HOST}:8443{CERT_PATH}", False),
        (f"https://x@{HOST}{CERT_PATH}", False),
        (f"https://{HOST}/v1/notifications/certs/../../oauth2/token", False),
        (f"https://{HOST}{CERT_PATH}?a=b", False),
    ],
)
def test_certificate_url_pin(url: str, ok: bool) -> None:
    assert paypal_certificate_url_ok(url) is ok


@pytest.fixture
def paypal(tmp_path: Path) -> Iterator[tuple[list[str], KeyPair, KeyFetcher]]:
    pair = keypair("paypal")
    with key_server(tmp_path, names=(HOST, "api.sandbox.paypal.com")) as server:
        server.serve(CERT_PATH, pair.public_key)
        fetcher = KeyFetcher(
            paypal_certificate_url_ok,
            pins={HOST: ("127.0.0.1", server.port)},
            ssl_context=server.client_context(),
        )
        yield server.requests, pair, fetcher


def check(fetcher: KeyFetcher, headers: dict[str, str], body: bytes = BODY) -> Any:
    return verify_paypal(headers, body, fetcher, webhook_id=WEBHOOK_ID, tolerance=300, now=NOW)


def test_a_signed_delivery_verifies(paypal: tuple[list[str], KeyPair, KeyFetcher]) -> None:
    requests, pair, fetcher = paypal
    headers = sign_paypal(pair, BODY, webhook_id=WEBHOOK_ID, cert_url=CERT_URL)
    outcome = check(fetcher, headers)
    assert outcome == PaypalDelivery("69cd13f0-d67a-11e5-baa3-778b53f4ae55", NOW)
    assert requests == [CERT_PATH]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY + b" "}, Reason.SIGNATURE_MISMATCH),
        ({"webhook_id": "OTHERACCOUNTWEBHOOK"}, Reason.SIGNATURE_MISMATCH),
        ({"paypal-transmission-id": "another"}, Reason.SIGNATURE_MISMATCH),
        ({"paypal-transmission-id": "a|b"}, Reason.SIGNATURE_MALFORMED),
        ({"paypal-transmission-sig": ""}, Reason.SIGNATURE_MISSING),
        ({"paypal-transmission-sig": "%%%"}, Reason.SIGNATURE_MALFORMED),
        (
            {"paypal-transmission-sig": base64.b64encode(bytes(256)).decode()},
            Reason.SIGNATURE_MISMATCH,
        ),
        ({"paypal-auth-algo": "SHA1withRSA"}, Reason.SIGNATURE_MALFORMED),
        ({"paypal-cert-url": f"https://evil.com{CERT_PATH}"}, Reason.SIGNATURE_MALFORMED),
        ({"paypal-transmission-time": ""}, Reason.TIMESTAMP_MISSING),
        ({"paypal-transmission-time": "2016-02-18T19:01:35Z"}, Reason.TIMESTAMP_TOO_OLD),
        ({"paypal-transmission-time": "2016-02-18T21:01:35Z"}, Reason.TIMESTAMP_IN_FUTURE),
        ({"paypal-transmission-time": "yesterday"}, Reason.TIMESTAMP_MALFORMED),
    ],
)
def test_tampering_is_refused(
    paypal: tuple[list[str], KeyPair, KeyFetcher], change: dict[str, str], reason: Reason
) -> None:
    _, pair, fetcher = paypal
    webhook_id = change.pop("webhook_id", WEBHOOK_ID)
    body = change.pop("body", BODY)  # type: ignore[arg-type]
    headers = sign_paypal(pair, BODY, webhook_id=webhook_id, cert_url=CERT_URL)
    headers.update(change)
    outcome = check(fetcher, headers, body)  # type: ignore[arg-type]
    assert isinstance(outcome, Failure), outcome
    assert outcome.reason is reason


def test_attackers_own_certificate_is_never_fetched(
    paypal: tuple[list[str], KeyPair, KeyFetcher],
) -> None:
    requests, _, fetcher = paypal
    attacker = keypair("paypal")
    headers = sign_paypal(
        attacker, BODY, webhook_id=WEBHOOK_ID, cert_url="https://attacker.example/cert.pem"
    )
    assert isinstance(check(fetcher, headers), Failure)
    assert requests == []


def test_missing_certificate_is_key_unavailable(
    paypal: tuple[list[str], KeyPair, KeyFetcher],
) -> None:
    _, pair, fetcher = paypal
    url = f"https://{HOST}/v1/notifications/certs/CERT-gone"
    outcome = check(fetcher, sign_paypal(pair, BODY, webhook_id=WEBHOOK_ID, cert_url=url))
    assert outcome == KeyUnavailable(f"fetching {url} answered HTTP 404")
