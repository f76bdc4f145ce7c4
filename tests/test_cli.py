"""The ``webhook-guard`` command line (DESIGN.md section 9), run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import webhook_guard

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "webhook-guard.yaml"
BODY = b'{"type": "order.created", "data": {"id": 42}}'
HEADER_LINE = re.compile(r"^([A-Za-z0-9-]+): (\S.*)$")

#: Verdict fields the verify command prints (DESIGN.md sections 2 and 9).
VERDICT_FIELDS = {
    "ok",
    "reason",
    "status",
    "detail",
    "route",
    "client_ip",
    "event_id",
    "secret_id",
    "timestamp",
    "duplicate",
    "reported",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WG_CLI_TEST_UNSET", None)
    env["PYTHONWARNINGS"] = "error"
    return env


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m webhook_guard.cli ARGS``, text output."""
    return subprocess.run(
        [sys.executable, "-m", "webhook_guard.cli", *map(str, args)],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


def sign(body_file: Path, route: str = "orders", *extra: str) -> list[str]:
    result = run("sign", "--config", QUICKSTART, "--route", route, "--body-file", body_file, *extra)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines
    for line in lines:
        assert HEADER_LINE.match(line), line
    return lines


def verify(body_file: Path, headers: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    args: list[str] = []
    for header in headers:
        args += ["-H", header]
    return run(
        "verify", "--config", QUICKSTART, "--path", "/hooks/orders", *args,
        "--body-file", body_file, *extra,
    )  # fmt: skip


def verdict(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    assert set(out) == VERDICT_FIELDS
    return out


# -- check -------------------------------------------------------------------------------


def test_check_quickstart_lists_both_routes() -> None:
    result = run("check", QUICKSTART)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{QUICKSTART}: OK, 2 route(s)"
    assert len(lines) == 3
    orders, builds = lines[1].split(), lines[2].split()
    assert orders[:3] == ["orders", "POST", "/hooks/orders"]
    assert builds[:3] == ["builds", "POST", "/hooks/builds/*"]
    assert "standard signature, 2 secret(s)" in lines[1]
    assert "token in query" in lines[2]
    # The literal demo secrets are never printed.
    assert "whsec_" not in result.stdout
    assert "demo-builds-secret" not in result.stdout
    assert "demo-url-token" not in result.stdout


def test_check_broken_config_names_the_exact_place(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(
        "version: 1\n"
        "routes:\n"
        "  - name: orders\n"
        "    path: /hooks/orders\n"
        "    provider: standard\n"
        "    tolerance: 0\n"
        "    secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]\n",
        encoding="utf-8",
    )
    result = run("check", config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: routes[0].tolerance: 0 is not allowed: tolerance is the replay window in "
        "seconds (e.g. 300); it cannot be turned off\n"
    )


def test_check_reports_every_error_one_per_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(
        "version: 1\n"
        "routes:\n"
        "  - name: orders\n"
        "    path: /hooks/orders\n"
        "    provider: standard\n"
        "    secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, env:WG_CLI_TEST_UNSET]\n"
        "  - name: builds\n"
        "    path: hooks/builds\n"
        "    token: {query: token, secrets: [s3cr3t-t0ken]}\n",
        encoding="utf-8",
    )
    result = run("check", config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: routes[0].secrets[1]: environment variable WG_CLI_TEST_UNSET is not set",
        "error: routes[1].path: 'hooks/builds': must start with '/'",
    ]
    assert "MfKQ9r8" not in result.stderr
    assert "s3cr3t-t0ken" not in result.stderr


def test_check_yaml_syntax_error_names_file_line_column(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("version: 1\nroutes:\n  - name: a\n   path: /x\n", encoding="utf-8")
    result = run("check", config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {config}:4:4: ")


def test_check_empty_file(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("", encoding="utf-8")
    result = run("check", config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {config}: expected a mapping with 'version: 1', got nothing\n"


def test_check_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = run("check", missing)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {missing}: cannot read: No such file or directory\n"


# -- sign and verify ---------------------------------------------------------------------


def test_sign_then_verify_round_trip(body_file: Path) -> None:
    headers = sign(body_file)
    sent = dict(h.split(": ", 1) for h in headers)
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert sent["webhook-signature"].startswith("v1,")
    result = verify(body_file, headers)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    out = verdict(result)
    assert out["ok"] is True
    assert out["reason"] is None
    assert out["route"] == "orders"
    assert out["secret_id"] == "current"
    assert out["event_id"] == sent["webhook-id"]
    assert out["timestamp"] == int(sent["webhook-timestamp"])
    assert out["duplicate"] is False
    assert out["reported"] == []


def test_sign_with_explicit_event_id_and_body_from_stdin(tmp_path: Path) -> None:
    result = run(
        "sign", "--config", QUICKSTART, "--route", "orders", "--body-file", "-",
        "--event-id", "msg_cli_test_1", stdin=BODY,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    headers = result.stdout.splitlines()
    assert "webhook-id: msg_cli_test_1" in headers
    body_file = tmp_path / "body"
    body_file.write_bytes(BODY)
    out = verdict(verify(body_file, headers))
    assert out["ok"] is True
    assert out["event_id"] == "msg_cli_test_1"


def test_verify_tampered_body_is_rejected(body_file: Path, tmp_path: Path) -> None:
    headers = sign(body_file)
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(BODY.replace(b"42", b"43"))
    result = verify(tampered, headers)
    assert result.returncode == 1
    assert result.stderr == ""
    out = verdict(result)
    assert out["ok"] is False
    assert out["reason"] == "signature_mismatch"
    assert out["status"] == 401
    assert out["route"] == "orders"
    assert out["secret_id"] is None


def test_verify_old_timestamp_is_rejected(body_file: Path) -> None:
    headers = sign(body_file, "orders", "--timestamp", "1000000000")
    out = verdict(verify(body_file, headers))
    assert out["ok"] is False
    assert out["reason"] == "timestamp_too_old"


def test_verify_without_headers_is_rejected(body_file: Path) -> None:
    result = verify(body_file, [])
    assert result.returncode == 1
    out = verdict(result)
    assert out["ok"] is False
    assert out["reason"] == "signature_missing"
    assert out["status"] == 401


def test_verify_bad_header_is_a_usage_error(body_file: Path) -> None:
    result = verify(body_file, ["no colon here"])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: --header 'no colon here' is not 'Name: value'\n"


def test_verify_header_without_name_is_a_usage_error(body_file: Path) -> None:
    result = verify(body_file, [": value"])
    assert result.returncode == 2
    assert result.stdout == ""
    assert "is not 'Name: value'" in result.stderr


def test_sign_unknown_route_is_a_usage_error(body_file: Path) -> None:
    result = run("sign", "--config", QUICKSTART, "--route", "nope", "--body-file", body_file)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: no route named 'nope' (routes: orders, builds)\n"


def test_sign_missing_body_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run("sign", "--config", QUICKSTART, "--route", "orders", "--body-file", missing)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {missing}: No such file or directory\n"


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage: webhook-guard" in result.stderr


# -- version and the installed entry point -----------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"webhook-guard {webhook_guard.__version__}\n"


def test_installed_console_script() -> None:
    script = shutil.which("webhook-guard", path=str(Path(sys.executable).parent))
    script = script or shutil.which("webhook-guard")
    if script is None:
        pytest.fail("the webhook-guard console script is not installed (pip install -e .)")
    result = subprocess.run(
        [script, "check", str(QUICKSTART)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{QUICKSTART}: OK, 2 route(s)\n")
    version = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert version.stdout == f"webhook-guard {webhook_guard.__version__}\n"


# -- schema, sign for a preset, serve and demo -------------------------------------------


def test_schema_prints_the_config_json_schema() -> None:
    from webhook_guard.schema import config_schema

    result = run("schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == config_schema()


def test_sign_for_a_preset_then_verify_with_a_config(body_file: Path) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the quickstart's current secret
    result = run(
        "sign", "--provider", "standard", "--secret", secret, "--body-file", body_file,
        "--event-id", "msg_preset_1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    headers = result.stdout.splitlines()
    assert "webhook-id: msg_preset_1" in headers
    out = verdict(verify(body_file, headers))
    assert out["ok"] is True
    assert out["secret_id"] == "current"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give --config with --route, or --provider with --secret\n"),
        (["--provider", "standard"], "error: --provider needs --secret\n"),
        (["--config", str(QUICKSTART)], "error: --config needs --route\n"),
        (
            ["--config", str(QUICKSTART), "--route", "orders", "--provider", "standard"],
            "error: give --config with --route, or --provider with --secret\n",
        ),
    ],
)
def test_sign_needs_a_route_or_a_preset(body_file: Path, args: list[str], message: str) -> None:
    result = run("sign", *args, "--body-file", body_file)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == message


def test_sign_for_an_unknown_preset_names_the_known_ones(body_file: Path) -> None:
    result = run("sign", "--provider", "nope", "--secret", "x", "--body-file", body_file)
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown provider 'nope' (known: bitbucket, ")
    assert "github" in result.stderr


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("check", "sign", "verify", "serve", "schema", "demo"):
        assert re.search(rf"^    {command} +\S", result.stdout, re.M), command


def test_serve_help_states_defaults() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0
    out = " ".join(result.stdout.split())
    assert "(default: 127.0.0.1)" in out
    assert "(default: 8080)" in out
    assert "SIGTERM" in out


def test_serve_without_upstream_is_a_usage_error() -> None:
    result = run("serve", "--config", QUICKSTART)
    assert result.returncode == 2
    assert "--upstream" in result.stderr


def test_demo_shows_each_outcome() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = {
        line.split(".")[0].strip(): line
        for line in out.splitlines()
        if line[:3].strip(". ").isdigit()
    }
    assert "forwarded; the app answered 202" in lines["1"]
    assert "200 duplicate_event; the app never saw it" in lines["2"]
    assert "401 signature_mismatch" in lines["3"]
    assert "401 timestamp_too_old" in lines["4"]
    # Signed 412 s in the past on the real clock; a slow machine may take a second more.
    assert re.search(r"timestamp is 41[23] s old; tolerance 300 s", out), out
    assert "forwarded" in lines["5"]
    assert "403 ip_not_allowed" in lines["6"]
    assert "401 token_invalid" in lines["7"]
    assert "401 signature_mismatch" in lines["8"]
    for step in ("9", "10", "11"):
        assert "404 route_not_found; the app never saw it" in lines[step], step
    assert "The deploy server received 2 of 11 requests:" in out
