"""Every example in docs/ runs here, so none can rot.

Each page under ``docs/`` is run top to bottom in a fresh subprocess (pages may set up
Django or other process-wide state), in its own temporary directory:

* ```` ```python ```` blocks run in one namespace per page, in order. A block with
  ``title="app.py"`` is written to that file instead (import it from a later block).
* ```` ```pycon ```` blocks are doctests in the same namespace.
* ```` ```yaml ```` blocks are webhook_guard configs and must load with
  :func:`webhook_guard.load_config`; a block without ``version`` is a fragment, loaded
  merged into a minimal config. ``title="x.yaml"`` also writes the file.
* Any other block with a ``title`` is written to that file (e.g. a ``body.json``).
* ```` ```nginx ```` blocks are the inside of a ``server {}`` block; nginx must start
  with them. A page that names ``env:REDIS_URL`` gets a real redis-server there.
* ```` ```console ```` blocks: each ``$ webhook-guard ...`` line runs (as
  ``python -m webhook_guard.cli``) and its output must match the lines that follow
  (doctest rules, ``...`` matches anything); ``$ pip install`` lines must name this
  distribution (or ``-e ".[extras]"``, a clone) and extras that exist;
  ``$ webhook-guard serve`` must start listening (on a free port) and stop cleanly on
  SIGTERM. The lines that start an application server (``$ uvicorn``, ``$ flask``,
  ``$ python manage.py runserver``) are run by tests/test_quickstarts.py, which sends
  the started app signed and tampered deliveries.
* ``env:NAME`` secrets named on a page are set to a test secret while it runs, and
  ``file:/abs/path`` secrets are read from the same path under the page's directory.

A block that truly cannot run is preceded by ``<!-- docs-test: skip REASON -->``.
"""

from __future__ import annotations

import base64
import contextlib
import doctest
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def secret_for(name: str) -> str:
    """A distinct secret per name: valid for Standard Webhooks (``whsec_`` + base64) and
    usable as a literal HMAC key or token by every other scheme."""
    return "whsec_" + base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()


TEST_SECRET = secret_for("literal")

#: Console lines that start an application server (see tests/test_quickstarts.py).
SERVER_COMMANDS = ("uvicorn ", "flask ", "python manage.py runserver")

#: Fence languages that are shown, not run. Anything else must be handled above.
INERT = {"text", "http", "ini", "toml", "dockerfile", "caddy", "json"}
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b(?P<reason>[^>]*)-->")
_TITLE = re.compile(r'title="([^"]+)"')
_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_FILE = re.compile(r"file:(/[^\s\"',}\]]+)")
_BASE_ROUTE: dict[str, Any] = {
    "name": "example",
    "path": "/hooks/example",
    "provider": "standard",
    "secrets": [TEST_SECRET],
}


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    lang: str
    title: str | None
    text: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of ``docs/<page>``, with their line numbers."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or not m.group("lang"):
            i += 1
            continue
        indent = m.group("indent")
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != f"{indent}```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        assert i < len(lines), f"docs/{page}:{start + 1}: unterminated code block"
        prev = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        skip = _SKIP.search(prev)
        title = _TITLE.search(m.group("info"))
        out.append(
            Block(
                page=page,
                line=start + 1,
                lang=m.group("lang"),
                title=title.group(1) if title else None,
                text="\n".join(body) + "\n",
                skip=skip.group("reason").strip() if skip else None,
            )
        )
        i += 1
    return out


def page_env(page: str) -> dict[str, str]:
    """``env:`` secrets a page names, set to the test secret."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return {name: secret_for(name) for name in _ENV.findall(text)}


def localise_files(text: str, workdir: Path) -> str:
    """Point ``file:/abs`` secrets under ``workdir`` and create them there."""

    def repl(m: re.Match[str]) -> str:
        target = workdir / m.group(1).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text(secret_for(m.group(1)) + "\n")
        return f"file:{target}"

    return _FILE.sub(repl, text)


def load_yaml_config(block: Block, workdir: Path, env: Mapping[str, str]) -> Any:
    """Load a yaml block as a webhook_guard config (a fragment goes into a minimal one)."""
    from webhook_guard import load_config

    data = yaml.safe_load(localise_files(block.text, workdir))
    assert isinstance(data, dict), f"{block.where}: a yaml block must be a mapping"
    if "version" not in data:
        if "path" in data:  # one route
            data = {"routes": [data]}
        top = set(_schema_object(())["properties"])
        unknown = set(data) - top
        assert not unknown, f"{block.where}: not a config fragment (keys {sorted(unknown)})"
        data = {"version": 1, "routes": [_BASE_ROUTE], **data}
    return load_config(data, env=env)


def check_pip(block: Block, command: str) -> None:
    """``pip install`` lines must name this distribution and existing extras."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(meta["optional-dependencies"])
    # Other packages a page installs must be ones the project itself depends on or tests.
    known = {
        re.split(r"[<>=\[ ]", dep, maxsplit=1)[0].lower()
        for deps in meta["optional-dependencies"].values()
        for dep in deps
    }
    for arg in shlex.split(command)[2:]:
        if arg.startswith("-"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[([a-z0-9,_-]+)\])?", arg)
        assert m, f"{block.where}: cannot read pip argument {arg!r}"
        if m.group(1) not in (meta["name"], "."):  # "." is a clone of this repository
            assert m.group(1).lower() in known, f"{block.where}: installs {m.group(1)!r}"
            continue
        for extra in filter(None, (m.group(2) or "").split(",")):
            assert extra in extras, f"{block.where}: no extra {extra!r} in pyproject.toml"


def run_console(block: Block, workdir: Path, env: Mapping[str, str]) -> None:
    """Run the ``$ webhook-guard`` lines of a console block and compare their output."""
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            assert commands, f"{block.where}: output before the first '$ ' command"
            commands[-1][1].append(line)
    for command, expected in commands:
        if command.startswith("pip install "):
            check_pip(block, command)
            continue
        if command.startswith(SERVER_COMMANDS):
            continue  # tests/test_quickstarts.py starts it and sends it deliveries
        argv = shlex.split(command)
        assert argv[0] == "webhook-guard", f"{block.where}: only webhook-guard commands run"
        if argv[1] == "serve":
            run_server(block, argv, env)
            continue
        result = subprocess.run(
            [sys.executable, "-m", "webhook_guard.cli", *argv[1:]],
            cwd=workdir,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        got = result.stdout + result.stderr
        want = "\n".join(expected).strip() + "\n"
        if not checker.check_output(want, got, flags):
            raise AssertionError(
                f"{block.where}: `{command}` printed\n{got}\nexpected\n{want}"
                f"(exit status {result.returncode})"
            )


def run_server(block: Block, argv: list[str], env: Mapping[str, str]) -> None:
    """``webhook-guard serve`` (run in the page's directory): it must start listening and
    stop cleanly on SIGTERM. The port is swapped for a free one: the page's may be in use.
    """
    from tests.servers import free_port, run_process

    port = free_port()
    args = [a for i, a in enumerate(argv) if "--port" not in (a, argv[i - 1])]
    cmd = [sys.executable, "-m", "webhook_guard.cli", *args[1:], "--port", str(port)]
    with run_process(cmd, port, env={**os.environ, **env}) as proc:
        pass
    assert proc.returncode == 0, f"{block.where}: serve exited with {proc.returncode}"


def run_page(page: str, workdir: Path) -> None:
    """Run every block of one page, in order (called in a subprocess per page)."""
    import warnings

    from tests.servers import redis_server

    warnings.simplefilter("error")
    env = page_env(page)
    with contextlib.ExitStack() as stack:
        if "REDIS_URL" in env:  # a page about the Redis store gets a real one
            env["REDIS_URL"] = stack.enter_context(redis_server())
        _run_blocks(page, workdir, env)


def _run_blocks(page: str, workdir: Path, env: dict[str, str]) -> None:
    from tests.servers import nginx

    os.environ.update(env)
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.skip is not None:
            continue
        if block.lang == "python":
            if block.title:
                (workdir / block.title).parent.mkdir(parents=True, exist_ok=True)
                (workdir / block.title).write_text(block.text)
                continue
            # Pad so tracebacks point at the page's own line numbers.
            code = compile("\n" * block.line + block.text, f"docs/{page}", "exec")
            exec(code, namespace)  # noqa: S102 - running the docs' own examples is the point
        elif block.lang == "pycon":
            test = doctest.DocTestParser().get_doctest(
                block.text, namespace, block.where, f"docs/{page}", block.line
            )
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest copies its globals
            if runner.failures:
                raise AssertionError(f"{block.where}: {runner.failures} doctest failure(s)")
        elif block.lang == "yaml":
            load_yaml_config(block, workdir, env)
            if block.title:
                (workdir / block.title).write_text(localise_files(block.text, workdir))
        elif block.lang == "console":
            run_console(block, workdir, env)
        elif block.lang == "json":
            json.loads(block.text)
        elif block.lang == "nginx":
            # nginx refuses to start on an invalid directive: the snippet must be real.
            with nginx(block.text):
                pass
        else:
            assert block.lang in INERT, f"{block.where}: unknown code block language"
        if block.title and block.lang not in ("python", "yaml"):
            (workdir / block.title).write_bytes(block.text.encode())


# -- tests -------------------------------------------------------------------------------


def test_there_are_pages() -> None:
    assert "index.md" in PAGES
    assert len(PAGES) >= 5


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, __file__, page, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Warnings raised in __del__ (unclosed sockets, files) cannot fail the page: catch them.
    assert "Exception ignored in" not in result.stderr, result.stderr


def test_skips_give_a_reason() -> None:
    skipped = [b for page in PAGES for b in blocks(page) if b.skip is not None]
    for block in skipped:
        assert block.skip, f"{block.where}: docs-test: skip needs a reason"
    assert len(skipped) <= 3, "keep examples runnable: " + ", ".join(b.where for b in skipped)


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        assert page in nav, f"docs/{page} is not in mkdocs.yml nav"


def table_rows(page: str, heading: str) -> dict[str, list[str]]:
    """The rows of the first table after ``heading``: first cell's code -> other cells."""
    text = (DOCS / page).read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        if m:
            rows[m.group(1)] = cells[1:]
    return rows


def test_reason_table_matches_the_enum() -> None:
    from webhook_guard import Reason

    rows = table_rows("reference/verdicts.md", "## Reason codes")
    assert list(rows) == [r.value for r in Reason]
    for reason in Reason:
        assert rows[reason.value][0] == str(reason.status), reason


def test_verdict_table_matches_the_fields() -> None:
    from dataclasses import fields

    from webhook_guard import Verdict

    rows = table_rows("reference/verdicts.md", "## `Verdict` fields")
    public = [f.name for f in fields(Verdict) if f.repr]
    assert list(rows) == public


@pytest.mark.parametrize(
    ("heading", "field"), [("### `secrets`", "secrets"), ("### `event_id`", "event_id")]
)
def test_config_reference_names_every_form_of(heading: str, field: str) -> None:
    """The keys of each mapping form the schema allows (``{value, label, expires}``,
    ``{header}``, ``{json}``) appear in that section."""
    node = _schema_object(("routes", "items", field))
    forms = node.get("items", node)["oneOf"]
    keys = {k for form in forms for k in form.get("properties", {})}
    assert keys, field
    text = (DOCS / "reference/configuration.md").read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    for key in keys:
        assert re.search(rf"[{{ ]{key}:", section), f"{heading}: the {key!r} form is not shown"


def test_every_cli_command_has_a_section() -> None:
    import argparse

    from webhook_guard.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = (DOCS / "reference/cli.md").read_text(encoding="utf-8")
    for command in sub.choices:
        assert f"\n## `{command}`\n" in text, f"docs/reference/cli.md: no `{command}` section"


def test_every_preset_has_its_facts_on_its_page() -> None:
    """Each preset's docs summary is its page's table, word for word (no drift)."""
    from webhook_guard.signatures.presets import PRESETS, SUMMARY_KEYS

    for name, preset in PRESETS.items():
        page = next(
            (p for p in PAGES if p.startswith("providers/") and name.startswith(p[10:-3])),
            None,
        )
        assert page, f"preset {name!r} has no page under docs/providers/"
        text = (DOCS / page).read_text(encoding="utf-8")
        heading = f"## What `provider: {name}` checks"
        assert heading in text, f"docs/{page}: no '{heading}' table"
        rows: dict[str, str] = {}
        for line in text.split(heading, 1)[1].split("\n\n", 2)[1].splitlines()[2:]:
            topic, value = (c.strip() for c in line.strip("|").split("|", 1))
            rows[topic] = value.replace("&#124;", "|")
        assert rows == {k: preset.summary[k] for k in SUMMARY_KEYS}, f"docs/{page}"


# Section heading of docs/reference/configuration.md -> where that mapping is in the JSON
# Schema. tests/test_schema.py holds the schema to exactly the keys load_config accepts,
# so documenting exactly the schema's keys documents exactly the parser's.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "## Top level": (),
    "## `defaults`": ("defaults",),
    "## `network`": ("network",),
    "## `replay`": ("replay",),
    "## `audit`": ("audit",),
    "## `routes`": ("routes", "items"),
    "### `signature`": ("routes", "items", "signature"),
    "### `token`": ("routes", "items", "token"),
    "## `tls`": ("tls",),
    "### `network.client_cert`": ("network", "client_cert"),
    "### `client_cert`": ("routes", "items", "client_cert"),
}


def _schema_object(path: tuple[str, ...]) -> dict[str, Any]:
    from webhook_guard.schema import config_schema

    node: dict[str, Any] = config_schema()
    for step in path:
        node = node["items"] if step == "items" else node["properties"][step]
    return node


@pytest.mark.parametrize("heading", list(_SECTIONS))
def test_config_reference_documents_exactly_the_schema(heading: str) -> None:
    node = _schema_object(_SECTIONS[heading])
    rows = table_rows("reference/configuration.md", heading)
    assert set(rows) == set(node["properties"]), (
        f"undocumented: {set(node['properties']) - set(rows)}, "
        f"not in the schema: {set(rows) - set(node['properties'])}"
    )
    # A documented default that is one code span must be the schema's default.
    for key, cells in rows.items():
        default = node["properties"][key].get("default")
        m = re.fullmatch(r"`([^`]*)`", cells[0])
        if default is None or not m or cells[0] in ("yes", "no"):
            continue
        shown = m.group(1)
        value = shown.strip('"') if isinstance(default, str) else yaml.safe_load(shown)
        assert value == default, f"{heading} {key}: documented {shown}, schema {default!r}"


def _second_column(page: str, heading: str) -> str:
    """The title of the second column of the first table after ``heading``."""
    section = (DOCS / page).read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    header = next(line for line in section.splitlines() if line.startswith("|"))
    return header.strip("|").split("|")[1].strip()


@pytest.mark.parametrize("heading", list(_SECTIONS))
def test_config_reference_marks_exactly_the_required_keys(heading: str) -> None:
    """Where the table has a ``required`` or ``default`` column, the keys it marks as
    required are the declared ones."""
    column = _second_column("reference/configuration.md", heading)
    if column not in ("required", "default"):
        return
    node = _schema_object(_SECTIONS[heading])
    rows = table_rows("reference/configuration.md", heading)
    marked = {key for key, cells in rows.items() if cells[0] in ("yes", "required", "(required)")}
    assert marked == set(node.get("required", ())), heading


if __name__ == "__main__":
    run_page(sys.argv[1], Path(sys.argv[2]))
