"""Request text that cannot be encoded or parsed the usual way gets a verdict, never an
exception (a 500 with no log line or audit record): found by a review of the newest
presets, each case a refusal or a reported pass-through before the fix raised."""

from __future__ import annotations

import base64
import json

import pytest

from webhook_guard import Guard, Reason, WebhookRequest
from webhook_guard.testing import FakeClock, StaticKeyFetcher

CLOCK = FakeClock(1_700_000_000)
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/"
    "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
)


def guard(route: dict[str, object], **kwargs: object) -> Guard:
    route = {"name": "r", "path": "/r", **route}
    return Guard.from_dict({"version": 1, "routes": [route]}, clock=CLOCK, **kwargs)  # type: ignore[arg-type]


def test_a_lone_surrogate_in_an_sns_message_is_refused_not_raised() -> None:
    g = guard(
        {"provider": "sns", "signature": {"topics": [SNS_TOPIC]}},
        key_fetcher=StaticKeyFetcher({}),
    )
    message = {
        "Type": "Notification", "MessageId": "m1", "TopicArn": SNS_TOPIC,
        "Message": "\ud800", "Timestamp": "2023-11-14T22:13:20.000Z",
        "SignatureVersion": "2", "Signature": base64.b64encode(b"\0" * 256).decode(),
        "SigningCertURL": CERT_URL,
    }  # fmt: skip
    body = json.dumps(message).encode()  # "\ud800" as an escape: valid JSON text
    verdict = g.check(WebhookRequest("POST", "/r", body=body))
    assert not verdict.ok
    assert verdict.reason is not None


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_a_lone_surrogate_in_mailguns_timestamp_is_refused_or_reported(mode: str) -> None:
    g = guard({"provider": "mailgun", "mode": mode, "secrets": ["key-abc"]})
    body = b'{"signature":{"timestamp":"\\ud800","token":"tok","signature":"' + b"00" * 32
    body += b'"}}'
    verdict = g.check(WebhookRequest("POST", "/r", body=body))
    if mode == "enforce":
        assert verdict.reason is Reason.TIMESTAMP_MALFORMED
    else:
        assert verdict.ok
        assert Reason.TIMESTAMP_MALFORMED in verdict.reported
        assert Reason.SIGNATURE_MISMATCH in verdict.reported


def test_a_lone_surrogate_event_id_is_hashed_not_raised() -> None:
    g = guard({"provider": "standard", "mode": "report", "event_id": {"json": "/id"},
               "secrets": ["whsec_" + base64.b64encode(b"k" * 32).decode()]})  # fmt: skip
    verdict = g.check(WebhookRequest("POST", "/r", body=b'{"id":"\\ud800"}'))
    assert verdict.ok  # reported: unsigned
    assert Reason.SIGNATURE_MISSING in verdict.reported


@pytest.mark.parametrize(
    ("provider", "method", "extra"),
    [("msgraph", "POST", {"secrets": ["0123456789abcdef"]}),
     ("meta", "GET", {"secrets": ["0123456789abcdef"], "handshake": {"verify_token": "t"}})],
)  # fmt: skip
def test_a_query_of_many_fields_is_no_check_and_no_exception(
    provider: str, method: str, extra: dict[str, object]
) -> None:
    g = guard({"provider": provider, **extra})
    many = "&".join(f"f{i}=v" for i in range(40)) + "&validationToken=x&hub.mode=subscribe"
    verdict = g.check(WebhookRequest(method, "/r", query=many, body=b"{}"))
    assert not verdict.ok
    assert verdict.reason is not Reason.HANDSHAKE


def test_report_mode_does_not_answer_a_check_enforce_mode_would_refuse() -> None:
    """A dry run must show the refusal: a Graph check in a method the route does not allow
    is passed on as reported, not answered as a handshake."""
    g = guard({"provider": "msgraph", "mode": "report", "secrets": ["0123456789abcdef"]})
    verdict = g.check(WebhookRequest("DELETE", "/r", query="validationToken=hello"))
    assert verdict.reason is not Reason.HANDSHAKE
    assert Reason.METHOD_NOT_ALLOWED in verdict.reported
    enforced = guard({"provider": "msgraph", "secrets": ["0123456789abcdef"]})
    assert enforced.check(WebhookRequest("POST", "/r", query="validationToken=hello")).answer
