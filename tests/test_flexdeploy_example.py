"""examples/flexdeploy_like end to end: the app, `webhook-guard serve` and the sender
script as real processes, as the example's README runs them; then the same app protected
in-process with GuardMiddleware."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import free_port, run_process

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "flexdeploy_like"
CONFIG = EXAMPLE / "webhook-guard.yaml"


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), out.get("PYTHONPATH", "")) if p
    )
    return out


def python(*args: str | Path) -> list[str]:
    return [sys.executable, *map(str, args)]


def send_deliveries(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        python(EXAMPLE / "send_deliveries.py", "--url", url, *extra),
        capture_output=True, text=True, timeout=120, env=env(), check=False,
    )  # fmt: skip


def events(app_port: int) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{app_port}/flexdeploy/api/events"
    with urllib.request.urlopen(url, timeout=10) as response:
        data: list[dict[str, Any]] = json.load(response)
    return data


def test_check_lists_the_three_exposed_routes() -> None:
    result = subprocess.run(
        python("-m", "webhook_guard.cli", "check", CONFIG),
        capture_output=True, text=True, timeout=60, env=env(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{CONFIG}: OK, 3 route(s)"
    assert [line.split()[2] for line in lines[1:]] == [
        "/flexdeploy/webhooks/v1/git/github",
        "/flexdeploy/webhooks/v1/git/gitlab",
        "/flexdeploy/webhooks/v1/git/bitbucket",
    ]


def test_behind_the_proxy() -> None:
    app_port, proxy_port = free_port(), free_port()
    app = python(EXAMPLE / "app.py", "--port", str(app_port))
    serve = python(
        "-m", "webhook_guard.cli", "serve", "--config", CONFIG,
        "--upstream", f"http://127.0.0.1:{app_port}", "--port", str(proxy_port),
    )  # fmt: skip
    with run_process(app, app_port, env=env()), run_process(serve, proxy_port, env=env()):
        # Twice against the same proxy, as a reader trying the README again would: each
        # run is a new push, not a redelivery of the last one.
        for _ in range(2):
            result = send_deliveries(f"http://127.0.0.1:{proxy_port}")
            assert result.returncode == 0, result.stdout + result.stderr
            assert result.stdout.rstrip().endswith("every outcome as expected")
            assert "FAIL" not in result.stdout
        received = events(app_port)
    # Exactly the three genuine pushes of each run reached the app, each with the
    # provider's address as the client and the route the proxy verified it on.
    assert [(e["provider"], e["client"], e["verified_route"]) for e in received] == 2 * [
        ("github", "140.82.115.10", "github"),
        ("gitlab", "34.74.90.66", "gitlab"),
        ("bitbucket", "104.192.137.5", "bitbucket"),
    ]
    assert {e["repository"] for e in received} == {"acme/release-pipeline"}
    assert {e["ref"] for e in received} == {"refs/heads/main"}


def test_in_process_with_the_middleware() -> None:
    port = free_port()
    with run_process(python(EXAMPLE / "app_middleware.py", "--port", str(port)), port, env=env()):
        for _ in range(2):
            result = send_deliveries(f"http://127.0.0.1:{port}", "--in-process")
            assert result.returncode == 0, result.stdout + result.stderr
            assert "admin" not in result.stdout  # the proxy-only checks were skipped
        received = events(port)
    assert [(e["provider"], e["client"], e["verified_route"]) for e in received] == 2 * [
        ("github", "140.82.115.10", "github"),
        ("gitlab", "34.74.90.66", "gitlab"),
        ("bitbucket", "104.192.137.5", "bitbucket"),
    ]
