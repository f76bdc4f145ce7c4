"""Public-key verification: keys in each provider's published form, hostile signatures."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.encoding import HexEncoder
from nacl.signing import SigningKey
from sendgrid.helpers.eventwebhook import EventWebhook

from webhook_guard import Reason
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.pubkey import (
    ALGORITHMS,
    decode_signature,
    load_public_key,
    verify_signature,
    verify_text,
)
from webhook_guard.signatures.testkeys import FORMS, keypair, sign

# SendGrid's own published vector (sendgrid-python, test/unit/test_eventwebhook.py): the
# verification key as the dashboard shows it, a signature over timestamp + payload.
SG_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe"
    "62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SG_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+lu"
    "QAbPIqHh89M15TluLtEZtM="
)
SG_TIMESTAMP = "1600112502"
SG_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": (
                    "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
                ),
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
)
BODY = b'{"type":2,"id":"interaction-1"}'


def test_sendgrid_published_vector_verifies() -> None:
    key = load_public_key(SG_KEY, "ecdsa-p256-sha256")
    message = (SG_TIMESTAMP + SG_PAYLOAD).encode()
    assert verify_text(key, "ecdsa-p256-sha256", SG_SIGNATURE, message) is None
    tampered = message.replace(b"dropped", b"opened!")
    failure = verify_text(key, "ecdsa-p256-sha256", SG_SIGNATURE, tampered)
    assert failure is not None
    assert failure.reason is Reason.SIGNATURE_MISMATCH


def test_sendgrid_sdk_accepts_what_testkeys_signs() -> None:
    pair = keypair("sendgrid")
    signature = base64.b64encode(sign(pair.algorithm, pair.private_key, b"123" + BODY)).decode()
    sdk = EventWebhook(pair.public_key)
    assert sdk.verify_signature(BODY.decode(), signature, "123")
    ours = load_public_key(pair.public_key, "ecdsa-p256-sha256")
    assert verify_text(ours, "ecdsa-p256-sha256", signature, b"123" + BODY) is None


def test_discord_hex_key_and_pynacl_signature() -> None:
    """Discord shows a hex Ed25519 public key and signs timestamp + body (hex signature);
    PyNaCl is what Discord's own Python example verifies with."""
    signing = SigningKey.generate()
    hex_key = signing.verify_key.encode(HexEncoder).decode()
    signature = signing.sign(b"1700000000" + BODY).signature.hex()
    key = load_public_key(hex_key, "ed25519")
    assert verify_text(key, "ed25519", signature, b"1700000000" + BODY, "hex") is None
    failure = verify_text(key, "ed25519", signature, b"1700000001" + BODY, "hex")
    assert failure == Failure(Reason.SIGNATURE_MISMATCH, "no ed25519 signature matches the key")
    # And PyNaCl verifies what testkeys signs.
    pair = keypair("discord")
    ours = sign("ed25519", pair.private_key, BODY)
    from nacl.signing import VerifyKey

    VerifyKey(pair.public_key.encode(), HexEncoder).verify(BODY, ours)


# A JWKS is verified through jwt_oidc (tests/test_sig_jwt_oidc.py).
@pytest.mark.parametrize("name", sorted(n for n, (_, form) in FORMS.items() if form != "jwks"))
def test_every_testkeys_form_loads_and_verifies(name: str) -> None:
    pair = keypair(name)
    key = load_public_key(pair.public_key, pair.algorithm)
    # One signer for every private form, whsk_ (standard) included.
    sig = sign(pair.algorithm, pair.private_key, BODY)
    assert verify_signature(key, pair.algorithm, sig, BODY) is None
    other = keypair(name)
    wrong = sign(pair.algorithm, other.private_key, BODY)
    failure = verify_signature(key, pair.algorithm, wrong, BODY)
    assert failure is not None
    assert failure.reason is Reason.SIGNATURE_MISMATCH


def _pem_public(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_rsa_sha1_and_sha256_are_not_interchangeable() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = load_public_key(_pem_public(private.public_key()), "rsa-sha256")
    sha1 = private.sign(BODY, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    assert verify_signature(key, "rsa-sha1", sha1, BODY) is None
    failure = verify_signature(key, "rsa-sha256", sha1, BODY)
    assert failure is not None
    assert failure.reason is Reason.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        ("", "ed25519"),
        ("zz" * 32, "ed25519"),  # not hex
        ("ab" * 31, "ed25519"),  # 31 bytes
        ("not base64!", "ecdsa-p256-sha256"),
        (SG_KEY[:-8], "ecdsa-p256-sha256"),  # truncated DER
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "rsa-sha256"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "rsa-sha1"),
        (SG_KEY, "rsa-sha256"),  # an EC key where RSA is expected
        (SG_KEY, "ed25519"),
        ("A" * 70_000, "ecdsa-p256-sha256"),
    ],
)
def test_bad_keys_raise_value_error_without_the_value(text: str, algorithm: str) -> None:
    with pytest.raises(ValueError, match=r"^is not ") as info:
        load_public_key(text, algorithm)  # type: ignore[arg-type]
    assert text[:20] not in str(info.value) or not text


def test_weak_and_wrong_curve_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key being refused
    with pytest.raises(ValueError, match="2048-8192 bits"):
        load_public_key(_pem_public(small.public_key()), "rsa-sha256")
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="P-256"):
        load_public_key(_pem_public(p384.public_key()), "ecdsa-p256-sha256")
    dsa_key = dsa.generate_private_key(2048)
    with pytest.raises(ValueError, match="RSA"):
        load_public_key(_pem_public(dsa_key.public_key()), "rsa-sha256")


def test_ed25519_key_forms_all_load_to_the_same_key() -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = [
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        "whpk_" + base64.b64encode(raw).decode(),
        base64.b64encode(der).decode(),
        _pem_public(private.public_key()),
        f"  {raw.hex()}\n",
    ]
    for form in forms:
        assert load_public_key(form, "ed25519").public_bytes_raw() == raw, form


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        (b"", "an ECDSA signature is a DER SEQUENCE"),
        (b"\x30\x02\x02\x00", "an ECDSA signature is a DER SEQUENCE"),
        (b"\x30" + b"\xff" * 100, "an ECDSA signature is a DER SEQUENCE"),
        (bytes(64), "an ECDSA signature is a DER SEQUENCE"),  # raw r||s is not what SendGrid sends
    ],
)
def test_malformed_ecdsa_signature_is_malformed_not_mismatch(signature: bytes, detail: str) -> None:
    key = load_public_key(SG_KEY, "ecdsa-p256-sha256")
    failure = verify_signature(key, "ecdsa-p256-sha256", signature, b"x")
    assert failure is not None
    assert failure.reason is Reason.SIGNATURE_MALFORMED
    assert failure.detail.startswith(detail)


def test_wrong_length_signatures_are_malformed() -> None:
    ed = load_public_key("ab" * 32, "ed25519")
    assert verify_signature(ed, "ed25519", bytes(63), b"x") == Failure(
        Reason.SIGNATURE_MALFORMED, "an Ed25519 signature is 64 bytes, not 63"
    )
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = load_public_key(_pem_public(private.public_key()), "rsa-sha256")
    assert verify_signature(key, "rsa-sha256", bytes(255), b"x") == Failure(
        Reason.SIGNATURE_MALFORMED, "an RSA signature for this key is 256 bytes, not 255"
    )
    # A key of the wrong type for the algorithm is refused, never verified loosely.
    failure = verify_signature(key, "ecdsa-p256-sha256", bytes(70), b"x")
    assert failure is not None
    assert failure.reason is Reason.SIGNATURE_MALFORMED


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("", "base64"),
        ("%%%", "base64"),
        ("QUJD\n", "base64"),
        ("QUJ", "base64"),
        ("A" * 3000, "base64"),
        ("é" * 4, "base64"),
        ("abc", "hex"),
        ("zz", "hex"),
        ("0x00", "hex"),
        ("\u0660\u0660", "hex"),
    ],
)
def test_undecodable_signature_text_is_malformed(text: str, encoding: str) -> None:
    outcome = decode_signature(text, encoding)  # type: ignore[arg-type]
    assert isinstance(outcome, Failure)
    assert outcome.reason is Reason.SIGNATURE_MALFORMED
    assert outcome.detail == f"the signature is not {encoding}"


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown algorithm"):
        load_public_key(SG_KEY, "hs256")  # type: ignore[arg-type]
    assert "ecdsa-p256-sha256" in ALGORITHMS
