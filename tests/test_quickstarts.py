"""Every quickstart, as a newcomer follows it: the page's own files, under the real server
the page names, receiving a signed and a tampered delivery over the network.

The test reads the files (``title="app.py"`` blocks and the like) and the command that
starts the server (``$ uvicorn app:app``, ``$ flask --app app run``,
``$ python manage.py runserver``, ``$ webhook-guard serve ...``) from the markdown page
itself, writes the files into an empty directory and runs the command there, changing
only the port (the page's may be in use). The secret is made the way the page says, with
``webhook-guard secret new``.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.servers import console_script, free_port, require, run_process
from tests.test_docs import SERVER_COMMANDS, blocks
from webhook_guard import Guard, load_config
from webhook_guard.testing import sign

BODY = b'{"type": "order.paid", "id": "ord_1"}'


def page_files(page: str) -> dict[str, str]:
    """The files a page tells the reader to create: its blocks with a title."""
    return {b.title: b.text for b in blocks(page) if b.title and b.skip is None}


def server_command(page: str) -> list[str]:
    """The one console line of the page that starts the server."""
    found = [
        shlex.split(line[2:])
        for b in blocks(page)
        if b.lang == "console" and b.skip is None
        for line in b.text.splitlines()
        if line.startswith("$ ")
        and (line[2:].startswith(SERVER_COMMANDS) or line.startswith("$ webhook-guard serve"))
    ]
    assert len(found) == 1, f"docs/{page}: expected one server command, found {found}"
    return found[0]


def on_port(argv: list[str], port: int) -> tuple[list[str], bool]:
    """The page's command, listening on ``port``; and whether it needs a process group."""
    program = argv[0]
    if program == "uvicorn":
        return [console_script("uvicorn"), *argv[1:], "--port", str(port)], False
    if program == "flask":
        return [console_script("flask"), *argv[1:], "--port", str(port)], False
    if argv[:3] == ["python", "manage.py", "runserver"]:
        # As typed, autoreloader included: it runs the server in a child process.
        return [sys.executable, *argv[1:], f"127.0.0.1:{port}"], True
    assert argv[:2] == ["webhook-guard", "serve"], argv
    kept = [a for i, a in enumerate(argv) if "--port" not in (a, argv[i - 1])]
    return [console_script("webhook-guard"), *kept[1:], "--port", str(port)], False


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        status, text = response.status, response.read()
    finally:
        conn.close()
    return status, json.loads(text)


def new_secret(provider: str, cwd: Path) -> str:
    result = subprocess.run(
        [console_script("webhook-guard"), "secret", "new", "--provider", provider],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@contextmanager
def started(page: str, tmp_path: Path, env: dict[str, str]) -> Iterator[int]:
    """Write the page's files into ``tmp_path`` and run its server command there."""
    for name, text in page_files(page).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    port = free_port()
    args, group = on_port(server_command(page), port)
    with run_process(args, port, env={**os.environ, **env}, cwd=tmp_path, group=group):
        yield port


FRAMEWORK_PAGES = [
    "getting-started/starlette.md",
    "getting-started/fastapi.md",
    "getting-started/flask.md",
    "getting-started/django.md",
]


@pytest.mark.parametrize("page", FRAMEWORK_PAGES)
def test_quickstart_under_its_real_server(page: str, tmp_path: Path) -> None:
    env = {"ORDERS_WEBHOOK_SECRET": new_secret("standard", tmp_path)}
    signer = Guard.from_dict(
        {
            "version": 1,
            "routes": [
                {
                    "name": "orders",
                    "path": "/hooks/orders",
                    "provider": "standard",
                    "secrets": [env["ORDERS_WEBHOOK_SECRET"]],
                }
            ],
        }
    )
    with started(page, tmp_path, env) as port:
        headers = sign(signer, "orders", BODY, event_id="msg_quickstart_1")
        status, answer = post(port, "/hooks/orders", BODY, headers)
        assert status == 200, answer
        assert answer["event"] == "msg_quickstart_1"
        assert answer["type"] == "order.paid"

        tampered = BODY.replace(b"ord_1", b"ord_2")
        forged = sign(signer, "orders", BODY, event_id="msg_quickstart_2")
        status, problem = post(port, "/hooks/orders", tampered, forged)
        assert status == 401
        assert problem["reason"] == "signature_mismatch"

        wrong_key = sign(
            "standard", BODY, secret=new_secret("standard", tmp_path), event_id="msg_3"
        )
        status, problem = post(port, "/hooks/orders", BODY, wrong_key)
        assert status == 401
        assert problem["reason"] == "signature_mismatch"


def test_flask_quickstart_curl_command_is_accepted(tmp_path: Path) -> None:
    """The page's ``webhook-guard sign --curl`` output, pasted into a shell, is accepted
    by the Flask app (its Content-Type satisfies ``request.get_json()``)."""
    page = "getting-started/flask.md"
    env = {"ORDERS_WEBHOOK_SECRET": new_secret("standard", tmp_path)}
    require("curl")
    with started(page, tmp_path, env) as port:
        sign_line = next(
            line[2:]
            for b in blocks(page)
            if b.lang == "console" and b.skip is None
            for line in b.text.splitlines()
            if line.startswith("$ webhook-guard sign")
        )
        argv = shlex.split(sign_line.replace(":5000/", f":{port}/"))
        printed = subprocess.run(
            [console_script("webhook-guard"), *argv[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, **env},
            timeout=60,
            check=True,
        )
        assert printed.stdout.startswith(f"curl -sS -X POST http://127.0.0.1:{port}/hooks/orders")
        pasted = subprocess.run(
            ["bash", "-c", printed.stdout.rstrip() + " -w ' %{http_code}'"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=True,
        )
        answer, _, code = pasted.stdout.rpartition(" ")
        assert code == "200", pasted.stdout
        assert json.loads(answer)["type"] == "order.paid"
        # The same command again is a replay: acknowledged, not passed to the view.
        again = subprocess.run(
            ["bash", "-c", printed.stdout], capture_output=True, text=True, cwd=tmp_path,
            timeout=60, check=True,
        )  # fmt: skip
        assert json.loads(again.stdout)["reason"] == "duplicate_event"


class _Upstream(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_reverse_proxy_quickstart_under_webhook_guard_serve(tmp_path: Path) -> None:
    page = "getting-started/reverse-proxy.md"
    env = {
        "GITHUB_WEBHOOK_SECRET": new_secret("github", tmp_path),
        "FLEX_URL_TOKEN": new_secret("generic", tmp_path),
    }
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    _Upstream.received = []
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    argv = server_command(page)
    # The page's upstream is the reader's application; here it is the stand-in above.
    at = argv.index("--upstream") + 1
    argv[at] = f"http://127.0.0.1:{upstream.server_port}"
    try:
        for name, text in page_files(page).items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        port = free_port()
        args, _ = on_port(argv, port)
        with run_process(args, port, env={**os.environ, **env}, cwd=tmp_path):
            signer = Guard(load_config(tmp_path / "webhook-guard.yaml", env=env))
            path = "/flexdeploy/webhooks/v1/git/github?token=" + env["FLEX_URL_TOKEN"]
            headers = sign(signer, "github", BODY)
            status, _ = post(port, path, BODY, headers)
            assert status == 202
            status, problem = post(port, path, BODY + b" ", headers)
            assert status == 401
            assert problem["reason"] == "signature_mismatch"
    finally:
        upstream.shutdown()
        upstream.server_close()
    # The verified URL token is the sender's proof to the proxy: not forwarded by default.
    assert _Upstream.received == [(path.partition("?")[0], BODY)]
