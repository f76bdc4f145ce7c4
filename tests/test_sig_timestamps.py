"""Timestamps in seconds, milliseconds and RFC 3339, and the window check."""

from __future__ import annotations

import datetime

import pytest

from webhook_guard import Reason
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.timestamps import (
    MAX_LENGTH,
    check_window,
    parse_timestamp,
    timestamp_outcome,
)

NOW = 1_700_000_000


@pytest.mark.parametrize(
    ("raw", "form", "seconds"),
    [
        ("1700000000", "seconds", 1_700_000_000),
        ("0", "seconds", 0),
        # HubSpot v3 / WorkOS / Linear send milliseconds; fractions are dropped.
        ("1700000000999", "milliseconds", 1_700_000_000),
        ("1700000000000", "milliseconds", 1_700_000_000),
        # Twitch's example form, nanoseconds (dev.twitch.tv EventSub docs).
        ("2023-11-14T22:13:20.634234626Z", "rfc3339", 1_700_000_000),
        # AWS SNS Timestamp form, milliseconds (docs.aws.amazon.com/sns).
        ("2023-11-14T22:13:20.123Z", "rfc3339", 1_700_000_000),
        ("2023-11-14T22:13:20Z", "rfc3339", 1_700_000_000),
        ("2023-11-14t22:13:20z", "rfc3339", 1_700_000_000),
        ("2023-11-15T00:13:20+02:00", "rfc3339", 1_700_000_000),
        ("2023-11-14T18:43:20-03:30", "rfc3339", 1_700_000_000),
        ("2023-11-14 22:13:20Z", "rfc3339", 1_700_000_000),
        # A leap second counts as :59 rather than refusing a genuine delivery.
        ("2016-12-31T23:59:60Z", "rfc3339", 1_483_228_799),
    ],
)
def test_parses_each_form_to_seconds(raw: str, form: str, seconds: int) -> None:
    assert parse_timestamp(raw, form) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "form"),
    [
        ("", "seconds"),
        ("-1", "seconds"),
        ("1e9", "seconds"),
        (" 1700000000", "seconds"),
        ("1700000000.5", "seconds"),
        ("\u0661\u0667" + "\u0660" * 8, "seconds"),  # Arabic-Indic digits pass isdigit()
        ("1" * 13, "seconds"),
        ("1" * 16, "milliseconds"),
        ("0x10", "milliseconds"),
        ("1700000000", "rfc3339"),
        ("2023-11-14T22:13:20", "rfc3339"),  # no offset: ambiguous
        ("2023-13-14T22:13:20Z", "rfc3339"),
        ("2023-02-30T22:13:20Z", "rfc3339"),
        ("2023-11-14T25:13:20Z", "rfc3339"),
        ("2023-11-14T22:13:20+24:00", "rfc3339"),
        ("2023-11-14T22:13:20+05:60", "rfc3339"),
        ("2023-11-14T22:13:61Z", "rfc3339"),  # only a leap second (:60) is past :59
        ("2023-11-14T22:13:99Z", "rfc3339"),
        ("2023-11-14T22:13:20.1234567890Z", "rfc3339"),  # 10 fraction digits
        ("2023-11-14T22:13:20.Z", "rfc3339"),
        ("\uff12\uff10\uff12\uff13-11-14T22:13:20Z", "rfc3339"),  # full-width digits
        ("2023-11-14T22:13:20Z\n", "rfc3339"),
        ("2023-11-14T22:13:20Z" + "0" * 40, "rfc3339"),
    ],
)
def test_malformed_is_a_precise_failure_never_an_exception(raw: str, form: str) -> None:
    outcome = parse_timestamp(raw, form)  # type: ignore[arg-type]
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.TIMESTAMP_MALFORMED
    expected = {"seconds": "Unix seconds", "milliseconds": "milliseconds", "rfc3339": "RFC 3339"}
    assert expected[form] in outcome.detail


def test_length_is_bounded_before_parsing() -> None:
    assert isinstance(parse_timestamp("1" * (MAX_LENGTH + 1), "milliseconds"), Failure)
    assert isinstance(parse_timestamp("9" * 10_000_000, "rfc3339"), Failure)


def test_unknown_form_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown timestamp form"):
        parse_timestamp("1", "minutes")  # type: ignore[arg-type]


@pytest.mark.parametrize("age", [-301, -300, -1, 0, 1, 300, 301, 10**9])
def test_window_wording_is_the_guards_own(age: int) -> None:
    """The one window check the pipeline uses too: exact outcome and detail for any age."""
    ts = NOW - age
    ours = check_window(300, ts, NOW + 0.7)
    if abs(age) <= 300:
        assert ours == ts
    elif age > 0:
        assert ours == Failure(
            Reason.TIMESTAMP_TOO_OLD, f"timestamp is {age} s old; tolerance 300 s"
        )
    else:
        assert ours == Failure(
            Reason.TIMESTAMP_IN_FUTURE, f"timestamp is {-age} s in the future; tolerance 300 s"
        )


def test_milliseconds_and_rfc3339_go_through_the_same_window() -> None:
    stale_ms = str((NOW - 301) * 1000)
    outcome = timestamp_outcome(stale_ms, "milliseconds", 300, NOW)
    assert outcome == Failure(Reason.TIMESTAMP_TOO_OLD, "timestamp is 301 s old; tolerance 300 s")
    future = datetime.datetime.fromtimestamp(NOW + 400, datetime.timezone.utc)
    outcome = timestamp_outcome(future.isoformat(), "rfc3339", 300, NOW)
    assert outcome == Failure(
        Reason.TIMESTAMP_IN_FUTURE, "timestamp is 400 s in the future; tolerance 300 s"
    )
    assert timestamp_outcome(str(NOW * 1000), "milliseconds", 300, NOW) == NOW
    assert isinstance(timestamp_outcome("soon", "rfc3339", 300, NOW), Failure)
