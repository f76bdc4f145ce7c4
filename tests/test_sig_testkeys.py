"""Test key pairs come in the provider's published form and sign what verifies."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography import x509

from webhook_guard.signatures.testkeys import FORMS, keypair, public_key_for, sign_sns


def test_public_keys_look_like_the_provider_dashboards() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", keypair("discord").public_key)
    sendgrid = keypair("sendgrid").public_key
    assert sendgrid.startswith("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")  # P-256 SPKI DER
    assert len(base64.b64decode(sendgrid)) == 91
    assert keypair("rsa-sha256").public_key.startswith("-----BEGIN PUBLIC KEY-----")
    cert = x509.load_pem_x509_certificate(keypair("sns").public_key.encode())
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]
    google = keypair("google-pubsub")
    (jwk,) = json.loads(google.public_key)["keys"]
    assert jwk["kid"] == google.key_id
    assert jwk["alg"] == "RS256"
    standard = keypair("standard")
    assert standard.private_key.startswith("whsk_")
    assert standard.public_key == public_key_for(standard.private_key, "standard")


def test_each_call_is_a_fresh_key() -> None:
    assert keypair("discord").public_key != keypair("discord").public_key


def test_unknown_names_say_what_is_known() -> None:
    with pytest.raises(ValueError, match="no public-key form for 'stripe'") as info:
        keypair("stripe")
    for name in FORMS:
        assert name in str(info.value)


def test_sign_sns_refuses_what_sns_would_not_sign() -> None:
    pair = keypair("sns")
    with pytest.raises(ValueError, match="Type"):
        sign_sns({"Type": "Other"}, pair.private_key)
    with pytest.raises(
        ValueError, match="MessageId must be a string in a SubscriptionConfirmation"
    ):
        sign_sns({"Type": "SubscriptionConfirmation", "Message": "m"}, pair.private_key)
