"""One delivery as a record: the fields every delivery log (SQLite, JSON lines) holds.

A record never holds a secret, a token, a header or the query string (where URL tokens
travel): only the verdict's fields, the method and path, and the body's size and SHA-256.
The body itself only when the operator asked for it (``store_bodies``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any, Protocol

from ..request import WebhookRequest
from ..verdict import Verdict

#: Record fields, in the order the SQLite table and the JSON lines hold them.
FIELDS = (
    "time",
    "route",
    "outcome",
    "reason",
    "status",
    "client_ip",
    "event_id",
    "claimed_event_id",
    "secret_id",
    "method",
    "path",
    "body_size",
    "body_sha256",
    "latency_us",
    "reported",
    "detail",
    "body",
)

#: Every outcome a record can have.
OUTCOMES = ("accepted", "rejected", "duplicate", "handshake", "reported")


class DeliveryRecorder(Protocol):
    """What :class:`~webhook_guard.Guard` calls after each check of a webhook route.

    ``record`` runs on the request path: it must be quick and must not raise (the guard
    logs and swallows an exception, but a slow recorder slows every delivery).
    """

    def record(self, verdict: Verdict, request: WebhookRequest, seconds: float) -> None:
        """Record one verdict; ``seconds``: how long the check took."""


def outcome_of(verdict: Verdict) -> tuple[str, str | None]:
    """The ``(outcome, reason)`` of a verdict: one of :data:`OUTCOMES` and the wire code
    of the reason (for ``reported``, the first failure let through)."""
    reason = verdict.reason
    if reason is not None:
        if verdict.duplicate:
            return "duplicate", reason.value
        if reason.value == "handshake":
            return "handshake", reason.value
        return "rejected", reason.value
    if verdict.reported:
        return "reported", verdict.reported[0].value
    return "accepted", None


# A delivery ID as a request may claim it: what the guard itself accepts as an ID
# (printable ASCII, no spaces, at most 128 characters), so it is safe in any log line.
_CLAIMED_ID = re.compile(r"[\x21-\x7e]{1,128}")


class ClaimedIds:
    """The delivery ID a refused request claims, from the header its route takes IDs from.

    A refusal has no verified ``event_id``; the unverified one lets an operator find the
    delivery a provider's dashboard shows as failed. Only a single header line holding a
    plain ID is taken; a body is never parsed for it.
    """

    def __init__(self) -> None:
        self._headers: Mapping[str, tuple[str, ...]] = {}

    def bind_routes(self, id_headers: Mapping[str, tuple[str, ...]]) -> None:
        """Called by the guard: per route name, the headers its delivery IDs come from."""
        self._headers = dict(id_headers)

    def claimed(self, verdict: Verdict, request: WebhookRequest) -> str | None:
        if verdict.event_id is not None or verdict.route is None:
            return None
        for name in self._headers.get(verdict.route, ()):
            lines = request.header(name)
            if lines:
                value = lines[0].strip() if len(lines) == 1 else ""
                return value if _CLAIMED_ID.fullmatch(value) else None
        return None


def delivery_row(
    verdict: Verdict,
    method: str,
    path: str,
    body: bytes,
    seconds: float,
    when: float,
    store_body: bool,
    claimed_event_id: str | None = None,
) -> tuple[Any, ...]:
    """The record of one delivery as a tuple in :data:`FIELDS` order (``body`` None unless
    ``store_body``)."""
    outcome, reason = outcome_of(verdict)
    return (
        when,
        verdict.route,
        outcome,
        reason,
        verdict.status,
        verdict.client_ip,
        verdict.event_id,
        claimed_event_id,
        verdict.secret_id,
        method,
        path,
        len(body),
        hashlib.sha256(body).hexdigest(),
        round(seconds * 1e6),
        ",".join([r.value for r in verdict.reported]),
        verdict.detail or None,
        body if store_body else None,
    )


def json_line(record: Mapping[str, Any]) -> str:
    """A record (keyed by :data:`FIELDS`, maybe more) as one JSON line; a stored body
    as base64, under ``body_base64``."""
    out = {k: v for k, v in record.items() if k != "body"}
    if record.get("body") is not None:
        out["body_base64"] = base64.b64encode(record["body"]).decode()
    return json.dumps(out, separators=(",", ":"), ensure_ascii=True)


class JsonLinesAudit(ClaimedIds):
    """The delivery log as JSON lines on a stream (default: standard output), for a log
    pipeline (Vector, Fluent Bit, Loki, a cloud logging agent) instead of SQLite.

    Pass it as ``Guard(..., audit=JsonLinesAudit())``. Writes happen inline, one line per
    delivery; a failing stream is reported once on standard error and never fails a
    delivery.

    Args:
        stream: a text stream; default ``sys.stdout`` (looked up per line).
        store_bodies: also write each body (``body_base64``).
    """

    def __init__(self, stream: IO[str] | None = None, *, store_bodies: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._store_bodies = store_bodies
        self._lock = threading.Lock()
        self._failed = False

    def record(self, verdict: Verdict, request: WebhookRequest, seconds: float) -> None:
        row = delivery_row(
            verdict,
            request.method,
            request.path,
            request.body,
            seconds,
            time.time(),
            self._store_bodies,
            self.claimed(verdict, request),
        )
        line = json_line(dict(zip(FIELDS, row, strict=True)))
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            with self._lock:
                stream.write(line + "\n")
                stream.flush()
        except (OSError, ValueError) as exc:
            if not self._failed:
                self._failed = True
                from ..logs import logger

                logger.error("delivery log: cannot write JSON lines (%s)", exc)
