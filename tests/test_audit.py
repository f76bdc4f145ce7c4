"""The delivery log (``audit:``): every verdict recorded in SQLite, off the request path."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml

from webhook_guard import Guard, MemoryReplayStore, Reason, load_config
from webhook_guard.audit import DeliveryLog, JsonLinesAudit, outcome_of
from webhook_guard.audit import sqlite as audit_sqlite
from webhook_guard.config import AuditConfig
from webhook_guard.errors import ConfigError
from webhook_guard.testing import FakeClock, sign
from webhook_guard.verdict import build_verdict

from .conftest import BODY, NOW, SW_SECRET, SW_SECRET_OLD, post, sw_route
from .servers import free_port, run_process
from .test_default_logging import FLASK_APP

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "query-t0ken-value"


def build(tmp_path: Path, clock: FakeClock, *routes: dict[str, Any], **audit: Any) -> Guard:
    config = {
        "version": 1,
        "routes": list(routes) or [sw_route()],
        "audit": {"path": str(tmp_path / "deliveries.db"), **audit},
    }
    return Guard.from_dict(config, store=MemoryReplayStore(100, clock=clock), clock=clock)


def rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM deliveries ORDER BY id")]
    finally:
        conn.close()


def flush(guard: Guard) -> None:
    assert isinstance(guard.audit, DeliveryLog)
    guard.audit.flush()


def test_every_verdict_is_recorded_with_its_fields(tmp_path: Path, clock: FakeClock) -> None:
    route = sw_route(
        secrets=[
            {"value": SW_SECRET, "label": "2026-current"},
            {"value": SW_SECRET_OLD, "label": "2025-old"},
        ]
    )
    guard = build(tmp_path, clock, route, sw_route(name="rep", path="/hooks/rep", mode="report"))
    first = guard.check(post("/hooks/sw", sign(guard, "sw", BODY, event_id="msg_a")))
    guard.complete(first, 200)
    guard.check(post("/hooks/sw", sign(guard, "sw", BODY, event_id="msg_a")))  # duplicate
    guard.check(post("/hooks/sw", sign(guard, "sw", BODY, secret=SW_SECRET_OLD, event_id="b")))
    guard.check(post("/hooks/sw", sign(guard, "sw", BODY), body=BODY + b" "))  # tampered
    stale = sign(guard, "rep", BODY, timestamp=int(NOW) - 900, event_id="msg_r")
    guard.check(post("/hooks/rep", stale))
    guard.precheck(post("/hooks/sw", method="GET"))
    guard.check(post("/not/a/route"))  # not a webhook route: not a delivery
    flush(guard)
    got = rows(tmp_path / "deliveries.db")
    summary = [(r["route"], r["outcome"], r["reason"], r["status"], r["event_id"]) for r in got]
    assert summary == [
        ("sw", "accepted", None, 200, "msg_a"),
        ("sw", "duplicate", "duplicate_event", 200, "msg_a"),
        ("sw", "accepted", None, 200, "b"),
        ("sw", "rejected", "signature_mismatch", 401, None),
        ("rep", "reported", "timestamp_too_old", 200, "msg_r"),
        ("sw", "rejected", "method_not_allowed", 405, None),
    ]
    accepted, _, previous, forged, reported, method = got
    assert accepted["secret_id"] == "2026-current"
    assert previous["secret_id"] == "2025-old"
    assert accepted["client_ip"] == "203.0.113.9"
    assert accepted["method"] == "POST"
    assert accepted["path"] == "/hooks/sw"
    assert accepted["body_size"] == len(BODY)
    assert accepted["body_sha256"] == hashlib.sha256(BODY).hexdigest()
    assert forged["body_sha256"] == hashlib.sha256(BODY + b" ").hexdigest()
    assert forged["detail"].startswith("no signature matched")
    assert forged["event_id"] is None  # never verified...
    assert forged["claimed_event_id"] is not None  # ...but the ID it claimed is kept
    assert previous["claimed_event_id"] is None  # accepted: the verified one is event_id
    assert reported["reported"] == "timestamp_too_old"
    assert method["method"] == "GET"
    assert all(r["body"] is None for r in got)  # store_bodies is off by default
    assert all(r["latency_us"] >= 0 for r in got)
    assert all(abs(r["time"] - time.time()) < 3600 for r in got)  # wall-clock seconds


def test_the_file_is_not_world_readable(tmp_path: Path, clock: FakeClock) -> None:
    guard = build(tmp_path, clock)
    guard.check(post("/hooks/sw", {}))
    flush(guard)
    for name in ("deliveries.db", "deliveries.db-wal"):
        assert (tmp_path / name).stat().st_mode & 0o007 == 0, name


def test_a_handshake_has_its_own_outcome() -> None:
    # Until the guard answers handshakes itself: any reason whose code is "handshake".
    handshake = SimpleNamespace(value="handshake")
    verdict = build_verdict(ok=False, reason=handshake, status=200, route="slack")
    assert outcome_of(verdict) == ("handshake", "handshake")


CLAIMS = [
    pytest.param({"webhook-id": "msg_claimed"}, "msg_claimed", id="plain"),
    pytest.param({"webhook-id": "has space"}, None, id="not-an-id"),
    pytest.param({"webhook-id": "x" * 129}, None, id="too-long"),
    pytest.param({"webhook-id": "\x1b[2J"}, None, id="control-characters"),
    pytest.param([("webhook-id", "a"), ("webhook-id", "b")], None, id="repeated"),
    pytest.param({"svix-id": "msg_svix"}, "msg_svix", id="second-header-family"),
    pytest.param({}, None, id="absent"),
]


@pytest.mark.parametrize(("headers", "claimed"), CLAIMS)
def test_a_refusal_keeps_the_id_it_claims_only_when_plain(
    tmp_path: Path, clock: FakeClock, headers: Any, claimed: str | None
) -> None:
    guard = build(tmp_path, clock)
    verdict = guard.check(post("/hooks/sw", headers))
    assert verdict.reason is Reason.SIGNATURE_MISSING
    flush(guard)
    [row] = rows(tmp_path / "deliveries.db")
    assert (row["event_id"], row["claimed_event_id"]) == (None, claimed)


def test_bodies_only_with_store_bodies(tmp_path: Path, clock: FakeClock) -> None:
    guard = build(tmp_path, clock, store_bodies=True)
    guard.check(post("/hooks/sw", sign(guard, "sw", BODY)))
    flush(guard)
    [row] = rows(tmp_path / "deliveries.db")
    assert row["body"] == BODY


ATTACKS = [
    pytest.param({"query": f"token={TOKEN}x"}, id="wrong-query-token"),
    pytest.param({"query": f"token={TOKEN}"}, id="right-token"),
    pytest.param({"query": f"token={TOKEN}", "secret": SW_SECRET_OLD}, id="right-token-old-sig"),
    pytest.param({"query": f"token={TOKEN}&token={TOKEN}"}, id="repeated-token"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_secret_token_or_header_reaches_the_file(
    tmp_path: Path, clock: FakeClock, attack: dict[str, Any]
) -> None:
    route = sw_route(token={"query": "token", "secrets": [TOKEN]})
    guard = build(tmp_path, clock, route)
    headers = sign(guard, "sw", BODY, secret=attack.get("secret"))
    guard.check(post("/hooks/sw", headers, query=attack["query"]))
    flush(guard)
    assert len(rows(tmp_path / "deliveries.db")) == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for value in (TOKEN, SW_SECRET, SW_SECRET[6:], SW_SECRET_OLD[6:], headers["webhook-signature"]):
        assert value.encode() not in stored


def test_retention_by_age_and_count(tmp_path: Path) -> None:
    wall = FakeClock(NOW)
    config = AuditConfig(path=str(tmp_path / "d.db"), max_age=3600, max_rows=100)
    log = DeliveryLog(config, clock=wall)
    guard = Guard.from_dict({"version": 1, "routes": [sw_route()]}, clock=FakeClock(NOW), audit=log)
    for _ in range(30):  # these will be too old
        guard.check(post("/hooks/sw", {}))
    log.flush()
    wall.advance(3601 + audit_sqlite.PRUNE_INTERVAL)
    for _ in range(150):
        guard.check(post("/hooks/sw", {}))
    log.flush()
    kept = rows(tmp_path / "d.db")
    assert len(kept) == 100
    assert min(r["time"] for r in kept) == NOW + 3601 + audit_sqlite.PRUNE_INTERVAL
    log.close()


def test_unwritable_path_never_fails_a_delivery(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be")
    config = {
        "version": 1,
        "routes": [sw_route()],
        "audit": {"path": str(blocked / "deliveries.db")},
    }
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        guard = Guard.from_dict(config, store=MemoryReplayStore(100, clock=clock), clock=clock)
        assert guard.check(post("/hooks/sw", sign(guard, "sw", BODY))).ok
        assert guard.check(post("/hooks/sw", {})).reason is Reason.SIGNATURE_MISSING
        flush(guard)
        flush(guard)  # nothing queued: no second error line
    [warning, record] = [r for r in caplog.records if r.name == "webhook_guard.audit"]
    assert "does not exist; no delivery will be recorded" in warning.getMessage()
    assert "cannot be written" in record.getMessage()
    assert "2 deliveries not recorded" in record.getMessage()
    assert guard.audit is not None
    assert guard.audit.dropped == 2  # type: ignore[attr-defined]


def test_locked_database_never_fails_a_delivery_and_recovers(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    monkeypatch.setattr(audit_sqlite, "BUSY_TIMEOUT", 0.05)
    guard = build(tmp_path, clock)
    guard.check(post("/hooks/sw", {}))
    flush(guard)  # creates the file
    holder = sqlite3.connect(tmp_path / "deliveries.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.ERROR, logger="webhook_guard"):
            assert guard.check(post("/hooks/sw", sign(guard, "sw", BODY))).ok
            flush(guard)
        assert "database is locked" in caplog.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    guard.check(post("/hooks/sw", {}))
    flush(guard)
    assert [r["reason"] for r in rows(tmp_path / "deliveries.db")] == ["signature_missing"] * 2


def test_a_failing_recorder_is_logged_and_the_verdict_still_returned(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def record(self, verdict: Any, request: Any, seconds: float) -> None:
            raise RuntimeError("recorder bug")

    guard = Guard.from_dict({"version": 1, "routes": [sw_route()]}, clock=clock, audit=Broken())
    with caplog.at_level(logging.ERROR, logger="webhook_guard"):
        assert guard.check(post("/hooks/sw", sign(guard, "sw", BODY))).ok
    assert "delivery log failed for route sw" in caplog.text


def test_json_lines_hold_the_same_record(clock: FakeClock) -> None:
    out = io.StringIO()
    guard = Guard.from_dict(
        {"version": 1, "routes": [sw_route()]}, clock=clock, audit=JsonLinesAudit(out)
    )
    guard.check(post("/hooks/sw", sign(guard, "sw", BODY, event_id="msg_j"), query="x=1"))
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["outcome"] == "accepted"
    assert record["event_id"] == "msg_j"
    assert record["secret_id"] == "secrets[0]"
    assert record["body_sha256"] == hashlib.sha256(BODY).hexdigest()
    assert record["path"] == "/hooks/sw"
    assert "body_base64" not in record
    assert "x=1" not in line
    guard.check(post("/hooks/sw", {"webhook-id": "msg_refused"}))
    refused = json.loads(out.getvalue().splitlines()[1])
    assert (refused["event_id"], refused["claimed_event_id"]) == (None, "msg_refused")


@pytest.mark.parametrize(
    ("audit", "error"),
    [
        ({}, "audit.path: missing"),
        ({"path": ""}, "audit.path: must not be empty"),
        ({"path": "d.db", "retention": {"max_age": 1}}, "audit.retention.max_age: must be >= 60"),
        ({"path": "d.db", "retention": {"rows": 5}}, "audit.retention.rows: unknown key"),
        ({"path": "d.db", "store_bodies": "yes"}, "audit.store_bodies: expected true or false"),
        ({"path": "d.db", "bodies": True}, "audit.bodies: unknown key"),
    ],
)
def test_audit_config_errors_name_the_place(audit: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"version": 1, "routes": [sw_route()], "audit": audit})
    assert any(line.startswith(error) for line in info.value.errors), info.value.errors


WRITER = """
import sys
from webhook_guard import Guard
from webhook_guard.testing import sign
from webhook_guard.request import WebhookRequest

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
guard = Guard.from_dict({
    "version": 1,
    "routes": [{"name": "sw", "path": "/hooks/sw", "provider": "standard",
                "secrets": [%(secret)r]}],
    "audit": {"path": path},
})
for i in range(count):
    headers = sign(guard, "sw", b"{}", event_id=f"{name}-{i}")
    guard.check(WebhookRequest("POST", "/hooks/sw", headers=headers, body=b"{}"))
"""


def test_several_processes_write_one_file(tmp_path: Path) -> None:
    """Four processes write at once; their writer threads flush concurrently and at exit."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER % {"secret": SW_SECRET})
    db = tmp_path / "shared.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen([sys.executable, str(script), str(db), f"p{n}", "300"], env=env)
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    got = rows(db)
    assert len(got) == 1200
    assert len({r["event_id"] for r in got}) == 1200
    assert {r["outcome"] for r in got} == {"accepted"}
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_gunicorn_workers_record_every_delivery(tmp_path: Path) -> None:
    """Forked workers (after --preload: the guard is built before the fork) each start
    their own writer and share the file."""
    config = {
        "version": 1,
        "routes": [sw_route()],
        "audit": {"path": str(tmp_path / "d.db")},
    }
    (tmp_path / "webhook-guard.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "app.py").write_text(textwrap.dedent(FLASK_APP))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "3"]
    with run_process([*args, "--preload", "app:app"], port, env=env, cwd=tmp_path):
        with httpx.Client() as client:
            for i in range(40):
                headers = sign("standard", BODY, secret=SW_SECRET, event_id=f"g{i}")
                assert (
                    client.post(
                        f"http://127.0.0.1:{port}/hooks/sw", content=BODY, headers=headers
                    ).status_code
                    == 200
                )
            assert client.post(f"http://127.0.0.1:{port}/hooks/sw", content=BODY).status_code == 401
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            # (A worker may have created the file but not yet its table.)
            with contextlib.suppress(sqlite3.OperationalError):
                if len(rows(tmp_path / "d.db")) == 41:
                    break
            time.sleep(0.1)
    got = rows(tmp_path / "d.db")
    assert sorted(r["event_id"] for r in got if r["event_id"]) == sorted(f"g{i}" for i in range(40))
    assert [r["reason"] for r in got if r["outcome"] == "rejected"] == ["signature_missing"]
