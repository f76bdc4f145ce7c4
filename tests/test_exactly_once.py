"""Exactly once under faults, end to end: 200 events, each sent three times at once and
retried like a provider until acknowledged, through two gunicorn workers (threads) and
`webhook-guard serve`, all sharing one real redis-server, while handlers fail on first
attempts (500, an exception, a 400 such as Django's DisallowedHost), Redis stalls
(SIGSTOP) and the upstream behind the proxy outlasts its --timeout. The handler's own
record must list every event exactly once: none lost, none processed twice."""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import sys
import threading
import time
from pathlib import Path

import httpx

from .conftest import sdk_signed, sw_route
from .servers import free_port, frozen, redis_process, require, run_process

EVENTS = 200
COPIES = 3
PROXIED = range(140, 200)  # sent through `webhook-guard serve`
STALLED = range(80, 140)  # first sent while Redis is frozen
GIVE_UP = 40.0  # seconds a copy keeps retrying; an orphan would hold an event for 60

APP = """
import os
import time

from flask import Flask, abort, request
from webhook_guard.adapters.flask import WebhookGuard

STATE = os.environ["WG_STATE"]
app = Flask(__name__)


def first_attempt(event_id):
    try:
        os.close(os.open(os.path.join(STATE, event_id), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def processed(event_id):
    with open(os.path.join(STATE, "processed.log"), "a") as log:
        log.write(event_id + "\\n")


@app.post("/hooks/sw")
def hook():
    event_id = request.get_json()["id"]
    n = int(event_id.split("-")[1])
    if first_attempt(event_id):
        if n % 10 == 1:
            abort(500)
        if n % 10 == 2:
            raise RuntimeError("handler failed")
        if n % 10 == 3:
            abort(400)  # a 4xx that says nothing about the event
    processed(event_id)
    return {"ok": True}


@app.post("/upstream/<path:rest>")
def upstream(rest):
    # Behind the proxy, unguarded here: the proxy verified it.
    event_id = request.get_json()["id"]
    n = int(event_id.split("-")[1])
    if first_attempt(event_id) and n % 4 == 0:
        time.sleep(1.5)  # longer than the proxy's --timeout 1
    processed(event_id)
    return {"ok": True}


WebhookGuard(app, config=CONFIG)
"""


def config(redis_url: str, path: str) -> dict[str, object]:
    return {
        "version": 1,
        "replay": {"store": redis_url, "socket_timeout": 0.25},
        "routes": [sw_route(path=path)],
    }


def deliver(http: httpx.Client, url: str, event_id: str) -> list[int]:
    """One copy of a delivery, retried like a provider until a 2xx; its statuses."""
    body = json.dumps({"id": event_id})
    statuses: list[int] = []
    give_up = time.monotonic() + GIVE_UP
    while time.monotonic() < give_up:
        try:
            r = http.post(url, content=body, headers=sdk_signed(event_id, body))
            statuses.append(r.status_code)
            if 200 <= r.status_code < 300:
                return statuses
        except httpx.HTTPError:
            statuses.append(0)
        time.sleep(0.05 * (1 + len(statuses) % 3))  # spread the copies' retries
    raise AssertionError(f"{event_id} never acknowledged: {collections.Counter(statuses)}")


def test_each_event_is_processed_exactly_once_under_faults(tmp_path: Path) -> None:
    require("gunicorn")
    state = tmp_path / "state"
    state.mkdir()
    with redis_process() as (redis_url, redis_proc):
        app_config = config(redis_url, "/hooks/sw")
        (tmp_path / "hookapp.py").write_text(
            f"import json\nCONFIG = json.loads({json.dumps(app_config)!r})\n" + APP,
            encoding="utf-8",
        )
        proxy_config = tmp_path / "proxy.json"
        proxy_config.write_text(json.dumps(config(redis_url, "/upstream/*")), encoding="utf-8")
        env = {
            **os.environ,
            "WG_STATE": str(state),
            "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
        }
        app_port, proxy_port = free_port(), free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4"]
        gunicorn += ["-b", f"127.0.0.1:{app_port}", "--chdir", str(tmp_path), "hookapp:app"]
        serve = [sys.executable, "-m", "webhook_guard.cli", "serve", "--config"]
        serve += [str(proxy_config), "--upstream", f"http://127.0.0.1:{app_port}"]
        serve += ["--port", str(proxy_port), "--timeout", "1", "--log-level", "warning"]
        with (
            run_process(gunicorn, app_port, env=env),
            run_process(serve, proxy_port, env=env),
            httpx.Client(timeout=10) as http,
            concurrent.futures.ThreadPoolExecutor(24) as pool,
        ):
            seen: list[int] = []
            lock = threading.Lock()

            def one(n: int) -> None:
                url = (
                    f"http://127.0.0.1:{proxy_port}/upstream/x"
                    if n in PROXIED
                    else f"http://127.0.0.1:{app_port}/hooks/sw"
                )
                statuses = deliver(http, url, f"evt-{n}")
                with lock:
                    seen.extend(statuses)

            def run(events: range) -> list[concurrent.futures.Future[None]]:
                return [pool.submit(one, n) for n in events for _ in range(COPIES)]

            for future in run(range(0, STALLED.start)):
                future.result()
            with frozen(redis_proc):  # every first send of these meets a stalled Redis
                stalled = run(STALLED)
                time.sleep(1.5)
            for future in [*stalled, *run(PROXIED)]:
                future.result()

    lines = (state / "processed.log").read_text().split()
    counts = collections.Counter(lines)
    assert sorted(counts) == sorted(f"evt-{n}" for n in range(EVENTS)), "lost events"
    assert {e: c for e, c in counts.items() if c != 1} == {}, "processed more than once"
    faults = collections.Counter(seen)
    # Every fault happened (the run proves nothing otherwise).
    for status in (500, 400, 503, 504):
        assert faults[status] > 0, faults
