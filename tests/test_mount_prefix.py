"""Servers that cut a mount prefix from the target before the framework routes it.

The guard reads the target whole; the framework matches its routes against the rest:

- gunicorn (sync) takes ``SCRIPT_NAME`` from a request header sent from an address in
  ``forwarded_allow_ips`` (loopback by default: any front proxy on the host that passes
  underscore names, or ``'*'``) and routes ``PATH_INFO``, the target less that prefix, so
  ``/x/hooks/orders`` with ``SCRIPT_NAME: /x`` runs Flask's or Django's /hooks/orders;
- hypercorn and gunicorn's ASGI worker, run with ``--root-path``, leave the target in
  ``scope["path"]`` (uvicorn prepends the root path) and Starlette and Django strip the
  root path when the target starts with it, so /x/hooks/orders runs /hooks/orders too.

Each reached the guarded handler unsigned: the guard saw no route, and bound the verdict
only to the full path. It is now bound to the mount-relative path as well.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest

from tests.test_path_differential import MARKER, Server, send, signed, start_server

PY = sys.executable
ROOT_PATH = "/x"
WSGI = {
    "gunicorn+flask": "tests.diffapps.flask_app:app",
    "gunicorn+django": "tests.diffapps.django_server:wsgi",
}
ASGI = {
    "starlette": "tests.diffapps.starlette_app:starlette",
    "fastapi": "tests.diffapps.starlette_app:fastapi",
    "django": "tests.diffapps.django_server:asgi",
}
COMMANDS: dict[str, list[str]] = {
    **{
        name: [PY, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", "127.0.0.1:{port}", app]
        for name, app in WSGI.items()
    },
    **{
        f"hypercorn+{name}": [PY, "-m", "hypercorn", "--root-path", ROOT_PATH,
                              "-b", "127.0.0.1:{port}", app]
        for name, app in ASGI.items()
    },
    **{
        f"gunicorn-asgi+{name}": [PY, "-m", "gunicorn", "-w", "1", "-k", "asgi", "--root-path",
                                  ROOT_PATH, "-b", "127.0.0.1:{port}", app]
        for name, app in ASGI.items()
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    tmp = tmp_path_factory.mktemp("wg-mount")
    with contextlib.ExitStack() as stack:
        started: dict[str, Server] = {}
        for name, command in COMMANDS.items():
            started[name] = start_server(stack, name, command, str(tmp), {})
        yield started


@pytest.mark.parametrize("target", [b"/x/hooks/orders", b"/x/hooks/builds/7", b"/x/hooks/orders/"])
def test_a_target_under_a_mount_prefix_never_runs_a_guarded_handler(
    servers: dict[str, Server], target: bytes
) -> None:
    for server in servers.values():
        headers = {"SCRIPT_NAME": ROOT_PATH} if server.name in WSGI else {}
        status, response = send(server.port, target, headers)
        ran = server.take_handlers_ran()
        what = f"{server.name}: unsigned POST {target!r} (status {status})"
        assert not ran, f"{what} ran {ran.split()}"
        assert MARKER not in response, what
        assert status == 400, what
        assert b"path_invalid" in response or server.name.endswith("fastapi"), what


def test_genuine_deliveries_still_pass(servers: dict[str, Server]) -> None:
    for server in servers.values():
        status, response = send(server.port, b"/hooks/orders", signed())
        assert status == 200, f"{server.name}: {response!r}"
        assert MARKER in response, server.name
        assert server.take_handlers_ran() == "orders\n", server.name
