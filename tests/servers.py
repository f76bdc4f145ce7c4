"""Real servers for tests: uvicorn, werkzeug, redis-server and nginx on free loopback ports.

A server the tests need but the machine lacks is an error, not a skip: `.ci/run` installs
them, and a missing one must fail CI loudly: a skipped test would let a change that breaks
the real server pass unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int, timeout: float = STARTUP_TIMEOUT, alive: Callable[[], bool] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"server on port {port} exited before it accepted connections")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def require(program: str) -> str:
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise RuntimeError(
            f"{program} is not installed; .ci/run installs it (apt-get install {program})"
        )
    return path


def console_script(name: str) -> str:
    """A console script installed next to this Python (the venv's), else on PATH."""
    import sys

    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else require(name)


@contextlib.contextmanager
def serve_asgi(app: Any, **uvicorn_options: Any) -> Iterator[str]:
    """Run an ASGI app on uvicorn in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "off", **uvicorn_options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port, alive=thread.is_alive)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Run a WSGI app on werkzeug's threaded server in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _output_file(output: IO[bytes] | Path | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    """A process's output: a file at `output`, an open file, or a temporary file."""
    if isinstance(output, Path):
        return output.open("w+b")
    if output is not None:
        return contextlib.nullcontext(output)
    return tempfile.TemporaryFile()


@contextlib.contextmanager
def run_process(
    args: Sequence[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    group: bool = False,
    output: IO[bytes] | Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until `port` accepts connections, stop it on exit.

    Its output goes to `output` (default: a temporary file), shown when it fails to start.
    ``group``: the server starts children of its own (Django's autoreloader): it gets a
    process group, and SIGTERM goes to the whole group.
    """
    with _output_file(output) as log:
        proc = subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=group,
        )
        try:
            try:
                wait_for_port(port, alive=lambda: proc.poll() is None)
            except (RuntimeError, TimeoutError) as exc:
                log.seek(0)
                raise RuntimeError(
                    f"{exc}\n--- {args[0]} output ---\n{log.read().decode(errors='replace')}"
                ) from None
            yield proc
        finally:
            if group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            elif proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                if group:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
                proc.wait()


def django_settings(urlconf: str, guard_config: Any) -> dict[str, Any]:
    """``settings.configure()`` arguments for a one-module Django project behind
    ``WebhookGuardMiddleware`` (CSRF on, as in a real project)."""
    return {
        "DEBUG": False,
        "SECRET_KEY": "test-only-not-secret",
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": urlconf,
        "INSTALLED_APPS": ["webhook_guard.adapters.django"],
        "MIDDLEWARE": [
            "webhook_guard.adapters.django.WebhookGuardMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        "WEBHOOK_GUARD": {"CONFIG": guard_config},
    }


@contextlib.contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """A throwaway redis-server with no persistence; yields its redis:// URL.

    Pass the ``port`` of a stopped one to bring "the same" server back (empty).
    """
    with redis_process(port) as (url, _):
        yield url


@contextlib.contextmanager
def redis_process(
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`redis_server`, also yielding the process (to :func:`frozen` it)."""
    port = port or free_port()
    args = [require("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
    with run_process(args, port) as proc:
        yield f"redis://127.0.0.1:{port}/0", proc


@contextlib.contextmanager
def frozen(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stall a server (SIGSTOP) for the block: its clients connect and send, nobody
    answers; it resumes (SIGCONT) and runs what was sent, as after a long GC or swap."""
    proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def nginx(server_block: str, *, port: int | None = None, ssl: bool = False) -> Iterator[int]:
    """Run nginx in the foreground with one `server {}` body; yields the port it listens on.

    `server_block` is the inside of the server block without `listen`; it is added here
    (with `ssl`, as a TLS listener: the block then names `ssl_certificate` and its key).
    """
    port = port or free_port()
    listen = f"127.0.0.1:{port}" + (" ssl" if ssl else "")
    with tempfile.TemporaryDirectory(prefix="wg-nginx-") as tmp:
        root = Path(tmp)
        (root / "logs").mkdir()
        conf = root / "nginx.conf"
        conf.write_text(
            "daemon off;\n"
            "worker_processes 1;\n"
            f"pid {root}/nginx.pid;\n"
            f"error_log {root}/logs/error.log warn;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            f"  access_log off;\n  client_body_temp_path {root}/body;\n"
            f"  proxy_temp_path {root}/proxy;\n  fastcgi_temp_path {root}/fastcgi;\n"
            f"  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n"
            f"  server {{\n    listen {listen};\n{server_block}\n  }}\n"
            "}\n"
        )
        # -e: nginx >= 1.19.5 would otherwise try the compiled-in error log first.
        with run_process(
            [require("nginx"), "-p", str(root), "-c", str(conf), "-e", f"{root}/logs/error.log"],
            port,
        ):
            yield port


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900, *, javascript: bool = True) -> Iterator[Any]:
    """Debian's headless Chromium driven by selenium through Debian's chromedriver; yields
    the WebDriver. Nothing is downloaded: both binaries are given by path, so Selenium
    Manager never runs. ``javascript=False`` turns the pages' scripts off (the driver's
    own commands still work)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = require("chromium"), require("chromedriver")
    with tempfile.TemporaryDirectory(prefix="wg-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
        ):
            options.add_argument(flag)
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2}
            )
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()
