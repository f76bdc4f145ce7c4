"""The declarations in webhook_guard.config (the one place each key is written) hold
together: defaults obey their own constraints, the dataclasses take their defaults from
them, and the key lists match the public fields."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from webhook_guard.config import (
    DEFAULTS,
    ROUTE_FIELDS,
    ROUTE_KEYS,
    AuditConfig,
    NetworkConfig,
    ReplayConfig,
    RouteConfig,
    TLSConfig,
    configured_route_keys,
    load_config,
)
from webhook_guard.config.declare import Section
from webhook_guard.config.keys import AUDIT, AUDIT_RETENTION, NETWORK, REPLAY, TLS, TOP
from webhook_guard.config.route_keys import ROUTE, SETTINGS, SIGNATURE
from webhook_guard.config.values import Invalid, read
from webhook_guard.signatures.base import SignatureSpec


def sections(section: Section = TOP, where: str = "") -> list[tuple[str, Section]]:
    """Every section reachable from ``section``, with its place."""
    out = [(where or "<top>", section)]
    for key in section:
        if key.section is not None:
            out += sections(key.section, f"{where}.{key.name}".lstrip("."))
    return out


ALL = sections() + sections(ROUTE, "routes[]")
PLAIN = ("int", "bool", "str", "text", "choice", "header", "headers")


@pytest.mark.parametrize(("where", "section"), ALL, ids=[w for w, _ in ALL])
def test_every_key_has_a_doc_and_a_valid_default(where: str, section: Section) -> None:
    for key in section:
        assert key.doc, f"{where}.{key.name}: no doc"
        if key.has_default and key.kind in PLAIN:
            value = read(key, key.default, key.name)
            # Header names are read lower-cased; the declared default is shown as sent.
            expected = key.default.lower() if key.kind == "header" else key.default
            assert value == expected, f"{where}.{key.name}"


def test_plain_readers_refuse_what_the_declaration_rules_out() -> None:
    with pytest.raises(Invalid, match=r"^x: must be between 1 and 604800, got 604801$"):
        read(SETTINGS["tolerance"], 7 * 86_400 + 1, "x")
    with pytest.raises(Invalid, match=r"^x: must be one of enforce, report; got 'audit'$"):
        read(SETTINGS["mode"], "audit", "x")
    with pytest.raises(Invalid, match=r"^x: expected true or false, got 'yes'$"):
        read(ROUTE["forward_credentials"], "yes", "x")


@pytest.mark.parametrize(
    ("cls", "section", "skip"),
    [
        (ReplayConfig, REPLAY, set()),
        (NetworkConfig, NETWORK, {"trusted_proxies", "deny_ips", "client_cert"}),
        (AuditConfig, AUDIT, {"path", "retention"}),
        (AuditConfig, AUDIT_RETENTION, set()),
        (TLSConfig, TLS, {"certfile", "keyfile", "client_ca"}),
    ],
)
def test_dataclass_defaults_are_the_declared_ones(
    cls: type[Any], section: Section, skip: set[str]
) -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for key in section:
        if key.name in skip:
            continue
        assert defaults[key.name] == key.default, f"{cls.__name__}.{key.name}"


def test_signature_defaults_are_signature_specs() -> None:
    spec = {f.name: f.default for f in dataclasses.fields(SignatureSpec)}
    for key in SIGNATURE:
        if key.has_default:
            assert spec[key.name] == key.default, key.name


def test_route_keys_are_the_route_config_fields() -> None:
    fields = {f.name for f in dataclasses.fields(RouteConfig)}
    assert fields == ROUTE_KEYS | {"allow_set"}
    assert fields == ROUTE_FIELDS
    assert set(DEFAULTS) == set(SETTINGS.names) <= ROUTE_KEYS


def test_configured_route_keys_names_what_a_route_sets() -> None:
    config = load_config(
        {
            "version": 1,
            "routes": [
                {"name": "a", "path": "/a", "token": {"query": "t", "secrets": ["x"]}},
                {
                    "name": "b",
                    "path": "/b",
                    "token": {"query": "t", "secrets": ["x"]},
                    "allow_ips": ["192.0.2.0/24"],
                    "forward_credentials": True,
                },
            ],
        }
    )
    plain, more = (configured_route_keys(r) for r in config.routes)
    assert {"public_url", "allow_ips", "allow_set", "client_cert", "signature"}.isdisjoint(plain)
    assert more - plain == {"allow_ips", "allow_set", "forward_credentials"}


def test_changing_a_schema_leaves_the_declarations_alone() -> None:
    from webhook_guard.schema import config_schema

    config_schema()["properties"]["defaults"]["properties"]["methods"]["default"].append("PUT")
    assert SETTINGS.default("methods") == ["POST"]
    assert config_schema()["properties"]["defaults"]["properties"]["methods"]["default"] == ["POST"]
