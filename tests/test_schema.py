"""``webhook-guard schema``: the JSON Schema must describe exactly what load_config accepts."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from webhook_guard import ConfigError, load_config
from webhook_guard.schema import config_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIGS = sorted(ROOT.glob("examples/*/webhook-guard.yaml"))
PROBE = "zzqx_not_a_key"
ALLOWED = re.compile(r"allowed: ([a-z_, ]+)\)?$")

BASE: dict[str, Any] = {
    "version": 1,
    "routes": [
        {
            "name": "a",
            "path": "/hooks/a",
            "provider": "generic",
            "signature": {"header": "X-Sig"},
            "secrets": [{"value": "s3cr3t-value", "label": "current"}],
            "token": {"query": "token", "secrets": ["t0ken-value"]},
            "event_id": {"header": "X-Id"},
        }
    ],
}

#: where in the config -> how to reach that mapping in BASE.
SECTIONS: dict[str, tuple[Any, ...]] = {
    "": (),
    "defaults": ("defaults",),
    "network": ("network",),
    "replay": ("replay",),
    "routes[0]": ("routes", 0),
    "routes[0].signature": ("routes", 0, "signature"),
    "routes[0].token": ("routes", 0, "token"),
    "routes[0].secrets[0]": ("routes", 0, "secrets", 0),
    "routes[0].event_id": ("routes", 0, "event_id"),
    "routes[0].handshake": ("routes", 0, "handshake"),
}


def accepted_keys(path: tuple[Any, ...]) -> set[str]:
    """The keys load_config accepts at ``path``, read from its unknown-key error."""
    data = copy.deepcopy(BASE)
    node: Any = data
    for step in path:
        node = node.setdefault(step, {}) if isinstance(node, dict) else node[step]
    node[PROBE] = 1
    with pytest.raises(ConfigError) as info:
        load_config(data)
    line = next(e for e in info.value.errors if PROBE in e)
    match = ALLOWED.search(line)
    assert match, line
    return {k.strip() for k in match.group(1).split(",")}


def schema_node(schema: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """The object schema at ``path``; alternatives (``oneOf``) are merged."""
    node = schema
    for step in path:
        node = node["items"] if isinstance(step, int) else node["properties"][step]
        if "oneOf" in node and "properties" not in node:
            objects = [alt for alt in node["oneOf"] if alt.get("type") == "object"]
            assert all(alt["additionalProperties"] is False for alt in objects)
            props: dict[str, Any] = {}
            for alt in objects:
                props.update(alt["properties"])
            node = {"properties": props, "additionalProperties": False}
    return node


@pytest.mark.parametrize("where", list(SECTIONS))
def test_schema_keys_match_the_parser(where: str) -> None:
    path = SECTIONS[where]
    node = schema_node(config_schema(), path)
    assert node["additionalProperties"] is False
    assert set(node["properties"]) == accepted_keys(path), where


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(config_schema())


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: p.parent.name)
def test_every_example_config_matches_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(_jsonable(data), config_schema())


def test_examples_were_found() -> None:
    assert len(EXAMPLE_CONFIGS) >= 1


def _route(**fields: Any) -> dict[str, Any]:
    return {"routes": [{"name": "a", "path": "/a", **fields}]}


TOKEN = {"query": "t", "secrets": ["x"]}


@pytest.mark.parametrize(
    "patch",
    [
        {"version": 2},
        {"defaults": {"tolerance": 0}},
        {"defaults": {"mode": "audit"}},
        {"replay": {"on_store_error": "ignore"}},
        {"network": {"client_ip": "x-forwarded-host"}},
        {"routes": []},
        _route(),
        {"routes": [{"name": "a", "path": "a", "token": TOKEN}]},
        _route(provider="nope", secrets=["x"]),
        _route(token={**TOKEN, "header": "X"}),
        _route(token=TOKEN, event_id={"json": "id"}),
        _route(token=TOKEN, methods=[]),
        _route(token=TOKEN, methods=["POST", "FETCH"]),
    ],
)
def test_schema_and_parser_both_reject(patch: dict[str, Any]) -> None:
    data = {**copy.deepcopy(BASE), **patch}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, config_schema())
    with pytest.raises(ConfigError):
        load_config(data)


def test_schema_covers_the_base_config() -> None:
    jsonschema.validate(BASE, config_schema())
    load_config(BASE)


def test_schema_is_json() -> None:
    text = json.dumps(config_schema())
    assert json.loads(text) == config_schema()


def _jsonable(value: Any) -> Any:
    # YAML turns ISO dates into datetime objects; in JSON they are strings.
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
