"""A memory replay store in a server with several worker processes says so on stderr at
start-up, once per worker: real gunicorn (Flask, Django) and uvicorn --workers."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import SW_SECRET, sdk_signed, sw_route
from .servers import free_port, require, run_process

WARNING = "worker processes but the replay store is in memory"
BODY = '{"type":"ping"}'

FLASK_APP = """
from flask import Flask
from webhook_guard.adapters.flask import WebhookGuard

app = Flask(__name__)

@app.post("/hooks/sw")
def hook():
    return {"ok": True}

WebhookGuard(app, config=CONFIG)
"""

DJANGO_APP = """
import django
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False, SECRET_KEY="test-only", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    MIDDLEWARE=["webhook_guard.adapters.django.WebhookGuardMiddleware"],
    WEBHOOK_GUARD={"CONFIG": CONFIG},
)
django.setup()

def hook(request):
    return JsonResponse({"ok": True})

urlpatterns = [path("hooks/sw", hook)]

from django.core.wsgi import get_wsgi_application
app = get_wsgi_application()
"""

ASGI_APP = """
from webhook_guard.adapters.asgi import GuardMiddleware

async def inner(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

app = GuardMiddleware(inner, config=CONFIG)
"""


def write_app(directory: Path, source: str, store: str = "memory") -> None:
    config = {"version": 1, "replay": {"store": store}, "routes": [sw_route()]}
    header = f"CONFIG = {json.dumps(config)!r}\nimport json\nCONFIG = json.loads(CONFIG)\n"
    (directory / "hookapp.py").write_text(header + source, encoding="utf-8")


@contextlib.contextmanager
def server(args: list[str], port: int, log: Path) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(log.parent), *sys.path])}
    with run_process(args, port, env=env, output=log):
        yield f"http://127.0.0.1:{port}"


def gunicorn(workers: int, port: int) -> list[str]:
    require("gunicorn")
    return [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "hookapp:app",
    ]  # fmt: skip


def uvicorn(workers: int, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--workers", str(workers), "--port", str(port),
        "--host", "127.0.0.1", "hookapp:app",
    ]  # fmt: skip


def warnings_in(log: Path, expected: int) -> int:
    """How many warnings the log holds, waiting (bounded) for ``expected`` of them."""
    for _ in range(300):
        found = log.read_text(errors="replace").count(WARNING)
        if found >= expected:
            return found
        time.sleep(0.05)
    return log.read_text(errors="replace").count(WARNING)


@pytest.mark.parametrize(
    ("source", "command"),
    [(FLASK_APP, gunicorn), (DJANGO_APP, gunicorn), (ASGI_APP, uvicorn)],
    ids=["flask-gunicorn", "django-gunicorn", "asgi-uvicorn"],
)
def test_two_workers_with_a_memory_store_warn_on_stderr(
    tmp_path: Path, source: str, command: object
) -> None:
    write_app(tmp_path, source)
    port = free_port()
    log = tmp_path / "server.log"
    assert callable(command)
    with server(command(2, port), port, log) as url:
        headers = sdk_signed("msg_w", BODY)
        assert httpx.post(f"{url}/hooks/sw", content=BODY, headers=headers).status_code == 200
        assert warnings_in(log, 2) == 2, log.read_text()  # once in each worker
    text = log.read_text()
    assert "runs 2 worker processes" in text
    assert "redis://" in text
    assert SW_SECRET not in text


def test_one_worker_says_nothing(tmp_path: Path) -> None:
    write_app(tmp_path, FLASK_APP)
    port = free_port()
    log = tmp_path / "server.log"
    with server(gunicorn(1, port), port, log) as url:
        headers = sdk_signed("msg_1w", BODY)
        # Answered: the only worker has loaded the app (and would have warned by now).
        assert httpx.post(f"{url}/hooks/sw", content=BODY, headers=headers).status_code == 200
    assert WARNING not in log.read_text()
