"""The README is the front door: its commands must be the ones CI runs, and must work."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_demo_and_test_commands() -> None:
    demo, tests = readme_commands()[:2]
    assert "pip install" in demo
    assert "demo" in demo
    # The demo needs the proxy extra (uvicorn, httpx), so the first command installs it.
    assert demo == 'pip install -e ".[proxy]" && webhook-guard demo'
    assert "pip install" in tests
    assert "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"^TEST_COMMAND='(.*)'$", ci, re.M)
    assert match, ".ci/run has no TEST_COMMAND"
    assert match.group(1) == readme_commands()[1]


def test_ci_fails_when_no_test_ran() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$status" -eq 5' in ci


def test_demo_runs_and_shows_each_outcome() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "ACCEPTED",
        "duplicate_event",
        "signature_mismatch",
        "timestamp is 412 s old; tolerance 300 s",
        "secret=previous",
        "route_not_found",
        "passed through",
        "token_invalid",
    ):
        assert expected in out, expected
