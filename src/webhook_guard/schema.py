"""JSON Schema (draft 2020-12) of the ``webhook-guard.yaml`` format.

Derived from the declarations in :mod:`webhook_guard.config.keys` (the same the parser
reads its keys, defaults and bounds from), so the schema cannot drift from the parser.
The schema is for editors and documentation: ``load_config`` stays the authority (it also
checks what a schema cannot say, such as secrets resolving or ``allow_ips`` not
overlapping ``trusted_proxies``).
"""

from __future__ import annotations

import copy
from typing import Any

from .config.declare import Key, Section
from .config.keys import TOP
from .config.route_keys import (
    EVENT_ID_HEADER,
    EVENT_ID_JSON,
    EVENT_ID_WORDS,
    HEADER_PATTERN,
    ROUTE,
    SECRET,
)

SCHEMA_ID = "urn:webhook-guard:config:v1"

_HEADER_NAME: dict[str, Any] = {"type": "string", "pattern": HEADER_PATTERN}
_STRING: dict[str, Any] = {"type": "string", "minLength": 1}


def _object(section: Section) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": section.doc,
        "properties": {key.name: _key(key) for key in section},
        "additionalProperties": False,
    }
    if section.required:
        out["required"] = list(section.required)
    return {**out, **section.schema}


def _plain(key: Key) -> dict[str, Any]:
    """The constraints implied by ``key``'s kind."""
    if key.kind == "int":
        bounds = {"minimum": key.minimum, "maximum": key.maximum}
        return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}
    if key.kind == "choice":
        return {"enum": list(key.choices)}
    if key.kind == "headers":
        return {"oneOf": [_HEADER_NAME, {"type": "array", "items": _HEADER_NAME, "minItems": 1}]}
    if key.kind == "section":
        assert key.section is not None
        return _object(key.section)
    by_kind: dict[str, dict[str, Any]] = {
        "bool": {"type": "boolean"},
        "str": _STRING,
        "text": {"type": "string"},
        "header": _HEADER_NAME,
        "strings": {"type": "array", "items": _STRING},
        "custom": {},
    }
    return by_kind[key.kind]


def _key(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {**_SPECIAL.get(key.name, _plain)(key), **key.schema}
    if key.doc:
        out["description"] = key.doc
    if key.has_default:
        out["default"] = key.default
    return out


def _secrets(key: Key) -> dict[str, Any]:
    # A secret is its value alone, or the value with a label and an expiry.
    secret = {"description": "One secret.", "oneOf": [_key(SECRET["value"]), _object(SECRET)]}
    return {"type": "array", "items": secret, "minItems": 1}


def _event_id(key: Key) -> dict[str, Any]:
    return {
        "oneOf": [
            {"enum": list(EVENT_ID_WORDS)},
            _object(EVENT_ID_HEADER),
            _object(EVENT_ID_JSON),
        ]
    }


def _routes(key: Key) -> dict[str, Any]:
    return {"type": "array", "items": _object(ROUTE), "minItems": 1}


#: Keys whose schema is built from other declarations (a list of mappings, alternatives).
_SPECIAL = {"secrets": _secrets, "event_id": _event_id, "routes": _routes}


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration format, as a dict (a fresh one: changing it
    cannot reach the declarations it shares lists and dicts with)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "webhook-guard configuration",
        **_object(TOP),
    }
    return copy.deepcopy(schema)
