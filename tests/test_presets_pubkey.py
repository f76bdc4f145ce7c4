"""Public-key presets (discord, sendgrid) against the providers' own code.

Discord: requests signed with PyNaCl exactly as Discord's docs verify them
(https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint:
``VerifyKey(bytes.fromhex(PUBLIC_KEY)).verify(f"{timestamp}{body}".encode(),
bytes.fromhex(signature))``). SendGrid: its published test vector and the ``sendgrid``
package's ``EventWebhook.verify_signature``, both ways.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from nacl.encoding import HexEncoder
from nacl.signing import SigningKey
from sendgrid.helpers.eventwebhook import EventWebhook

from webhook_guard import Guard, Reason
from webhook_guard.errors import ConfigError
from webhook_guard.testing import FakeClock, keypair, sign

from .conftest import NOW, GuardFactory, post
from .test_cli import run as _cli
from .test_sig_pubkey import SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP

TS = str(int(NOW))
INTERACTION = b'{"type":2,"id":"1180000000000000001","data":{"name":"hello"}}'
PING = b'{"type":1,"id":"1180000000000000000","application_id":"1"}'
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def discord_route(*keys: str) -> dict[str, object]:
    return {"name": "bot", "path": "/interactions", "provider": "discord", "secrets": list(keys)}


def nacl_signed(key: SigningKey, body: bytes, ts: str = TS) -> dict[str, str]:
    """What Discord sends: the hex Ed25519 signature of timestamp + body."""
    signature = key.sign(ts.encode() + body).signature.hex()
    return {"x-signature-ed25519": signature, "x-signature-timestamp": ts}


def nacl_public(key: SigningKey) -> str:
    """The public key as Discord's Developer Portal shows it (hex)."""
    return key.verify_key.encode(HexEncoder).decode()


# -- discord ------------------------------------------------------------------------------


def test_discord_request_signed_with_pynacl_verifies(make_guard: GuardFactory) -> None:
    key = SigningKey.generate()
    guard = make_guard(discord_route(nacl_public(key)))
    verdict = guard.check(post("/interactions", nacl_signed(key, INTERACTION), INTERACTION))
    assert verdict.ok, verdict.detail
    assert verdict.reason is None
    assert verdict.event_id == "1180000000000000001"


def test_discord_testing_sign_verifies_with_pynacl() -> None:
    pair = keypair("discord")
    headers = sign("discord", INTERACTION, secret=pair.private_key, timestamp=int(NOW))
    verify_key = pair.public_key.encode()
    from nacl.signing import VerifyKey

    VerifyKey(verify_key, HexEncoder).verify(
        TS.encode() + INTERACTION, bytes.fromhex(headers["x-signature-ed25519"])
    )


def test_discord_sign_takes_pynacls_hex_seed(make_guard: GuardFactory) -> None:
    key = SigningKey.generate()
    seed = key.encode(HexEncoder).decode()
    guard = make_guard(discord_route(nacl_public(key)))
    headers = sign("discord", INTERACTION, secret=seed, timestamp=int(NOW))
    assert headers == nacl_signed(key, INTERACTION)  # Ed25519 is deterministic
    assert guard.check(post("/interactions", headers, INTERACTION)).ok


def test_discord_signed_ping_is_answered_with_pong(make_guard: GuardFactory) -> None:
    key = SigningKey.generate()
    guard = make_guard(discord_route(nacl_public(key)))
    verdict = guard.check(post("/interactions", nacl_signed(key, PING), PING))
    assert verdict.reason is Reason.HANDSHAKE
    assert verdict.status == 200
    assert verdict.response_body() == b'{"type":1}'
    assert ("content-type", "application/json") in verdict.response_headers()


def test_discord_unsigned_or_forged_ping_gets_no_pong(make_guard: GuardFactory) -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    guard = make_guard(discord_route(nacl_public(key)))
    unsigned = guard.check(post("/interactions", {"x-signature-timestamp": TS}, PING))
    forged = guard.check(post("/interactions", nacl_signed(other, PING), PING))
    # Discord saves the URL only after such requests get 401.
    for verdict, reason in (
        (unsigned, Reason.SIGNATURE_MISSING),
        (forged, Reason.SIGNATURE_MISMATCH),
    ):
        assert verdict.reason is reason, verdict.detail
        assert verdict.status == 401
        assert verdict.answer is None
        assert b'"type":1}' not in verdict.response_body()


def test_discord_interaction_reaches_the_app_not_the_handshake(make_guard: GuardFactory) -> None:
    key = SigningKey.generate()
    guard = make_guard(discord_route(nacl_public(key)))
    verdict = guard.check(post("/interactions", nacl_signed(key, INTERACTION), INTERACTION))
    assert verdict.ok
    assert verdict.answer is None


def test_discord_bad_public_key_is_a_config_error(make_guard: GuardFactory) -> None:
    with pytest.raises(ConfigError) as info:
        make_guard(discord_route("not-a-key"))
    assert str(info.value).startswith("routes[0].secrets[0]: is not an Ed25519 public key")
    assert "not-a-key" not in str(info.value)


# -- sendgrid -----------------------------------------------------------------------------


def sendgrid_route(*keys: str) -> dict[str, object]:
    return {"name": "sg", "path": "/hooks/sg", "provider": "sendgrid", "secrets": list(keys)}


def test_sendgrid_published_vector_verifies() -> None:
    # SendGrid's own signed request (sendgrid-python's test_eventwebhook.py), at its time.
    clock = FakeClock(float(SG_TIMESTAMP))
    guard = Guard.from_dict({"version": 1, "routes": [sendgrid_route(SG_KEY)]}, clock=clock)
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": SG_SIGNATURE,
        "X-Twilio-Email-Event-Webhook-Timestamp": SG_TIMESTAMP,
    }
    verdict = guard.check(post("/hooks/sg", headers, SG_PAYLOAD.encode()))
    assert verdict.ok, verdict.detail
    tampered = guard.check(post("/hooks/sg", headers, SG_PAYLOAD.replace("dropped", "x").encode()))
    assert tampered.reason is Reason.SIGNATURE_MISMATCH


def test_sendgrid_testing_sign_verifies_with_the_sendgrid_package() -> None:
    pair = keypair("sendgrid")
    body = json.dumps([{"email": "a@example.com", "event": "delivered", "sg_event_id": "e1"}])
    headers = sign("sendgrid", body, secret=pair.private_key, timestamp=int(NOW))
    hook = EventWebhook(pair.public_key)  # the verification key as the dashboard shows it
    assert hook.verify_signature(
        body,
        headers["x-twilio-email-event-webhook-signature"],
        headers["x-twilio-email-event-webhook-timestamp"],
    )
    assert not hook.verify_signature(
        body + " ", headers["x-twilio-email-event-webhook-signature"], TS
    )


def test_sendgrid_malleated_signature_replay_is_a_duplicate(make_guard: GuardFactory) -> None:
    """(r, s) and (r, n - s) both verify: the replay check must not key on the signature."""
    pair = keypair("sendgrid")
    guard = make_guard(sendgrid_route(pair.public_key))
    body = b'[{"event":"open","sg_event_id":"e2"}]'
    headers = sign("sendgrid", body, secret=pair.private_key, timestamp=int(NOW))
    first = guard.check(post("/hooks/sg", headers, body))
    assert first.ok, first.detail
    guard.complete(first, 200)
    name = "x-twilio-email-event-webhook-signature"
    r, s = decode_dss_signature(base64.b64decode(headers[name]))
    twin = base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()
    assert EventWebhook(pair.public_key).verify_signature(body.decode(), twin, TS)  # valid too
    again = guard.check(post("/hooks/sg", {**headers, name: twin}, body))
    assert again.reason is Reason.DUPLICATE_EVENT, again.detail
    assert again.event_id == first.event_id


def test_sendgrid_key_of_another_type_is_a_config_error(make_guard: GuardFactory) -> None:
    discord_key = keypair("discord").public_key
    with pytest.raises(ConfigError, match=r"^routes\[0\]\.secrets\[0\]: is not a P-256 public key"):
        make_guard(sendgrid_route(discord_key))


# -- the CLI ------------------------------------------------------------------------------


def test_cli_sign_for_discord_with_a_private_key_then_verify(tmp_path: Path) -> None:
    key = SigningKey.generate()
    body_file = tmp_path / "body.json"
    body_file.write_bytes(INTERACTION)
    seed = key.encode(HexEncoder).decode()
    result = _cli("sign", "--provider", "discord", "--secret", seed, "--body-file", str(body_file))
    assert result.returncode == 0, result.stderr
    headers = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    from nacl.signing import VerifyKey

    VerifyKey(key.verify_key.encode()).verify(
        headers["x-signature-timestamp"].encode() + INTERACTION,
        bytes.fromhex(headers["x-signature-ed25519"]),
    )


def test_cli_check_refuses_a_bad_public_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\nroutes:\n  - {name: sg, path: /hooks/sg, provider: sendgrid, "
        "secrets: ['MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE']}\n"
    )
    result = _cli("check", str(config))
    assert result.returncode == 2
    assert "routes[0].secrets[0]: is not a P-256 public key" in result.stderr


def test_cli_check_accepts_the_dashboard_keys(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\nroutes:\n"
        f"  - {{name: sg, path: /hooks/sg, provider: sendgrid, secrets: ['{SG_KEY}']}}\n"
        f"  - {{name: bot, path: /interactions, provider: discord, "
        f"secrets: ['{keypair('discord').public_key}']}}\n"
    )
    result = _cli("check", str(config))
    assert result.returncode == 0, result.stderr


def test_cli_secret_new_gives_a_test_keypair_that_signs_and_verifies(tmp_path: Path) -> None:
    for provider in ("discord", "sendgrid"):
        made = _cli("secret", "new", "--provider", provider)
        assert made.returncode == 0, made.stderr
        private = made.stdout.strip()
        public = made.stderr.strip().splitlines()[-1]
        assert private not in made.stderr
        body_file = tmp_path / "body.json"
        body_file.write_bytes(INTERACTION)
        signed = _cli("sign", "--provider", provider, "--secret", private, "--body-file", body_file)
        assert signed.returncode == 0, signed.stderr
        config = tmp_path / "c.yaml"
        config.write_text(
            f"version: 1\nroutes:\n  - {{name: r, path: /r, provider: {provider}, "
            f"secrets: ['{public}']}}\n"
        )
        headers = [arg for line in signed.stdout.splitlines() for arg in ("-H", line)]
        verified = _cli(
            "verify", "--config", config, "--path", "/r", "--body-file", body_file, *headers
        )
        assert verified.returncode == 0, (provider, verified.stdout, verified.stderr)


# -- over a real server -------------------------------------------------------------------


def test_discord_behind_uvicorn_ping_pong_and_interactions() -> None:
    """Discord's endpoint check as Discord makes it: a signed PING gets PONG from the
    guard, a forged one a bare 401, and interactions reach the app."""
    import time

    import httpx

    from webhook_guard.adapters.asgi import GuardMiddleware

    from .servers import serve_asgi

    reached: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        reached.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"type":4}'})

    key = SigningKey.generate()
    guard = Guard.from_dict({"version": 1, "routes": [discord_route(nacl_public(key))]})
    now = str(int(time.time()))
    with serve_asgi(GuardMiddleware(app, guard=guard)) as url, httpx.Client(base_url=url) as http:
        pong = http.post("/interactions", content=PING, headers=nacl_signed(key, PING, now))
        assert pong.status_code == 200
        assert pong.content == b'{"type":1}'
        assert pong.headers["content-type"] == "application/json"
        forged = nacl_signed(SigningKey.generate(), PING, now)
        refused = http.post("/interactions", content=PING, headers=forged)
        assert refused.status_code == 401
        assert b'"type":1}' not in refused.content
        assert reached == []  # neither PING reached the app
        answer = http.post(
            "/interactions", content=INTERACTION, headers=nacl_signed(key, INTERACTION, now)
        )
        assert answer.status_code == 200
        assert answer.content == b'{"type":4}'
        assert reached == [INTERACTION]


def test_keypair_gives_the_providers_forms() -> None:
    discord = keypair("discord")
    assert len(discord.public_key) == 64
    bytes.fromhex(discord.public_key)
    assert discord.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    sendgrid = keypair("sendgrid")
    EventWebhook(sendgrid.public_key)  # SendGrid's own loader takes it as the dashboard's
    assert keypair("standard").public_key.startswith("whpk_")
    with pytest.raises(ValueError, match="no public-key form for 'github'"):
        keypair("github")


def test_a_bad_private_key_is_named_never_shown() -> None:
    from webhook_guard.testing import SignArgumentError

    with pytest.raises(SignArgumentError) as info:
        sign("discord", INTERACTION, secret="not-a-key-TOPSECRET")
    assert info.value.argument == "secret"
    assert "TOPSECRET" not in str(info.value)
    # A key of another algorithm is refused too, not used.
    with pytest.raises(SignArgumentError, match="is not a private key for ecdsa-p256-sha256"):
        sign("sendgrid", INTERACTION, secret=keypair("discord").private_key)
