"""Standard Webhooks v1a (Ed25519) on the ``standard`` preset, behind the ``ed25519`` extra.

No reference library implements v1a yet (the standardwebhooks SDK checks v1 signatures
only), so requests are signed per the Standard Webhooks spec with ``cryptography``
directly: base64 Ed25519 signature over
``{webhook-id}.{webhook-timestamp}.{body}``, public key ``whpk_`` + base64 of 32 bytes.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from webhook_guard import Reason
from webhook_guard.errors import ConfigError
from webhook_guard.testing import sign

from .conftest import NOW, SW_SECRET, GuardFactory, post, sw_route

TS = str(int(NOW))
BODY = b'{"type":"user.created","data":{"id":"u_1"}}'


def keypair() -> tuple[Ed25519PrivateKey, str, str]:
    private = Ed25519PrivateKey.generate()
    public = "whpk_" + base64.b64encode(private.public_key().public_bytes_raw()).decode()
    signing = "whsk_" + base64.b64encode(private.private_bytes_raw()).decode()
    return private, public, signing


def v1a_headers(
    private: Ed25519PrivateKey, msg_id: str = "msg_ed1", body: bytes = BODY
) -> dict[str, str]:
    sig = private.sign(f"{msg_id}.{TS}.".encode() + body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": TS,
        "webhook-signature": "v1a," + base64.b64encode(sig).decode(),
    }


def ed_route(*public_keys: str) -> dict[str, object]:
    return sw_route(secrets=list(public_keys), signature={"algorithm": "ed25519"})


def test_v1a_signature_verifies(make_guard: GuardFactory) -> None:
    private, public, _ = keypair()
    verdict = make_guard(ed_route(public)).check(post("/hooks/sw", v1a_headers(private), BODY))
    assert verdict.ok, verdict.detail
    assert verdict.event_id == "msg_ed1"


def test_v1a_accepts_a_der_public_key(make_guard: GuardFactory) -> None:
    private = Ed25519PrivateKey.generate()
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    guard = make_guard(ed_route("whpk_" + base64.b64encode(der).decode()))
    assert guard.check(post("/hooks/sw", v1a_headers(private), BODY)).ok


def test_v1a_rotation_and_mixed_tokens(make_guard: GuardFactory) -> None:
    old, old_public, _ = keypair()
    _, new_public, _ = keypair()
    guard = make_guard(ed_route(new_public, {"value": old_public, "label": "old"}))
    headers = v1a_headers(old)
    # A v1 (HMAC) token and junk next to the v1a one are skipped.
    headers["webhook-signature"] = "v1,AAAA junk " + headers["webhook-signature"]
    verdict = guard.check(post("/hooks/sw", headers, BODY))
    assert verdict.ok, verdict.detail
    assert verdict.secret_id == "old"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, b: (h, b + b" "), Reason.SIGNATURE_MISMATCH),
        (lambda h, b: (h | {"webhook-id": "msg_other"}, b), Reason.SIGNATURE_MISMATCH),
        (
            lambda h, b: (h | {"webhook-signature": h["webhook-signature"][:-8]}, b),
            Reason.SIGNATURE_MALFORMED,
        ),
        (
            lambda h, b: (
                h | {"webhook-signature": h["webhook-signature"].replace("v1a", "v1")},
                b,
            ),
            Reason.SIGNATURE_MALFORMED,
        ),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            Reason.SIGNATURE_MISSING,
        ),
        (
            lambda h, b: (h | {"webhook-timestamp": str(int(NOW) - 301)}, b),
            Reason.TIMESTAMP_TOO_OLD,
        ),
    ],
    ids=["tampered-body", "other-id", "truncated", "v1-label", "missing", "stale"],
)
def test_v1a_attacks(make_guard: GuardFactory, mutate: object, reason: Reason) -> None:
    private, public, _ = keypair()
    headers, body = mutate(v1a_headers(private), BODY)  # type: ignore[operator]
    verdict = make_guard(ed_route(public)).check(post("/hooks/sw", headers, body))
    assert verdict.reason is reason, verdict.detail


def test_v1a_wrong_key(make_guard: GuardFactory) -> None:
    private, _, _ = keypair()
    _, other_public, _ = keypair()
    verdict = make_guard(ed_route(other_public)).check(
        post("/hooks/sw", v1a_headers(private), BODY)
    )
    assert verdict.reason is Reason.SIGNATURE_MISMATCH


def test_v1_hmac_request_on_a_v1a_route_is_malformed(make_guard: GuardFactory) -> None:
    _, public, _ = keypair()
    headers = sign("standard", BODY, secret=SW_SECRET, timestamp=int(NOW))
    verdict = make_guard(ed_route(public)).check(post("/hooks/sw", headers, BODY))
    assert verdict.reason is Reason.SIGNATURE_MALFORMED


def test_testing_sign_with_a_signing_key(make_guard: GuardFactory) -> None:
    _, public, signing = keypair()
    guard = make_guard(ed_route(public))
    headers = sign(guard, "sw", BODY, secret=signing, event_id="msg_t")
    assert headers["webhook-signature"].startswith("v1a,")
    assert guard.check(post("/hooks/sw", headers, BODY)).ok
    by_name = sign("standard", BODY, secret=signing, timestamp=int(NOW), event_id="msg_n")
    assert guard.check(post("/hooks/sw", by_name, BODY)).ok


def test_bad_public_key_is_a_config_error(make_guard: GuardFactory) -> None:
    with pytest.raises(
        ConfigError, match=r"routes\[0\]\.secrets\[0\]: is not an Ed25519 public key"
    ):
        make_guard(ed_route("whpk_" + base64.b64encode(b"x" * 20).decode()))


def test_ed25519_without_cryptography_is_a_config_error(
    make_guard: GuardFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes "import cryptography" raise ImportError, as if absent.
    monkeypatch.setitem(sys.modules, "cryptography", None)
    _, public, _ = keypair()
    with pytest.raises(ConfigError) as info:
        make_guard(ed_route(public))
    assert str(info.value) == (
        "routes[0].signature.algorithm: ed25519 needs the 'cryptography' package: "
        "pip install 'webhook-guard-middleware[pubkey]'"
    )


def test_signing_a_v1a_route_needs_the_signing_key(make_guard: GuardFactory) -> None:
    _, public, _ = keypair()
    with pytest.raises(ValueError, match=r"pass the signing key \(secret='whsk_\.\.\.'\)"):
        sign(make_guard(ed_route(public)), "sw", BODY)


def test_cli_sign_on_a_v1a_route_explains_instead_of_crashing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook_guard.cli import main

    _, public, _ = keypair()
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\nroutes:\n  - {name: ed, path: /hooks/ed, provider: standard, "
        f"signature: {{algorithm: ed25519}}, secrets: ['{public}']}}\n"
    )
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    code = main(["sign", "--config", str(config), "--route", "ed", "--body-file", str(body)])
    assert code == 2
    assert "pass the signing key (secret='whsk_...')" in capsys.readouterr().err
