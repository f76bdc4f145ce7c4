"""``webhook-guard log``: the delivery log in the terminal, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from webhook_guard import Guard, MemoryReplayStore
from webhook_guard.audit import DeliveryLog, report
from webhook_guard.config import AuditConfig
from webhook_guard.testing import FakeClock, sign

from .conftest import BODY, SW_SECRET, SW_SECRET_OLD, post, sw_route

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "/hooks/any/\x1b]0;owned\x07\x1b[2J"


def cli(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONWARNINGS": "error"}
    result = subprocess.run(
        [sys.executable, "-m", "webhook_guard.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A delivery log: two old deliveries (3 h ago), then a mix from just now."""
    path = tmp_path_factory.mktemp("log") / "deliveries.db"
    wall = FakeClock(time.time() - 3 * 3600)
    log = DeliveryLog(AuditConfig(path=str(path)), clock=wall)
    clock = FakeClock(time.time())
    routes = [sw_route(), sw_route(name="any", path="/hooks/any/*")]
    guard = Guard.from_dict(
        {"version": 1, "routes": routes},
        store=MemoryReplayStore(100, clock=clock),
        clock=clock,
        audit=log,
    )

    def deliver(route: str, secret: str = SW_SECRET, **kw: Any) -> None:
        path = kw.pop("path", f"/hooks/{route}")
        guard.check(post(path, sign(guard, route, BODY, secret=secret, **kw)))

    deliver("sw", event_id="old_1")
    deliver("sw", secret=SW_SECRET_OLD, event_id="old_2")
    log.flush()
    wall.advance(3 * 3600)
    for i in range(3):
        deliver("sw", event_id=f"new_{i}")
    deliver("sw", secret=SW_SECRET_OLD, event_id="forged")
    deliver("any", path="/hooks/any/x", event_id="any_1")
    guard.check(post(HOSTILE, {}))
    log.close()
    return path


def test_recent_deliveries_oldest_first(db: Path) -> None:
    out = cli("log", "--audit", db).stdout.splitlines()
    assert out[0].split()[:4] == ["time", "route", "outcome", "reason"]
    rows = [line.split() for line in out[1:]]
    assert [r[1:3] for r in rows] == [
        ["sw", "accepted"],
        ["sw", "rejected"],
        *[["sw", "accepted"]] * 3,
        ["sw", "rejected"],
        ["any", "accepted"],
        ["-", "rejected"],  # the hostile path: refused before any route (path_invalid)
    ]
    assert "new_0" in out[3]
    assert "no signature matched" in out[6]


def test_filters(db: Path) -> None:
    def events(*args: str) -> list[str]:
        lines = cli("log", "--audit", db, "--json", *args).stdout.splitlines()
        return [json.loads(line)["event_id"] or json.loads(line)["reason"] for line in lines]

    assert events("--route", "any") == ["any_1"]
    assert events("--reason", "signature_mismatch") == ["signature_mismatch"] * 2
    assert events("--since", "1h", "--route", "sw") == [
        "new_0",
        "new_1",
        "new_2",
        "signature_mismatch",
    ]
    assert events("--event-id", "new_1") == ["new_1"]
    assert events("--reason", "accepted", "--since", "1h") == ["new_0", "new_1", "new_2", "any_1"]
    assert events("--outcome", "rejected", "--limit", "1") == ["path_invalid"]
    assert events("--route", "nope") == []


def test_json_lines_hold_every_field_but_no_body(db: Path) -> None:
    [line] = cli("log", "--audit", db, "--json", "--event-id", "new_2").stdout.splitlines()
    record = json.loads(line)
    assert record["secret_id"] == "secrets[0]"
    assert record["client_ip"] == "203.0.113.9"
    assert record["body_size"] == len(BODY)
    assert record["time_iso"].endswith("Z")
    assert "body_base64" not in record
    assert "body" not in record


def test_summary_per_route_and_reason(db: Path) -> None:
    out = cli("log", "--audit", db, "--summary").stdout.splitlines()
    assert out[0].split() == ["route", "outcome", "reason", "secret", "count", "first", "last"]
    groups = [line.split()[:5] for line in out[1:-1]]
    assert groups == [
        ["sw", "accepted", "-", "secrets[0]", "4"],
        ["sw", "rejected", "signature_mismatch", "-", "2"],
        ["-", "rejected", "path_invalid", "-", "1"],
        ["any", "accepted", "-", "secrets[0]", "1"],
    ]
    assert out[-1] == "4 group(s), 8 deliveries"
    recent = json.loads(cli("log", "--audit", db, "--summary", "--since", "1h", "--json").stdout)
    counts = {(g["route"], g["outcome"], g["reason"]): g["count"] for g in recent}
    assert counts[("sw", "accepted", None)] == 3
    assert counts[("sw", "rejected", "signature_mismatch")] == 1


def test_hostile_path_cannot_drive_the_terminal(db: Path) -> None:
    result = cli("log", "--audit", db, "--reason", "path_invalid", "--json")
    stored = json.loads(result.stdout.splitlines()[-1])["path"]
    assert stored == HOSTILE  # kept as sent, for the record
    for out in (result.stdout, cli("log", "--audit", db).stdout):
        assert "\x1b" not in out
        assert "\x07" not in out


def test_config_names_the_log(db: Path, tmp_path: Path) -> None:
    config = {"version": 1, "routes": [sw_route()], "audit": {"path": str(db)}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    # A refused delivery has no verified ID; the one it claimed finds it.
    out = cli("log", "--config", tmp_path / "c.yaml", "--event-id", "forged", "--json").stdout
    [record] = [json.loads(line) for line in out.splitlines()]
    assert (record["event_id"], record["claimed_event_id"]) == (None, "forged")
    assert record["reason"] == "signature_mismatch"
    table = cli("log", "--config", tmp_path / "c.yaml", "--event-id", "forged").stdout
    assert "forged (unverified)" in table
    out = cli("log", "--config", tmp_path / "c.yaml", "--limit", "1").stdout
    assert "path_invalid" in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--audit", "missing.db"], "missing.db: no delivery log here"),
        (["--audit", "DB", "--since", "yesterday"], "--since: 'yesterday' is neither"),
        (["--config", "NOAUDIT"], "has no audit: section"),
        ([], "one of the arguments --audit --config is required"),
    ],
)
def test_usage_errors_exit_2(db: Path, tmp_path: Path, args: list[str], error: str) -> None:
    (tmp_path / "n.yaml").write_text(yaml.safe_dump({"version": 1, "routes": [sw_route()]}))
    args = [
        str(db) if a == "DB" else str(tmp_path / "n.yaml") if a == "NOAUDIT" else a for a in args
    ]
    result = cli("log", *args, check=False)
    assert result.returncode == 2
    assert error in result.stderr


def test_follow_prints_new_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    log = DeliveryLog(AuditConfig(path=str(path)))
    guard = Guard.from_dict({"version": 1, "routes": [sw_route()]}, audit=log)
    guard.check(post("/hooks/sw", {}))
    log.flush()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = ["log", "--audit", str(path), "--follow", "--interval", "0.05", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "webhook_guard.cli", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["reason"] == "signature_missing"
        guard.check(post("/hooks/sw", sign(guard, "sw", BODY, event_id="live_1")))
        log.flush()
        assert json.loads(proc.stdout.readline())["event_id"] == "live_1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


NOW_T = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW_T - 90),
        ("15m", NOW_T - 900),
        ("2h", NOW_T - 7200),
        ("7d", NOW_T - 7 * 86_400),
        ("1w", NOW_T - 604_800),
        ("2027-01-15T08:00:00Z", NOW_T),
        ("2027-01-15T08:00:00", NOW_T),  # no zone: UTC
        ("2027-01-15T09:00:00+01:00", NOW_T),
        ("2027-01-15", NOW_T - 8 * 3600),
    ],
)
def test_since_takes_durations_and_iso_times(text: str, expected: float) -> None:
    assert report.parse_since(text, NOW_T) == expected


@pytest.mark.parametrize("text", ["yesterday", "15", "-5m", "5 m", "1y", "", "2027-13-01"])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="neither a duration"):
        report.parse_since(text, NOW_T)


@pytest.mark.parametrize(
    ("value", "width", "shown"),
    [
        (None, 0, "-"),
        ("plain", 0, "plain"),
        ("a\x1b[2Jb", 0, "a\\x1b[2Jb"),
        ("bell\x07", 0, "bell\\x07"),
        ("line\nbreak", 0, "line\\nbreak"),
        ("rtl\u202eevil", 0, "rtl\\u202eevil"),
        ("abcdefgh", 5, "abcd\u2026"),
        (401, 0, "401"),
    ],
)
def test_printable_escapes_control_characters(value: object, width: int, shown: str) -> None:
    assert report.printable(value, width) == shown
