"""What the over-a-socket benchmarks share (bench_asgi.py, bench_adapters.py): signed
Standard Webhooks deliveries as pre-built request bytes, a raw-socket keep-alive client,
server processes and their CPU time.

The client is a small asyncio HTTP/1.1 keep-alive client over raw sockets with pre-built
request bytes, so that the client's own cost does not hide the server's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

SECRET_ENV = "BENCH_WEBHOOK_SECRET"


def standard_config(path: str) -> dict[str, Any]:
    """One ``provider: standard`` route named ``bench`` at ``path``, its secret in
    :data:`SECRET_ENV`, memory replay store (the default)."""
    return {
        "version": 1,
        "routes": [
            {
                "name": "bench",
                "path": path,
                "provider": "standard",
                "secrets": [f"env:{SECRET_ENV}"],
            }
        ],
    }


def ensure_secret() -> str:
    """The benchmark's ``whsec_`` secret, made up once per run and put in the environment
    (the servers inherit it; the client signs with it)."""
    return os.environ.setdefault(SECRET_ENV, "whsec_" + base64.b64encode(os.urandom(32)).decode())


def deliveries(path: str, n: int, tag: str) -> tuple[list[dict[str, str]], bytes]:
    """The signed headers of ``n`` deliveries of one 1 KiB JSON body to ``path``, each with
    its own event ID (``msg_<tag>_<i>``), signed now with ``webhook_guard.testing.sign``;
    and that body."""
    from webhook_guard import Guard
    from webhook_guard.testing import sign

    guard = Guard.from_dict(standard_config(path))
    head = b'{"type":"bench","pad":"'
    body = head + b"x" * (1024 - len(head) - 2) + b'"}'
    return [sign(guard, "bench", body, event_id=f"msg_{tag}_{i}") for i in range(n)], body


def build_requests(path: str, n: int, port: int, tag: str) -> list[bytes]:
    """``n`` complete HTTP/1.1 POST requests (headers and body) of :func:`deliveries`."""
    signed, body = deliveries(path, n, tag)
    out = []
    for headers in signed:
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        out.append("\r\n".join(lines).encode() + body)
    return out


async def drive(
    port: int, requests: Sequence[bytes], connections: int, reply: bytes
) -> tuple[float, int]:
    """Send every request over ``connections`` keep-alive connections, one request in
    flight per connection; (seconds, responses that were not 200 with ``reply``)."""
    queue = iter(requests)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for raw in queue:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200") or body != reply:
                    failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, failures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and all its descendants (a gunicorn
    master and its workers), from Linux /proc."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    return total / os.sysconf("SC_CLK_TCK")


def run_uvicorn(app: Any, port: int, http: str) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` with uvicorn as the benchmarks run it: one
    worker, no access log, no lifespan, the given HTTP implementation."""
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


@contextlib.contextmanager
def server(
    name: str, args: Sequence[str], port: int, env: Mapping[str, str] | None = None
) -> Iterator[int]:
    """Run ``args`` (a server listening on 127.0.0.1:``port``) until the block ends;
    yields its process ID once the port accepts connections."""
    proc = subprocess.Popen(list(args), env=dict(env) if env is not None else None)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} server did not start")
            time.sleep(0.05)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
