"""The key tables of docs/reference/configuration.md, generated from the declarations.

Each table sits between two marker comments naming the mapping it lists::

    <!-- keys: routes.signature -->
    | key | default | type | meaning |
    ...
    <!-- end keys -->

Everything outside the markers is hand-written and kept. Run
``python -m webhook_guard.config.reference`` from a checkout to rewrite the tables after
changing a declaration; ``--check`` exits 1 when the page differs from what it would write
(tests/test_config_reference.py runs that check, so the page cannot drift).
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from ..schema import config_schema
from .declare import Key, Section
from .keys import AUDIT, AUDIT_RETENTION, CLIENT_CERT_HEADERS, NETWORK, REPLAY, TLS, TOP
from .route_keys import (
    CLIENT_CERT_RULE,
    HANDSHAKE,
    HEADER_PATTERN,
    HTTP_METHODS,
    NAME_PATTERN,
    ROUTE,
    SETTINGS,
    SIGNATURE,
    TOKEN,
    any_case,
)

PAGE = Path("docs/reference/configuration.md")

#: The mappings that have a table: marker name -> (declaration, path in the JSON Schema).
TABLES: dict[str, tuple[Section, tuple[str, ...]]] = {
    "top": (TOP, ()),
    "defaults": (SETTINGS, ("defaults",)),
    "network": (NETWORK, ("network",)),
    "network.client_cert": (CLIENT_CERT_HEADERS, ("network", "client_cert")),
    "replay": (REPLAY, ("replay",)),
    "audit": (AUDIT, ("audit",)),
    "audit.retention": (AUDIT_RETENTION, ("audit", "retention")),
    "routes": (ROUTE, ("routes", "items")),
    "routes.signature": (SIGNATURE, ("routes", "items", "signature")),
    "routes.token": (TOKEN, ("routes", "items", "token")),
    "routes.client_cert": (CLIENT_CERT_RULE, ("routes", "items", "client_cert")),
    "routes.handshake": (HANDSHAKE, ("routes", "items", "handshake")),
    "tls": (TLS, ("tls",)),
}

# Patterns the schema uses, in words.
_PATTERNS = {
    HEADER_PATTERN: "header name",
    "^header:" + HEADER_PATTERN[1:]: "`header:<name>`",
    NAME_PATTERN: "name",
    any_case(HTTP_METHODS): "HTTP method",
    "^/": "path",
    "^https?://": "URL",
    "^[^:]+$": "username",
}

_MAX_CHOICES = 8

_BEGIN = re.compile(r"^<!-- keys: (?P<name>[\w.]+) -->\n(?:.*\n)*?<!-- end keys -->$", re.M)


def _code(value: Any) -> str:
    if isinstance(value, str):
        # As YAML would read it: quoted only when it would otherwise be read differently.
        shown = value if value and yaml.safe_load(value) == value else json.dumps(value)
    else:
        shown = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
        shown = shown.removesuffix("\n...").strip()
    return f"`{shown}`"


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _plural(word: str) -> str:
    return word if word.startswith("`") or word.endswith("s") else word + "s"


def _type(node: dict[str, Any]) -> str:
    """The type and constraints of a JSON Schema node, in words."""
    return _or(_alternatives(node))


def _alternatives(node: dict[str, Any]) -> list[str]:
    if "const" in node:
        return [_code(node["const"])]
    if "enum" in node:
        # A long list (the preset names) grows with the code; the key's doc links to it.
        if len(node["enum"]) > _MAX_CHOICES:
            return ["name from a fixed list"]
        return [_code(v) for v in node["enum"]]
    kind = node.get("type")
    if kind is None:
        return [word for alt in node.get("oneOf") or node["anyOf"] for word in _alternatives(alt)]
    if kind == "object" and len(node.get("properties", ())) == 1:
        return [f"`{{{next(iter(node['properties']))}: …}}`"]
    if kind == "array":
        items = " or ".join(_plural(word) for word in _alternatives(node["items"]))
        return [f"list of {items}" + (", not empty" if node.get("minItems") else "")]
    if kind == "string":
        word = _PATTERNS.get(node.get("pattern", ""), "string")
        if "maxLength" in node:
            word += f", at most {node['maxLength']} characters"
        return [word]
    if kind in ("integer", "number"):
        bounds = [
            f"{word} {node[name]}"
            for name, word in (
                ("minimum", "at least"),
                ("exclusiveMinimum", "above"),
                ("maximum", "at most"),
            )
            if name in node
        ]
        if "minimum" in node and "maximum" in node:
            bounds = [f"{node['minimum']} to {node['maximum']}"]
        return [", ".join([kind, *bounds])]
    words = {"object": "mapping", "boolean": "boolean", "null": "`null`"}
    if kind in words:
        return [words[kind]]
    raise ValueError(f"no words for the schema {node!r}")


# Literal values in a doc line: 'quoted', {placeholders}, names such as verdict.secret_id
# or $ssl_client_verify, and URL schemes such as redis://.
_LITERAL = re.compile(
    r"(?<!\w)'(?P<quoted>[^']+)'(?!\w)|(?P<code>\{\w+\}|\$?[a-z][a-z0-9]+(?:[._][a-z0-9]+)+|[a-z+]+://[\w.\-/]*)"
)


def _markdown(text: str) -> str:
    """A plain doc line as Markdown: literals in code spans, the rest escaped."""
    out, last = [], 0
    for m in _LITERAL.finditer(text):
        out.append(html.escape(text[last : m.start()], quote=False).replace("*", r"\*"))
        out.append(f"`{m['quoted'] or m['code']}`")
        last = m.end()
    out.append(html.escape(text[last:], quote=False).replace("*", r"\*"))
    return "".join(out)


def _link(see: str, page: Path) -> str:
    if see.startswith("#"):
        return f"[below]({see})"
    target = page.parent.parent / see.split("#")[0]
    title = target.read_text(encoding="utf-8").splitlines()[0].removeprefix("# ")
    return f"[{title}](../{see})"


def _default(key: Key, node: dict[str, Any], section: Section) -> str:
    if key.required:
        return "required"
    if section is ROUTE and key in SETTINGS.keys:
        return "[`defaults`](#defaults)"
    if "default" in node:
        return _code(node["default"])
    return "—" if key.kind == "section" else "none"


def table(name: str, page: Path = PAGE) -> str:
    """The Markdown table of the mapping ``name`` (a key of :data:`TABLES`)."""
    section, path = TABLES[name]
    node: dict[str, Any] = config_schema()
    for step in path:
        node = node["items"] if step == "items" else node["properties"][step]
    lines = ["| key | default | type | meaning |", "|---|---|---|---|"]
    for key in section:
        prop = node["properties"][key.name]
        meaning = _markdown(key.doc)
        if key.see:
            meaning += f" See {_link(key.see, page)}."
        cells = [f"`{key.name}`", _default(key, prop, section), _type(prop), meaning]
        if any("|" in cell for cell in cells):
            raise ValueError(f"{name}.{key.name}: a cell holds '|', which splits the table")
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def render(text: str, page: Path = PAGE) -> str:
    """``text`` (the page) with every marked table regenerated."""

    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in TABLES:
            raise ValueError(f"{page}: no mapping {name!r} (known: {', '.join(TABLES)})")
        return f"<!-- keys: {name} -->\n{table(name, page)}\n<!-- end keys -->"

    return _BEGIN.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the page's tables, or with ``--check`` say whether they are current."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    page = Path(paths[0]) if paths else PAGE
    if not page.is_file():
        print(f"{page}: no such file; run this from a checkout's root, or give the page's path")
        return 2
    text = page.read_text(encoding="utf-8")
    fresh = render(text, page)
    if check:
        if fresh != text:
            print(f"{page} is out of date: run python -m webhook_guard.config.reference")
            return 1
        return 0
    if fresh != text:
        page.write_text(fresh, encoding="utf-8")
        print(f"{page}: tables rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
