"""Guard.reload(): a new config swapped in between requests, never half-applied; SIGHUP on
a real `webhook-guard serve` process revokes a leaked secret without a restart."""

from __future__ import annotations

import base64
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port, run_process, serve_asgi
from tests.test_proxy import Upstream, serve_args
from webhook_guard import Guard, MemoryReplayStore, Reason, WebhookRequest, load_config
from webhook_guard.errors import ConfigError
from webhook_guard.testing import sign

OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
BODY = b'{"type": "order.paid"}'


def config(name: str, *secrets: tuple[str, str], **replay: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "routes": [
            {
                "name": name,
                "path": "/hooks/orders",
                "provider": "standard",
                "secrets": [{"value": v, "label": label} for v, label in secrets],
            }
        ],
    }
    if replay:
        data["replay"] = replay
    return data


def delivery(secret: str, event_id: str) -> WebhookRequest:
    headers = sign("standard", BODY, secret=secret, event_id=event_id)
    return WebhookRequest("POST", "/hooks/orders", headers=headers, body=BODY, peer="192.0.2.1")


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML


def test_reload_rereads_the_file_and_revokes_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write(path, config("orders", (NEW, "new"), (OLD, "old")))
    guard = Guard.from_file(path)
    assert guard.check(delivery(OLD, "e1")).secret_id == "old"

    write(path, config("orders", (NEW, "new")))
    returned = guard.reload()

    assert returned is guard.config
    assert len(returned.route("orders").secrets) == 1
    refused = guard.check(delivery(OLD, "e2"))
    assert (refused.ok, refused.reason) == (False, Reason.SIGNATURE_MISMATCH)
    assert guard.check(delivery(NEW, "e3")).secret_id == "new"


def test_a_config_that_does_not_load_keeps_the_old_one_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.yaml"
    write(path, config("orders", (OLD, "old")))
    guard = Guard.from_file(path)
    broken = config("orders", (OLD, "old"))
    broken["routes"][0]["tolerance"] = 0
    write(path, broken)

    with caplog.at_level(logging.ERROR, logger="webhook_guard"), pytest.raises(ConfigError) as exc:
        guard.reload()

    # Located in the file (path:line:column) first.
    assert "routes[0].tolerance: 0 is not allowed" in exc.value.errors[0]
    assert "config reload failed; the running config stays" in caplog.text
    assert "routes[0].tolerance" in caplog.text
    assert guard.check(delivery(OLD, "e1")).ok  # still the old config
    # A secret never shows in the log, even when the failing config holds it.
    assert OLD not in caplog.text


def test_reload_takes_a_mapping_and_a_config_built_guard_needs_one() -> None:
    guard = Guard(load_config(config("orders", (OLD, "old"))))
    with pytest.raises(ConfigError, match="no file to re-read"):
        guard.reload()
    guard.reload(config("orders", (NEW, "new")))
    assert guard.check(delivery(NEW, "e1")).ok
    assert not guard.check(delivery(OLD, "e2")).ok
    guard.reload()  # the mapping given last is what reload() loads again
    assert guard.check(delivery(NEW, "e3")).ok


def test_reload_of_a_mapping_rereads_env_secrets() -> None:
    env = {"ORDERS_SECRET": OLD}
    data = config("orders", ("env:ORDERS_SECRET", "current"))
    guard = Guard.from_dict(data, env=env)
    assert guard.check(delivery(OLD, "e1")).ok
    env["ORDERS_SECRET"] = NEW
    guard.reload()
    assert not guard.check(delivery(OLD, "e2")).ok
    assert guard.check(delivery(NEW, "e3")).ok


def test_replay_store_and_its_events_survive_a_reload() -> None:
    guard = Guard.from_dict(config("orders", (OLD, "old"), (NEW, "new")))
    store = guard.store
    first = guard.check(delivery(OLD, "evt_1"))
    guard.complete(first, 200)

    guard.reload(config("orders", (NEW, "new"), (OLD, "old")))

    assert guard.store is store
    again = guard.check(delivery(OLD, "evt_1"))
    assert (again.ok, again.reason) == (False, Reason.DUPLICATE_EVENT)


def test_a_changed_replay_setting_keeps_the_memory_store_and_what_it_holds() -> None:
    """Raising processing_timeout (or retention, max_entries...) used to open an empty
    memory store: the retry of an event processed before the reload, and a copy of one
    still in flight, were both processed again."""
    guard = Guard.from_dict(config("orders", (OLD, "old")))
    store = guard.store
    guard.complete(guard.check(delivery(OLD, "evt_done")), 200)
    in_flight = guard.check(delivery(OLD, "evt_running"))

    guard.reload(config("orders", (OLD, "old"), processing_timeout=120, max_entries=500))

    assert guard.store is store
    assert isinstance(store, MemoryReplayStore)
    assert store.max_entries == 500
    assert guard.check(delivery(OLD, "evt_done")).reason == Reason.DUPLICATE_EVENT
    assert guard.check(delivery(OLD, "evt_running")).reason == Reason.EVENT_IN_FLIGHT
    guard.complete(in_flight, 200)
    assert guard.check(delivery(OLD, "evt_running")).reason == Reason.DUPLICATE_EVENT


def test_lowering_max_entries_evicts_down_to_it() -> None:
    store = MemoryReplayStore(10)
    for n in range(10):
        store.commit(f"k{n}", 60, "t")
    store.max_entries = 3
    assert len(store) == 3
    assert store.reserve("k9", 60, "t").value == "done"
    assert store.reserve("k0", 60, "t").value == "new"


def test_another_store_opens_a_new_one_but_settles_in_the_old() -> None:
    guard = Guard.from_dict(config("orders", (OLD, "old")))
    old_store = guard.store
    in_flight = guard.check(delivery(OLD, "evt_1"))  # reserved in the old store

    # A Redis store connects on first use: none is needed to build it.
    guard.reload(config("orders", (OLD, "old"), store="redis://127.0.0.1:1/0"))
    guard.complete(in_flight, 200)

    assert guard.store is not old_store
    # The reservation was committed where it was taken: the old store knows the event.
    assert old_store.reserve("orders:evt_1", 60, "probe").value == "done"


def test_a_store_passed_in_is_kept_even_when_the_replay_section_changes() -> None:
    store = MemoryReplayStore(100)
    guard = Guard(load_config(config("orders", (OLD, "old"))), store=store)
    guard.reload(config("orders", (OLD, "old"), max_entries=5))
    assert guard.store is store


def test_a_request_sees_exactly_one_config_while_reloads_run() -> None:
    """Threads send deliveries signed with the old or the new secret while the main thread
    swaps two configs back and forth. Config "before" names its route "before" and holds
    only OLD; "after" names it "after" and holds only NEW. Any mix (a route name of one
    config with the secrets of the other) would show up as a verdict outside the table."""
    before = load_config(config("before", (OLD, "old")))
    after = load_config(config("after", (NEW, "new")))
    guard = Guard(before)
    allowed = {
        OLD: {("before", True, "old"), ("after", False, Reason.SIGNATURE_MISMATCH)},
        NEW: {("after", True, "new"), ("before", False, Reason.SIGNATURE_MISMATCH)},
    }
    outcomes: Counter[tuple[str | None, bool, Any]] = Counter()
    wrong: list[tuple[str, Any]] = []
    served: Counter[str | None] = Counter()  # verdicts per route name (= per config)
    done = threading.Event()
    changed = threading.Condition()

    def sender(worker: int) -> None:
        n = 0
        while not done.is_set():
            secret = (OLD, NEW)[n % 2]
            verdict = guard.check(delivery(secret, f"w{worker}-{n}"))
            guard.complete(verdict, 200)
            key = (verdict.route, verdict.ok, verdict.secret_id if verdict.ok else verdict.reason)
            with changed:
                outcomes[key] += 1
                served[verdict.route] += 1
                if key not in allowed[secret]:
                    wrong.append(("old" if secret == OLD else "new", key))
                changed.notify_all()
            n += 1

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            new = after if i % 2 == 0 else before
            name = new.routes[0].name
            with changed:
                wanted = served[name] + 2
            guard.reload(new)
            with changed:  # go on once requests ran under the new config
                assert changed.wait_for(lambda n=name, w=wanted: served[n] >= w, timeout=30)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)
    assert wrong == []
    # Both configs were in force while requests ran, and each accepted its own secret.
    assert outcomes[("before", True, "old")]
    assert outcomes[("after", True, "new")]


# -- SIGHUP on `webhook-guard serve` ---------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    app = Upstream()
    with serve_asgi(app) as url:
        yield app, url


def post(url: str, secret: str, event_id: str) -> httpx.Response:
    headers = sign("standard", BODY, secret=secret, event_id=event_id)
    return httpx.post(f"{url}/hooks/orders", content=BODY, headers=headers, timeout=10)


def until(condition: Any, what: str) -> None:
    """Poll for something the process does asynchronously (no assertion on its timing)."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


def test_sighup_revokes_a_leaked_secret_in_a_running_serve(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    app, upstream_url = upstream
    path = tmp_path / "c.yaml"
    write(path, config("orders", (NEW, "new"), (OLD, "leaked")))
    port = free_port()
    log = tmp_path / "serve.log"
    with run_process(serve_args(path, upstream_url, port), port, output=log) as proc:
        url = f"http://127.0.0.1:{port}"
        assert post(url, OLD, "e1").status_code == 202

        # Emergency revocation: drop the leaked secret, SIGHUP, no restart.
        write(path, config("orders", (NEW, "new")))
        proc.send_signal(signal.SIGHUP)
        until(lambda: post(url, OLD, "probe").status_code == 401, "the leaked secret refused")
        refused = post(url, OLD, "e2")
        assert refused.json()["reason"] == "signature_mismatch"
        assert post(url, NEW, "e3").status_code == 202

        # A broken config on the next SIGHUP is refused; the running one stays.
        path.write_text("version: 1\nroutes: [", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        until(lambda: "does not load" in log.read_text(), "the failed reload logged")
        assert post(url, NEW, "e4").status_code == 202
        assert post(url, OLD, "e5").status_code == 401
        assert proc.poll() is None  # same process all along
    output = log.read_text()
    assert "SIGHUP: config reloaded, 1 route(s)" in output
    assert OLD not in output
    assert NEW not in output
    secrets_seen = [dict(s["headers"]).get("x-webhook-guard-secret-id") for s in app.seen]
    # (probes sent before the reload took effect may have been forwarded as well)
    first_new = secrets_seen.index("new")
    assert set(secrets_seen[:first_new]) == {"leaked"}
    assert secrets_seen[first_new:] == ["new", "new"]


# -- each adapter exposes its guard ----------------------------------------------------------


def test_asgi_middleware_guard_reload_on_a_real_server(tmp_path: Path) -> None:
    from webhook_guard.adapters.asgi import GuardMiddleware

    async def ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    path = tmp_path / "c.yaml"
    write(path, config("orders", (NEW, "new"), (OLD, "leaked")))
    app = GuardMiddleware(ok, config=str(path))
    with serve_asgi(app) as url:
        assert post(url, OLD, "e1").status_code == 204
        write(path, config("orders", (NEW, "new")))
        app.guard.reload()
        assert post(url, OLD, "e2").status_code == 401
        assert post(url, NEW, "e3").status_code == 204


def test_flask_extension_get_guard_reload_on_a_real_server(tmp_path: Path) -> None:
    from flask import Flask

    from tests.servers import serve_wsgi
    from webhook_guard.adapters.flask import WebhookGuard

    path = tmp_path / "c.yaml"
    write(path, config("orders", (NEW, "new"), (OLD, "leaked")))
    app = Flask(__name__)
    app.testing = True
    app.config["WEBHOOK_GUARD_CONFIG"] = str(path)
    WebhookGuard(app)

    @app.post("/hooks/orders")
    def orders() -> tuple[str, int]:
        return "", 204

    with serve_wsgi(app) as url:
        assert post(url, OLD, "e1").status_code == 204
        write(path, config("orders", (NEW, "new")))
        WebhookGuard.get_guard(app).reload()
        assert post(url, OLD, "e2").status_code == 401
        assert post(url, NEW, "e3").status_code == 204


def test_reloads_under_load_on_a_real_asgi_server() -> None:
    """The same swap, with concurrent deliveries over HTTP to GuardMiddleware on uvicorn:
    every accepted delivery was accepted by the config whose secret signed it."""
    from concurrent.futures import ThreadPoolExecutor

    from webhook_guard.adapters.asgi import GuardMiddleware

    before = load_config(config("before", (OLD, "old")))
    after = load_config(config("after", (NEW, "new")))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        verdict = scope["state"]["webhook"]
        body = json.dumps({"route": verdict.route, "secret": verdict.secret_id}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    middleware = GuardMiddleware(app, guard=Guard(before))
    seen: Counter[tuple[int, str]] = Counter()
    done = threading.Event()

    def sender(url: str, worker: int) -> list[tuple[str, int, Any]]:
        out = []
        with httpx.Client(timeout=10) as client:
            n = 0
            while not done.is_set():
                secret = (OLD, NEW)[n % 2]
                headers = sign("standard", BODY, secret=secret, event_id=f"h{worker}-{n}")
                r = client.post(f"{url}/hooks/orders", content=BODY, headers=headers)
                out.append((secret, r.status_code, r.json()))
                seen[(r.status_code, "new" if secret == NEW else "old")] += 1
                n += 1
        return out

    with serve_asgi(middleware) as url, ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(sender, url, i) for i in range(3)]
        try:
            for i in range(30):
                target = sum(seen.values()) + 3
                middleware.guard.reload(after if i % 2 == 0 else before)
                until(lambda t=target: sum(seen.values()) >= t, "deliveries after a reload")
        finally:
            done.set()
        results = [r for f in futures for r in f.result()]
    accepted = {(s, tuple(sorted(body.items()))) for s, status, body in results if status == 200}
    assert accepted == {
        (OLD, (("route", "before"), ("secret", "old"))),
        (NEW, (("route", "after"), ("secret", "new"))),
    }
    refused = {body["reason"] for _, status, body in results if status != 200}
    assert refused == {"signature_mismatch"}
