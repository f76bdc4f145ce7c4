"""The ``webhook-guard`` command line (docs/reference/cli.md), run as a real subprocess."""

from __future__ import annotations

import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import webhook_guard
from webhook_guard.signatures.base import ASYMMETRIC
from webhook_guard.signatures.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "webhook-guard.yaml"
BODY = b'{"type": "order.created", "data": {"id": 42}}'
HEADER_LINE = re.compile(r"^([A-Za-z0-9-]+): (\S.*)$")

#: Verdict fields the verify command prints (docs/reference/cli.md#verify).
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


def check_errors(config: Path) -> list[str]:
    """``webhook-guard check CONFIG`` on a broken config: its error lines (exit status 2,
    nothing on standard output)."""
    result = run("check", config)
    assert result.returncode == 2
    assert result.stdout == ""
    return result.stderr.splitlines()


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


def test_check_aligns_its_columns_for_long_names_and_several_methods(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\nroutes:\n"
        "  - {name: meta, path: /hooks/meta, provider: meta, secrets: ['0123456789abcdef'],\n"
        "     handshake: {verify_token: tok}}\n"
        "  - {name: a-rather-long-route-name, path: /hooks/a/much/longer/path/than/forty/chars,\n"
        "     provider: github, secrets: ['0123456789abcdef']}\n",
        encoding="utf-8",
    )
    result = run("check", config)
    assert result.returncode == 0, result.stderr
    meta, other = result.stdout.splitlines()[1:]
    assert meta.split()[1] == "GET,POST"
    # Each column starts at the same place on both lines (method, path, what is checked).
    for word_meta, word_other in (
        ("GET,POST", "POST"),
        ("/hooks/meta", "/hooks/a/"),
        ("meta signature", "github signature"),
    ):
        assert meta.index(word_meta) == other.index(word_other), result.stdout


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
        f"error: {config}:6:16: routes[0].tolerance: 0 is not allowed: tolerance is the replay "
        "window in seconds (e.g. 300); it cannot be turned off\n"
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
    errors = check_errors(config)
    assert errors == [
        f"error: {config}:6:55: routes[0].secrets[1]: environment variable WG_CLI_TEST_UNSET "
        "is not set",
        f"error: {config}:8:11: routes[1].path: 'hooks/builds': must start with '/'",
    ]
    assert "MfKQ9r8" not in "".join(errors)
    assert "s3cr3t-t0ken" not in "".join(errors)


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
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type"}
    assert sent["content-type"] == "application/json"
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
    # Sorted by name (so the first one changes as presets are added).
    assert result.stderr.startswith("error: unknown provider 'nope' (known: airtable, bitbucket, ")
    assert "github" in result.stderr


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("check", "sign", "verify", "serve", "schema", "demo", "secret"):
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


# -- what a newcomer runs into: error paths that must not look like success ------------------


def test_verify_a_path_no_route_covers_is_a_usage_error(body_file: Path) -> None:
    """A typo in --path used to print "ok": true and exit 0: nothing was checked."""
    result = run(
        "verify", "--config", QUICKSTART, "--path", "/hooks/zzz", "--body-file", body_file
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: --path '/hooks/zzz': no route of {QUICKSTART} covers it, so nothing was "
        "checked (routes: orders /hooks/orders, builds /hooks/builds/*)\n"
    )


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhook-guard.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (
            "    methods: [POST, FETCH]\n    token: {header: X-Token, secrets: [s3cr3t-t0ken]}\n",
            "5:21: routes[0].methods[1]: unknown HTTP method 'FETCH'; did you mean 'PATCH'? "
            "(known: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE)",
        ),
        (
            "    provider: githib\n    secrets: [s3cr3t]\n",
            "5:15: routes[0].provider: unknown provider 'githib'; did you mean 'github'? "
            "(known: " + ", ".join(sorted(PRESETS)) + ")",
        ),
    ],
    ids=["unknown-method", "unknown-provider"],
)
def test_check_names_the_line_and_the_near_value(tmp_path: Path, route: str, error: str) -> None:
    config = _config(tmp_path, f"version: 1\nroutes:\n  - name: r\n    path: /hooks/r\n{route}")
    assert check_errors(config) == [f"error: {config}:{error}"]


def test_check_reports_every_error_in_one_run(tmp_path: Path) -> None:
    """A missing env secret used to hide a missing file: secret, and a bad mode an empty
    secret file: one run of check must list them all, each at its line."""
    empty = tmp_path / "empty-secret"
    empty.write_text("", encoding="utf-8")
    missing = tmp_path / "no-such-secret"
    config = _config(
        tmp_path,
        "version: 1\n"
        "routes:\n"
        "  - name: orders\n"
        "    path: /hooks/orders\n"
        "    provider: standard\n"
        "    secrets:\n"
        "      - env:WG_CLI_TEST_UNSET\n"
        f"      - file:{missing}\n"
        "  - name: builds\n"
        "    path: /hooks/builds\n"
        "    provider: github\n"
        "    mode: enforcing\n"
        f"    secrets: [file:{empty}]\n",
    )
    assert check_errors(config) == [
        f"error: {config}:7:9: routes[0].secrets[0]: environment variable WG_CLI_TEST_UNSET "
        "is not set",
        f"error: {config}:8:9: routes[0].secrets[1]: cannot read secret file {missing}: "
        "No such file or directory",
        f"error: {config}:12:11: routes[1].mode: must be one of enforce, report; got 'enforcing'",
        f"error: {config}:13:15: routes[1].secrets[0]: secret file {empty} is empty",
    ]


def test_errors_of_a_config_given_as_a_mapping_have_no_file() -> None:
    from webhook_guard import ConfigError, load_config

    with pytest.raises(ConfigError) as info:
        load_config({"version": 1, "routes": [{"name": "a", "path": "/a", "methods": ["GOT"]}]})
    assert info.value.errors[0].startswith("routes[0].methods[0]: unknown HTTP method 'GOT'")


def _pipe_to_head(*args: str | Path) -> tuple[int, str, str]:
    """``webhook-guard ARGS | head -3`` through a real pipe; the exit status of the former."""
    with subprocess.Popen(
        [sys.executable, "-m", "webhook_guard.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as cli:
        assert cli.stdout is not None
        assert cli.stderr is not None
        head = subprocess.run(
            ["head", "-3"], stdin=cli.stdout, capture_output=True, text=True, check=True
        )
        cli.stdout.close()  # as the shell does: only head held the read end
        err = cli.stderr.read().decode()
        code = cli.wait(timeout=60)
    return code, head.stdout, err


def _into_a_closed_pipe(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is already gone: every write fails with EPIPE,
    as it does for a reader that stopped early (``| head``) once the pipe buffer is full."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "webhook_guard.cli", *map(str, args)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


def test_ip_ranges_show_into_head_ends_cleanly() -> None:
    code, out, err = _pipe_to_head("ip-ranges", "show", "github")
    assert out.splitlines()[1:] == ["140.82.112.0/20", "143.55.64.0/20"]
    assert err == ""  # no "error: : Broken pipe", no "Exception ignored"
    assert code == 0
    closed = _into_a_closed_pipe("ip-ranges", "show", "github")
    assert closed.stderr == ""
    assert closed.returncode == 0


def test_verify_into_a_closed_pipe_ends_cleanly(body_file: Path) -> None:
    headers = sign(body_file)
    args: list[str] = []
    for header in headers:
        args += ["-H", header]
    verify_args = ["verify", "--config", QUICKSTART, "--path", "/hooks/orders", *args]
    code, out, err = _pipe_to_head(*verify_args, "--body-file", body_file)
    assert out.splitlines() == ["{", '  "ok": true,', '  "reason": null,']
    assert (err, code) == ("", 0)
    # The verdict was reached before the pipe broke: its exit status stands.
    tampered = body_file.parent / "tampered.json"
    tampered.write_bytes(BODY + b" ")
    closed = _into_a_closed_pipe(*verify_args, "--body-file", tampered)
    assert (closed.stderr, closed.returncode) == ("", 1)


def test_serve_on_a_port_in_use_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "serve", "--config", QUICKSTART, "--upstream", "http://127.0.0.1:9",
            "--port", str(port),
        )  # fmt: skip
        demo = run("demo", "--port", str(port))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert demo.returncode == 2
    assert demo.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"


def test_demo_on_a_chosen_port() -> None:
    from tests.servers import free_port

    port = free_port()
    result = run("demo", "--port", str(port))
    assert result.returncode == 0, result.stderr
    assert f"webhook-guard runs in front of it at http://127.0.0.1:{port} " in result.stdout
    assert "The deploy server received 2 of 11 requests:" in result.stdout


def test_sign_for_twilio_without_url_names_the_option(body_file: Path) -> None:
    result = run("sign", "--provider", "twilio", "--secret", "x", "--body-file", body_file)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: --url is required: the twilio preset signs the URL\n"


def test_sign_with_a_bad_secret_blames_the_option_not_a_config(body_file: Path) -> None:
    result = run(
        "sign", "--provider", "standard", "--secret", "my secret!", "--body-file", body_file
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert "routes[" not in result.stderr
    assert result.stderr == (
        "error: --secret is not a valid whsec_<base64> secret "
        "(make one: webhook-guard secret new --provider standard)\n"
    )


def test_sign_unknown_provider_suggests_the_near_one(body_file: Path) -> None:
    result = run("sign", "--provider", "strype", "--secret", "x", "--body-file", body_file)
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown provider 'strype'; did you mean 'stripe'?")


# -- secret new ------------------------------------------------------------------------------


# Public-key presets get a test key pair instead (tests/test_presets_pubkey.py).
@pytest.mark.parametrize(
    "provider",
    sorted(
        p for p, preset in PRESETS.items() if preset.signature.get("algorithm") not in ASYMMETRIC
    ),
)
def test_secret_new_makes_a_secret_the_preset_accepts(provider: str, body_file: Path) -> None:
    """The printed secret loads in a config for that preset, and a delivery signed with it
    by the sign command verifies with it. For a public-key preset it prints a test key
    pair: the private key to sign with, its public key (for the route) in the note."""
    result = run("secret", "new", "--provider", provider)
    if PRESETS[provider].public_key:
        assert result.returncode == 0, result.stderr
        public = result.stderr.rpartition("for the test route:\n")[2].strip()
        config = body_file.parent / "keypair.yaml"
        route = f"  - name: r\n    path: /hooks/r\n    provider: {provider}\n"
        config.write_text(f"version: 1\nroutes:\n{route}    secrets: ['{public}']\n")
        assert run("check", config).returncode == 0
        signed = run("sign", "--provider", provider, "--secret", result.stdout.strip(),
                     "--body-file", body_file)  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        args = [a for line in signed.stdout.splitlines() for a in ("-H", line)]
        verified = run(
            "verify", "--config", config, "--path", "/hooks/r", *args, "--body-file", body_file
        )  # fmt: skip
        assert verdict(verified)["ok"] is True, verified.stdout
        return
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert len(secret) >= 32
    again = run("secret", "new", "--provider", provider).stdout.strip()
    assert again != secret  # random, not a constant
    route = f"  - name: r\n    path: /hooks/r\n    provider: {provider}\n"
    if provider == "generic":
        route += "    signature: {header: X-Signature}\n"
    preset = PRESETS[provider].signature
    if "{url}" in str(preset.get("signed_content", "")):
        route += "    public_url: https://hooks.example.com\n"
    if preset.get("timestamp_json"):
        # The timestamp is the body's own (Linear): a fresh one, and a window wide
        # enough for slow CLI runs.
        body_file = body_file.parent / "stamped.json"
        body_file.write_text(json.dumps({"webhookTimestamp": int(time.time() * 1000)}))
        route += "    tolerance: 3600\n"
    config = body_file.parent / "secret-new.yaml"
    config.write_text(f"version: 1\nroutes:\n{route}    secrets: ['{secret}']\n")
    assert run("check", config).returncode == 0
    if provider == "msgraph":  # the secret goes in each notification of value[]
        body_file.write_bytes(b'{"value": [{"changeType": "created"}]}')
    signed = run("sign", "--config", config, "--route", "r", "--body-file", body_file)
    assert signed.returncode == 0, signed.stderr
    args: list[str] = []
    if provider in ("mailgun", "msgraph"):  # in the body: sign prints the body to send
        body_file = body_file.parent / "signed-body.json"
        body_file.write_text(signed.stdout)
        args = ["-H", "Content-Type: application/json"]
    else:
        for line in signed.stdout.splitlines():
            args += ["-H", line]
    verified = run(
        "verify", "--config", config, "--path", "/hooks/r", *args, "--body-file", body_file
    )  # fmt: skip
    assert verdict(verified)["ok"] is True, verified.stdout


def test_secret_new_for_standard_is_whsec_base64() -> None:
    import base64

    secret = run("secret", "new", "--provider", "standard").stdout.strip()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:], validate=True)) == 24


def test_secret_new_unknown_provider() -> None:
    result = run("secret", "new", "--provider", "githup")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown provider 'githup'; did you mean 'github'?")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"id": 1}', "application/json"),
        (b"CallSid=CA1&From=%2B15550001111&Body=hi", "application/x-www-form-urlencoded"),
        (b"\x00\x01binary", "application/octet-stream"),
    ],
)
def test_sign_prints_the_content_type_of_the_body(
    tmp_path: Path, body: bytes, content_type: str
) -> None:
    body_file = tmp_path / "body"
    body_file.write_bytes(body)
    result = run("sign", "--provider", "github", "--secret", "x", "--body-file", body_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"content-type: {content_type}"
    chosen = run(
        "sign", "--provider", "github", "--secret", "x", "--body-file", body_file,
        "--content-type", "text/plain",
    )  # fmt: skip
    assert chosen.stdout.splitlines()[-1] == "content-type: text/plain"


def test_sign_curl_needs_a_body_file() -> None:
    result = run(
        "sign", "--provider", "github", "--secret", "x", "--body-file", "-",
        "--curl", "http://127.0.0.1:9/hooks", stdin=BODY,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: --curl needs the body in a file (--body-file FILE)\n"


def test_a_server_that_cannot_start_exits_2_not_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn exits 3 when it cannot start (the port was taken after the check, a
    lifespan start-up failed); the CLI keeps to its documented 0, 1 and 2."""
    import webhook_guard.proxy
    from webhook_guard.cli import main

    def startup_failure(**_: object) -> None:
        raise SystemExit(3)

    monkeypatch.setattr(webhook_guard.proxy, "serve", startup_failure)
    code = main(["serve", "--config", str(QUICKSTART), "--upstream", "http://127.0.0.1:9",
                 "--port", "0"])  # fmt: skip
    assert code == 2


def test_verify_prints_a_handshakes_answer(tmp_path: Path) -> None:
    config = tmp_path / "wg.json"
    route = {"name": "zoom", "path": "/hooks/zoom", "provider": "zoom", "secrets": ["zsecret"]}
    config.write_text(json.dumps({"version": 1, "routes": [route]}), encoding="utf-8")
    body = tmp_path / "b.json"
    body.write_text(
        '{"event":"endpoint.url_validation","payload":{"plainToken":"tok123"}}', encoding="utf-8"
    )
    signed = run("sign", "--config", config, "--route", "zoom", "--body-file", body)
    assert signed.returncode == 0, signed.stderr
    args: list[str] = []
    for line in signed.stdout.splitlines():
        args += ["-H", line]
    result = run("verify", "--config", config, "--path", "/hooks/zoom", *args, "--body-file", body)
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["reason"] == "handshake"
    answer = json.loads(out["answer"]["body"])
    expected = hmac.new(b"zsecret", b"tok123", "sha256").hexdigest()
    assert answer == {"plainToken": "tok123", "encryptedToken": expected}
    assert out["answer"]["content_type"] == "application/json"
    # Unsigned, the same check gets no answer: a refusal, nothing of the token.
    refused = run("verify", "--config", config, "--path", "/hooks/zoom", "--body-file", body)
    assert "answer" not in json.loads(refused.stdout)
    assert expected not in refused.stdout
