"""Redis replay store cost: ``python bench/bench_redis.py [--quick] [--url redis://...]``.

Without ``--url`` a throwaway redis-server is started on a free loopback port (and stopped).

1. Latency, one client, one operation at a time: ``RedisReplayStore`` reserve+commit (two
   round trips: Lua reserve, then SET) and reserve alone, against a bare ``SET key NX PX``
   round trip on a client with the same options to the same server, and against
   ``MemoryReplayStore`` reserve+commit. Sync and asyncio clients.
2. Throughput: reserve+commit of distinct keys from several threads (sync) and from many
   concurrent tasks (asyncio), against bare ``SET NX PX`` at the same concurrency.
3. ``Guard.check`` + ``complete`` end to end with the redis store vs the memory store.

Method: every contender runs the same number of operations per round on fresh keys; the
rounds rotate the contenders' order so machine noise hits all alike; the figure is the
minimum over rounds of the per-round mean, and p50/p99 come from all per-operation
samples. Ratios are against the bare SET NX of the same run. The benchmark reports; it
exits 0 unless something raises.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import redis
import redis.asyncio as aredis

from webhook_guard import Guard, MemoryReplayStore, WebhookRequest
from webhook_guard.replay import RedisReplayStore
from webhook_guard.testing import sign

ns = time.perf_counter_ns
RETENTION = 259_200.0
PROCESSING = 60.0
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(500):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def percentiles(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def run_rounds(
    contenders: dict[str, Callable[[str], object]], n: int, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """name -> (best round mean us, p50 us, p99 us); each op gets a fresh key."""
    names = list(contenders)
    best = dict.fromkeys(names, float("inf"))
    samples: dict[str, list[int]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            op = contenders[name]
            keys = [f"{name}:{r}:{i}" for i in range(n)]
            own = samples[name]
            gc.disable()
            try:
                start = ns()
                for key in keys:
                    t0 = ns()
                    op(key)
                    own.append(ns() - t0)
                best[name] = min(best[name], (ns() - start) / n / 1000)
            finally:
                gc.enable()
    return {name: (best[name], *percentiles(samples[name])) for name in names}


def print_table(title: str, results: dict[str, tuple[float, float, float]], base: str) -> None:
    print(f"\n{title}")
    fmt = "{:<44} {:>10} {:>10} {:>10} {:>10}"
    print(fmt.format("contender", "mean us", "p50 us", "p99 us", "x SET NX"))
    for name, (mean, p50, p99) in results.items():
        print(
            fmt.format(
                name, f"{mean:.1f}", f"{p50:.1f}", f"{p99:.1f}", f"{mean / results[base][0]:.2f}"
            )
        )


def bench_latency(url: str, n: int, rounds: int) -> None:
    store = RedisReplayStore(url, prefix="bench:")
    bare = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    memory = MemoryReplayStore(max_entries=1_000_000)
    bare.ping()
    store.reserve("warm", 1, "t")  # load the scripts, open the connection

    def redis_reserve_commit(key: str) -> None:
        store.reserve(key, PROCESSING, "tok")
        store.commit(key, RETENTION, "tok")

    def memory_reserve_commit(key: str) -> None:
        memory.reserve(key, PROCESSING, "tok")
        memory.commit(key, RETENTION, "tok")

    sync = run_rounds(
        {
            "bare SET NX PX (1 round trip)": lambda k: bare.set(k, b"r:tok", nx=True, px=60_000),
            "redis store reserve (1 round trip)": lambda k: store.reserve(k, PROCESSING, "tok"),
            "redis store reserve+commit (2 round trips)": redis_reserve_commit,
            "memory store reserve+commit": memory_reserve_commit,
        },
        n,
        rounds,
    )
    print_table("1a. Latency, sync client, one op at a time", sync, "bare SET NX PX (1 round trip)")

    async def async_part() -> dict[str, tuple[float, float, float]]:
        abare = aredis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        await abare.ping()
        await store.areserve("warm", 1, "t")
        names = ["bare SET NX PX", "redis store areserve", "redis store areserve+acommit"]
        best = dict.fromkeys(names, float("inf"))
        samples: dict[str, list[int]] = {name: [] for name in names}

        async def op(name: str, key: str) -> None:
            if name == "bare SET NX PX":
                await abare.set(key, b"r:tok", nx=True, px=60_000)
            elif name == "redis store areserve":
                await store.areserve(key, PROCESSING, "tok")
            else:
                await store.areserve(key, PROCESSING, "tok")
                await store.acommit(key, RETENTION, "tok")

        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                start = ns()
                for i in range(n):
                    t0 = ns()
                    await op(name, f"a{name}:{r}:{i}")
                    samples[name].append(ns() - t0)
                best[name] = min(best[name], (ns() - start) / n / 1000)
        await abare.aclose()
        await store.aclose()
        return {name: (best[name], *percentiles(samples[name])) for name in names}

    print_table(
        "1b. Latency, asyncio client, one op at a time", asyncio.run(async_part()), "bare SET NX PX"
    )
    store.close()
    bare.close()


def bench_throughput(url: str, n: int, threads: int, tasks: int) -> None:
    print(f"\n2. Throughput on distinct keys ({n:,} ops per contender)")
    fmt = "{:<52} {:>12} {:>10}"
    print(fmt.format("contender", "ops/s", "x SET NX"))
    store = RedisReplayStore(url, prefix="tput:", max_connections=threads + tasks)
    bare = redis.Redis.from_url(url, max_connections=threads + tasks)

    def threaded(op: Callable[[str], object], tag: str) -> float:
        per = n // threads
        barrier = threading.Barrier(threads + 1)

        def worker(w: int) -> None:
            barrier.wait()
            for i in range(per):
                op(f"{tag}:{w}:{i}")

        pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in pool:
            t.join()
        return per * threads / (time.perf_counter() - start)

    def reserve_commit(key: str) -> None:
        store.reserve(key, PROCESSING, "tok")
        store.commit(key, RETENTION, "tok")

    base = threaded(lambda k: bare.set(k, b"r:tok", nx=True, px=60_000), "bare")
    ours = threaded(reserve_commit, "ours")
    print(fmt.format(f"sync, {threads} threads: bare SET NX PX", f"{base:,.0f}", "1.00"))
    print(
        fmt.format(
            f"sync, {threads} threads: store reserve+commit", f"{ours:,.0f}", f"{ours / base:.2f}"
        )
    )

    async def concurrent() -> tuple[float, float]:
        abare = aredis.Redis.from_url(url, max_connections=tasks)
        sem = asyncio.Semaphore(tasks)

        async def bare_op(key: str) -> None:
            async with sem:
                await abare.set(key, b"r:tok", nx=True, px=60_000)

        async def our_op(key: str) -> None:
            async with sem:
                await store.areserve(key, PROCESSING, "tok")
                await store.acommit(key, RETENTION, "tok")

        out = []
        for fn, tag in ((bare_op, "abare"), (our_op, "aours")):
            start = time.perf_counter()
            await asyncio.gather(*(fn(f"{tag}:{i}") for i in range(n)))
            out.append(n / (time.perf_counter() - start))
        await abare.aclose()
        await store.aclose()
        return out[0], out[1]

    abase, aours = asyncio.run(concurrent())
    print(fmt.format(f"asyncio, {tasks} tasks: bare SET NX PX", f"{abase:,.0f}", "1.00"))
    print(
        fmt.format(
            f"asyncio, {tasks} tasks: store areserve+acommit",
            f"{aours:,.0f}",
            f"{aours / abase:.2f}",
        )
    )
    store.close()
    bare.close()


def bench_guard(url: str, n: int, rounds: int) -> None:
    def guard(store: str) -> Guard:
        return Guard.from_dict(
            {
                "version": 1,
                "replay": {"store": store, "prefix": "guard:"},
                "routes": [
                    {"name": "sw", "path": "/hooks/sw", "provider": "standard", "secrets": [SECRET]}
                ],
            }
        )

    guards = {
        "Guard.check+complete, memory store": guard("memory"),
        "Guard.check+complete, redis store": guard(url),
    }
    body = b'{"type":"bench.event"}'
    signer = guards["Guard.check+complete, memory store"]
    reqs = {
        f"{name}:{r}:{i}": WebhookRequest(
            "POST", "/hooks/sw", headers=sign(signer, "sw", body), body=body, peer="127.0.0.1"
        )
        for name in guards
        for r in range(rounds)
        for i in range(n)
    }

    def runner(g: Guard) -> Callable[[str], object]:
        def op(key: str) -> None:
            verdict = g.check(reqs[key])
            if not verdict.ok:
                raise AssertionError(verdict)
            g.complete(verdict, 200)

        return op

    results = run_rounds({name: runner(g) for name, g in guards.items()}, n, rounds)
    print("\n3. End to end (Standard Webhooks signature, 22-byte body)")
    fmt = "{:<44} {:>10} {:>10} {:>10} {:>10}"
    print(fmt.format("contender", "mean us", "p50 us", "p99 us", "x memory"))
    base = results["Guard.check+complete, memory store"][0]
    for name, (mean, p50, p99) in results.items():
        print(fmt.format(name, f"{mean:.1f}", f"{p50:.1f}", f"{p99:.1f}", f"{mean / base:.2f}"))
    store = guards["Guard.check+complete, redis store"].store
    if isinstance(store, RedisReplayStore):
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (a few seconds)")
    parser.add_argument(
        "--url",
        help="an existing Redis to use (keys under bench:, tput:, "
        "guard: are written); default: start a throwaway redis-server",
    )
    args = parser.parse_args()
    n, rounds = (300, 3) if args.quick else (3000, 5)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(throwaway_redis())
        server = redis.Redis.from_url(url).info("server")["redis_version"]
        print(
            f"Python {sys.version.split()[0]}, redis-py {redis.__version__}, "
            f"Redis {server} over loopback; {'quick' if args.quick else 'full'} run"
        )
        bench_latency(url, n, rounds)
        bench_throughput(url, n * 4, threads=4, tasks=32)
        bench_guard(url, n, rounds)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
