"""Provider handshakes: the answer each provider documents, and nothing for look-alikes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_guard import Reason
from webhook_guard.signatures import handshakes
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.handshakes import (
    JSON,
    MAX_CHALLENGE,
    MAX_CHECK_BODY,
    TEXT,
    HandshakeAnswer,
)


def test_slack_url_verification() -> None:
    # The request body Slack documents (api.slack.com/events/url_verification).
    body = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    assert handshakes.slack(body) == HandshakeAnswer(
        b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", TEXT
    )
    assert handshakes.slack(b'{"type":"event_callback","challenge":"x"}') is None


def test_zoom_url_validation_matches_the_documented_hmac() -> None:
    secret = b"zoom-secret-token"
    body = json.dumps(
        {"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event": "endpoint.url_validation"}
    ).encode()
    answer = handshakes.zoom(body, secret)
    assert answer is not None
    assert answer.content_type == JSON
    expected = hmac.new(secret, b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(answer.body) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }
    assert handshakes.zoom(b'{"event":"meeting.started","payload":{}}', secret) is None
    assert handshakes.zoom(b'{"event":"endpoint.url_validation","payload":[]}', secret) is None


def test_twitch_callback_verification() -> None:
    body = b'{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2"}}'
    answer = handshakes.twitch("webhook_callback_verification", body)
    assert answer == HandshakeAnswer(b"pogchamp-kappa-360noscope-vohiyo", TEXT)
    assert handshakes.twitch("notification", body) is None
    assert handshakes.twitch(None, body) is None


def test_discord_ping() -> None:
    assert handshakes.discord(b'{"type":1,"id":"x"}') == HandshakeAnswer(b'{"type":1}', JSON)
    for body in (b'{"type":2}', b'{"type":true}', b'{"type":"1"}', b"[1]", b"1"):
        assert handshakes.discord(body) is None, body


def test_meta_verification_with_the_routes_token() -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "meatyhamhock",
        "hub.challenge": "1158201444",
    }
    assert handshakes.meta(query, b"meatyhamhock") == HandshakeAnswer(b"1158201444", TEXT)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, Reason.TOKEN_MISSING),
        (
            {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
            Reason.TOKEN_MISSING,
        ),
        (
            {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
            Reason.TOKEN_INVALID,
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "meatyhamhock"}, Reason.TOKEN_INVALID),
        (
            {"hub.mode": "subscribe", "hub.verify_token": "meatyhamhock", "hub.challenge": "<b>"},
            None,
        ),
    ],
)
def test_meta_refuses_wrong_tokens(query: dict[str, str], reason: Reason | None) -> None:
    outcome = handshakes.meta(query, b"meatyhamhock")
    if reason is None:  # visible ASCII is echoed as text/plain, never as HTML
        assert outcome == HandshakeAnswer(b"<b>", TEXT)
        return
    assert isinstance(outcome, Failure)
    assert outcome.reason is reason
    assert "meatyhamhock" not in outcome.detail


def test_meta_token_with_lone_surrogates_is_refused_not_raised() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "\ud800\udcff", "hub.challenge": "1"}
    outcome = handshakes.meta(query, b"meatyhamhock")
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.TOKEN_INVALID


def test_meta_ignores_requests_that_are_not_a_subscribe() -> None:
    assert handshakes.meta({}, b"t") is None
    assert handshakes.meta({"hub.mode": "unsubscribe", "hub.verify_token": "t"}, b"t") is None


def test_okta_one_time_verification() -> None:
    headers = {"x-okta-verification-challenge": "2Qa3Ik2tmgljwHh6xYG9s0kBnV6BEUDX"}
    answer = handshakes.okta(headers)
    assert answer is not None
    assert answer.content_type == JSON
    assert json.loads(answer.body) == {"verification": "2Qa3Ik2tmgljwHh6xYG9s0kBnV6BEUDX"}
    assert handshakes.okta({}) is None


def test_msgraph_validation_token_is_echoed_as_text() -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    assert handshakes.msgraph({"validationToken": token}) == HandshakeAnswer(token.encode(), TEXT)
    assert handshakes.msgraph({}) is None


def test_dropbox_challenge_is_echoed_as_text() -> None:
    # Dropbox's docs: echo the challenge parameter as the body, as text/plain.
    assert handshakes.dropbox({"challenge": "4Kp9zQ2xR7"}) == HandshakeAnswer(b"4Kp9zQ2xR7", TEXT)
    assert handshakes.dropbox({}) is None
    assert handshakes.dropbox({"hub.challenge": "x"}) is None


def test_woocommerce_ping_is_answered_with_an_empty_200() -> None:
    # WC_Webhook::deliver_ping posts 'webhook_id=' . $this->get_id(), unsigned.
    for body in (b"webhook_id=1", b"webhook_id=17", b"webhook_id=" + b"9" * 20):
        assert handshakes.woocommerce(body, signed=False) == HandshakeAnswer(b"", TEXT, 200)
    # A signed request is a delivery, whatever its body.
    assert handshakes.woocommerce(b"webhook_id=17", signed=True) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"webhook_id=",
        b"webhook_id=" + b"9" * 21,
        b"webhook_id=17&x=1",
        b"webhook_id=17\n",
        b" webhook_id=17",
        b"webhook_id=-1",
        b"webhook_id=1e3",
        b"webhook_id=\xd9\xa1",  # an Arabic-Indic digit: not [0-9]
        b"WEBHOOK_ID=17",
        b'{"webhook_id":17}',
        b"webhook_id=17" * 1000,
    ],
)
def test_woocommerce_anything_but_the_exact_ping_is_a_delivery(body: bytes) -> None:
    assert handshakes.woocommerce(body, signed=False) is None


def test_the_head_url_check_is_answered_with_an_empty_200() -> None:
    # Trello's and Mandrill's docs: a HEAD to the URL when the webhook is created, which
    # must get 200 or the webhook is not created. Nothing of the request is echoed.
    assert handshakes.head_check("HEAD", b"") == HandshakeAnswer(b"", TEXT, 200)


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("POST", b""),
        ("GET", b""),
        ("head", b""),  # methods are upper case by the time they get here
        ("HEAD", b"x"),  # a HEAD with a body is not the check
        ("HEAD", b'{"action":{}}'),
        ("OPTIONS", b""),
        ("", b""),
        ("HEAD ", b""),
    ],
)
def test_anything_but_a_bodiless_head_is_a_delivery(method: str, body: bytes) -> None:
    assert handshakes.head_check(method, body) is None


@pytest.mark.parametrize(
    "value",
    ["", "a" * (MAX_CHALLENGE + 1), "line\r\nSet-Cookie: x=1", "é", "tab\there", "nul\x00"],
)
def test_hostile_challenges_are_not_echoed(value: str) -> None:
    assert (
        handshakes.slack(json.dumps({"type": "url_verification", "challenge": value}).encode())
        is None
    )
    assert (
        handshakes.twitch(
            "webhook_callback_verification", json.dumps({"challenge": value}).encode()
        )
        is None
    )
    assert handshakes.okta({"x-okta-verification-challenge": value}) is None
    assert handshakes.dropbox({"challenge": value}) is None
    if value and " " not in value:
        assert handshakes.msgraph({"validationToken": value}) is None
    zoom = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": value}})
    assert handshakes.zoom(zoom.encode(), b"s") is None


@pytest.mark.parametrize("body", [b"", b"\xff", b"{" * 50_000, b"null", b'"str"', b"[]"])
def test_hostile_bodies_never_raise(body: bytes) -> None:
    assert handshakes.slack(body) is None
    assert handshakes.zoom(body, b"s") is None
    assert handshakes.twitch("webhook_callback_verification", body) is None
    assert handshakes.discord(body) is None


def test_non_string_challenges_are_not_echoed() -> None:
    for value in (1, None, ["a"], {"a": 1}, True):
        body = json.dumps({"type": "url_verification", "challenge": value}).encode()
        assert handshakes.slack(body) is None


def test_a_body_over_the_check_limit_is_a_delivery_and_is_not_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every Slack, Zoom and Discord delivery is asked whether it is the endpoint check: a
    body over MAX_CHECK_BODY is not one, whatever it says, and is not read to find out."""
    over = MAX_CHECK_BODY + 1
    big = b'{"type":"event_callback","event":"x","data":"' + b"d" * 100_000 + b'"}'

    def padded(head: bytes, size: int) -> bytes:
        return head + b',"pad":"' + b"p" * (size - len(head) - 10) + b'"}'

    slack_head = b'{"type":"url_verification","challenge":"c"'
    zoom_head = b'{"event":"endpoint.url_validation","payload":{"plainToken":"t"}'
    ping_head = b'{"type":1'
    slack_check, zoom_check = padded(slack_head, over), padded(zoom_head, over)
    ping = padded(ping_head, over)
    assert len(slack_check) == len(zoom_check) == len(ping) == over

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("json.loads called")

    monkeypatch.setattr(json, "loads", refuse)
    for body in (big, slack_check):
        assert handshakes.slack(body) is None
    assert handshakes.zoom(zoom_check, b"secret") is None
    assert handshakes.discord(ping) is None
    monkeypatch.undo()
    # One byte less and each is the check.
    assert handshakes.slack(padded(slack_head, over - 1)) == HandshakeAnswer(b"c", TEXT)
    zoom = handshakes.zoom(padded(zoom_head, over - 1), b"secret")
    assert zoom is not None
    assert json.loads(zoom.body)["plainToken"] == "t"
    assert handshakes.discord(padded(ping_head, over - 1)) == HandshakeAnswer(b'{"type":1}', JSON)


def test_the_last_of_duplicate_keys_decides_as_in_json_loads() -> None:
    dup = b'{"type":"url_verification","challenge":"c","type":"event_callback"}'
    assert json.loads(dup)["type"] == "event_callback"
    assert handshakes.slack(dup) is None
    zoom_dup = b'{"event":"meeting.started","event":"endpoint.url_validation",'
    zoom_dup += b'"payload":{"plainToken":"t"}}'
    assert handshakes.zoom(zoom_dup, b"secret") is not None


def _slack_reference(body: bytes) -> HandshakeAnswer | None:
    """Slack's check as json.loads reads it: the plain reading the fast one must equal."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if len(body) > MAX_CHECK_BODY:
        return None
    if not isinstance(event, dict) or event.get("type") != "url_verification":
        return None
    challenge = event.get("challenge")
    if not isinstance(challenge, str) or not challenge or len(challenge) > MAX_CHALLENGE:
        return None
    if not all("\x21" <= c <= "\x7e" for c in challenge):
        return None
    return HandshakeAnswer(challenge.encode(), TEXT)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["url_verification", "event_callback", "url_verificatio", ""]),
    escaped=st.lists(st.booleans(), min_size=16, max_size=16),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32-be"]),
    # Under MAX_CHECK_BODY as UTF-8, over it as UTF-16 or UTF-32; and over it in any.
    pad=st.sampled_from(["", "x" * 3_000, "x" * 10_000]),
    lead=st.sampled_from(["", " ", "\n"]),
)
def test_slack_check_equals_the_json_loads_reading(
    kind: str, escaped: list[bool], encoding: str, pad: str, lead: str
) -> None:
    """Escaped, re-encoded or padded, a body is a check exactly when json.loads says so."""
    value = "".join(f"\\u{ord(c):04x}" if e else c for c, e in zip(kind, escaped, strict=False))
    text = f'{lead}{{"token":"t","type":"{value}","challenge":"c1","pad":"{pad}"}}'
    body = text.encode(encoding)
    assert handshakes.slack(body) == _slack_reference(body)
