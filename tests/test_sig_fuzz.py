"""Hostile input never raises out of the signature building blocks (property tests)."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_guard.signatures import handshakes
from webhook_guard.signatures.base import Failure
from webhook_guard.signatures.pubkey import load_public_key, verify_text
from webhook_guard.signatures.sns import canonical_string
from webhook_guard.signatures.testkeys import keypair
from webhook_guard.signatures.timestamps import FORMS, parse_timestamp

KEYS = {name: keypair(name) for name in ("discord", "sendgrid", "rsa-sha256")}
LOADED = {name: load_public_key(p.public_key, p.algorithm) for name, p in KEYS.items()}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=60), form=st.sampled_from(FORMS))
def test_timestamps_parse_or_fail(raw: str, form: str) -> None:
    outcome = parse_timestamp(raw, form)  # type: ignore[arg-type]
    assert isinstance(outcome, (int, Failure))


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(KEYS)),
    text=st.text(max_size=400) | st.binary(max_size=300).map(lambda b: b.hex()),
    encoding=st.sampled_from(["hex", "base64"]),
    message=st.binary(max_size=50),
)
def test_signatures_verify_or_fail(name: str, text: str, encoding: str, message: bytes) -> None:
    outcome = verify_text(LOADED[name], KEYS[name].algorithm, text, message, encoding)  # type: ignore[arg-type]
    assert isinstance(outcome, Failure)  # nothing random is a valid signature


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_keys_load_or_raise_value_error(text: str) -> None:
    for algorithm in ("ed25519", "ecdsa-p256-sha256", "rsa-sha256"):
        # Only ValueError (a config error naming the expected form) may come out.
        with contextlib.suppress(ValueError):
            load_public_key(text, algorithm)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_json_bodies_never_raise(value: object) -> None:
    body = json.dumps(value).encode()
    handshakes.slack(body)
    handshakes.zoom(body, b"s")
    handshakes.twitch("webhook_callback_verification", body)
    handshakes.discord(body)
    if isinstance(value, dict):
        assert isinstance(canonical_string(value), (bytes, Failure))


@settings(max_examples=300, deadline=None)
@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "validationToken"]),
        st.text(max_size=30),
    )
)
def test_queries_never_raise(query: dict[str, str]) -> None:
    handshakes.meta(query, b"token")
    handshakes.msgraph(query)
    handshakes.okta({"x-okta-verification-challenge": query.get("hub.challenge", "")})
