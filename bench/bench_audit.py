"""What the delivery log costs a request: ``python bench/bench_audit.py [--quick]``.

``Guard.check`` on a Standard Webhooks route (memory store, a unique event ID per request)
without a delivery log, with the SQLite :class:`~webhook_guard.audit.DeliveryLog`, and with
:class:`~webhook_guard.audit.JsonLinesAudit` writing to ``/dev/null``, at 1 KiB and 64 KiB.

For the SQLite log two figures:

* "enqueue": what the request thread pays (``record()`` appends to a queue; the writer
  thread is held back and the queue is written between rounds, outside that timing);
* "write": the writer's own work per delivery (hash the body, insert, commit), timed as
  one ``flush()`` of the round's queue divided by its size. A busy single process pays it
  too, in the background thread's share of the GIL, but never while a request waits.

Method (as bench_core.py): the minimum over several rounds of the per-round mean; the
contenders take turns in an order rotated every round; requests are signed outside the
timed loops and the garbage collector is paused while timing. Target: the enqueue adds at
most 3 us per request. Reports, always exits 0 unless something raises.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import tempfile
import time
from typing import Any

from webhook_guard import Guard, WebhookRequest
from webhook_guard.audit import DeliveryLog, JsonLinesAudit
from webhook_guard.config import AuditConfig
from webhook_guard.testing import sign

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
ROUTE = {"name": "sw", "path": "/hooks/sw", "provider": "standard", "secrets": [SECRET]}
TARGET_US = 3.0
ns = time.perf_counter_ns


def make_guard(audit: Any, entries: int) -> Guard:
    config = {"version": 1, "replay": {"max_entries": entries}, "routes": [ROUTE]}
    return Guard.from_dict(config, audit=audit)


def presign(size: int, n: int, tag: str) -> list[WebhookRequest]:
    body = b'{"data":"' + b"x" * (size - 11) + b'"}'
    return [
        WebhookRequest(
            "POST",
            "/hooks/sw",
            headers=sign("standard", body, secret=SECRET, event_id=f"msg_{tag}_{i}"),
            body=body,
            peer="203.0.113.9",
        )
        for i in range(n)
    ]


def run(guard: Guard, reqs: list[WebhookRequest]) -> int:
    check = guard.check
    t0 = ns()
    for req in reqs:
        if not check(req).ok:
            raise AssertionError("refused")
    return ns() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller rounds")
    quick = parser.parse_args().quick
    rounds, n = (3, 500) if quick else (9, 3000)
    tmp = tempfile.mkdtemp(prefix="wg-bench-audit-")
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    fmt = "{:>7} {:>9} {:>9} {:>7} {:>7} {:>9} {:>9} {:>11}  {}"
    print(f"Guard.check, us per request, min of {rounds} round means, {n} requests a round")
    print(
        fmt.format(
            "size",
            "no log",
            "enqueue",
            "write",
            "jsonl",
            "+enqueue",
            "enq/none",
            "jsonl/none",
            "target: +enqueue <= 3 us",
        )
    )
    for size, label in ((1024, "1 KiB"), (64 * 1024, "64 KiB")):
        # The enqueue-only log: its writer thread waits an hour between batches.
        held = DeliveryLog(AuditConfig(path=os.path.join(tmp, f"held-{size}.db")))
        held.interval = 3600.0
        guards = {
            "none": make_guard(None, rounds * n + 10),
            "enqueue": make_guard(held, rounds * n + 10),
            "jsonl": make_guard(JsonLinesAudit(devnull), rounds * n + 10),
        }
        best = dict.fromkeys([*guards, "write"], float("inf"))
        names = list(guards)
        for r in range(rounds):
            batches = {name: presign(size, n, f"{name}{r}") for name in names}
            held.flush()
            gc.collect()
            gc.disable()
            try:
                for i in range(len(names)):
                    name = names[(r + i) % len(names)]
                    best[name] = min(best[name], run(guards[name], batches[name]) / n / 1000)
            finally:
                gc.enable()
            t0 = ns()
            held.flush()
            best["write"] = min(best["write"], (ns() - t0) / n / 1000)
        added = best["enqueue"] - best["none"]
        print(
            fmt.format(
                label,
                f"{best['none']:.2f}",
                f"{best['enqueue']:.2f}",
                f"{best['write']:.2f}",
                f"{best['jsonl']:.2f}",
                f"{added:+.2f}",
                f"{best['enqueue'] / best['none']:.2f}x",
                f"{best['jsonl'] / best['none']:.2f}x",
                "PASS" if added <= TARGET_US else "MISS",
            )
        )
        held.close()
    devnull.close()
    print(
        "   no log / enqueue / jsonl: Guard.check without a log, with the SQLite log "
        "(record() only), with JSON lines written inline.\n"
        "   write: the SQLite writer thread's work per delivery (hash, insert, commit), "
        "off the request path."
    )


if __name__ == "__main__":
    main()
