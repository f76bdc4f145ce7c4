"""bench/bench_asgi.py reports, it does not gate; this keeps it runnable as the code changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_asgi_quick_run_reaches_the_app_through_the_guard() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_asgi.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rows = (
        "bare",
        "GuardMiddleware(bare)",
        "minimal verifier (ref.)",
        "server CPU us/req",
        "target:",
    )
    for row in rows:
        assert row in out, row
    assert "PASS" in out or "MISS" in out
    # Every guarded request was signed correctly, verified and answered by the app itself.
    assert "WARNING" not in out, out


def test_bench_asgi_in_process_quick_run_reaches_the_app_through_the_guard() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_asgi.py"), "--in-process", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "In process, no server" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for row in ("bare", "GuardMiddleware(bare)", "plumbing", "minimal"):
        assert row in rows, out
    assert float(rows["GuardMiddleware(bare)"].split()[1]) > 0, out
    # Every guarded request was verified and answered by the app itself.
    assert "WARNING" not in out, out
