"""Throughput of a minimal ASGI app on uvicorn, bare and behind ``GuardMiddleware``:
``python bench/bench_asgi.py [--quick] [--http auto|h11|httptools]``.

Both apps run the same handler (read the body, answer a small JSON) in their own uvicorn
process (one worker, access log off); the same in-process client drives both with the same
kind of request: a 1 KiB Standard Webhooks delivery signed with ``webhook_guard.testing``,
each with its own event ID so that every guarded request does a real replay reservation
(a repeated ID would be answered as a duplicate without reaching the app). The client
(``httpload.py``, shared with bench_adapters.py) is a small asyncio HTTP/1.1 keep-alive
client over raw sockets with pre-built request bytes, so that the client's own cost does
not hide the server's. Rounds alternate bare/guarded
and the best round of each counts; the result is the guarded/bare ratio from this run.
Target: the guarded app keeps at least 85% of the bare app's requests per second. Two
more apps are for reference only: the handler behind the middleware's ASGI plumbing with
no check at all (read the body, replay it, watch the status), and behind a minimal
verifier that hand-inlines this one route's checks (the floor for a verifier in Python).
The benchmark reports; it exits 0 unless something raises.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpload
from httpload import SECRET_ENV

PATH = "/hooks/bench"
REPLY = b'{"ok":true}'
TARGET = 0.85
VARIANTS = ("bare", "guarded", "plumbing", "minimal")
ROW_NAMES = ("bare", "GuardMiddleware(bare)", "plumbing only (ref.)", "minimal verifier (ref.)")


def config() -> dict[str, Any]:
    return httpload.standard_config(PATH)


async def handler(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The minimal app: read the whole body, answer 200 with a small JSON."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
        }
    )
    await send({"type": "http.response.body", "body": REPLY})


def plumbing(app: Any) -> Any:
    """GuardMiddleware's ASGI plumbing without any check: read the body (the adapter's
    own read_body), replay it to the app and watch the response status. A reference row:
    what any middleware that must see the body before the app costs on this server."""
    from webhook_guard.adapters.asgi import read_body, replay_body

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive, 1 << 20)
        await forward(app, scope, replay_body(body or b"", receive), send)

    return middleware


async def forward(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> int | None:
    """Run the app, watching the response status as GuardMiddleware does; the status."""
    status = None

    async def send_wrapper(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await app(scope, receive, send_wrapper)
    return status


def minimal(app: Any) -> Any:
    """The guard's checks for this one route, hand-inlined as tightly as Python allows:
    Standard Webhooks headers read from one dict, the timestamp window, HMAC-SHA256 with a
    prepared key, a dict of seen IDs committed after the app answered. No route table, no
    method or Content-Length check, no verdict or request objects, no error answers (a bad
    request raises). A reference row: roughly the floor for any verifier written in Python
    on this server, not something to ship."""
    import binascii
    import hashlib
    import hmac

    from webhook_guard.adapters.asgi import read_body, replay_body

    key = base64.b64decode(os.environ[SECRET_ENV].removeprefix("whsec_"))
    prepared = hmac.new(key, digestmod=hashlib.sha256)
    seen: dict[str, float] = {}

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        body = await read_body(receive, 1 << 20)
        assert body is not None
        event_id = headers[b"webhook-id"].decode()
        stamp = headers[b"webhook-timestamp"].decode()
        if abs(time.time() - int(stamp)) > 300:
            raise ValueError("stale")
        mac = prepared.copy()
        mac.update(f"{event_id}.{stamp}.".encode())
        mac.update(body)
        expected = "v1," + binascii.b2a_base64(mac.digest(), newline=False).decode()
        if not hmac.compare_digest(headers[b"webhook-signature"].decode(), expected):
            raise ValueError("signature")
        if event_id in seen:
            raise ValueError("duplicate")
        seen[event_id] = 0.0
        status = await forward(app, scope, replay_body(body, receive), send)
        seen[event_id] = time.monotonic() + 86400 if status == 200 else 0.0

    return middleware


def build_app(variant: str) -> Any:
    """The handler, alone or behind the variant's middleware (one of VARIANTS)."""
    if variant == "guarded":
        from webhook_guard.adapters.asgi import GuardMiddleware

        return GuardMiddleware(handler, config=config())
    if variant == "plumbing":
        return plumbing(handler)
    if variant == "minimal":
        return minimal(handler)
    return handler


def serve(variant: str, port: int, http: str) -> None:
    httpload.run_uvicorn(build_app(variant), port, http)


# -- client ---------------------------------------------------------------------------


def scopes(n: int, tag: str) -> tuple[list[dict[str, Any]], bytes]:
    """``n`` HTTP scopes as uvicorn builds them for the deliveries of httpload.build_requests(),
    and their common body (for --in-process)."""
    signed, body = httpload.deliveries(PATH, n, tag)
    out = []
    for i, values in enumerate(signed):
        headers = [(b"host", b"127.0.0.1:8000")]
        headers += [(k.lower().encode(), v.encode()) for k, v in values.items()]
        headers += [(b"content-type", b"application/json"), (b"content-length", b"1024")]
        out.append(
            {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.4"},
                "http_version": "1.1",
                "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 40000 + i % 8),
                "scheme": "http",
                "method": "POST",
                "root_path": "",
                "path": PATH,
                "raw_path": PATH.encode(),
                "query_string": b"",
                "headers": headers,
                "state": {},
            }
        )
    return out, body


def in_process(rounds: int, per_round: int) -> None:
    """Each app called directly in one event loop (no server, no socket): the middleware's
    own cost per request, free of the server's and the client's noise."""
    import gc

    apps = {variant: build_app(variant) for variant in VARIANTS}
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run(app: Any, batch: list[dict[str, Any]], body: bytes) -> float:
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive() -> dict[str, Any]:
            return message

        started = time.perf_counter_ns()
        for scope in batch:
            await app(scope, receive, send)
        return (time.perf_counter_ns() - started) / len(batch) / 1000

    best: dict[str, float] = {}
    for r in range(rounds):
        for name in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
            batch, body = scopes(per_round, f"{name}{r}")
            gc.collect()
            gc.disable()
            try:
                spent = asyncio.run(run(apps[name], batch, body))
            finally:
                gc.enable()
            best[name] = min(best.get(name, float("inf")), spent)
    print(f"In process, no server: {rounds} rounds x {per_round} requests, best round, gc off")
    print("1 KiB Standard Webhooks delivery, unique event ID per request\n")
    print(f"{'app':<24}{'us/req':>8}{'over bare':>11}")
    for row, name in zip(ROW_NAMES, VARIANTS, strict=True):
        print(f"{row:<24}{best[name]:>8.2f}{best[name] - best['bare']:>+11.2f}")
    refused = sum(1 for status in statuses if status != 200)
    if refused:
        print(f"WARNING: {refused} responses were not the app's 200 (refused or duplicate)")


@contextlib.contextmanager
def server(variant: str, http: str) -> Iterator[tuple[int, int]]:
    port = httpload.free_port()
    args = [sys.executable, __file__, "--serve", variant, "--port", str(port), "--http", http]
    with httpload.server(variant, args, port) as pid:
        yield port, pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (a few seconds)")
    parser.add_argument("--http", default="auto", help="uvicorn HTTP implementation")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="call the apps directly, without a server: the middleware's own cost",
    )
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.http)
        return 0

    rounds, per_round = (2, 500) if args.quick else (4, 6000)
    httpload.ensure_secret()
    if args.in_process:
        in_process(rounds, per_round * 4)
        return 0
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    failures = 0
    with contextlib.ExitStack() as stack:
        ports = {v: stack.enter_context(server(v, args.http)) for v in VARIANTS}
        for r in range(rounds):
            # The order rotates every round, so no variant always runs first or last.
            for variant in VARIANTS[r % 4 :] + VARIANTS[: r % 4]:
                # Fresh event IDs every round, signed now (within the timestamp window).
                port, pid = ports[variant]
                reqs = httpload.build_requests(PATH, per_round, port, f"{variant}{r}")
                used = httpload.cpu_seconds(pid)
                seconds, failed = asyncio.run(httpload.drive(port, reqs, args.connections, REPLY))
                used = (httpload.cpu_seconds(pid) - used) / per_round * 1e6
                failures += failed
                best[variant] = max(best.get(variant, 0.0), per_round / seconds)
                cpu[variant] = min(cpu.get(variant, float("inf")), used)

    import uvicorn

    ratio = best["guarded"] / best["bare"]
    print(
        f"uvicorn {uvicorn.__version__} (--http {args.http}), 1 worker; client: "
        f"{args.connections} keep-alive connections, {rounds} rounds x {per_round} requests,"
        " best round"
    )
    print("1 KiB Standard Webhooks delivery, unique event ID per request\n")
    print(f"{'app':<24}{'req/s':>9}{'ratio':>7}{'server CPU us/req':>20}")
    for name, variant in zip(ROW_NAMES, VARIANTS, strict=True):
        print(
            f"{name:<24}{best[variant]:>9,.0f}{best[variant] / best['bare']:>7.2f}"
            f"{cpu[variant]:>20.0f}"
        )
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(f"\ntarget: guarded >= {TARGET:.0%} of bare  -> {verdict}")
    print(
        "(plumbing only: read the body, replay it, watch the status, no check; the ceiling "
        "for any middleware that verifies the body before the app runs)"
    )
    print(
        "(minimal verifier: this route's checks hand-inlined, no route table, verdicts or "
        "error answers; about the floor for a verifier written in Python)"
    )
    if failures:
        print(f"WARNING: {failures} responses were not the app's 200 (refused or duplicate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
