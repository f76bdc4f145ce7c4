"""URL tokens stay out of the access log of the server an in-process adapter runs under.

A provider that can only authenticate with a token in the webhook URL (``?token=...``)
would otherwise have it written to every access log line, readable by whoever reads the
logs. Each adapter, when it gets its guard, adds a logging filter to the access loggers of
uvicorn, gunicorn, werkzeug (Flask) and Django's runserver that hides the values of the
configured query tokens; the proxy hides whole query strings. Each server here is the real
one, started as a user starts it, with its own logging set-up.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
from pathlib import Path

import pytest

from tests.servers import console_script, free_port, run_process

TOKEN = "s3cr3t-url-t0ken-4f8a"
CONFIG = f"""\
version: 1
routes:
  - name: builds
    path: /hooks/builds
    token: {{query: token, secrets: [{TOKEN}]}}
"""

STARLETTE_APP = """\
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from webhook_guard.adapters.asgi import GuardMiddleware


async def builds(request):
    return PlainTextResponse("queued")


app = GuardMiddleware(Starlette(routes=[Route("/hooks/builds", builds, methods=["POST"])]),
                      config="webhook-guard.yaml")
"""

FLASK_APP = """\
from flask import Flask

from webhook_guard.adapters.flask import WebhookGuard

app = Flask(__name__)
WebhookGuard(app, config="webhook-guard.yaml")


@app.post("/hooks/builds")
def builds():
    return "queued"
"""

DJANGO_FILES = {
    "settings.py": """\
SECRET_KEY = "test-only"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "urls"
MIDDLEWARE = ["webhook_guard.adapters.django.WebhookGuardMiddleware"]
WEBHOOK_GUARD = {"CONFIG": "webhook-guard.yaml"}
""",
    "urls.py": """\
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

urlpatterns = [path("hooks/builds", csrf_exempt(lambda request: HttpResponse("queued")))]
""",
    "manage.py": """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
""",
}


def _servers(port: int) -> dict[str, tuple[dict[str, str], list[str]]]:
    return {
        "uvicorn": (
            {"app.py": STARLETTE_APP},
            [console_script("uvicorn"), "app:app", "--port", str(port)],
        ),
        "werkzeug (flask run)": (
            {"app.py": FLASK_APP},
            [console_script("flask"), "--app", "app", "run", "--port", str(port)],
        ),
        "gunicorn": (
            {"app.py": FLASK_APP},
            # Its default access line, whose request line ("r") holds the query.
            [
                console_script("gunicorn"),
                "-b",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
                "app:app",
            ],
        ),
        "hypercorn": (
            {"app.py": STARLETTE_APP},
            [
                console_script("hypercorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
                # Its default line leaves the query out; a format that shows it ("q").
                "--access-logformat",
                '"%(m)s %(U)s?%(q)s" %(s)s',
                "app:app",
            ],
        ),
        "django runserver": (
            DJANGO_FILES,
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        ),
    }


@pytest.mark.parametrize("server", list(_servers(0)))
def test_url_token_is_not_in_the_access_log(server: str, tmp_path: Path) -> None:
    port = free_port()
    files, args = _servers(port)[server]
    (tmp_path / "webhook-guard.yaml").write_text(CONFIG)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    log = tmp_path / "server.log"
    with run_process(args, port, env=dict(os.environ), cwd=tmp_path, output=log):
        statuses = []
        for query in (f"token={TOKEN}&build=7", "token=guessed-token&build=8"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", f"/hooks/builds?{query}", b"{}")
            statuses.append(conn.getresponse().status)
            conn.close()
        # A server writes its access line after the response (Django's runserver too), so
        # stopping it at once could lose the line this test reads.
        deadline = time.monotonic() + 10
        while log.read_text(errors="replace").count("/hooks/builds") < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert statuses == [200, 401]
    text = log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if "/hooks/builds" in line]
    assert len(lines) == 2, text
    assert TOKEN not in text
    assert "guessed-token" not in text  # a wrong guess may be a near miss, or a real token
    assert "/hooks/builds?token=[redacted]&build=7" in lines[0]
    assert "/hooks/builds?token=[redacted]&build=8" in lines[1]
