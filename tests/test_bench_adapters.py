"""bench/bench_adapters.py reports, it does not gate; this keeps it runnable as the code
changes, on the real servers it measures (uvicorn, gunicorn)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_adapters_quick_run_prints_one_row_per_framework() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_adapters.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "guarded/hand-written" in out, out
    assert "target:" in out, out
    rows = {line[:22].strip(): line[22:].split() for line in out.splitlines()}
    for name in ("FastAPI", "Starlette", "Flask", "Django"):
        name += " (uvicorn)" if name in ("FastAPI", "Starlette") else " (gunicorn)"
        assert name in rows, out
        cpu = rows[name][:3]  # bare, hand-written, guarded: server CPU us per request
        assert all(float(value) > 0 for value in cpu), out
        assert rows[name][-1] in ("PASS", "MISS"), out
    # Every app answered every delivery itself, and the hand-written and guarded apps
    # refused a forged one (the bare app took it): each variant did the work it claims.
    assert "WARNING" not in out, out
