"""PublicKeyScheme: the HMAC template with a public-key check, as Discord and SendGrid sign."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from nacl.encoding import HexEncoder
from nacl.signing import SigningKey
from sendgrid.helpers.eventwebhook import EventWebhook

from webhook_guard import Reason
from webhook_guard.request import WebhookRequest
from webhook_guard.secrets import Secret
from webhook_guard.signatures.base import SignatureSpec
from webhook_guard.signatures.pubkey_scheme import PublicKeyScheme
from webhook_guard.signatures.testkeys import keypair

from .test_sig_pubkey import SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP

# Discord: hex Ed25519 signature of timestamp + body.
DISCORD = SignatureSpec(
    headers=("x-signature-ed25519",),
    algorithm="ed25519",
    encoding="hex",
    signed_content="{timestamp}{body}",
    timestamp_headers=("x-signature-timestamp",),
)
# SendGrid: base64 DER ECDSA P-256 of timestamp + body.
SENDGRID = SignatureSpec(
    headers=("x-twilio-email-event-webhook-signature",),
    algorithm="ecdsa-p256-sha256",
    encoding="base64",
    signed_content="{timestamp}{body}",
    timestamp_headers=("x-twilio-email-event-webhook-timestamp",),
)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def run(scheme: PublicKeyScheme, key: str, headers: dict[str, str], body: bytes) -> object:
    parsed = scheme.parse(WebhookRequest("POST", "/h", headers=headers, body=body))
    if parsed.failure is not None:
        return parsed.failure
    secret = Secret(key, "routes[0].secrets[0]")
    values = {"timestamp": parsed.timestamp or ""}
    return scheme.verify(parsed, body, values, [(secret, scheme.prepare(secret))])


def test_sendgrid_published_vector_through_the_scheme() -> None:
    scheme = PublicKeyScheme(SENDGRID)
    headers = {
        "x-twilio-email-event-webhook-signature": SG_SIGNATURE,
        "x-twilio-email-event-webhook-timestamp": SG_TIMESTAMP,
    }
    body = SG_PAYLOAD.encode()
    assert isinstance(run(scheme, SG_KEY, headers, body), tuple)
    assert run(scheme, SG_KEY, headers, body + b" ") is None


def test_discord_signed_by_pynacl_through_the_scheme() -> None:
    scheme = PublicKeyScheme(DISCORD)
    signing = SigningKey.generate()
    body = b'{"type":1}'
    sig = signing.sign(b"1700000000" + body).signature.hex()
    headers = {"x-signature-ed25519": sig, "x-signature-timestamp": "1700000000"}
    key = signing.verify_key.encode(HexEncoder).decode()
    assert isinstance(run(scheme, key, headers, body), tuple)
    headers["x-signature-timestamp"] = "1700000001"
    assert run(scheme, key, headers, body) is None


def test_sign_makes_what_the_sdk_and_the_scheme_accept() -> None:
    scheme = PublicKeyScheme(SENDGRID)
    pair = keypair("sendgrid")
    body = b'[{"event":"delivered","sg_event_id":"e1"}]\r\n'
    headers = scheme.sign(Secret(pair.private_key, "k"), body, {"timestamp": "1700000000"})
    assert EventWebhook(pair.public_key).verify_signature(
        body.decode(), headers["x-twilio-email-event-webhook-signature"], "1700000000"
    )
    assert isinstance(run(scheme, pair.public_key, headers, body), tuple)


def test_malleated_ecdsa_replay_has_the_same_replay_identity() -> None:
    """(r, n - s) verifies too; keyed on the signature, a replay would look new."""
    scheme = PublicKeyScheme(SENDGRID)
    pair = keypair("sendgrid")
    body = b'[{"event":"open"}]'
    headers = scheme.sign(Secret(pair.private_key, "k"), body, {"timestamp": "1700000000"})
    name = "x-twilio-email-event-webhook-signature"
    r, s = decode_dss_signature(base64.b64decode(headers[name]))
    twin = {**headers, name: base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()}
    first, second = (
        run(scheme, pair.public_key, headers, body),
        run(scheme, pair.public_key, twin, body),
    )
    assert isinstance(first, tuple)
    assert isinstance(second, tuple)  # the malleated signature is valid...
    assert first[1] == second[1]  # ...and is the same delivery for the replay store


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("%%%", Reason.SIGNATURE_MALFORMED),
        ("A" * 5000, Reason.SIGNATURE_MALFORMED),
        ("", Reason.SIGNATURE_MALFORMED),
    ],
)
def test_undecodable_signatures_are_malformed(value: str, reason: Reason) -> None:
    scheme = PublicKeyScheme(SENDGRID)
    headers = {
        "x-twilio-email-event-webhook-signature": value,
        "x-twilio-email-event-webhook-timestamp": "1",
    }
    outcome = run(scheme, SG_KEY, headers, b"x")
    assert getattr(outcome, "reason", None) is reason


def test_wrong_shaped_but_decodable_signature_is_malformed() -> None:
    # 10 bytes decode as hex but cannot be an Ed25519 signature: refused before any key.
    scheme = PublicKeyScheme(DISCORD)
    headers = {"x-signature-ed25519": "ab" * 10, "x-signature-timestamp": "1"}
    failure = run(scheme, "ab" * 32, headers, b"x")
    assert getattr(failure, "reason", None) is Reason.SIGNATURE_MALFORMED


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown public-key algorithm"):
        PublicKeyScheme(SignatureSpec(headers=("x",), algorithm="sha256"))
    with pytest.raises(ValueError, match="is not a P-256 public key"):
        PublicKeyScheme(SENDGRID).prepare(Secret("ab" * 32, "k"))
