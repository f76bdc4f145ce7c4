"""Signed timestamps in the forms providers send, and the freshness window.

Unix seconds (most providers), Unix milliseconds (HubSpot v3, WorkOS, Linear) and
RFC 3339 date-times (Twitch's ``Twitch-Eventsub-Message-Timestamp``, AWS SNS's
``Timestamp``) all become whole Unix seconds, so one window check serves every preset.
Parsing never raises: anything that is not exactly the expected form is a
``timestamp_malformed`` failure whose detail says which form was expected.
"""

from __future__ import annotations

import datetime
import re
from typing import Literal

from ..verdict import Reason
from .base import Failure

TimestampForm = Literal["seconds", "milliseconds", "rfc3339"]
FORMS: tuple[TimestampForm, ...] = ("seconds", "milliseconds", "rfc3339")

#: Longest timestamp text examined; anything longer is malformed without parsing.
MAX_LENGTH = 40

_DIGITS = {"seconds": 12, "milliseconds": 15}
# RFC 3339 section 5.6 "date-time", with up to 9 fraction digits (Twitch sends
# nanoseconds). [0-9], not \d: \d also matches non-ASCII digits.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]{1,9})?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_EXPECTED = {
    "seconds": "Unix seconds: 1 to 12 ASCII digits",
    "milliseconds": "Unix milliseconds: 1 to 15 ASCII digits",
    "rfc3339": "an RFC 3339 date-time such as 2026-01-31T04:37:04.321Z",
}


def parse_timestamp(raw: str, form: TimestampForm) -> int | Failure:
    """The timestamp ``raw`` in whole Unix seconds (fractions dropped), or the failure.

    Args:
        raw: the text from the header or body, untrusted.
        form: which of :data:`FORMS` the provider sends.
    """
    if form not in _EXPECTED:
        raise ValueError(f"unknown timestamp form {form!r} (known: {', '.join(FORMS)})")
    if len(raw) > MAX_LENGTH or not raw.isascii():
        return _malformed(form)
    if form != "rfc3339":
        if not (raw.isdigit() and len(raw) <= _DIGITS[form]):
            return _malformed(form)
        value = int(raw)
        return value // 1000 if form == "milliseconds" else value
    malformed = _malformed(form)
    match = _RFC3339.fullmatch(raw)
    if match is None:
        return malformed
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zulu, sign, off_h, off_m = match.groups()[6:]
    # RFC 3339 allows a leap second (:60) and nothing past it; datetime allows neither.
    # Counting :60 as :59 keeps a genuine delivery sent in that second.
    if second > 60:
        return malformed
    second = min(second, 59)
    try:
        tz = datetime.timezone.utc
        if not zulu:
            if int(off_h) > 23 or int(off_m) > 59:
                return malformed
            offset = datetime.timedelta(hours=int(off_h), minutes=int(off_m))
            tz = datetime.timezone(-offset if sign == "-" else offset)
        moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:  # month 13, February 30, hour 25...
        return malformed
    return int(moment.timestamp())


def format_timestamp(seconds: int, form: TimestampForm) -> str:
    """``seconds`` written as a provider sends it in ``form`` (for signing test requests);
    RFC 3339 in UTC with ``Z`` and no fraction (PayPal's form; Twitch adds nanoseconds,
    which the parser reads too)."""
    if form == "milliseconds":
        return str(seconds * 1000)
    if form == "rfc3339":
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    return str(seconds)


def _malformed(form: TimestampForm) -> Failure:
    # Built only on failure: a genuine delivery pays for no detail text (~0.3 us).
    return Failure(Reason.TIMESTAMP_MALFORMED, f"the timestamp must be {_EXPECTED[form]}")


def check_window(tolerance: int, ts: int, now: float) -> Failure | int:
    """``ts`` (Unix seconds) if it is within ``tolerance`` seconds of ``now``, else why not.

    The wording is the guard's own for Unix-second timestamps, so a refusal reads the
    same whichever form the provider sent.
    """
    age = int(now) - ts
    if age > tolerance:
        return Failure(
            Reason.TIMESTAMP_TOO_OLD, f"timestamp is {age} s old; tolerance {tolerance} s"
        )
    if -age > tolerance:
        return Failure(
            Reason.TIMESTAMP_IN_FUTURE,
            f"timestamp is {-age} s in the future; tolerance {tolerance} s",
        )
    return ts


def timestamp_outcome(raw: str, form: TimestampForm, tolerance: int, now: float) -> Failure | int:
    """Parse ``raw`` in ``form`` and check it is within the window: seconds, or the failure."""
    ts = parse_timestamp(raw, form)
    if isinstance(ts, Failure):
        return ts
    return check_window(tolerance, ts, now)


__all__ = [
    "FORMS",
    "MAX_LENGTH",
    "TimestampForm",
    "check_window",
    "format_timestamp",
    "parse_timestamp",
    "timestamp_outcome",
]
