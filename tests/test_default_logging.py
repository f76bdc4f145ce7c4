"""Refusals reach the server's own output with no logging configured (an operator sees
every refused delivery without setting anything up; docs/guides/observability.md), under
each server the docs name, run as a real process; and an application that configures
logging takes over, without a line printed twice."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import yaml

from webhook_guard.testing import sign

from .conftest import BODY, SW_SECRET, SW_SECRET_OLD
from .servers import free_port, run_process

ROOT = Path(__file__).resolve().parent.parent
REFUSED = "webhook rejected: route=sw reason=signature_mismatch status=401 client_ip=127.0.0.1"

ASGI_APP = """
from webhook_guard.adapters.asgi import GuardMiddleware

async def inner(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

app = GuardMiddleware(inner, config="webhook-guard.yaml")
"""

FLASK_APP = """
from flask import Flask
from webhook_guard.adapters.flask import WebhookGuard

app = Flask(__name__)

@app.post("/hooks/sw")
def hook():
    return "ok"

WebhookGuard(app, config="webhook-guard.yaml")
"""

DJANGO_APP = """
from django.http import HttpResponse
from django.urls import path

DEBUG = True
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "app"
INSTALLED_APPS = ["webhook_guard.adapters.django"]
MIDDLEWARE = ["webhook_guard.adapters.django.WebhookGuardMiddleware"]
WEBHOOK_GUARD = {"CONFIG": "webhook-guard.yaml"}

def hook(request):
    return HttpResponse("ok")

urlpatterns = [path("hooks/sw", hook)]
"""

# What an application that configures logging itself does first.
CONFIGURED = """
import logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="APP %(name)s %(message)s")
"""


def command(server: str, port: int) -> list[str]:
    py = sys.executable
    return {
        "uvicorn": [py, "-m", "uvicorn", "app:app", "--port", str(port), "--lifespan", "off"],
        "gunicorn": [py, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "app:app"],
        "flask run": [py, "-m", "flask", "--app", "app", "run", "--port", str(port)],
        "runserver": [py, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "webhook-guard serve": [
            *(py, "-m", "webhook_guard.cli", "serve", "--config", "webhook-guard.yaml"),
            *("--upstream", f"http://127.0.0.1:{free_port()}", "--port", str(port)),
        ],
    }[server]


APPS = {
    "uvicorn": ASGI_APP,
    "gunicorn": FLASK_APP,
    "flask run": FLASK_APP,
    "runserver": DJANGO_APP,
    "webhook-guard serve": "",
}


def run_server(tmp_path: Path, server: str, app: str) -> str:
    """Start ``server`` on ``app``, send one forged and one genuine delivery, stop it,
    and return everything it printed."""
    config = {
        "version": 1,
        "routes": [
            {"name": "sw", "path": "/hooks/sw", "provider": "standard", "secrets": [SW_SECRET]}
        ],
    }
    (tmp_path / "webhook-guard.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "app.py").write_text(textwrap.dedent(app))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT / "src")])
    env["DJANGO_SETTINGS_MODULE"] = "app"
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    output = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}/hooks/sw"
    with run_process(command(server, port), port, env=env, cwd=tmp_path, output=output):
        forged = sign("standard", BODY, secret=SW_SECRET_OLD, event_id="msg_forged")
        assert httpx.post(url, content=BODY, headers=forged).status_code == 401
        genuine = sign("standard", BODY, secret=SW_SECRET, event_id="msg_genuine")
        assert httpx.post(url, content=BODY, headers=genuine).status_code in (200, 502)
        deadline = time.monotonic() + 10
        while REFUSED not in output.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = output.read_text()
    for secret in (SW_SECRET, SW_SECRET_OLD):
        assert secret[6:] not in text  # the key, with or without its whsec_ prefix
    return text


@pytest.mark.parametrize("server", list(APPS))
def test_refusal_reaches_the_server_output_without_logging_config(
    tmp_path: Path, server: str
) -> None:
    text = run_server(tmp_path, server, APPS[server])
    [line] = [ln for ln in text.splitlines() if "webhook rejected" in ln]
    assert " WARNING webhook_guard: " + REFUSED in line
    assert "detail=no signature matched" in line
    if server == "webhook-guard serve":
        # The proxy's --log-level (default info) applies to the guard's lines too.
        assert "webhook accepted: route=sw client_ip=127.0.0.1 event_id=msg_genuine" in text
    else:
        assert "webhook accepted" not in text  # INFO: not shown unless asked for


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn", "runserver"])
def test_configured_logging_takes_over_without_duplicates(tmp_path: Path, server: str) -> None:
    text = run_server(tmp_path, server, CONFIGURED + APPS[server])
    [line] = [ln for ln in text.splitlines() if "webhook rejected" in ln]
    assert line.startswith("APP webhook_guard " + REFUSED)
    assert "APP webhook_guard webhook accepted: route=sw client_ip=127.0.0.1 " in text
    assert " WARNING webhook_guard: " not in text


SCRIPT = """
import logging, sys
from webhook_guard import Guard, WebhookRequest
from webhook_guard.testing import sign

SETUP
guard = Guard.from_dict({"version": 1, "routes": [
    {"name": "sw", "path": "/hooks/sw", "provider": "standard", "secrets": [%(secret)r]}]})
good = sign(guard, "sw", b"{}", event_id="msg_ok")
guard.check(WebhookRequest("POST", "/hooks/sw", headers=good, body=b"{}", peer="192.0.2.1"))
guard.check(WebhookRequest("POST", "/hooks/sw", headers={}, body=b"{}", peer="192.0.2.1"))
"""


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        pytest.param("", ["stderr WARNING webhook_guard: webhook rejected"], id="nothing-set-up"),
        pytest.param(
            'logging.getLogger("webhook_guard").setLevel(logging.INFO)',
            [
                "stderr INFO webhook_guard: webhook accepted",
                "stderr WARNING webhook_guard: webhook rejected",
            ],
            id="level-info",
        ),
        pytest.param(
            'logging.basicConfig(stream=sys.stdout, format="%(name)s|%(message)s")',
            ["stdout webhook_guard|webhook rejected"],
            id="root-handler-takes-over",
        ),
        pytest.param(
            "h = logging.StreamHandler(sys.stdout)\n"
            'h.setFormatter(logging.Formatter("mine %(message)s"))\n'
            'logging.getLogger("webhook_guard").addHandler(h)',
            ["stdout mine webhook rejected"],
            id="own-handler-takes-over",
        ),
        pytest.param(
            'logging.getLogger("webhook_guard").setLevel(logging.ERROR)', [], id="level-error"
        ),
        pytest.param(
            'logging.getLogger("webhook_guard").addHandler(logging.NullHandler())\n'
            'logging.getLogger("webhook_guard").propagate = False',
            [],
            id="silenced",
        ),
        pytest.param("logging.lastResort = None", [], id="last-resort-off"),
    ],
)
def test_default_output_and_who_takes_over(setup: str, expected: list[str]) -> None:
    script = (SCRIPT % {"secret": SW_SECRET}).replace("SETUP", setup)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [f"stdout {line}" for line in result.stdout.splitlines()]
    for line in result.stderr.splitlines():
        # The default format starts with the time: drop it.
        lines.append("stderr " + line.split(" ", 2)[2] if line[:2] == "20" else "stderr " + line)
    got = [line for line in lines if "webhook " in line]
    assert len(got) == len(expected), got
    for line, start in zip(got, expected, strict=True):
        assert line.startswith(start), line
