"""``webhook-guard sign --provider NAME`` for every preset, verified by ``webhook-guard
verify`` with a config holding the preset's key as its dashboard shows it.

The rows are PRESETS itself: a new preset is tested here as soon as it is registered.
Each signs with what ``webhook-guard secret new`` makes (for a public-key preset, a test
key pair in the provider's own formats).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.test_cli import HEADER_LINE, run, verdict
from webhook_guard.schema import config_schema
from webhook_guard.signatures.base import FETCHED_KEY_SCHEMES
from webhook_guard.signatures.presets import PRESETS

BODY = json.dumps({"id": "evt_cli_1", "event_id": "evt_cli_1", "type": "ping"}).encode()
PUBLIC_URL = "https://hooks.example.com"

#: Route keys a preset needs besides provider and secrets (and public_url, below).
ROUTE_EXTRAS: dict[str, dict[str, Any]] = {"generic": {"signature": {"header": "X-Signature"}}}


def _ms_now() -> int:
    return int(time.time() * 1000)


#: Bodies of the shape a preset's provider sends, where it matters to signing.
BODIES: dict[str, Callable[[], bytes]] = {
    "msgraph": lambda: json.dumps({"value": [{"subscriptionId": "s1"}]}).encode(),
    # Linear signs a timestamp inside the body (webhookTimestamp, Unix milliseconds).
    "linear": lambda: json.dumps({"type": "Issue", "webhookTimestamp": _ms_now()}).encode(),
}


def signs_url(name: str) -> bool:
    """Whether the preset's signature covers the URL the provider calls (Twilio...)."""
    return "{url}" in str(PRESETS[name].signature.get("signed_content"))


def route_extras(name: str) -> dict[str, Any]:
    return {**ROUTE_EXTRAS.get(name, {}), **({"public_url": PUBLIC_URL} if signs_url(name) else {})}


def sign_extras(name: str) -> list[str]:
    return ["--url", f"{PUBLIC_URL}/hooks/r"] if signs_url(name) else []


def keys(name: str) -> tuple[str, str]:
    """(what ``sign`` takes, what the route's ``secrets`` hold) for preset ``name``, as
    ``webhook-guard secret new`` makes them: one secret, or for a public-key preset a
    private key with its public key in the note."""
    made = run("secret", "new", "--provider", name)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    if PRESETS[name].public_key:
        return secret, made.stderr.rpartition("for the test route:\n")[2].strip()
    return secret, secret


def write_config(path: Path, name: str, held: str) -> Path:
    route = {"name": "r", "path": "/hooks/r", "provider": name, "secrets": [held]}
    route.update(route_extras(name))
    path.write_text(json.dumps({"version": 1, "routes": [route]}), encoding="utf-8")
    return path


def verify(config: Path, headers: list[str], body: Path) -> dict[str, Any]:
    args: list[str] = []
    for line in headers:
        args += ["-H", line]
    return verdict(
        run("verify", "--config", config, "--path", "/hooks/r", *args, "--body-file", body)
    )


#: Presets whose keys the guard fetches (SNS certificates, Google's JWKS, PayPal's
#: certificate): a signed request needs the route's settings and a key server, so the
#: CLI explains instead (tests/test_presets_fetched.py signs and serves them).
FETCHED = sorted(n for n, p in PRESETS.items() if p.signature.get("scheme") in FETCHED_KEY_SCHEMES)
SIGNABLE = sorted(n for n in PRESETS if n not in FETCHED)


@pytest.mark.parametrize("name", FETCHED)
def test_sign_for_a_fetched_key_preset_says_what_to_use(name: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(BODY)
    refused = run("sign", "--provider", name, "--secret", "x", "--body-file", body)
    assert refused.returncode == 2
    assert f"provider {name!r} needs its route's settings to sign" in refused.stderr


@pytest.mark.parametrize("name", SIGNABLE)
def test_sign_for_every_preset_verifies_with_its_config(name: str, tmp_path: Path) -> None:
    signing, held = keys(name)
    body = tmp_path / "body.json"
    body.write_bytes(BODIES[name]() if name in BODIES else BODY)
    config = write_config(tmp_path / "webhook-guard.yaml", name, held)
    checked = run("check", config)
    assert checked.returncode == 0, checked.stderr
    if name != "generic":
        signer = ["--provider", name, "--secret", signing, *sign_extras(name)]
    else:
        # generic: nothing to sign with until the route says which header (sign --provider
        # says so); a route of a config names it.
        refused = run("sign", "--provider", name, "--secret", signing, "--body-file", body)
        assert refused.returncode == 2
        assert "needs 'signature.header'" in refused.stderr
        signer = ["--config", str(config), "--route", "r"]
    signed = run("sign", *signer, "--body-file", body)
    assert signed.returncode == 0, signed.stderr
    headers = signed.stdout.splitlines()
    if not all(HEADER_LINE.match(line) for line in headers):
        # A provider that signs inside the body (Mailgun's signature object, Graph's
        # clientState): sign printed the body to send.
        body.write_text(signed.stdout.removesuffix("\n"), encoding="utf-8")
        headers = []
    out = verify(config, headers, body)
    assert out["ok"] is True, out
    # The same request is refused by a route that holds another key.
    other = write_config(tmp_path / "other.yaml", name, keys(name)[1])
    refused_out = verify(other, headers, body)
    assert refused_out["ok"] is False
    assert refused_out["reason"] in ("signature_mismatch", "token_invalid"), refused_out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_schema_describes_a_route_of_every_preset(name: str, tmp_path: Path) -> None:
    """``webhook-guard schema`` accepts what load_config accepts for each preset,
    handshake settings and timestamp forms included."""
    schema = config_schema()  # what `webhook-guard schema` prints (tests/test_cli.py)
    route: dict[str, Any] = {"name": "r", "path": "/hooks/r", "provider": name}
    route["secrets"] = [keys(name)[1]]
    route["handshake"] = {"verify_token": "env:META_VERIFY_TOKEN", "confirm": False}
    route.update(route_extras(name))
    config = {"version": 1, "routes": [route]}
    jsonschema.validate(config, schema)
    route["signature"] = {**route.get("signature", {}), "timestamp_format": "milliseconds"}
    jsonschema.validate(config, schema)
    route["signature"]["timestamp_format"] = "minutes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, schema)
