"""Calendly, Sentry, Paystack, Lemon Squeezy, Telegram, Postmark, Okta, Mailgun and
Microsoft Graph presets against their providers' documented algorithms.

Two have a verification helper on PyPI, and what webhook_guard.testing produces must pass
it: Mailgun's official ``mailgun`` SDK (``SecurityGuard.verify_webhook``) and the
``pypaystack2`` client (``PaystackClient.is_verified_webhook_payload``). For all of them,
a test writes the documented algorithm out with hmac/hashlib (independent of
webhook_guard), with the source in a comment, and checks that webhook_guard.testing.sign
produces the same bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from webhook_guard import Reason
from webhook_guard.testing import sign

from .conftest import NOW, GuardFactory, post
from .test_presets import route

TS = int(NOW)
BODY = b'{"event":"invitee.created","payload":{"uri":"https://api.calendly.com/i/1"}}'


def assert_dedups_on(
    guard: Any, path: str, headers: dict[str, str], body: bytes, event_id: str
) -> None:
    """The delivery passes with ``event_id``; the same one again is a duplicate."""
    first = guard.check(post(path, headers, body))
    assert first.ok, first.detail
    assert first.event_id == event_id
    guard.complete(first, 200)
    assert guard.check(post(path, headers, body)).reason is Reason.DUPLICATE_EVENT


def hexmac(key: bytes, message: bytes, digest: Any = hashlib.sha256) -> str:
    return hmac.new(key, message, digest).hexdigest()


# -- Calendly (developer.calendly.com/api-docs/overview/webhooks/webhook-signatures) -------


def test_calendly_documented_algorithm(make_guard: GuardFactory) -> None:
    v1 = hexmac(b"cal-key", f"{TS}.".encode() + BODY)
    guard = make_guard(route("calendly", ["cal-key"]))
    header = {"Calendly-Webhook-Signature": f"t={TS},v1={v1}"}
    verdict = guard.check(post("/hooks/calendly", header, BODY))
    assert verdict.ok, verdict.detail
    assert verdict.timestamp == TS
    # Its header may carry several signatures, so the delivery is identified by the
    # signed content, not by whichever signature matched.
    assert verdict.event_id == "sig:" + hashlib.sha256(f"{TS}.".encode() + BODY).hexdigest()
    assert sign("calendly", BODY, secret="cal-key", timestamp=TS) == {
        "calendly-webhook-signature": f"t={TS},v1={v1}"
    }


def test_calendly_signature_over_another_timestamp_is_refused(make_guard: GuardFactory) -> None:
    # The timestamp is signed: moving a capture's t= forward breaks the signature.
    v1 = hexmac(b"cal-key", f"{TS - 3600}.".encode() + BODY)
    guard = make_guard(route("calendly", ["cal-key"]))
    header = {"Calendly-Webhook-Signature": f"t={TS},v1={v1}"}
    assert guard.check(post("/hooks/calendly", header, BODY)).reason is Reason.SIGNATURE_MISMATCH


# -- Sentry (docs.sentry.io/integrations/integration-platform/webhooks/) -------------------


def test_sentry_documented_algorithm(make_guard: GuardFactory) -> None:
    sig = hexmac(b"sentry-client-secret", BODY)
    headers = {
        "Sentry-Hook-Signature": sig,
        "Request-ID": "6c5d4bd4-5e2d-4d8a-9a40-6f9b1f7a3c21",
        "Sentry-Hook-Resource": "issue",
        "Sentry-Hook-Timestamp": str(TS - 86400),  # not signed, so not checked
    }
    guard = make_guard(route("sentry", ["sentry-client-secret"]))
    verdict = guard.check(post("/hooks/sentry", headers, BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "6c5d4bd4-5e2d-4d8a-9a40-6f9b1f7a3c21"
    assert sign("sentry", BODY, secret="sentry-client-secret", event_id="r1") == {
        "sentry-hook-signature": sig,
        "request-id": "r1",
    }


# -- Paystack (paystack.com/docs/payments/webhooks) -----------------------------------------

PAYSTACK_IPS = ["52.31.139.75", "52.49.173.169", "52.214.14.220"]


def test_paystack_documented_algorithm_and_addresses(make_guard: GuardFactory) -> None:
    sig = hmac.new(b"sk_test_abc", BODY, hashlib.sha512).hexdigest()
    guard = make_guard(route("paystack", ["sk_test_abc"], allow_ips=["paystack"]))
    for peer in PAYSTACK_IPS:  # each published address, each delivery not yet seen
        body = BODY.replace(b"/i/1", f"/i/{peer}".encode())
        headers = {
            "x-paystack-signature": hmac.new(b"sk_test_abc", body, hashlib.sha512).hexdigest()
        }
        verdict = guard.check(post("/hooks/paystack", headers, body, peer=peer))
        assert verdict.ok, verdict.detail
    other = guard.check(
        post("/hooks/paystack", {"x-paystack-signature": sig}, BODY, peer="52.31.139.76")
    )
    assert other.reason is Reason.IP_NOT_ALLOWED
    assert sign("paystack", BODY, secret="sk_test_abc") == {"x-paystack-signature": sig}


def test_paystack_sdk_accepts_what_sign_produces(make_guard: GuardFactory) -> None:
    # pypaystack2 (a maintained Paystack client on PyPI) checks x-paystack-signature.
    from pypaystack2 import PaystackClient

    sdk = PaystackClient(secret_key="sk_test_abc")
    header = sign("paystack", BODY, secret="sk_test_abc")["x-paystack-signature"]
    assert sdk.is_verified_webhook_payload(BODY, header)
    assert not sdk.is_verified_webhook_payload(BODY + b" ", header)
    assert not PaystackClient(secret_key="sk_test_other").is_verified_webhook_payload(BODY, header)


def test_paystack_sha256_signature_is_malformed(make_guard: GuardFactory) -> None:
    # A SHA-256 digest is half the length: never compared, never a downgrade.
    sig = hexmac(b"sk_test_abc", BODY)
    guard = make_guard(route("paystack", ["sk_test_abc"]))
    verdict = guard.check(post("/hooks/paystack", {"x-paystack-signature": sig}, BODY))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


@pytest.mark.parametrize(("name", "count"), [("paystack", 3), ("postmark", 4)])
def test_page_lists_are_named_lists(name: str, count: int) -> None:
    from webhook_guard.ip_ranges import load_ranges, provider_set

    ranges = load_ranges(name)
    assert len(ranges.entries) == count
    assert ranges.source.startswith("https://")
    assert len(list(provider_set(name).networks())) == count


# -- Lemon Squeezy (docs.lemonsqueezy.com/help/webhooks/signing-requests) ------------------


def test_lemonsqueezy_documented_algorithm(make_guard: GuardFactory) -> None:
    body = b'{"meta":{"event_name":"order_created"},"data":{"id":"1"}}'
    sig = hexmac(b"ls-secret", body)
    guard = make_guard(route("lemonsqueezy", ["ls-secret"]))
    headers = {"X-Signature": sig, "X-Event-Name": "order_created"}
    verdict = guard.check(post("/hooks/lemonsqueezy", headers, body))
    assert verdict.ok, verdict.detail
    assert sign("lemonsqueezy", body, secret="ls-secret") == {"x-signature": sig}


# -- Telegram (core.telegram.org/bots/api#setwebhook) ---------------------------------------


def test_telegram_token_and_update_id(make_guard: GuardFactory) -> None:
    guard = make_guard(route("telegram", ["tg_Secret-1"]))
    body = b'{"update_id":81234567,"message":{"message_id":1,"text":"hi"}}'
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg_Secret-1"}
    # Telegram's retry of the same update is a duplicate.
    assert_dedups_on(guard, "/hooks/telegram", headers, body, "81234567")
    assert sign("telegram", body, secret="tg_Secret-1") == {
        "x-telegram-bot-api-secret-token": "tg_Secret-1"
    }
    wrong = guard.check(post("/hooks/telegram", {"X-Telegram-Bot-Api-Secret-Token": "x"}, body))
    assert wrong.reason is Reason.TOKEN_INVALID
    assert guard.check(post("/hooks/telegram", {}, body)).reason is Reason.TOKEN_MISSING


def test_token_presets_take_no_signature_block(make_guard: GuardFactory) -> None:
    from webhook_guard import ConfigError

    for name in ("telegram", "okta", "postmark"):
        with pytest.raises(ConfigError, match=r"routes\[0\]\.signature"):
            make_guard(route(name, ["s"], signature={"header": "x"}))


# -- Postmark (postmarkapp.com/developer/webhooks/webhooks-overview) -----------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_postmark_basic_auth_and_addresses(make_guard: GuardFactory) -> None:
    guard = make_guard(route("postmark", ["pm-pass"], allow_ips=["postmark"]))
    body = b'{"RecordType":"Delivery","MessageID":"883953f4"}'
    good = {"Authorization": basic("anyone", "pm-pass")}
    verdict = guard.check(post("/hooks/postmark", good, body, peer="50.31.156.6"))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "body:" + hashlib.sha256(body).hexdigest()
    outside = guard.check(post("/hooks/postmark", good, body, peer="203.0.113.9"))
    assert outside.reason is Reason.IP_NOT_ALLOWED
    for headers, reason in [
        ({"Authorization": basic("anyone", "guess")}, Reason.TOKEN_INVALID),
        ({"Authorization": "Bearer pm-pass"}, Reason.TOKEN_INVALID),
        ({"Authorization": "pm-pass"}, Reason.TOKEN_INVALID),
        ({}, Reason.TOKEN_MISSING),
        ({"Authorization": " "}, Reason.TOKEN_MISSING),
    ]:
        refused = guard.check(post("/hooks/postmark", headers, body, peer="50.31.156.6"))
        assert refused.reason is reason, (headers, refused.detail)
    assert sign("postmark", body, secret="pm-pass") == {
        "authorization": basic("webhook", "pm-pass")
    }


# -- Okta (developer.okta.com/docs/concepts/event-hooks/) -----------------------------------

OKTA_EVENT = json.dumps(
    {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
        "eventId": "b5a188b9-5ece-4636-b041-482ffda96311",
        "data": {"events": [{"uuid": "7f4a3ab6", "eventType": "user.session.start"}]},
    }
).encode()


def test_okta_event_dedups_on_event_id(make_guard: GuardFactory) -> None:
    guard = make_guard(route("okta", ["Bearer okta-secret"]))
    headers = {"Authorization": "Bearer okta-secret"}
    assert_dedups_on(
        guard, "/hooks/okta", headers, OKTA_EVENT, "b5a188b9-5ece-4636-b041-482ffda96311"
    )
    assert sign("okta", OKTA_EVENT, secret="Bearer okta-secret") == {
        "authorization": "Bearer okta-secret"
    }


def test_okta_verification_is_answered_only_after_the_secret_matched(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(route("okta", ["okta-secret"]))
    challenge = "X3pLmY9tWq-Challenge_7"

    def get(headers: dict[str, str]) -> Any:
        return guard.check(post("/hooks/okta", headers, b"", method="GET"))

    unauthenticated = get({"X-Okta-Verification-Challenge": challenge})
    assert unauthenticated.reason is Reason.TOKEN_MISSING
    assert challenge.encode() not in unauthenticated.response_body()
    wrong = get({"X-Okta-Verification-Challenge": challenge, "Authorization": "guess"})
    assert wrong.reason is Reason.TOKEN_INVALID
    assert challenge.encode() not in wrong.response_body()
    answered = get({"X-Okta-Verification-Challenge": challenge, "Authorization": "okta-secret"})
    assert answered.reason is Reason.HANDSHAKE
    assert json.loads(answered.response_body()) == {"verification": challenge}
    assert answered.response_headers()[0][1].startswith("application/json")
    # An ordinary delivery on the same route still reaches the app.
    delivery = guard.check(post("/hooks/okta", {"Authorization": "okta-secret"}, OKTA_EVENT))
    assert delivery.ok
    assert delivery.reason is not Reason.HANDSHAKE


# -- Mailgun (documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks) -

MG_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    # "Concatenate timestamp and token values together with no separator", HMAC-SHA256,
    # hex digest, keyed with the HTTP webhook signing key.
    return hexmac(key.encode(), (timestamp + token).encode())


@pytest.mark.parametrize("timestamp", [str(TS), TS], ids=["string", "number"])
def test_mailgun_documented_algorithm(make_guard: GuardFactory, timestamp: Any) -> None:
    token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
    event = {
        "signature": {
            "token": token,
            "timestamp": timestamp,
            "signature": mailgun_signature(MG_KEY, str(TS), token),
        },
        "event-data": {"event": "delivered", "id": "CPgfbmQMTCKtHW6uIWtuVe"},
    }
    guard = make_guard(route("mailgun", [MG_KEY]))
    body = json.dumps(event).encode()
    verdict = guard.check(post("/hooks/mailgun", {"Content-Type": "application/json"}, body))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == token
    assert verdict.timestamp == TS


def test_mailgun_subaccount_parent_signature(make_guard: GuardFactory) -> None:
    # A subaccount's event carries parent-signature, made with the primary account's key.
    token = "p" * 50
    event = {
        "signature": {
            "token": token,
            "timestamp": str(TS),
            "signature": mailgun_signature("subaccount-key", str(TS), token),
            "parent-signature": mailgun_signature(MG_KEY, str(TS), token),
        },
        "event-data": {"event": "opened"},
    }
    guard = make_guard(route("mailgun", [MG_KEY]))
    verdict = guard.check(post("/hooks/mailgun", {}, json.dumps(event).encode()))
    assert verdict.ok, verdict.detail


def test_mailgun_subaccount_replay_with_one_signature_stripped(make_guard: GuardFactory) -> None:
    # A route that knows both keys: a replay keeping only one of the two signatures is
    # still the same signed token, so still a duplicate.
    token = "s" * 50
    fields = {
        "token": token,
        "timestamp": str(TS),
        "signature": mailgun_signature("subaccount-key", str(TS), token),
        "parent-signature": mailgun_signature(MG_KEY, str(TS), token),
    }
    guard = make_guard(route("mailgun", ["subaccount-key", MG_KEY]))
    first = guard.check(post("/hooks/mailgun", {}, json.dumps({"signature": fields}).encode()))
    assert first.ok, first.detail
    guard.complete(first, 200)
    for stripped in ("signature", "parent-signature"):
        rest = {k: v for k, v in fields.items() if k != stripped}
        again = guard.check(post("/hooks/mailgun", {}, json.dumps({"signature": rest}).encode()))
        assert again.reason is Reason.DUPLICATE_EVENT, stripped


def test_mailgun_legacy_form_body(make_guard: GuardFactory) -> None:
    token = "f" * 50
    sig = mailgun_signature(MG_KEY, str(TS), token)
    body = f"event=delivered&recipient=a%40b.c&timestamp={TS}&token={token}&signature={sig}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    guard = make_guard(route("mailgun", [MG_KEY]))
    verdict = guard.check(post("/hooks/mailgun", form, body.encode()))
    assert verdict.ok, verdict.detail
    doubled = body + f"&token={'g' * 50}"  # which token would the app read?
    refused = guard.check(post("/hooks/mailgun", form, doubled.encode()))
    assert refused.reason is Reason.SIGNATURE_MALFORMED
    multipart = {"Content-Type": "multipart/form-data; boundary=x"}
    unread = guard.check(post("/hooks/mailgun", multipart, body.encode()))
    assert unread.reason is Reason.SIGNATURE_MISSING
    assert "multipart" in unread.detail


def test_mailgun_sign_body_matches_the_documented_algorithm() -> None:
    from webhook_guard.testing import sign_body

    body = sign_body(
        "mailgun", b'{"event-data":{"event":"failed"}}', secret=MG_KEY, timestamp=TS, event_id="tk"
    )
    fields = json.loads(body)["signature"]
    assert fields == {
        "timestamp": str(TS),
        "token": "tk",
        "signature": mailgun_signature(MG_KEY, str(TS), "tk"),
    }
    with pytest.raises(ValueError, match="signs inside the body"):
        sign("mailgun", body, secret=MG_KEY)
    form = sign_body("mailgun", b"event=failed", secret=MG_KEY, timestamp=TS, event_id="tk")
    assert form.startswith(b"event=failed&timestamp=")


def test_mailgun_sdk_accepts_what_sign_body_produces() -> None:
    # The official SDK checks its window against the real clock: sign with the real one.
    from mailgun.security import SecurityGuard

    from webhook_guard import Guard, WebhookRequest
    from webhook_guard.testing import sign_body

    body = sign_body("mailgun", b'{"event-data":{"event":"delivered"}}', secret=MG_KEY)
    fields = json.loads(body)["signature"]
    assert SecurityGuard.verify_webhook(
        MG_KEY, fields["token"], fields["timestamp"], fields["signature"]
    )
    assert not SecurityGuard.verify_webhook(
        "another-key", fields["token"], fields["timestamp"], fields["signature"]
    )
    # The same body, which the SDK accepted, passes the guard too.
    guard = Guard.from_dict({"version": 1, "routes": [route("mailgun", [MG_KEY])]})
    assert guard.check(WebhookRequest("POST", "/hooks/mailgun", body=body)).ok


def test_cli_signs_a_mailgun_body(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_guard.cli import main

    source = tmp_path / "event.json"
    source.write_bytes(b'{"event-data":{"event":"delivered"}}')
    args = ["sign", "--provider", "mailgun", "--secret", MG_KEY, "--body-file", str(source)]
    code = main([*args, "--timestamp", str(TS), "--event-id", "tok"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["signature"]["signature"] == mailgun_signature(MG_KEY, str(TS), "tok")


# -- Microsoft Graph (learn.microsoft.com/graph/change-notifications-delivery-webhooks) ------


def graph(*states: Any, **extra: Any) -> bytes:
    items = [
        {
            "subscriptionId": f"sub-{i}",
            "changeType": "created",
            "resource": "Users/1",
            "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
            **({} if state is None else {"clientState": state}),
        }
        for i, state in enumerate(states)
    ]
    return json.dumps({"value": items, **extra}).encode()


def test_msgraph_validation_token_is_echoed_before_authentication(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(route("msgraph", ["graph-state"]))
    # Graph's validation POST: the decoded token, as text/plain, no body and no secret.
    query = "validationToken=Validation%3A+Testing+client+application+at+2026-12-05"
    answered = guard.check(post("/hooks/msgraph", {"Content-Type": "text/plain"}, b"", query=query))
    assert answered.reason is Reason.HANDSHAKE
    assert answered.response_body() == b"Validation: Testing client application at 2026-12-05"
    assert answered.response_headers()[0][1].startswith("text/plain")
    # An ordinary notification on the same route still reaches the app, once.
    delivery = guard.check(post("/hooks/msgraph", {}, graph("graph-state")))
    assert delivery.ok, delivery.detail
    assert delivery.reason is not Reason.HANDSHAKE


def test_msgraph_every_notification_must_carry_a_known_client_state(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(route("msgraph", ["state-a", "state-b"]))

    def check(body: bytes) -> Any:
        return guard.check(post("/hooks/msgraph", {}, body))

    # One URL may serve several subscriptions, each with its own clientState.
    mixed = check(graph("state-b", "state-a"))
    assert mixed.ok, mixed.detail
    assert mixed.secret_id == "secrets[1]"
    # A forged item smuggled into a genuine batch is refused with the whole batch.
    for body, reason, where in [
        (graph("state-a", "forged"), Reason.TOKEN_INVALID, "value[1]"),
        (graph("state-a", None), Reason.TOKEN_MISSING, "value[1]"),
        (graph("state-a", 7), Reason.TOKEN_MISSING, "value[1]"),
        (graph(), Reason.TOKEN_MISSING, "value[]"),
        (b'{"value": "x"}', Reason.TOKEN_MISSING, "value[]"),
        (b"not json", Reason.TOKEN_MISSING, "not JSON"),
    ]:
        refused = check(body)
        assert refused.reason is reason, (body, refused.detail)
        assert where in refused.detail
        assert "state-a" not in refused.detail


def test_msgraph_lifecycle_notification(make_guard: GuardFactory) -> None:
    # learn.microsoft.com/graph/change-notifications-lifecycle-events: the same clientState.
    body = json.dumps(
        {
            "value": [
                {
                    "subscriptionId": "7b2a8e9c",
                    "lifecycleEvent": "reauthorizationRequired",
                    "clientState": "graph-state",
                    "tenantId": "84bd8158",
                }
            ]
        }
    ).encode()
    guard = make_guard(route("msgraph", ["graph-state"]))
    assert guard.check(post("/hooks/msgraph", {}, body)).ok


def test_msgraph_sign_body_sets_each_client_state() -> None:
    from webhook_guard.testing import sign_body

    body = sign_body("msgraph", graph(None, "old"), secret="graph-state")
    assert [i["clientState"] for i in json.loads(body)["value"]] == ["graph-state"] * 2
    with pytest.raises(ValueError, match="sign_body"):
        sign("msgraph", body, secret="graph-state")


# -- the real thing: these presets behind the ASGI middleware on uvicorn --------------------


def test_handshakes_tokens_and_body_signatures_over_uvicorn() -> None:
    import httpx

    from webhook_guard import Guard
    from webhook_guard.adapters.asgi import GuardMiddleware
    from webhook_guard.testing import sign_body

    from .servers import serve_asgi

    seen: list[tuple[str, str, bytes]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        seen.append((scope["method"], scope["path"], body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = Guard.from_dict(
        {
            "version": 1,
            "routes": [
                route("okta", ["okta-secret"]),
                route("msgraph", ["graph-state"]),
                route("mailgun", [MG_KEY]),
                route("telegram", ["tg-secret"]),
            ],
        }
    )
    challenge = "Okta-Challenge_1"
    with serve_asgi(GuardMiddleware(app, guard=guard)) as url, httpx.Client(base_url=url) as http:
        no_token = http.get("/hooks/okta", headers={"X-Okta-Verification-Challenge": challenge})
        assert no_token.status_code == 401
        assert challenge not in no_token.text
        okta = http.get(
            "/hooks/okta",
            headers={"X-Okta-Verification-Challenge": challenge, "Authorization": "okta-secret"},
        )
        assert okta.status_code == 200
        assert okta.json() == {"verification": challenge}
        validation = http.post(
            "/hooks/msgraph", params={"validationToken": "Validation: Testing"}, content=b""
        )
        assert validation.status_code == 200
        assert validation.text == "Validation: Testing"
        assert validation.headers["content-type"].startswith("text/plain")
        notification = sign_body("msgraph", graph(None), secret="graph-state")
        assert http.post("/hooks/msgraph", content=notification).status_code == 204
        forged = http.post("/hooks/msgraph", content=graph("guess"))
        assert forged.status_code == 401
        signed = sign_body("mailgun", b'{"event-data":{"event":"delivered"}}', secret=MG_KEY)
        headers = {"Content-Type": "application/json"}
        assert http.post("/hooks/mailgun", content=signed, headers=headers).status_code == 204
        reused = signed.replace(b"delivered", b"complained")
        duplicate = http.post("/hooks/mailgun", content=reused, headers=headers)
        assert duplicate.json()["reason"] == "duplicate_event"
        update = b'{"update_id":5,"message":{"text":"hi"}}'
        token = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
        assert http.post("/hooks/telegram", content=update, headers=token).status_code == 204
    # Only the authenticated deliveries reached the app; no handshake did.
    assert seen == [
        ("POST", "/hooks/msgraph", notification),
        ("POST", "/hooks/mailgun", signed),
        ("POST", "/hooks/telegram", update),
    ]
