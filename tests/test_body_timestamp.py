"""``signature.timestamp_json``: a timestamp inside the signed body (Linear's
``webhookTimestamp``), read only once the signature verified, with the same window and
the same precise ``timestamp_*`` reasons as a header timestamp."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from webhook_guard import ConfigError, Guard, Reason, WebhookRequest

from .conftest import NOW, GuardFactory

SECRET = "body-ts-secret"
MS = int(NOW) * 1000


def route(**signature: Any) -> dict[str, Any]:
    return {
        "name": "bts",
        "path": "/hooks/bts",
        "secrets": [SECRET],
        "tolerance": 60,
        "signature": {
            "header": "x-sig",
            "timestamp_json": "/meta/sent_at",
            "timestamp_format": "milliseconds",
            **signature,
        },
    }


def deliver(guard: Guard, body: bytes, secret: str = SECRET) -> Any:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return guard.check(WebhookRequest("POST", "/hooks/bts", headers={"x-sig": sig}, body=body))


def body_with(stamp: object) -> bytes:
    return json.dumps({"id": "e1", "meta": {"sent_at": stamp}}).encode()


def test_fresh_body_timestamp_passes_and_is_reported(make_guard: GuardFactory) -> None:
    verdict = deliver(make_guard(route()), body_with(MS + 999))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == int(NOW)


def test_a_string_timestamp_is_read_too(make_guard: GuardFactory) -> None:
    assert deliver(make_guard(route()), body_with(str(MS))).ok


@pytest.mark.parametrize(
    ("offset_ms", "reason"),
    [(-61_000, Reason.TIMESTAMP_TOO_OLD), (61_000, Reason.TIMESTAMP_IN_FUTURE)],
)
def test_stale_and_future_body_timestamps(
    make_guard: GuardFactory, offset_ms: int, reason: Reason
) -> None:
    verdict = deliver(make_guard(route()), body_with(MS + offset_ms))
    assert verdict.reason is reason, verdict.detail
    assert "61 s" in verdict.detail


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (json.dumps({"id": "e1"}).encode(), Reason.TIMESTAMP_MISSING, "/meta/sent_at"),
        (body_with(None), Reason.TIMESTAMP_MISSING, "/meta/sent_at"),
        (b"not json", Reason.TIMESTAMP_MISSING, "/meta/sent_at"),
        (body_with(1.7e12), Reason.TIMESTAMP_MALFORMED, "float"),
        (body_with(True), Reason.TIMESTAMP_MALFORMED, "bool"),
        (body_with({"ms": MS}), Reason.TIMESTAMP_MALFORMED, "dict"),
        (body_with("-5"), Reason.TIMESTAMP_MALFORMED, "milliseconds"),
        (body_with("1" * 30), Reason.TIMESTAMP_MALFORMED, "milliseconds"),
    ],
)
def test_missing_and_malformed_body_timestamps(
    make_guard: GuardFactory, body: bytes, reason: Reason, words: str
) -> None:
    verdict = deliver(make_guard(route()), body)
    assert verdict.reason is reason, verdict.detail
    assert words in verdict.detail


def test_the_body_is_not_read_before_the_signature_verified(make_guard: GuardFactory) -> None:
    # A forged body with a stale timestamp is a signature failure, never a timestamp
    # verdict that would tell the sender which bodies parse.
    verdict = deliver(make_guard(route()), body_with(MS - 10**9), secret="another secret")
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_report_mode_records_a_stale_body_timestamp(make_guard: GuardFactory) -> None:
    verdict = deliver(make_guard({**route(), "mode": "report"}), body_with(MS - 61_000))
    assert verdict.ok
    assert verdict.reported == (Reason.TIMESTAMP_TOO_OLD,)
    assert verdict.timestamp is None


def test_timestamp_json_with_a_timestamp_header_is_a_config_error(
    make_guard: GuardFactory,
) -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.signature\.timestamp_json"):
        make_guard(route(timestamp_header="x-ts"))


def test_timestamp_json_cannot_feed_the_signed_template(make_guard: GuardFactory) -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.signature\.signed_content"):
        make_guard(route(signed_content="{timestamp}.{body}"))


def test_timestamp_json_must_be_a_pointer(make_guard: GuardFactory) -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.signature\.timestamp_json"):
        make_guard(route(timestamp_json="webhookTimestamp"))
