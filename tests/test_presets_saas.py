"""Notion, Airtable and Mandrill (Mailchimp Transactional).

None of them has an official Python package that verifies webhooks, so each preset is
checked against its provider's documented algorithm written out with hmac/hashlib (the
source is named at each section), and ``webhook_guard.testing.sign`` must produce the
same headers. The common attacks are in test_presets_adversarial.py; Mandrill's HEAD
check under real servers in test_handshakes.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote, urlencode

import pytest

from webhook_guard import Reason
from webhook_guard.testing import sign

from .conftest import GuardFactory, post
from .conftest import preset_route as route

# -- Notion (developers.notion.com/reference/webhooks, .../webhooks-events-delivery) -------

#: The verification token of the docs' example, and their body for the sample code.
NOTION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"


def notion_body(attempt: int) -> bytes:
    """The docs' page.created sample (its fields as listed), at attempt ``attempt``."""
    return json.dumps(
        {
            "id": "367cba44-b6f3-4c92-81e7-6a2e9659efd4",
            "timestamp": "2024-12-05T23:55:34.285Z",
            "workspace_id": "13950b26-c203-4f3b-b97d-93ec06319565",
            "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
            "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca",
            "type": "page.created",
            "attempt_number": attempt,
            "entity": {"id": "153104cd-477e-809d-8dc4-ff2d96ae3090", "type": "page"},
            "data": {"parent": {"id": "0ef104cd-477e-80e1-8571-cfd10e92339a", "type": "page"}},
        },
        separators=(",", ":"),
    ).encode()


def notion_signature(body: bytes, token: str = NOTION_TOKEN) -> str:
    # The docs' Python sample: "sha256=" + hmac.new(token, body, sha256).hexdigest().
    return "sha256=" + hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_notion_documented_sample_verifies(make_guard: GuardFactory) -> None:
    # The docs' sample code signs the minified verification body itself.
    body = json.dumps({"verification_token": NOTION_TOKEN}, separators=(",", ":")).encode()
    headers = {"X-Notion-Signature": notion_signature(body)}
    guard = make_guard(route("notion", NOTION_TOKEN))
    verdict = guard.check(post("/hooks/notion", headers, body))
    assert verdict.ok, verdict.detail
    assert sign("notion", body, secret=NOTION_TOKEN) == {
        "x-notion-signature": headers["X-Notion-Signature"]
    }


def test_notion_retries_are_one_event(make_guard: GuardFactory) -> None:
    guard = make_guard(route("notion", NOTION_TOKEN))
    first_body = notion_body(1)
    first = guard.check(
        post("/hooks/notion", {"X-Notion-Signature": notion_signature(first_body)}, first_body)
    )
    assert first.ok, first.detail
    assert first.event_id == "367cba44-b6f3-4c92-81e7-6a2e9659efd4"
    guard.complete(first, 200)
    # A retry: a new attempt_number, so new bytes and a new signature, the same event ID.
    retry_body = notion_body(2)
    retry = guard.check(
        post("/hooks/notion", {"X-Notion-Signature": notion_signature(retry_body)}, retry_body)
    )
    assert retry.reason is Reason.DUPLICATE_EVENT
    # Without the prefix, or in upper-case hex under another prefix: malformed.
    bare = notion_signature(first_body).removeprefix("sha256=")
    refused = guard.check(post("/hooks/notion", {"X-Notion-Signature": bare}, first_body))
    assert refused.reason is Reason.SIGNATURE_MALFORMED


def test_notion_verification_request_never_reaches_an_enforcing_app(
    make_guard: GuardFactory,
) -> None:
    """The one-time ``{"verification_token": ...}`` POST is unsigned: refused in enforce
    mode (anyone could send one, and an app that stored its token would take an
    attacker's key); in report mode it passes, reported, as every unsigned request does."""
    body = json.dumps({"verification_token": NOTION_TOKEN}).encode()
    enforcing = make_guard(route("notion", "placeholder"))
    verdict = enforcing.check(post("/hooks/notion", {"content-type": "application/json"}, body))
    assert (verdict.ok, verdict.reason, verdict.status) == (False, Reason.SIGNATURE_MISSING, 401)
    assert NOTION_TOKEN.encode() not in verdict.response_body()
    reporting = make_guard(route("notion", "placeholder", mode="report"))
    verdict = reporting.check(post("/hooks/notion", {"content-type": "application/json"}, body))
    assert verdict.ok
    assert verdict.reported == (Reason.SIGNATURE_MISSING,)


# -- Airtable (airtable.com/developers/web/api/webhooks-overview) ---------------------------

AIRTABLE_MAC_SECRET = base64.b64encode(bytes(range(32))).decode()
#: The notification body of the docs, minified as JSON.stringify writes it.
AIRTABLE_BODY = (
    b'{"base":{"id":"app00000000000000"},"webhook":{"id":"ach00000000000000"},'
    b'"timestamp":"2022-02-01T21:25:05.663Z"}'
)


def airtable_mac(body: bytes, mac_secret: str = AIRTABLE_MAC_SECRET) -> str:
    # The docs' JavaScript: createHmac('sha256', Buffer.from(macSecretBase64, 'base64')),
    # update(body.toString(), 'ascii'), 'hmac-sha256=' + digest('hex').
    key = base64.b64decode(mac_secret)
    return (
        "hmac-sha256=" + hmac.new(key, body.decode("ascii").encode("ascii"), "sha256").hexdigest()
    )


def test_airtable_documented_mac_verifies(make_guard: GuardFactory) -> None:
    guard = make_guard(route("airtable", AIRTABLE_MAC_SECRET))
    headers = {"X-Airtable-Content-MAC": airtable_mac(AIRTABLE_BODY)}
    verdict = guard.check(post("/hooks/airtable", headers, AIRTABLE_BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id is not None  # the signature's digest: no ID is sent
    assert sign("airtable", AIRTABLE_BODY, secret=AIRTABLE_MAC_SECRET) == {
        "x-airtable-content-mac": headers["X-Airtable-Content-MAC"]
    }
    guard.complete(verdict, 204)
    again = guard.check(post("/hooks/airtable", headers, AIRTABLE_BODY))
    assert again.reason is Reason.DUPLICATE_EVENT


def test_airtable_key_is_the_decoded_secret(make_guard: GuardFactory) -> None:
    guard = make_guard(route("airtable", AIRTABLE_MAC_SECRET))
    # Keyed with the base64 text itself (a common mistake), or without the prefix.
    text_keyed = hmac.new(AIRTABLE_MAC_SECRET.encode(), AIRTABLE_BODY, "sha256").hexdigest()
    refused = guard.check(
        post(
            "/hooks/airtable",
            {"X-Airtable-Content-MAC": "hmac-sha256=" + text_keyed},
            AIRTABLE_BODY,
        )
    )
    assert refused.reason is Reason.SIGNATURE_MISMATCH
    bare = airtable_mac(AIRTABLE_BODY).removeprefix("hmac-sha256=")
    malformed = guard.check(
        post("/hooks/airtable", {"X-Airtable-Content-MAC": bare}, AIRTABLE_BODY)
    )
    assert malformed.reason is Reason.SIGNATURE_MALFORMED


def test_airtable_secret_that_is_not_base64_is_a_config_error(make_guard: GuardFactory) -> None:
    from webhook_guard.errors import ConfigError

    with pytest.raises(ConfigError, match="base64"):
        make_guard(route("airtable", "not base64!"))


# -- Mandrill (mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/,
#    "Authenticating webhook requests"; mandrill.zendesk.com "How to Authenticate Webhook
#    Requests") ---------------------------------------------------------------------------

MANDRILL_KEY = "mandrill-webhook-key"
MANDRILL_URL = "https://hooks.example.com/hooks/mandrill"
FORM = {"content-type": "application/x-www-form-urlencoded"}
EVENTS = json.dumps(
    [
        {"event": "open", "_id": "b3bdb8d4e6de4d6c8a7c1d7e1f0c2b9a", "ts": 1365109999},
        {
            "event": "click",
            "_id": "b3bdb8d4e6de4d6c8a7c1d7e1f0c2b9a",
            "ts": 1365111111,
            "msg": {"subject": "Caf\u00e9 \u2615 & more", "email": "a+b@example.com"},
        },
    ],
    ensure_ascii=False,
)


def mandrill_signature(url: str, params: dict[str, str], key: str = MANDRILL_KEY) -> str:
    # The documented steps: the URL as entered, then each POST variable's key and value,
    # sorted by key, no delimiter; HMAC-SHA1 under the webhook's key; base64.
    signed = url + "".join(k + params[k] for k in sorted(params))
    mac = hmac.new(key.encode(), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def mandrill_route(**extra: object) -> dict[str, object]:
    return route("mandrill", MANDRILL_KEY, public_url="https://hooks.example.com", **extra)


def test_mandrill_documented_signature_verifies(make_guard: GuardFactory) -> None:
    params = {"mandrill_events": EVENTS}
    body = urlencode(params).encode()  # UTF-8 percent-escapes, '+' for spaces
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params)}
    guard = make_guard(mandrill_route())
    verdict = guard.check(post("/hooks/mandrill", headers, body))
    assert verdict.ok, verdict.detail
    assert sign("mandrill", body, secret=MANDRILL_KEY, url=MANDRILL_URL) == {
        "x-mandrill-signature": headers["X-Mandrill-Signature"],
        "content-type": FORM["content-type"],
    }
    guard.complete(verdict, 200)
    assert guard.check(post("/hooks/mandrill", headers, body)).reason is Reason.DUPLICATE_EVENT


def test_mandrill_sorts_several_parameters_by_name(make_guard: GuardFactory) -> None:
    params = {"mandrill_events": "[]", "b": "2", "a": "1", "Z": "0"}
    body = b"mandrill_events=%5B%5D&b=2&a=1&Z=0"  # sent in any order
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params)}
    assert make_guard(mandrill_route()).check(post("/hooks/mandrill", headers, body)).ok


@pytest.mark.parametrize(
    "signed_url",
    [
        "https://hooks.example.com/hooks/mandrill/",  # a trailing slash
        "https://hooks.example.com:443/hooks/mandrill",  # the port Twilio's scheme toggles
        "http://hooks.example.com/hooks/mandrill",
    ],
)
def test_mandrill_only_the_exact_url_verifies(make_guard: GuardFactory, signed_url: str) -> None:
    params = {"mandrill_events": EVENTS}
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(signed_url, params)}
    verdict = make_guard(mandrill_route()).check(
        post("/hooks/mandrill", headers, urlencode(params).encode())
    )
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_mandrill_query_is_part_of_the_url(make_guard: GuardFactory) -> None:
    params = {"mandrill_events": "[]"}
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL + "?src=md", params)}
    guard = make_guard(mandrill_route())
    body = urlencode(params).encode()
    assert guard.check(post("/hooks/mandrill", headers, body, query="src=md")).ok
    assert guard.check(post("/hooks/mandrill", headers, body)).reason is Reason.SIGNATURE_MISMATCH


def test_mandrill_repeated_parameter_or_other_content_type_is_refused(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard(mandrill_route())
    # Signed as the map Mandrill's reference code would build (last value wins), then sent
    # with the name twice: frameworks disagree on which value the app would see.
    params = {"mandrill_events": "[]"}
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params)}
    twice = b"mandrill_events=" + quote(EVENTS).encode() + b"&mandrill_events=%5B%5D"
    assert guard.check(post("/hooks/mandrill", headers, twice)).reason is (
        Reason.SIGNATURE_MISMATCH
    )
    as_json = {**headers, "content-type": "application/json"}
    body = urlencode(params).encode()
    assert guard.check(post("/hooks/mandrill", as_json, body)).reason is Reason.SIGNATURE_MISMATCH
    with pytest.raises(ValueError, match="repeated"):
        sign("mandrill", twice, secret=MANDRILL_KEY, url=MANDRILL_URL)


@pytest.mark.parametrize(
    "content_type",
    [
        # Django 4.2 decodes a form in the charset named (unsigned): unicode_escape
        # undoes the JSON escapes of a value, so text put in an event becomes structure.
        "application/x-www-form-urlencoded; charset=unicode_escape",
        "application/x-www-form-urlencoded; charset=utf-7",
        "application/x-www-form-urlencoded; charset*=utf-8''unicode_escape",
        'application/x-www-form-urlencoded; charset="latin-1"',
    ],
)
def test_mandrill_form_in_another_charset_is_refused(
    make_guard: GuardFactory, content_type: str
) -> None:
    guard = make_guard(mandrill_route())
    params = {"mandrill_events": EVENTS}
    body = urlencode(params).encode()
    signature = {"X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params)}
    headers = {**signature, "content-type": content_type}
    verdict = guard.check(post("/hooks/mandrill", headers, body))
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    # Sent twice, a framework may take the other line (gunicorn: the last).
    twice = [("X-Mandrill-Signature", signature["X-Mandrill-Signature"])]
    twice += [("content-type", FORM["content-type"]), ("content-type", content_type)]
    assert guard.check(post("/hooks/mandrill", twice, body)).reason is Reason.SIGNATURE_MISMATCH
    for utf8 in ("; charset=utf-8", '; Charset="UTF-8"'):
        headers = {**signature, "content-type": FORM["content-type"] + utf8}
        verdict = guard.check(post("/hooks/mandrill", headers, body))
        assert verdict.ok, verdict.detail
        guard.complete(verdict, status=500)  # released: the next check may take it


def test_mandrill_raw_semicolon_is_refused(make_guard: GuardFactory) -> None:
    """python-multipart before 0.0.21 (Starlette's form parser) splits a field at a raw
    ';' when no '&' follows: a resend writing the ';' of an opener's user agent raw (the
    same octets to the guard) would give the app other fields, a second
    ``mandrill_events`` among them."""
    guard = make_guard(mandrill_route())
    events = json.dumps([{"event": "open", "user_agent": "Mozilla/5.0 (X11;mandrill_events=[])"}])
    params = {"mandrill_events": events}
    headers = {**FORM, "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params)}
    raw = b"mandrill_events=" + quote(events, safe=";=").encode()
    assert guard.check(post("/hooks/mandrill", headers, raw)).reason is Reason.SIGNATURE_MISMATCH
    assert guard.check(post("/hooks/mandrill", headers, urlencode(params).encode())).ok
    with pytest.raises(ValueError, match="raw ';'"):
        sign("mandrill", raw, secret=MANDRILL_KEY, url=MANDRILL_URL)


def test_mandrill_url_with_raw_utf8_in_its_query(make_guard: GuardFactory) -> None:
    # A URL entered with non-ASCII text is sent as its UTF-8 bytes; the adapters hand the
    # query over decoded as Latin-1, so those bytes are what is verified.
    query = "team=caf\u00e9".encode()
    params = {"mandrill_events": "[]"}
    signed = MANDRILL_URL.encode() + b"?" + query + b"mandrill_events[]"
    signature = base64.b64encode(hmac.new(MANDRILL_KEY.encode(), signed, hashlib.sha1).digest())
    headers = {**FORM, "X-Mandrill-Signature": signature.decode()}
    body = urlencode(params).encode()
    verdict = make_guard(mandrill_route()).check(
        post("/hooks/mandrill", headers, body, query=query.decode("latin-1"))
    )
    assert verdict.ok, verdict.detail


def test_mandrill_public_test_key_and_head_check(make_guard: GuardFactory) -> None:
    """The HEAD check is answered empty; the fallback POST signed with the public key
    ``test-webhook`` is refused (mandrill.zendesk.com, "Why can't my webhook or inbound
    route URL be verified?")."""
    guard = make_guard(mandrill_route())
    params = {"mandrill_events": "[]"}
    fallback = {
        **FORM,
        "X-Mandrill-Signature": mandrill_signature(MANDRILL_URL, params, "test-webhook"),
    }
    refused = guard.check(post("/hooks/mandrill", fallback, urlencode(params).encode()))
    assert refused.reason is Reason.SIGNATURE_MISMATCH
    head = guard.check(post("/hooks/mandrill", {}, b"", method="HEAD"))
    assert (head.reason, head.status, head.response_body()) == (Reason.HANDSHAKE, 200, b"")
    assert guard.check(post("/hooks/mandrill", {}, b"", method="GET")).reason is (
        Reason.METHOD_NOT_ALLOWED
    )
