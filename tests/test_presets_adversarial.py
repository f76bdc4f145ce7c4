"""Every preset against the same attacks; each must fail with its precise reason code.

Requests are signed with webhook_guard.testing.sign, which test_presets.py checks against
the providers' SDKs and published vectors.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import pytest

from webhook_guard import Guard, Reason, WebhookRequest
from webhook_guard.testing import FakeClock, keypair, sign

from .conftest import NOW, SW_SECRET, SW_SECRET_OLD, GuardFactory

TS = int(NOW)
JSON = b'{"id":"evt_A1","event_id":"evt_B2","data":{"n":1}}'
FORM = b"To=%2B18005551212&From=%2B14158675310&Body=hi&MessageSid=SM1"
PUBLIC_URL = "https://hooks.example.com"

#: preset -> (current secret, another secret). Both valid for the preset's key format.
SECRETS: dict[str, tuple[str, str]] = {
    "standard": (SW_SECRET, SW_SECRET_OLD),
    "stripe": ("whsec_current_stripe", "whsec_other_stripe"),
    "github": ("gh-current", "gh-other"),
    "gitlab": ("gl-current", "gl-other"),
    "slack": ("slack-current", "slack-other"),
    "shopify": ("shpss_current", "shpss_other"),
    "bitbucket": ("bb-current", "bb-other"),
    "twilio": ("twilio-current", "twilio-other"),
    "bitbucket-server": ("bbs-current", "bbs-other"),
    "convoy": ("convoy-current", "convoy-other"),
    "paddle": ("pdl_ntfset_current", "pdl_ntfset_other"),
    "convoy-advanced": ("convoy-adv-current", "convoy-adv-other"),
    # Ordered so that no two neighbours share a header (okta and postmark both read
    # Authorization): test_request_for_one_provider_sent_to_another relies on it.
    "okta": ("okta-current", "okta-other"),
    "calendly": ("calendly-current", "calendly-other"),
    "telegram": ("tg-current_1", "tg-other_2"),
    "sentry": ("sentry-current", "sentry-other"),
    "postmark": ("pm-current", "pm-other"),
    "paystack": ("sk_test_current", "sk_test_other"),
    "lemonsqueezy": ("ls-current", "ls-other"),
    "zoom": ("zoom-current", "zoom-other"),
    "twitch": ("twitch-current", "twitch-other"),
    "hubspot": ("hubspot-current", "hubspot-other"),
    "workos": ("workos-current", "workos-other"),
    "meta": ("meta-current", "meta-other"),
    "linear": ("lin_wh_current", "lin_wh_other"),
    "square": ("square-current", "square-other"),
    "intercom": ("intercom-current", "intercom-other"),
    "typeform": ("typeform-current", "typeform-other"),
    "razorpay": ("rzp-current", "rzp-other"),
    "coinbase-commerce": ("cc-current", "cc-other"),
    "checkout": ("cko-current", "cko-other"),
    "mux": ("mux-current", "mux-other"),
    "box": ("box-primary-current", "box-primary-other"),
    "circleci": ("circleci-current", "circleci-other"),
    "buildkite": ("bk-current", "bk-other"),
    "vercel": ("vercel-current", "vercel-other"),
    "buildkite-token": ("bkt-current", "bkt-other"),
    "heroku": ("heroku-current", "heroku-other"),
    # forgejo also reads X-Gitea-Signature: gitea is not its neighbour.
    "gitea": ("gitea-current", "gitea-other"),
    "xero": ("xero-current", "xero-other"),
    "forgejo": ("forgejo-current", "forgejo-other"),
    "dropbox": ("dropbox-current", "dropbox-other"),
    "woocommerce": ("wc-current", "wc-other"),
    # segment and clickup both read X-Signature: trello sits between them.
    "jira": ("jira-current", "jira-other"),
    "segment": ("segment-current", "segment-other"),
    "trello": ("trello-current", "trello-other"),
    "clickup": ("clickup-current", "clickup-other"),
    "notion": ("secret_notionCurrent0", "secret_notionOther00"),
    # Airtable's secret is its base64 macSecretBase64.
    "airtable": ("YWlydGFibGUtY3VycmVudC1tYWMtc2VjcmV0", "YWlydGFibGUtb3RoZXItbWFjLXNlY3JldA=="),
    "mandrill": ("mandrill-current", "mandrill-other"),
    "zendesk": ("zd-current", "zd-other"),
    "customerio": ("cio-current", "cio-other"),
}
#: Public-key presets: SECRETS holds private keys (to sign with; "wrong key" is another
#: key pair), and a route lists the matching public keys, as the dashboard shows them.
PUBKEY = ("discord", "sendgrid")
PUBLIC: dict[str, str] = {}
for _name in PUBKEY:
    _pairs = (keypair(_name), keypair(_name))
    SECRETS[_name] = (_pairs[0].private_key, _pairs[1].private_key)
    PUBLIC.update({pair.private_key: pair.public_key for pair in _pairs})
PRESET_NAMES = list(SECRETS)
#: Token presets: a shared secret in a header or Basic auth, no signature.
TOKENS = {"gitlab", "telegram", "okta", "postmark", "buildkite-token"}
#: Presets without a replay check (``event_id: none``): Dropbox sends the same bytes for
#: the next change to the same accounts, so a repeat is not a replay to refuse.
NO_DEDUP = {"dropbox"}
SIGNED = [p for p in PRESET_NAMES if p not in TOKENS]
TIMESTAMPED = [
    "standard",
    "stripe",
    "slack",
    "paddle",
    "convoy-advanced",
    "zoom",
    "twitch",
    "hubspot",
    "workos",
    "linear",
    "discord",
    "sendgrid",
    "calendly",
    "mux",
    "box",
    "buildkite",
    "zendesk",
    "customerio",
]
#: Presets with their provider's own window instead of the default 300 s.
WINDOW = {"twitch": 600, "linear": 60, "box": 600}
#: Presets that sign the URL they are called at, so their routes need public_url.
SIGNS_URL = ("twilio", "hubspot", "square", "trello", "mandrill")
#: Presets whose body is a form (Twilio's and Mandrill's signed parameters).
FORMS = ("twilio", "mandrill")


def body_for(preset: str, timestamp: int = TS) -> bytes:
    if preset == "linear":  # Linear's timestamp is in the signed body, in milliseconds
        return JSON[:-1] + b',"webhookTimestamp":%d}' % (timestamp * 1000)
    return FORM if preset in FORMS else JSON


def path_for(preset: str, name: str | None = None) -> str:
    return f"/hooks/{name or preset}"


def route(preset: str, secrets: list[Any] | None = None, name: str | None = None) -> dict[str, Any]:
    listed = secrets if secrets is not None else [SECRETS[preset][0]]
    r: dict[str, Any] = {
        "name": name or preset,
        "path": path_for(preset, name),
        "provider": preset,
        "secrets": [_public(s) for s in listed],
    }
    if preset in SIGNS_URL:
        r["public_url"] = PUBLIC_URL
    return r


def _public(secret: Any) -> Any:
    """What a route lists for ``secret``: the public key of a private one."""
    if isinstance(secret, dict):
        return {**secret, "value": PUBLIC.get(secret["value"], secret["value"])}
    return PUBLIC.get(secret, secret)


def signed(
    preset: str,
    secret: str | None = None,
    body: bytes | None = None,
    timestamp: int = TS,
    path: str | None = None,
    event_id: str = "delivery-1",
) -> dict[str, str]:
    kwargs: dict[str, Any] = {}
    if preset in SIGNS_URL:
        kwargs["url"] = PUBLIC_URL + (path or path_for(preset))
    return sign(
        preset,
        body if body is not None else body_for(preset, timestamp),
        secret=secret or SECRETS[preset][0],
        timestamp=timestamp,
        event_id=event_id,
        **kwargs,
    )


def request(
    preset: str, headers: dict[str, str], body: bytes | None = None, path: str | None = None
) -> WebhookRequest:
    return WebhookRequest(
        "POST",
        path or path_for(preset),
        headers=headers,
        body=body if body is not None else body_for(preset),
        peer="203.0.113.9",
    )


def auth_header(guard: Guard, name: str) -> str:
    config = guard.config.route(name)
    if config.signature is not None:
        return config.signature.headers[0]
    assert config.token is not None
    return config.token.name or "authorization"  # basic auth: no header name configured


def mismatch(preset: str) -> Reason:
    return Reason.TOKEN_INVALID if preset in TOKENS else Reason.SIGNATURE_MISMATCH


def missing(preset: str) -> Reason:
    return Reason.TOKEN_MISSING if preset in TOKENS else Reason.SIGNATURE_MISSING


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat()


# -- happy path ---------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_signed_request_verifies_and_names_the_secret(
    make_guard: GuardFactory, preset: str
) -> None:
    guard = make_guard(route(preset))
    verdict = guard.check(request(preset, signed(preset)))
    assert verdict.ok, verdict.detail
    assert verdict.secret_id == "secrets[0]"
    assert (verdict.event_id is None) is (preset in NO_DEDUP)


# -- body and key -------------------------------------------------------------------------


@pytest.mark.parametrize("preset", SIGNED)
def test_tampered_body(make_guard: GuardFactory, preset: str) -> None:
    body = body_for(preset)
    tampered = body.replace(b"1", b"2") if preset not in FORMS else body + b"&Extra=1"
    verdict = make_guard(route(preset)).check(request(preset, signed(preset), tampered))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH, verdict.detail


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_wrong_secret(make_guard: GuardFactory, preset: str) -> None:
    headers = signed(preset, secret=SECRETS[preset][1])
    verdict = make_guard(route(preset)).check(request(preset, headers))
    assert verdict.reason is mismatch(preset), verdict.detail
    assert verdict.secret_id is None


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_expired_previous_secret(make_guard: GuardFactory, preset: str) -> None:
    current, previous = SECRETS[preset]
    secrets = [current, {"value": previous, "label": "previous", "expires": iso(NOW - 1)}]
    guard = make_guard(route(preset, secrets))
    verdict = guard.check(request(preset, signed(preset, secret=previous)))
    assert verdict.reason is mismatch(preset), verdict.detail


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_rotation_accepts_both_until_the_previous_expires(
    make_guard: GuardFactory, clock: FakeClock, preset: str
) -> None:
    current, previous = SECRETS[preset]
    secrets = [
        {"value": current, "label": "current"},
        {"value": previous, "label": "previous", "expires": iso(NOW + 3600)},
    ]
    guard = make_guard(route(preset, secrets))

    def delivery(secret: str, label: str, timestamp: int = TS) -> WebhookRequest:
        # A distinct delivery each time: its own ID header, and body ID (Stripe, Paddle);
        # Twilio's form its own MessageSid (where no signed ID exists, the signed content
        # keys the replay check, whichever secret signed it).
        body = body_for(preset, timestamp).replace(b"evt_", f"evt_{label}_".encode())
        body = body.replace(b"MessageSid=SM1", f"MessageSid=SM{label}".encode())
        headers = signed(preset, secret, body, timestamp, event_id=f"delivery-{label}")
        return request(preset, headers, body)

    for secret, label in ((current, "current"), (previous, "previous")):
        verdict = guard.check(delivery(secret, label))
        assert verdict.ok, verdict.detail
        assert verdict.secret_id == label
    clock.advance(3601)
    now = int(clock.now)
    late = guard.check(delivery(previous, "late", now))
    assert late.reason is mismatch(preset), late.detail
    assert guard.check(delivery(current, "later", now)).secret_id == "current"


# -- the signature header -------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_missing_signature(make_guard: GuardFactory, preset: str) -> None:
    guard = make_guard(route(preset))
    headers = signed(preset)
    del headers[auth_header(guard, preset)]
    verdict = guard.check(request(preset, headers))
    assert verdict.reason is missing(preset), verdict.detail


@pytest.mark.parametrize("preset", PRESET_NAMES)
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "doubled"])
def test_malformed_signature(make_guard: GuardFactory, preset: str, damage: str) -> None:
    guard = make_guard(route(preset))
    headers = signed(preset)
    name = auth_header(guard, preset)
    value = headers.pop(name)
    items: list[tuple[str, str]] = list(headers.items())
    if damage == "garbage":
        items.append((name, "not a signature \u00ff"))
    elif damage == "truncated":
        items.append((name, value[:-4]))
    elif damage == "empty":
        items.append((name, ""))
    else:
        items += [(name, value), (name, value)]
    verdict = guard.check(
        WebhookRequest("POST", path_for(preset), headers=items, body=body_for(preset))
    )
    if preset in TOKENS:
        expected = Reason.TOKEN_MISSING if damage == "empty" else Reason.TOKEN_INVALID
    else:
        expected = Reason.SIGNATURE_MALFORMED
    assert verdict.reason is expected, verdict.detail


def _hex_to_b64(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode()


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


#: preset -> how to turn its good header into one of another scheme version or encoding.
WRONG_VERSION = {
    "standard": lambda v: v.replace("v1,", "v2,"),
    "stripe": lambda v: v.replace("v1=", "v0="),  # test-mode only: a downgrade
    "github": lambda v: v.replace("sha256=", "sha1="),
    "slack": lambda v: v.replace("v0=", "v1="),
    "shopify": _b64_to_hex,
    "bitbucket": lambda v: v.replace("sha256=", "sha1="),
    "bitbucket-server": lambda v: v.replace("sha256=", "sha512="),
    "twilio": _b64_to_hex,
    "convoy": _hex_to_b64,
    "paddle": lambda v: v.replace("h1=", "h2="),
    "convoy-advanced": lambda v: v.replace("v1=", "v2="),
    # Public-key presets have one version: the signature in the other encoding.
    "discord": _hex_to_b64,
    "sendgrid": _b64_to_hex,
    "zoom": lambda v: v.replace("v0=", "v1="),
    "twitch": lambda v: v.replace("sha256=", "sha1="),
    "hubspot": _b64_to_hex,
    "workos": lambda v: v.replace("v1=", "v0="),
    "meta": lambda v: v.replace("sha256=", "sha1="),
    "linear": _hex_to_b64,
    "square": _b64_to_hex,
    "intercom": lambda v: v.replace("sha1=", "sha256="),
    "typeform": lambda v: "sha256=" + _b64_to_hex(v.removeprefix("sha256=")),
    "calendly": lambda v: v.replace("v1=", "v0="),
    "sentry": _hex_to_b64,
    "paystack": _hex_to_b64,
    "lemonsqueezy": _hex_to_b64,
    "razorpay": _hex_to_b64,
    "coinbase-commerce": _hex_to_b64,
    "checkout": _hex_to_b64,
    "mux": lambda v: v.replace("v1=", "v0="),
    "box": _b64_to_hex,
    "circleci": lambda v: v.replace("v1=", "v2="),  # only v1 counts: a downgrade guard
    "buildkite": lambda v: v.replace(",signature=", ",v1="),  # Stripe's key is not it
    "vercel": _hex_to_b64,
    "heroku": _b64_to_hex,
    "gitea": _hex_to_b64,
    "forgejo": _hex_to_b64,
    "xero": _b64_to_hex,
    "dropbox": _hex_to_b64,
    "woocommerce": _b64_to_hex,
    "jira": lambda v: v.replace("sha256=", "sha1="),  # only sha256 is Jira's method
    "segment": _hex_to_b64,
    "trello": _b64_to_hex,
    "clickup": _hex_to_b64,
    "notion": lambda v: v.replace("sha256=", "sha1="),
    "airtable": lambda v: v.replace("hmac-sha256=", "hmac-sha1="),
    "mandrill": _b64_to_hex,
    "zendesk": _b64_to_hex,
    "customerio": _hex_to_b64,
}


@pytest.mark.parametrize("preset", SIGNED)
def test_wrong_scheme_version(make_guard: GuardFactory, preset: str) -> None:
    guard = make_guard(route(preset))
    headers = signed(preset)
    name = auth_header(guard, preset)
    headers[name] = WRONG_VERSION[preset](headers[name])
    verdict = guard.check(request(preset, headers))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED, verdict.detail


# -- timestamps and replays -----------------------------------------------------------------


@pytest.mark.parametrize("preset", TIMESTAMPED)
@pytest.mark.parametrize(
    ("direction", "reason"),
    [(-1, Reason.TIMESTAMP_TOO_OLD), (1, Reason.TIMESTAMP_IN_FUTURE)],
)
def test_stale_and_future_timestamps(
    make_guard: GuardFactory, preset: str, direction: int, reason: Reason
) -> None:
    offset = direction * (WINDOW.get(preset, 300) + 1)
    body = body_for(preset, TS + offset)
    verdict = make_guard(route(preset)).check(
        request(preset, signed(preset, body=body, timestamp=TS + offset), body)
    )
    assert verdict.reason is reason, verdict.detail
    assert f"{abs(offset)} s" in verdict.detail


@pytest.mark.parametrize("preset", TIMESTAMPED)
def test_edge_of_the_window_is_accepted(make_guard: GuardFactory, preset: str) -> None:
    guard = make_guard(route(preset))
    stamp = TS - WINDOW.get(preset, 300)
    body = body_for(preset, stamp)
    assert guard.check(request(preset, signed(preset, body=body, timestamp=stamp), body)).ok


@pytest.mark.parametrize("preset", [p for p in PRESET_NAMES if p not in NO_DEDUP])
def test_replayed_delivery_is_a_duplicate(make_guard: GuardFactory, preset: str) -> None:
    guard = make_guard(route(preset))
    headers = signed(preset)
    first = guard.check(request(preset, headers))
    assert first.ok, first.detail
    guard.complete(first, 200)
    again = guard.check(request(preset, headers))
    assert again.reason is Reason.DUPLICATE_EVENT
    assert again.event_id == first.event_id


#: Where each signed preset takes its delivery ID from, when the request carries one.
ID_HEADERS = {
    "standard": "webhook-id",
    "github": "X-GitHub-Delivery",
    "shopify": "X-Shopify-Webhook-Id",
    "bitbucket": "X-Request-UUID",
    "bitbucket-server": "X-Request-Id",
    "convoy": "X-Convoy-Idempotency-Key",
    "convoy-advanced": "X-Convoy-Idempotency-Key",
    "twilio": "I-Twilio-Idempotency-Token",
    "twitch": "Twitch-Eventsub-Message-Id",
    "linear": "Linear-Delivery",
    "sentry": "Request-ID",
    "razorpay": "x-razorpay-event-id",
    "gitea": "X-Gitea-Delivery",
    "forgejo": "X-Forgejo-Delivery",
    "jira": "X-Atlassian-Webhook-Identifier",
    "zendesk": "X-Zendesk-Webhook-Invocation-Id",
}
#: Presets whose signature covers the ID header, so a fresh ID breaks the signature.
SIGNS_ID = ("standard", "twitch")


@pytest.mark.parametrize("preset", sorted(ID_HEADERS))
def test_replay_under_a_fresh_delivery_id_is_caught(make_guard: GuardFactory, preset: str) -> None:
    """The attack: resend a captured delivery with a new ID so that dedup sees a new event.

    Standard Webhooks and Twitch sign the ID, so the forged copy fails the signature; the others
    do not, so their replay check keys on the verified signature, which the copy repeats.
    """
    guard = make_guard(route(preset))
    headers = signed(preset, event_id="delivery-1")
    [name] = [k for k in headers if k.lower() == ID_HEADERS[preset].lower()]
    first = guard.check(request(preset, headers))
    assert first.ok, first.detail
    assert first.event_id == "delivery-1"
    guard.complete(first, 200)
    forged = guard.check(request(preset, {**headers, name: "delivery-2-forged"}))
    expected = Reason.SIGNATURE_MISMATCH if preset in SIGNS_ID else Reason.DUPLICATE_EVENT
    assert forged.reason is expected, forged.detail
    # An honest retry (same ID, same bytes) is still recognised.
    assert guard.check(request(preset, headers)).reason is Reason.DUPLICATE_EVENT


def test_unsigned_id_header_configured_by_hand_is_not_trusted_for_dedup(
    make_guard: GuardFactory,
) -> None:
    secret = "generic-secret"
    generic = {
        "name": "gen",
        "path": "/hooks/gen",
        "secrets": [secret],
        "signature": {"header": "X-Sig", "prefix": "sha256="},
        "event_id": {"header": "X-Delivery"},
    }
    guard = make_guard(generic)
    headers = sign(guard, "gen", JSON, event_id="d-1")
    assert headers["x-delivery"] == "d-1"
    first = guard.check(request("gen", headers, path="/hooks/gen"))
    assert first.ok
    assert first.event_id == "d-1"
    guard.complete(first, 200)
    again = guard.check(request("gen", {**headers, "x-delivery": "d-2"}, path="/hooks/gen"))
    assert again.reason is Reason.DUPLICATE_EVENT


def test_slack_retry_resigned_later_is_a_duplicate_by_body_event_id(
    make_guard: GuardFactory, clock: FakeClock
) -> None:
    guard = make_guard(route("slack"))
    first = guard.check(request("slack", signed("slack")))
    assert first.ok
    assert first.event_id == "evt_B2"
    guard.complete(first, 200)
    clock.now = NOW + 60  # Slack's retry: the same body, a new timestamp and signature
    retry = guard.check(request("slack", signed("slack", timestamp=TS + 60)))
    assert retry.reason is Reason.DUPLICATE_EVENT


def test_slack_form_without_event_id_dedups_on_the_signature(make_guard: GuardFactory) -> None:
    guard = make_guard(route("slack"))
    headers = signed("slack", body=FORM)
    first = guard.check(request("slack", headers, body=FORM))
    assert first.ok
    assert first.event_id is not None
    assert first.event_id.startswith("sig:")
    guard.complete(first, 200)
    assert guard.check(request("slack", headers, body=FORM)).reason is Reason.DUPLICATE_EVENT


# -- wrong route, wrong provider ------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_signature_moved_between_routes(make_guard: GuardFactory, preset: str) -> None:
    current, other = SECRETS[preset]
    guard = make_guard(
        route(preset, [current], name=f"{preset}-a"), route(preset, [other], name=f"{preset}-b")
    )
    path_a = path_for(preset, f"{preset}-a")
    headers = signed(preset, secret=current, path=path_a)
    assert guard.check(request(preset, headers, path=path_a)).ok
    moved = guard.check(request(preset, headers, path=path_for(preset, f"{preset}-b")))
    assert moved.reason is mismatch(preset), moved.detail


@pytest.mark.parametrize("preset", FORMS)
def test_form_signature_for_another_url_with_the_same_token(
    make_guard: GuardFactory, preset: str
) -> None:
    # Twilio and Mandrill sign the URL: the same key on two routes still does not transfer.
    token = SECRETS[preset][0]
    guard = make_guard(route(preset, [token], name="a"), route(preset, [token], name="b"))
    headers = signed(preset, path="/hooks/a")
    assert guard.check(request(preset, headers, path="/hooks/a")).ok
    moved = guard.check(request(preset, headers, path="/hooks/b"))
    assert moved.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize("index", range(len(PRESET_NAMES)))
def test_request_for_one_provider_sent_to_another(make_guard: GuardFactory, index: int) -> None:
    # Each preset's request goes to the next preset's route (ordered so no two neighbours
    # share a header), signed with the target's own secret: still refused.
    source = PRESET_NAMES[index]
    target = PRESET_NAMES[(index + 1) % len(PRESET_NAMES)]
    guard = make_guard(route(target))
    # Signed with the target's own secret where the source's key format allows it, so
    # the refusal comes from the scheme, not the key.
    # (Standard Webhooks' and Airtable's secrets are base64: another preset's is not.)
    own_key = source in ("standard", "airtable") or source in PUBKEY or target in PUBKEY
    headers = signed(source, secret=None if own_key else SECRETS[target][0])
    verdict = guard.check(request(target, headers, body_for(source)))
    assert verdict.reason is missing(target), (source, target, verdict.detail)


# -- Mailgun: the signature is in the body, so the attacks are on the body's fields ---------

MG_KEY, MG_OTHER = "mg-signing-key", "mg-other-key"
MG_EVENT = b'{"event-data":{"event":"delivered","id":"Ase7i2zsRYeDXztHGENqRA"}}'


def mailgun(
    secret: str = MG_KEY, timestamp: int = TS, token: str = "t" * 50, body: bytes = MG_EVENT
) -> bytes:
    from webhook_guard.testing import sign_body

    return sign_body("mailgun", body, secret=secret, timestamp=timestamp, event_id=token)


def mailgun_request(body: bytes, path: str = "/hooks/mailgun") -> WebhookRequest:
    headers = {"content-type": "application/json"}
    return WebhookRequest("POST", path, headers=headers, body=body, peer="203.0.113.9")


def mailgun_route(secret: str = MG_KEY, name: str = "mailgun") -> dict[str, Any]:
    return {"name": name, "path": f"/hooks/{name}", "provider": "mailgun", "secrets": [secret]}


def _edit_signature(body: bytes, **changes: Any) -> bytes:
    import json

    event = json.loads(body)
    for key, value in changes.items():
        if value is None:
            event["signature"].pop(key, None)
        else:
            event["signature"][key] = value
    return json.dumps(event).encode()


def test_mailgun_signed_body_verifies(make_guard: GuardFactory) -> None:
    verdict = make_guard(mailgun_route()).check(mailgun_request(mailgun()))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "t" * 50
    assert verdict.timestamp == TS


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"signature": None}, Reason.SIGNATURE_MISSING),
        ({"signature": "zz" * 32}, Reason.SIGNATURE_MALFORMED),
        ({"signature": "ab" * 31}, Reason.SIGNATURE_MALFORMED),  # truncated
        ({"signature": 7}, Reason.SIGNATURE_MALFORMED),
        ({"token": None}, Reason.SIGNATURE_MALFORMED),
        ({"token": "x" * 50}, Reason.SIGNATURE_MISMATCH),  # another token, same signature
        ({"timestamp": None}, Reason.TIMESTAMP_MISSING),
        ({"timestamp": "17e8"}, Reason.TIMESTAMP_MALFORMED),
        ({"timestamp": True}, Reason.TIMESTAMP_MALFORMED),
        ({"timestamp": str(TS + 1)}, Reason.SIGNATURE_MISMATCH),  # a moved timestamp
    ],
)
def test_mailgun_damaged_signature_fields(
    make_guard: GuardFactory, damage: dict[str, Any], reason: Reason
) -> None:
    body = _edit_signature(mailgun(), **damage)
    verdict = make_guard(mailgun_route()).check(mailgun_request(body))
    assert verdict.reason is reason, verdict.detail


@pytest.mark.parametrize(
    "body", [b'{"event-data":{}}', b"[1]", b"not json", b'{"signature":"x"}'], ids=repr
)
def test_mailgun_body_without_a_signature_object(make_guard: GuardFactory, body: bytes) -> None:
    verdict = make_guard(mailgun_route()).check(mailgun_request(body))
    assert verdict.reason is Reason.SIGNATURE_MISSING, verdict.detail


def test_mailgun_wrong_key(make_guard: GuardFactory) -> None:
    verdict = make_guard(mailgun_route()).check(mailgun_request(mailgun(secret=MG_OTHER)))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, Reason.TIMESTAMP_TOO_OLD), (301, Reason.TIMESTAMP_IN_FUTURE)],
)
def test_mailgun_stale_and_future_timestamps(
    make_guard: GuardFactory, offset: int, reason: Reason
) -> None:
    verdict = make_guard(mailgun_route()).check(mailgun_request(mailgun(timestamp=TS + offset)))
    assert verdict.reason is reason, verdict.detail


def test_mailgun_signature_reused_with_another_event_is_a_duplicate(
    make_guard: GuardFactory,
) -> None:
    """The body is not signed: a captured signature object on forged event-data verifies,
    so the signed token may be accepted once only."""
    guard = make_guard(mailgun_route())
    first = guard.check(mailgun_request(mailgun()))
    assert first.ok
    guard.complete(first, 200)
    forged = mailgun().replace(b"delivered", b"complained")
    again = guard.check(mailgun_request(forged))
    assert again.reason is Reason.DUPLICATE_EVENT
    assert again.event_id == first.event_id


def test_mailgun_signature_moved_between_routes(make_guard: GuardFactory) -> None:
    guard = make_guard(mailgun_route(MG_KEY, "mg-a"), mailgun_route(MG_OTHER, "mg-b"))
    body = mailgun()
    assert guard.check(mailgun_request(body, "/hooks/mg-a")).ok
    moved = guard.check(mailgun_request(body, "/hooks/mg-b"))
    assert moved.reason is Reason.SIGNATURE_MISMATCH


def test_header_signed_delivery_sent_to_mailgun(make_guard: GuardFactory) -> None:
    headers = signed("github", secret=MG_KEY)
    verdict = make_guard(mailgun_route()).check(
        WebhookRequest("POST", "/hooks/mailgun", headers=headers, body=JSON, peer="203.0.113.9")
    )
    assert verdict.reason is Reason.SIGNATURE_MISSING


# -- Microsoft Graph: a shared clientState in each notification of the body ----------------


GRAPH_STATE = "graph-current"


def graph_route(secret: str = GRAPH_STATE, name: str = "msgraph") -> dict[str, Any]:
    return {"name": name, "path": f"/hooks/{name}", "provider": "msgraph", "secrets": [secret]}


def graph_body(secret: str = GRAPH_STATE, resource: str = "Users/1") -> bytes:
    from webhook_guard.testing import sign_body

    body = b'{"value":[{"changeType":"updated","resource":"%s"}]}' % resource.encode()
    return sign_body("msgraph", body, secret=secret)


def graph_request(body: bytes, path: str = "/hooks/msgraph") -> WebhookRequest:
    return WebhookRequest("POST", path, body=body, peer="203.0.113.9")


def test_msgraph_wrong_missing_and_moved_client_state(make_guard: GuardFactory) -> None:
    guard = make_guard(graph_route(), graph_route("graph-other", "msgraph-b"))
    assert guard.check(graph_request(graph_body())).ok
    wrong = guard.check(graph_request(graph_body("graph-other")))
    assert wrong.reason is Reason.TOKEN_INVALID
    moved = guard.check(graph_request(graph_body(), "/hooks/msgraph-b"))
    assert moved.reason is Reason.TOKEN_INVALID
    missing = guard.check(graph_request(b'{"value":[{"changeType":"updated"}]}'))
    assert missing.reason is Reason.TOKEN_MISSING


def test_msgraph_replay_is_a_duplicate(make_guard: GuardFactory) -> None:
    guard = make_guard(graph_route())
    first = guard.check(graph_request(graph_body()))
    assert first.ok
    guard.complete(first, 200)
    assert guard.check(graph_request(graph_body())).reason is Reason.DUPLICATE_EVENT


def test_msgraph_body_is_not_integrity_protected(make_guard: GuardFactory) -> None:
    """Documented limit, not a feature: clientState is a shared secret, not a signature,
    so whoever holds it (anyone who read one notification) can change the rest."""
    guard = make_guard(graph_route())
    assert guard.check(graph_request(graph_body(resource="Users/2"))).ok


@pytest.mark.parametrize("stripped", ["first", "second"])
def test_replay_with_one_of_two_signatures_stripped_is_a_duplicate(stripped: str) -> None:
    """A sender rotating its secret signs each delivery with both (Convoy's advanced
    signatures, Stripe's roll). Where no signed event ID keys the replay check, the
    verified HMAC does; a replay carrying only the other signature must still be the
    same delivery, whichever of the route's secrets it matches."""
    clock = FakeClock(NOW)
    guard = Guard.from_dict(
        {
            "version": 1,
            "routes": [
                {
                    "name": "c",
                    "path": "/c",
                    "provider": "convoy-advanced",
                    "secrets": ["secret-one", "secret-two"],
                }
            ],
        },
        clock=clock,
    )
    body = b'{"event":"invoice.paid"}'
    sigs = [
        sign(guard, "c", body, secret=s, timestamp=int(NOW))["x-convoy-signature"]
        for s in ("secret-one", "secret-two")
    ]
    t, first = sigs[0].split(",")
    second = sigs[1].split(",")[1]

    def send(signature: str, idempotency: str) -> Any:
        headers = {"x-convoy-signature": signature, "x-convoy-idempotency-key": idempotency}
        verdict = guard.check(WebhookRequest("POST", "/c", headers=headers, body=body))
        assert verdict is not None
        if verdict.ok:
            guard.complete(verdict, status=200)
        return verdict

    assert send(f"{t},{first},{second}", "msg_1").ok
    kept = second if stripped == "first" else first
    replay = send(f"{t},{kept}", "msg_2")  # a fresh, unsigned idempotency key too
    assert not replay.ok
    assert replay.reason is Reason.DUPLICATE_EVENT


ROTATIONS = {
    # The rotation runbook's first step: the new secret goes first, the old one stays.
    "new secret put first": [{"value": "gh-new", "label": "new"}, {"value": "gh-old"}],
    "secrets reordered": [{"value": "gh-old"}, {"value": "gh-other"}],
    "first secret expired": [
        {"value": "gh-other", "expires": "2000-01-01T00:00:00Z"},
        {"value": "gh-old"},
    ],
}


@pytest.mark.parametrize("rotation", sorted(ROTATIONS))
def test_a_replay_after_a_secret_rotation_is_still_a_duplicate(rotation: str) -> None:
    """GitHub signs no delivery ID, so the replay check keys on the signature. That key
    must not depend on the route's secret list: a reload that reorders it (the runbook's
    first step) must not make a delivery seen just before look new."""

    def config(secrets: list[Any]) -> dict[str, Any]:
        route = {"name": "gh", "path": "/gh", "provider": "github", "secrets": secrets}
        return {"version": 1, "routes": [route]}

    guard = Guard.from_dict(config([{"value": "gh-other"}, {"value": "gh-old"}]))
    body = b'{"action":"opened","number":1}'
    headers = sign(guard, "gh", body, secret="gh-old")

    def send(delivery: str) -> Any:
        request_headers = {**headers, "x-github-delivery": delivery}
        verdict = guard.check(WebhookRequest("POST", "/gh", headers=request_headers, body=body))
        if verdict.ok:
            guard.complete(verdict, status=200)
        return verdict

    assert send("d-1").ok
    guard.reload(config(ROTATIONS[rotation]))
    replay = send("d-2")  # a fresh, unsigned delivery ID
    assert replay.reason is Reason.DUPLICATE_EVENT, replay.detail


def test_a_replay_stripped_to_one_signature_after_a_reorder_is_a_duplicate() -> None:
    """Both defences at once: a header carrying two signatures, a replay keeping one,
    after a reload that put the other secret first."""

    def config(secrets: list[str]) -> dict[str, Any]:
        route = {"name": "c", "path": "/c", "provider": "convoy-advanced", "secrets": secrets}
        return {"version": 1, "routes": [route]}

    clock = FakeClock(NOW)
    guard = Guard.from_dict(config(["one", "two"]), clock=clock)
    body = b'{"event":"invoice.paid"}'
    t, first = sign(guard, "c", body, secret="one", timestamp=int(NOW))["x-convoy-signature"].split(
        ","
    )
    second = sign(guard, "c", body, secret="two", timestamp=int(NOW))["x-convoy-signature"].split(
        ","
    )[1]

    def send(signature: str) -> Any:
        request = WebhookRequest("POST", "/c", headers={"x-convoy-signature": signature}, body=body)
        verdict = guard.check(request)
        if verdict.ok:
            guard.complete(verdict, status=200)
        return verdict

    assert send(f"{t},{first},{second}").ok
    guard.reload(config(["two", "one"]))
    for kept in (first, second):
        assert send(f"{t},{kept}").reason is Reason.DUPLICATE_EVENT


def test_convoy_replay_with_other_whitespace_is_a_duplicate() -> None:
    """Convoy signs the compacted JSON, so a body verifies with any whitespace between
    its tokens: a replay re-spaced must still be the same delivery."""
    clock = FakeClock(NOW)
    route = {"name": "c", "path": "/c", "provider": "convoy-advanced", "secrets": ["one"]}
    guard = Guard.from_dict({"version": 1, "routes": [route]}, clock=clock)
    body = b'{"event":"invoice.paid","amount":1}'
    headers = sign(guard, "c", body, secret="one", timestamp=int(NOW))
    first = guard.check(WebhookRequest("POST", "/c", headers=headers, body=body))
    assert first.ok, first.detail
    guard.complete(first, status=200)
    for spaced in (
        b'{ "event": "invoice.paid", "amount": 1 }',
        b'{"event":"invoice.paid",\n"amount":1}',
    ):
        replay = guard.check(WebhookRequest("POST", "/c", headers=headers, body=spaced))
        assert replay.reason is Reason.DUPLICATE_EVENT, spaced


@pytest.mark.parametrize("kept", [0, 1])
def test_a_body_without_its_id_stripped_to_one_signature_is_a_duplicate(kept: int) -> None:
    """Stripe's ID is in the body; a body without one is identified by its signature,
    and a Stripe-Signature header may carry one per secret during a roll."""
    clock = FakeClock(NOW)
    route = {"name": "s", "path": "/s", "provider": "stripe", "secrets": ["whsec_one", "whsec_two"]}
    guard = Guard.from_dict({"version": 1, "routes": [route]}, clock=clock)
    body = b'{"object":"event","type":"ping"}'
    sigs = [
        sign(guard, "s", body, secret=s, timestamp=int(NOW))["stripe-signature"]
        for s in ("whsec_one", "whsec_two")
    ]
    t = sigs[0].split(",")[0]
    both = ",".join([t, sigs[0].split(",")[1], sigs[1].split(",")[1]])

    def send(header: str) -> Any:
        headers = {"stripe-signature": header}
        verdict = guard.check(WebhookRequest("POST", "/s", headers=headers, body=body))
        if verdict.ok:
            guard.complete(verdict, status=200)
        return verdict

    assert send(both).ok
    assert send(sigs[kept]).reason is Reason.DUPLICATE_EVENT


def test_an_event_id_cannot_name_another_deliverys_second_key() -> None:
    """PayPal's transmission key and its event keys live apart: a body ``id`` spelled
    like a transmission key reserves nothing but itself."""
    from webhook_guard.pipeline.eventid import EventIdRule

    route = Guard.from_dict(
        {
            "version": 1,
            "routes": [
                {
                    "name": "pp",
                    "path": "/pp",
                    "provider": "paypal",
                    "signature": {"webhook_id": "W1"},
                }
            ],
        }
    ).plan("pp")
    rule: EventIdRule = route.event_ids
    parsed = route.signature.scheme.parse(  # type: ignore[union-attr]
        WebhookRequest("POST", "/pp", headers={"paypal-transmission-id": "tx-1"}, body=b"{}")
    )
    second = rule.second_key(parsed)
    assert second is not None
    body = b'{"id":"' + second.split(":", 1)[1].encode() + b'"}'
    _, key, _ = rule.find(WebhookRequest("POST", "/pp", body=body), parsed, None)
    assert key != second
