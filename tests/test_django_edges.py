"""Django edges where an event used to be lost or processed twice, each on a real server
running a one-module Django project of its own (its settings differ from test_django's):

- ``protect()`` under ``ATOMIC_REQUESTS``: the view's transaction commits after the view
  returned; a COMMIT that fails answers 500, and the provider's retry must be processed.
- Django's ASGI handler cancels a request whose client went away, while a sync view (or
  work an async view handed to a thread) goes on: the event must be settled by the
  view's own answer, not released for a retry that would process it again.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from webhook_guard import Guard
from webhook_guard.testing import sign

from .conftest import SW_SECRET
from .servers import free_port, run_process

CONFIG = {
    "version": 1,
    "routes": [{"name": "sw", "path": "/hooks/sw", "provider": "standard", "secrets": [SW_SECRET]}],
}

PROJECT = """
import os
import time

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse
from django.urls import path

from webhook_guard.adapters.django import protect

STATE = os.environ["WG_STATE"]
view_name = "{view}"
DEBUG = False
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS = []
MIDDLEWARE = (
    ["webhook_guard.adapters.django.WebhookGuardMiddleware"] if os.environ.get("WG_MIDDLEWARE")
    else []
)
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(STATE, "db.sqlite3"),
        "ATOMIC_REQUESTS": view_name == "committed_late",  # not for async views
    }}
}}
WEBHOOK_GUARD = {{"CONFIG": {config!r}}}


def processed(event_id):
    with open(os.path.join(STATE, "processed.log"), "a") as log:
        log.write(event_id + "\\n")


@protect("sw")
def committed_late(request):
    first = not os.path.exists(os.path.join(STATE, "attempted"))
    open(os.path.join(STATE, "attempted"), "a").close()
    with connection.cursor() as cursor:
        # The first attempt's row names no parent: SQLite refuses it at COMMIT, which
        # ATOMIC_REQUESTS runs once the view has returned.
        cursor.execute(
            "INSERT INTO child (event, parent_id) VALUES (%s, %s)",
            [request.webhook.event_id, 999 if first else None],
        )
    return JsonResponse({{"ok": True}})


def slow(event_id):
    time.sleep(1.5)
    processed(event_id)


def sync_view(request):
    slow(request.webhook.event_id)
    return JsonResponse({{"ok": True}})


async def async_view(request):
    await sync_to_async(slow)(request.webhook.event_id)
    return JsonResponse({{"ok": True}})


urlpatterns = [path("hooks/sw", globals()[view_name])]
"""


def _project(tmp_path: Path, view: str) -> dict[str, str]:
    (tmp_path / "project.py").write_text(textwrap.dedent(PROJECT.format(config=CONFIG, view=view)))
    return {
        **os.environ,
        "WG_STATE": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "project",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
    }


def _processed(tmp_path: Path) -> list[str]:
    log = tmp_path / "processed.log"
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("middleware", [False, True])
def test_protect_settles_after_the_atomic_requests_commit(tmp_path: Path, middleware: bool) -> None:
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, event TEXT, parent_id INTEGER "
        "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    db.commit()
    env = _project(tmp_path, "committed_late")
    if middleware:
        env["WG_MIDDLEWARE"] = "1"
    port = free_port()
    app = "django.core.wsgi:get_wsgi_application()"
    args = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", app]
    headers = sign(Guard.from_dict(CONFIG), "sw", b"{}", event_id="evt_commit")
    with run_process(args, port, env=env, cwd=tmp_path), httpx.Client() as http:
        url = f"http://127.0.0.1:{port}/hooks/sw"
        assert http.post(url, content=b"{}", headers=headers).status_code == 500
        retry = http.post(url, content=b"{}", headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.json() == {"ok": True}
        again = http.post(url, content=b"{}", headers=headers)
        assert again.json()["reason"] == "duplicate_event"
    rows = db.execute("SELECT event FROM child").fetchall()
    assert rows == [("evt_commit",)]


@pytest.mark.parametrize("view", ["sync_view", "async_view"])
def test_a_client_gone_mid_view_under_asgi_does_not_release_the_event(
    tmp_path: Path, view: str
) -> None:
    env = _project(tmp_path, view)
    env["WG_MIDDLEWARE"] = "1"
    port = free_port()
    app = "django.core.asgi:get_asgi_application"
    args = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port)]
    headers = sign(Guard.from_dict(CONFIG), "sw", b"{}", event_id="evt_gone")
    with run_process(args, port, env=env, cwd=tmp_path), httpx.Client() as http:
        url = f"http://127.0.0.1:{port}/hooks/sw"
        with pytest.raises(httpx.TimeoutException):  # the provider gives up, disconnects
            http.post(url, content=b"{}", headers=headers, timeout=0.4)
        time.sleep(0.3)
        # Its retry while the view still works on the event: in flight, not a second run.
        assert http.post(url, content=b"{}", headers=headers).status_code == 409
        deadline = time.monotonic() + 10
        while not _processed(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        later = http.post(url, content=b"{}", headers=headers)
        assert later.json().get("reason") == "duplicate_event", later.text
    assert _processed(tmp_path) == ["evt_gone"]
