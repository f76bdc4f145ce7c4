"""The body's event ID, find_pointer vs json.loads: ``python bench/bench_jsonid.py [--quick]``.

Per body shape and size: ``loads_pointer`` (json.loads + the pointer walk, what guard.py
does today), ``find_pointer`` (the top-level walk) and, for scale, HMAC-SHA256 over the
same bytes. Shapes:

- ``flat``: the benchmarks' body, ``{"id":..., "event_id":..., "type":..., "data":"<hex>"}``;
  most of the bytes are one top-level string, which the walk skips with ``bytes.find``.
- ``flat, UTF-8``: the same with non-ASCII text, so the walk decodes the body first.
- ``nested``: a Stripe-like event, ``id`` first and the bulk inside ``data.object`` (many
  small members); the walk hands the nested object to json's C scanner, which parses it.

Method: the minimum over rounds of the per-round mean, garbage collector paused.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable

from webhook_guard.jsonid import find_pointer, loads_pointer

ns = time.perf_counter_ns
KIB, MIB = 1024, 1024 * 1024


def flat(size: int, text: str = "") -> bytes:
    head = b'{"id":"evt_1","event_id":"evt_2","type":"bench","data":"'
    pad = (text * size).encode() if text else os.urandom(size).hex().encode()
    body = head + pad
    return body[: size - 2] + b'"}' if not text else _trim_utf8(body, size - 2) + b'"}'


def _trim_utf8(data: bytes, n: int) -> bytes:
    return data[:n].decode("utf-8", "ignore").encode()


def nested(size: int) -> bytes:
    """A Stripe-like event of about ``size`` bytes: the ID first, the bulk nested."""
    item = {"id": "li_1", "amount": 1999, "currency": "eur", "description": "Widget", "qty": 2}
    lines: list[dict[str, object]] = []
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1700000000,
        "data": {"object": {"id": "in_1", "object": "invoice", "lines": lines}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }
    while len(json.dumps(event)) < size:
        lines.extend([item] * 16)
    return json.dumps(event, indent=2).encode()


def timed(fn: Callable[[], object], n: int) -> float:
    t0 = ns()
    for _ in range(n):
        fn()
    return (ns() - t0) / n / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke test)")
    args = parser.parse_args()
    rounds = 2 if args.quick else 7
    budget = 2 * MIB if args.quick else 64 * MIB
    key = os.urandom(32)
    cases = [("flat", s, flat(s)) for s in (KIB, 2 * KIB, 4 * KIB, 8 * KIB, 64 * KIB, MIB)]
    cases += [("flat, UTF-8", s, flat(s, "d\u00e9j\u00e0 ")) for s in (64 * KIB, MIB)]
    cases += [("nested", s, nested(s)) for s in (64 * KIB, MIB)]
    print(f"find_pointer vs json.loads; us per body, min of {rounds} rounds")
    fmt = "{:<12} {:>9} {:>10} {:>12} {:>11} {:>9}"
    print(fmt.format("shape", "size", "json.loads", "find_pointer", "HMAC-SHA256", "speed-up"))
    for shape, size, body in cases:
        pointer = ("id",)
        if find_pointer(body, pointer) != loads_pointer(body, pointer):
            raise AssertionError(f"{shape} {size}: the two disagree")
        n = max(3, min(20_000, budget // len(body)))
        jobs = {
            "loads": lambda b=body, p=pointer: loads_pointer(b, p),
            "find": lambda b=body, p=pointer: find_pointer(b, p),
            "hmac": lambda b=body: hmac.new(key, b, hashlib.sha256).digest(),
        }
        best = dict.fromkeys(jobs, float("inf"))
        gc.disable()
        try:
            for r in range(rounds):
                for i in range(3):
                    name = list(jobs)[(r + i) % 3]
                    best[name] = min(best[name], timed(jobs[name], n))
        finally:
            gc.enable()
        label = f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"
        print(
            fmt.format(
                shape,
                label,
                f"{best['loads']:.2f}",
                f"{best['find']:.2f}",
                f"{best['hmac']:.2f}",
                f"{best['loads'] / best['find']:.1f}x",
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
