"""Provider handshakes answered by the guard, end to end under real servers.

Every preset that names a ``handshake`` is one row: its provider's endpoint check, sent
over the network to uvicorn (Starlette's GuardMiddleware, a FastAPI dependency), Flask
under werkzeug (``flask run``), Django under gunicorn (the middleware, and ``protect()``
with the CSRF middleware on), and ``webhook-guard serve`` in
front of an upstream. The check is answered by the guard (status, content type,
``nosniff``, the exact answer) and never reaches the application; an unsigned or wrongly
signed check is refused with no part of the answer in the refusal (a signing oracle or a
reflected echo otherwise); an ordinary signed delivery still reaches the application.

The rows come from PRESETS, so a preset with a handshake is tested as soon as it exists;
``CASES`` says how to build its provider's check (each builder cites the provider's docs).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.servers import console_script, free_port, run_process
from webhook_guard import Guard, Reason, WebhookRequest
from webhook_guard.audit.record import outcome_of
from webhook_guard.metrics import outcome
from webhook_guard.signatures.presets import PRESETS
from webhook_guard.testing import sign

ROOT = Path(__file__).resolve().parents[1]
APP_ANSWER = b"handled by the app"  # tests/handshake_apps.py
NOSNIFF = ("x-content-type-options", "nosniff")
PUBLIC_URL = "https://hooks.example.com"  # where a provider that signs the URL calls


@dataclass(frozen=True)
class Req:
    """One HTTP request as a provider sends it."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Case:
    """One provider's endpoint check and what the guard must do with it."""

    route: dict[str, Any]
    """The route's config (its name is the preset's, its path /hooks/NAME)."""
    check: Req
    """The check exactly as the provider sends it (signed where the provider signs it)."""
    answer: tuple[str, bytes]
    """The content type and body the guard answers the check with."""
    forged: dict[str, tuple[Req, Reason]]
    """Checks that must be refused (401, with this reason) and answered with nothing
    of :attr:`answer`."""
    event: Req
    """An ordinary signed delivery on the same route: it reaches the application."""
    relabelled: Req | None = None
    """The check's own signed message, with the unsigned part that makes it a check
    changed: an ordinary delivery to look at, which must not reach the application."""
    private: tuple[bytes, ...] = ()
    """Values no refusal may carry any part of: the challenge the answer echoes, what the
    answer derives from the secret, the secret itself. (A fixed answer such as Discord's
    PONG is not secret: its refusal is simply not the answer.)"""


def _challenge() -> str:
    # Visible ASCII, as providers send it; random so no other response contains it.
    return "chlg" + secrets.token_urlsafe(24)


def _secret() -> str:
    return secrets.token_hex(32)


def _signed(name: str, body: bytes, secret: str, **kwargs: Any) -> dict[str, str]:
    return {"content-type": "application/json", **sign(name, body, secret=secret, **kwargs)}


def _route(name: str, secret: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": f"/hooks/{name}", "provider": name, "secrets": [secret], **extra}


def slack_case() -> Case:
    """Slack Events API ``url_verification``, signed like every Slack request:
    https://api.slack.com/events/url_verification"""
    secret, challenge = _secret(), _challenge()
    body = json.dumps(
        {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}
    ).encode()
    target = "/hooks/slack"
    stale = int(time.time()) - 3600
    event = json.dumps(
        {"type": "event_callback", "event_id": "Ev" + secrets.token_hex(6), "event": {}}
    ).encode()
    return Case(
        route=_route("slack", secret),
        check=Req("POST", target, _signed("slack", body, secret), body),
        answer=("text/plain; charset=utf-8", challenge.encode()),
        forged={
            "unsigned": (Req("POST", target, {}, body), Reason.SIGNATURE_MISSING),
            "wrong secret": (
                Req("POST", target, _signed("slack", body, _secret()), body),
                Reason.SIGNATURE_MISMATCH,
            ),
            "replayed an hour later": (
                Req("POST", target, _signed("slack", body, secret, timestamp=stale), body),
                Reason.TIMESTAMP_TOO_OLD,
            ),
        },
        event=Req("POST", target, _signed("slack", event, secret), event),
        private=(challenge.encode(), secret.encode()),
    )


def meta_case() -> Case:
    """Meta (Facebook, Instagram, WhatsApp) verification GET, proved by the Verify Token:
    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    """
    secret, token, challenge = _secret(), "vt-" + secrets.token_hex(8), str(secrets.randbits(40))

    def get(verify_token: str | None) -> Req:
        query = {"hub.mode": "subscribe", "hub.challenge": challenge}
        if verify_token is not None:
            query["hub.verify_token"] = verify_token
        return Req("GET", "/hooks/meta?" + urlencode(query))

    event = json.dumps({"object": "page", "entry": [{"id": secrets.token_hex(4)}]}).encode()
    return Case(
        route=_route("meta", secret, handshake={"verify_token": token}),
        check=get(token),
        answer=("text/plain; charset=utf-8", challenge.encode()),
        forged={
            "no verify token": (get(None), Reason.TOKEN_MISSING),
            "wrong verify token": (get(token + "x"), Reason.TOKEN_INVALID),
        },
        event=Req("POST", "/hooks/meta", _signed("meta", event, secret), event),
        private=(challenge.encode(), secret.encode(), token.encode()),
    )


def zoom_case() -> Case:
    """Zoom ``endpoint.url_validation``, signed like every Zoom event; the answer's
    ``encryptedToken`` is the hex HMAC-SHA256 of ``plainToken`` under the secret token:
    https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint"""
    secret, plain = secrets.token_urlsafe(16), _challenge()
    body = json.dumps(
        {
            "payload": {"plainToken": plain},
            "event_ts": int(time.time() * 1000),
            "event": "endpoint.url_validation",
        }
    ).encode()
    encrypted = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    answer = json.dumps({"plainToken": plain, "encryptedToken": encrypted}, separators=(",", ":"))
    event = json.dumps(
        {"event": "meeting.started", "event_ts": int(time.time() * 1000), "payload": {}}
    ).encode()
    target = "/hooks/zoom"
    return Case(
        route=_route("zoom", secret),
        check=Req("POST", target, _signed("zoom", body, secret), body),
        answer=("application/json", answer.encode()),
        forged={
            # The signing oracle: an unsigned validation must not get encryptedToken.
            "unsigned": (Req("POST", target, {}, body), Reason.SIGNATURE_MISSING),
            "wrong secret": (
                Req("POST", target, _signed("zoom", body, secrets.token_urlsafe(16)), body),
                Reason.SIGNATURE_MISMATCH,
            ),
        },
        event=Req("POST", target, _signed("zoom", event, secret), event),
        private=(plain.encode(), secret.encode(), encrypted.encode(), b"encryptedToken"),
    )


def twitch_case() -> Case:
    """Twitch EventSub ``webhook_callback_verification``, signed like every notification:
    https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
    """
    secret, challenge = _secret(), _challenge()
    kind = "twitch-eventsub-message-type"
    body = json.dumps(
        {"challenge": challenge, "subscription": {"id": "f1c2a387", "type": "channel.follow"}}
    ).encode()
    event = json.dumps({"subscription": {"type": "channel.follow"}, "event": {}}).encode()

    def signed(payload: bytes, key: str, message_type: str) -> dict[str, str]:
        return {**_signed("twitch", payload, key), kind: message_type}

    check = "webhook_callback_verification"
    target = "/hooks/twitch"
    check_headers = signed(body, secret, check)
    return Case(
        route=_route("twitch", secret),
        check=Req("POST", target, check_headers, body),
        answer=("text/plain; charset=utf-8", challenge.encode()),
        forged={
            "unsigned": (Req("POST", target, {kind: check}, body), Reason.SIGNATURE_MISSING),
            "wrong secret": (
                Req("POST", target, signed(body, _secret(), check), body),
                Reason.SIGNATURE_MISMATCH,
            ),
        },
        event=Req("POST", target, signed(event, secret, "notification"), event),
        # Twitch signs the message ID, timestamp and body, not the message type.
        relabelled=Req("POST", target, {**check_headers, kind: "notification"}, body),
        private=(challenge.encode(), secret.encode()),
    )


def discord_case() -> Case:
    """Discord interactions PING (``{"type": 1}``), signed with Ed25519; answered PONG:
    https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint"""
    from webhook_guard.signatures.testkeys import keypair

    pair, other = keypair("discord"), keypair("discord")
    body = b'{"type":1,"id":"' + secrets.token_hex(8).encode() + b'"}'
    event = b'{"type":2,"id":"' + secrets.token_hex(8).encode() + b'","data":{"name":"hi"}}'
    target = "/hooks/discord"
    route = _route("discord", pair.public_key)
    return Case(
        route=route,
        check=Req("POST", target, _signed("discord", body, pair.private_key), body),
        answer=("application/json", b'{"type":1}'),
        forged={
            "unsigned": (Req("POST", target, {}, body), Reason.SIGNATURE_MISSING),
            "wrong key": (
                Req("POST", target, _signed("discord", body, other.private_key), body),
                Reason.SIGNATURE_MISMATCH,
            ),
        },
        event=Req("POST", target, _signed("discord", event, pair.private_key), event),
    )


def okta_case() -> Case:
    """Okta event hook one-time verification: a GET carrying the hook's authorization
    header and ``X-Okta-Verification-Challenge``, answered ``{"verification": ...}``:
    https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request"""
    secret, challenge = _secret(), _challenge()
    head = "x-okta-verification-challenge"
    target = "/hooks/okta"
    signed = sign("okta", b"", secret=secret, method="GET")
    event = json.dumps({"eventType": "com.okta.event_hook", "eventId": secrets.token_hex(8)})
    return Case(
        route=_route("okta", secret),
        check=Req("GET", target, {**signed, head: challenge}),
        answer=(
            "application/json",
            json.dumps({"verification": challenge}).replace(" ", "").encode(),
        ),
        forged={
            "no authorization": (Req("GET", target, {head: challenge}), Reason.TOKEN_MISSING),
            "wrong authorization": (
                Req("GET", target, {**sign("okta", b"", secret=_secret()), head: challenge}),
                Reason.TOKEN_INVALID,
            ),
        },
        event=Req("POST", target, _signed("okta", event.encode(), secret), event.encode()),
        private=(challenge.encode(), secret.encode()),
    )


def msgraph_case() -> Case:
    """Microsoft Graph notification URL validation: ``validationToken`` in the query,
    echoed as text/plain (an unsigned echo, answered before authentication):
    https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation
    """
    secret, challenge = _secret(), _challenge()
    token = "Validation: Testing client application reachability " + challenge
    event = json.dumps({"value": [{"clientState": secret, "subscriptionId": "s1"}]}).encode()
    return Case(
        route=_route("msgraph", secret),
        check=Req("POST", "/hooks/msgraph?" + urlencode({"validationToken": token}), {}),
        answer=("text/plain; charset=utf-8", token.encode()),
        # An echo of the caller's own value proves nothing and needs no proof.
        forged={},
        private=(challenge.encode(),),
        # Graph's proof is each notification's clientState, in the body itself.
        event=Req("POST", "/hooks/msgraph", {"content-type": "application/json"}, event),
    )


def dropbox_case() -> Case:
    """Dropbox verification GET: ``challenge`` in the query, echoed as the body with
    ``Content-Type: text/plain`` and ``X-Content-Type-Options: nosniff`` (unsigned):
    https://www.dropbox.com/developers/reference/webhooks#documentation"""
    secret, challenge = _secret(), _challenge()
    target = "/hooks/dropbox"
    hostile = challenge + "\r\nSet-Cookie: x=1"
    event = json.dumps(
        {"list_folder": {"accounts": ["dbid:" + secrets.token_hex(8)]}, "delta": {"users": [1]}}
    ).encode()
    return Case(
        route=_route("dropbox", secret),
        check=Req("GET", target + "?" + urlencode({"challenge": challenge})),
        answer=("text/plain; charset=utf-8", challenge.encode()),
        forged={
            # Not visible ASCII: no check, so the GET goes on to the signature check.
            "challenge with a header break": (
                Req("GET", target + "?" + urlencode({"challenge": hostile})),
                Reason.SIGNATURE_MISSING,
            ),
        },
        event=Req("POST", target, _signed("dropbox", event, secret), event),
        private=(challenge.encode(),),
    )


def woocommerce_case() -> Case:
    """WooCommerce activation ping: an unsigned POST whose body is ``webhook_id=<id>``,
    which must get status 200 (``WC_Webhook::deliver_ping``):
    https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php
    """
    secret = _secret()
    target = "/hooks/woocommerce"
    ping = b"webhook_id=" + str(secrets.randbelow(10**6) + 1).encode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    event = json.dumps({"id": secrets.randbelow(10**6), "status": "processing"}).encode()
    wrong = sign("woocommerce", ping, secret=_secret())
    return Case(
        route=_route("woocommerce", secret),
        check=Req("POST", target, form, ping),
        answer=("text/plain; charset=utf-8", b""),
        forged={
            # Only the exact shape is the ping: anything more is an unsigned delivery.
            "another field": (Req("POST", target, form, ping + b"&x=1"), Reason.SIGNATURE_MISSING),
            "a wrong signature": (
                Req("POST", target, {**form, **wrong}, ping),
                Reason.SIGNATURE_MISMATCH,
            ),
        },
        event=Req("POST", target, _signed("woocommerce", event, secret), event),
    )


def trello_case() -> Case:
    """Trello's check of a new webhook's callbackURL: a HEAD request, which must get 200
    or the webhook is not created ("Creating a Webhook"):
    https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/"""
    secret = _secret()
    target = "/hooks/trello"
    url = PUBLIC_URL + target
    event = json.dumps(
        {"action": {"id": secrets.token_hex(12), "type": "updateCard"}, "model": {}}
    ).encode()
    return Case(
        route=_route("trello", secret, public_url=PUBLIC_URL),
        check=Req("HEAD", target),
        answer=("text/plain; charset=utf-8", b""),
        forged={
            # Only the HEAD is the check: a bodiless POST is an unsigned delivery.
            "an unsigned POST": (Req("POST", target), Reason.SIGNATURE_MISSING),
            "a wrong signature": (
                Req("POST", target, _signed("trello", event, _secret(), url=url), event),
                Reason.SIGNATURE_MISMATCH,
            ),
            "signed for another callback URL": (
                Req("POST", target, _signed("trello", event, secret, url=url + "x"), event),
                Reason.SIGNATURE_MISMATCH,
            ),
        },
        event=Req("POST", target, _signed("trello", event, secret, url=url), event),
    )


def mandrill_case() -> Case:
    """Mandrill's URL check: a ``HEAD`` when a webhook is added, which must get status 200;
    failing that, a POST of ``mandrill_events=[]`` signed with the public key
    ``test-webhook``, which must never verify (mandrill.zendesk.com, "Why can't my webhook
    or inbound route URL be verified?")."""
    secret = _secret()
    target = "/hooks/mandrill"
    url = "https://hooks.example.com" + target
    form = {"content-type": "application/x-www-form-urlencoded"}
    empty = urlencode({"mandrill_events": "[]"}).encode()
    fallback = sign("mandrill", empty, secret="test-webhook", url=url)
    events = json.dumps([{"event": "open", "_id": secrets.token_hex(16), "ts": 1365109999}])
    event = urlencode({"mandrill_events": events}).encode()
    return Case(
        route=_route("mandrill", secret, public_url="https://hooks.example.com"),
        check=Req("HEAD", target),
        answer=("text/plain; charset=utf-8", b""),
        forged={
            "the fallback check under the public test key": (
                Req("POST", target, {**form, **fallback}, empty),
                Reason.SIGNATURE_MISMATCH,
            ),
            "an unsigned POST": (Req("POST", target, form, empty), Reason.SIGNATURE_MISSING),
        },
        event=Req("POST", target, sign("mandrill", event, secret=secret, url=url), event),
    )


#: How to build each handshake preset's check. A preset with a handshake and no entry
#: here fails test_every_handshake_preset_has_a_case: add its builder.
CASES: dict[str, Callable[[], Case]] = {
    "slack": slack_case,
    "meta": meta_case,
    "zoom": zoom_case,
    "twitch": twitch_case,
    "discord": discord_case,
    "okta": okta_case,
    "msgraph": msgraph_case,
    "dropbox": dropbox_case,
    "woocommerce": woocommerce_case,
    "trello": trello_case,
    "mandrill": mandrill_case,
}

#: Every preset whose provider makes an endpoint check, as PRESETS has them now.
# SNS's SubscriptionConfirmation is verified like any message and reaches the app unless
# handshake.confirm is set; tests/test_presets_fetched.py covers both on real uvicorn.
HANDSHAKE_PRESETS = sorted(
    name for name, preset in PRESETS.items() if preset.handshake and name != "sns"
)
ROWS = [name for name in HANDSHAKE_PRESETS if name in CASES]


def test_every_handshake_preset_has_a_case() -> None:
    assert "slack" in HANDSHAKE_PRESETS
    assert set(HANDSHAKE_PRESETS) <= set(CASES), "add a builder to CASES"


# -- the servers -------------------------------------------------------------------------


def _uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]


def _command(server: str, port: int, upstream: str, config: Path) -> list[str]:
    """The command line that starts ``server`` on ``port``."""
    if server == "starlette-uvicorn":
        return _uvicorn("tests.handshake_apps:starlette_app", port)
    if server == "fastapi-uvicorn":
        return _uvicorn("tests.handshake_apps:fastapi_app", port)
    if server == "flask-run":
        app = ["--app", "tests.handshake_apps:flask_app"]
        return [sys.executable, "-m", "flask", *app, "run", "--port", str(port)]
    if server in ("django-gunicorn", "django-protect-gunicorn"):
        bind = ["-b", f"127.0.0.1:{port}", "-w", "1"]
        return [sys.executable, "-m", "gunicorn", *bind, "tests.handshake_django:wsgi"]
    assert server == "webhook-guard-serve", server
    serve = [console_script("webhook-guard"), "serve", "--config", str(config)]
    serve += ["--upstream", upstream]
    return [*serve, "--port", str(port)]


SERVERS = [
    "starlette-uvicorn",
    "fastapi-uvicorn",
    "flask-run",
    "django-gunicorn",
    "django-protect-gunicorn",  # protect(route) on each view, CSRF middleware on
    "webhook-guard-serve",
]


@dataclass
class Stack:
    """A server with every handshake route, and the log of what its app was handed."""

    url: str
    log: Path
    cases: dict[str, Case]

    def seen(self) -> list[dict[str, str]]:
        text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def send(self, req: Req) -> httpx.Response:
        return httpx.request(
            req.method, self.url + req.target, headers=req.headers, content=req.body, timeout=30
        )


@pytest.fixture(scope="module", params=SERVERS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(request.param)
    cases = {name: CASES[name]() for name in ROWS}
    config = tmp / "webhook-guard.yaml"
    config.write_text(json.dumps({"version": 1, "routes": [c.route for c in cases.values()]}))
    log = tmp / "app.log"
    env = {
        **os.environ,
        "WG_HANDSHAKE_CONFIG": str(config),
        "WG_HANDSHAKE_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "WG_HANDSHAKE_PROTECT": "1" if request.param == "django-protect-gunicorn" else "",
    }
    with contextlib.ExitStack() as stack:
        upstream = ""
        if request.param == "webhook-guard-serve":
            port = free_port()
            upstream_args = _uvicorn("tests.handshake_apps:upstream_app", port)
            stack.enter_context(run_process(upstream_args, port, env=env, cwd=ROOT))
            upstream = f"http://127.0.0.1:{port}"
        port = free_port()
        stack.enter_context(
            run_process(
                _command(request.param, port, upstream, config),
                port,
                env=env,
                cwd=ROOT,
                output=tmp / "server.log",
            )
        )
        yield Stack(f"http://127.0.0.1:{port}", log, cases)


# -- the checks --------------------------------------------------------------------------


def _nothing_of(answer: bytes, body: bytes) -> None:
    """No 8-byte window of ``answer`` appears in ``body`` (nor the whole of a short one)."""
    size = min(8, len(answer))
    windows = {answer[i : i + size] for i in range(len(answer) - size + 1)}
    leaked = [w for w in windows if w in body]
    assert not leaked, f"the refusal carries part of the answer: {leaked[:3]}"


@pytest.mark.parametrize("name", ROWS)
def test_the_check_is_answered_by_the_guard_not_the_app(stack: Stack, name: str) -> None:
    case = stack.cases[name]
    before = len(stack.seen())
    for _ in range(2):  # a provider may repeat its check: each one is answered
        r = stack.send(case.check)
        assert r.status_code == 200, r.text
        assert r.content == case.answer[1]
        assert r.headers["content-type"] == case.answer[0]
        assert r.headers.get(NOSNIFF[0]) == NOSNIFF[1]
    assert stack.seen()[before:] == []


@pytest.mark.parametrize("name", ROWS)
def test_a_forged_check_is_refused_with_nothing_of_the_answer(stack: Stack, name: str) -> None:
    case = stack.cases[name]
    before = len(stack.seen())
    for label, (req, reason) in case.forged.items():
        r = stack.send(req)
        assert r.status_code == 401, (label, r.text)
        assert r.headers["content-type"] == "application/problem+json", label
        assert r.json()["reason"] == reason.value, label
        assert r.content != case.answer[1], label
        for value in case.private:
            _nothing_of(value, r.content)
    assert stack.seen()[before:] == []


@pytest.mark.parametrize("name", ROWS)
def test_an_ordinary_delivery_still_reaches_the_app(stack: Stack, name: str) -> None:
    case = stack.cases[name]
    before = len(stack.seen())
    r = stack.send(case.event)
    assert r.status_code == 200, r.text
    assert r.content == APP_ANSWER
    assert [(s["method"], s["body"].encode("latin-1")) for s in stack.seen()[before:]] == [
        (case.event.method, case.event.body)
    ]


@pytest.mark.parametrize("name", [n for n in ROWS if CASES[n]().relabelled is not None])
def test_a_check_resent_as_an_event_does_not_reach_the_app(stack: Stack, name: str) -> None:
    """An answered check uses up its signed message ID: the captured check, relabelled as
    an ordinary delivery in a header the provider does not sign, is a duplicate."""
    case = stack.cases[name]
    assert case.relabelled is not None
    before = len(stack.seen())
    assert stack.send(case.check).content == case.answer[1]
    r = stack.send(case.relabelled)
    assert r.content != APP_ANSWER, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == Reason.DUPLICATE_EVENT.value
    assert stack.seen()[before:] == []
    assert stack.send(case.check).content == case.answer[1]  # still answered when repeated


@pytest.mark.parametrize(
    ("name", "method"),
    # (Mandrill's check is itself a HEAD: only the other methods are another method.)
    [(n, m) for n in ROWS for m in ("HEAD", "OPTIONS", "PUT") if m != CASES[n]().check.method],
)
def test_the_check_in_another_method_is_not_answered(stack: Stack, name: str, method: str) -> None:
    case = stack.cases[name]
    before = len(stack.seen())
    r = stack.send(Req(method, case.check.target, case.check.headers, case.check.body))
    assert r.status_code == 405, r.text
    # (An empty answer, WooCommerce's, is told apart by the status alone: HEAD has no body.)
    assert r.content != case.answer[1] or not case.answer[1]
    for value in case.private:
        _nothing_of(value, r.content)
    assert stack.seen()[before:] == []


# -- the core's record of a handshake ------------------------------------------------------


@pytest.mark.parametrize("name", ROWS)
def test_audit_and_metrics_count_a_handshake_as_such(name: str) -> None:
    case = CASES[name]()
    guard = Guard.from_dict({"version": 1, "routes": [case.route]})
    path, _, query = case.check.target.partition("?")
    verdict = guard.check(
        WebhookRequest(case.check.method, path, query, case.check.headers, case.check.body)
    )
    assert verdict.reason is Reason.HANDSHAKE
    assert verdict.route == name
    assert outcome_of(verdict) == ("handshake", "handshake")
    assert outcome(verdict) == ("handshake", "handshake")
    assert verdict.event_id is None  # a check is not an event: nothing is reserved
