"""The source layout: modules with one job each stay small, and the names that moved when
modules were split still import from where they used to be."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import webhook_guard

SRC = Path(webhook_guard.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them along a seam): {long}"


def test_no_function_is_longer_than_the_limit() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = length
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_module_is_in_the_architecture_pages_layout_table() -> None:
    """A newcomer finds where each concern lives: every module and package directly under
    src/webhook_guard/ has a row in docs/architecture.md, and every row names one."""
    page = SRC.parent.parent / "docs" / "architecture.md"
    section = page.read_text(encoding="utf-8").split("\n## Where each concern lives\n")[1]
    section = section.split("\n## ")[0]
    named = {
        name.rstrip("/")
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    }
    present = {
        path.name.removesuffix(".py")
        for path in SRC.iterdir()
        if path.name not in ("__init__.py", "py.typed", "__pycache__")
        and (path.suffix == ".py" or path.is_dir())
    }
    assert not present - {n.removesuffix(".py") for n in named}, "modules without a row"
    assert not {n.removesuffix(".py") for n in named} - present, "rows naming no module"


def test_every_section_of_the_architecture_page_a_comment_cites_exists() -> None:
    """Source comments point at docs/architecture.md by section title; each must be there."""
    page = SRC.parent.parent / "docs" / "architecture.md"
    headings = re.findall(r"^## (.+)$", page.read_text(encoding="utf-8"), re.M)
    cited = {
        (str(path.relative_to(SRC)), " ".join(title.split()))
        for path in _modules()
        for title in re.findall(
            r'architecture\.md,\s*(?:#\s*)?"([^"]+)"', path.read_text(encoding="utf-8")
        )
    }
    assert cited, "no citation found: the pattern no longer matches the comments"
    missing = {c for c in cited if not any(h.startswith(c[1]) for h in headings)}
    assert not missing, missing


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("webhook_guard.ipset", "webhook_guard.ip_ranges", "NAMED_SETS"),
        ("webhook_guard.ipset", "webhook_guard.ip_ranges", "provider_set"),
        ("webhook_guard.ipset", "webhook_guard.ip_ranges", "RangeUpdateError"),
        ("webhook_guard.proxy", "webhook_guard.proxy_server", "serve"),
        ("webhook_guard.proxy", "webhook_guard.proxy_server", "reload_on_sighup"),
        ("webhook_guard.clientip", "webhook_guard.forwarded", "ProxyHeadersInvalid"),
        ("webhook_guard.cli", "webhook_guard.secrets", "new_secret"),
    ],
)
def test_moved_names_still_import_from_their_old_module(old: str, new: str, name: str) -> None:
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name
    )


@pytest.mark.parametrize("module", ["webhook_guard.ipset", "webhook_guard.proxy"])
def test_an_unknown_name_is_still_an_attribute_error(module: str) -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = importlib.import_module(module).no_such_name
