"""Section 3 of bench_presets.py: the standard route as straight-line code.

A measurement, not a design: what a route would cost if the pipeline generated one plain
function per route (as ``dataclasses`` generates ``__init__``) instead of calling one
object per step. It keeps the generality the floor leaves out and the guard pays for:
both header families (``webhook-*``, ``svix-*``, unrolled), up to ten signatures in the header,
every configured secret tried (rotation), strict base64 of the right length, the ID's
printable check, the real ``MemoryReplayStore`` reservation with a unique token, the
guard's own accepted verdict and a settle that commits or releases once. What it skips
costs nothing on an accepted request in the guard either: the refusal details (built
only on failure), report mode, headers given as ASGI byte pairs (the guard's general
index). The bench checks that it accepts every delivery the guard accepts.
"""

from __future__ import annotations

import binascii
import functools
import hmac
import itertools
import os
import re
import time
from typing import Any

from webhook_guard import WebhookRequest
from webhook_guard.replay import MemoryReplayStore, ReplayState
from webhook_guard.request import unique_header_table
from webhook_guard.verdict import Verdict, accepted_verdict

_NEW = ReplayState.NEW
_B64 = functools.partial(binascii.a2b_base64, strict_mode=True)
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,128}")


class _Reservation:
    __slots__ = ("done", "key", "store", "token")


class StraightLine:
    """``check`` + ``complete`` of one ``provider: standard`` route, written out."""

    def __init__(self, path: str, keys: list[bytes], capacity: int) -> None:
        self.path = path
        self.bases = [(f"s{i}", hmac.new(k, digestmod="sha256")) for i, k in enumerate(keys)]
        self.store = MemoryReplayStore(capacity)
        self.prefix = os.urandom(6).hex() + "-"
        self.counter = itertools.count()

    def check(self, req: WebhookRequest) -> Verdict | None:
        if req.path != self.path or req.method != "POST" or len(req.body) > 1 << 20:
            return None
        table = unique_header_table(req.headers)
        if table is None or table[1]:
            return None  # the guard's general index: not written out here
        headers = table[0]
        # Generated code would unroll the families, as here.
        sig = headers.get("webhook-signature")
        if sig is not None:
            ts, eid = headers.get("webhook-timestamp"), headers.get("webhook-id")
        else:
            sig = headers.get("svix-signature")
            if sig is None:
                return None
            ts, eid = headers.get("svix-timestamp"), headers.get("svix-id")
        if ts is None or eid is None:
            return None
        if not (ts.isascii() and ts.isdigit() and len(ts) < 16):
            return None
        now = time.time()
        stamp = int(ts)
        if not now - 300 <= stamp <= now + 300:
            return None
        if " " in sig:
            tokens = [t[3:] for t in sig.split(" ") if t.startswith("v1,")][:10]
        else:
            tokens = [sig[3:]] if sig.startswith("v1,") else []
        presented = []
        for token in tokens:
            try:
                raw = _B64(token)
            except (binascii.Error, ValueError):
                continue
            if len(raw) == 32:
                presented.append(raw)
        if not presented:
            return None
        signed = f"{eid}.{ts}.".encode("latin-1")
        label = self._match(signed, req.body, presented)
        if label is None:
            return None
        if not _PRINTABLE.fullmatch(eid):
            return None
        key = "standard:" + eid
        token = self.prefix + str(next(self.counter))
        if self.store.reserve(key, 60.0, token) is not _NEW:
            return None
        res = _Reservation()
        res.store, res.key, res.token, res.done = self.store, key, token, False
        return accepted_verdict("standard", req.peer, eid, label, stamp, (), res)

    def _match(self, signed: bytes, body: bytes, presented: list[bytes]) -> str | None:
        for label, base in self.bases:
            mac = base.copy()
            mac.update(signed)
            mac.update(body)
            digest = mac.digest()
            if any(hmac.compare_digest(digest, p) for p in presented):
                return label
        return None

    def complete(self, verdict: Verdict, status: int) -> None:
        res: Any = verdict.reservation
        if res is None or res.done:
            return
        res.done = True
        if 200 <= status < 300:
            res.store.commit(res.key, 86400.0, res.token)
        else:
            res.store.release(res.key, res.token)
