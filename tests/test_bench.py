"""The benchmark reports, it does not gate; this keeps it runnable as the code changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_run(script: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_bench_core_quick_run_prints_its_tables() -> None:
    result = quick_run("bench_core.py")
    for section in ("raw hmac", "Guard.check", "stdwebhooks", "reserve+commit", "1,000,000"):
        assert section in result.stdout, section
    # Every row names its target and says PASS or MISS.
    rows = [line for line in result.stdout.splitlines() if "KiB" in line or "MiB " in line]
    assert rows
    assert all(("PASS" in r or "MISS" in r) for r in rows if "x " in r)


def test_bench_ipset_quick_run_prints_its_table() -> None:
    result = quick_run("bench_ipset.py")
    rows = [line for line in result.stdout.splitlines() if line.startswith("IPv")]
    assert len(rows) == 10  # 5 sizes x 2 families
    assert [r.split()[1] for r in rows[:5]] == ["10", "100", "1,000", "10,000", "100,000"]
    targets = [r for r in rows if "target" in r or "PASS" in r or "MISS" in r]
    assert len(targets) == 2


def test_bench_audit_quick_run_prints_its_table() -> None:
    result = quick_run("bench_audit.py")
    rows = [line for line in result.stdout.splitlines() if line.lstrip().startswith(("1 ", "64 "))]
    assert [r.split()[1] for r in rows] == ["KiB", "KiB"]
    assert all(r.endswith(("PASS", "MISS")) for r in rows)
