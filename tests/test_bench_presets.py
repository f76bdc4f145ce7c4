"""bench/bench_presets.py reports, it does not gate; this keeps it runnable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_presets_quick_run_prints_a_row_per_sdk() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_presets.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[2:]
    assert [r.split()[1] for r in rows] == [
        "standardwebhooks",
        "svix",
        "stripe",
        "slack_sdk",
        "slack_sdk",  # is_valid_request(body, headers), its other documented call
        "twilio",
        "paddle-python-sdk",
        "convoy-python",
    ]
    assert all(r.endswith(("PASS", "MISS")) for r in rows)
