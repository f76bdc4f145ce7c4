"""The delivery log in SQLite: written off the request path, read by the CLI and the page.

Writing: :meth:`DeliveryLog.record` appends the verdict and a reference to the body to an
in-memory queue (a ``deque`` append: well under a microsecond); a background thread of each
process hashes the bodies and inserts the queued deliveries in one transaction every
:data:`FLUSH_INTERVAL` seconds. Several processes (gunicorn workers) share one file: WAL
mode lets readers run while one writer commits, and each batch waits up to
:data:`BUSY_TIMEOUT` seconds for the write lock. Whatever goes wrong with the file (missing
directory, no permission, disk full, a lock held too long) costs the records of that batch,
logged on the ``webhook_guard.audit`` logger, never a delivery.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from ..config import AuditConfig
from ..request import WebhookRequest
from ..verdict import Verdict
from .record import FIELDS, ClaimedIds, delivery_row

logger = logging.getLogger("webhook_guard.audit")

FLUSH_INTERVAL = 0.2
BUSY_TIMEOUT = 5.0
#: Deliveries queued at most per process while the file cannot be written; past that the
#: oldest queued ones are dropped (and counted), so a stuck log cannot eat the memory.
QUEUE_LIMIT = 10_000
#: How often (seconds) each writer applies the retention limits.
PRUNE_INTERVAL = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    route TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    status INTEGER,
    client_ip TEXT,
    event_id TEXT,
    claimed_event_id TEXT,
    secret_id TEXT,
    method TEXT,
    path TEXT,
    body_size INTEGER,
    body_sha256 TEXT,
    latency_us INTEGER,
    reported TEXT,
    detail TEXT,
    body BLOB
);
CREATE INDEX IF NOT EXISTS deliveries_time ON deliveries (time);
CREATE INDEX IF NOT EXISTS deliveries_event_id ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_claimed_event_id ON deliveries (claimed_event_id);
"""
# SQL text below is put together from constant column names only (FIELDS, _where()'s
# keyword names); every value is a bound parameter.
_COLUMNS = ", ".join(FIELDS)
_INSERT = f"INSERT INTO deliveries ({_COLUMNS}) VALUES ({', '.join('?' * len(FIELDS))})"  # noqa: S608


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the delivery log at ``path`` (created, in WAL mode, unless
    ``readonly``).

    Raises:
        sqlite3.Error: the file cannot be opened (or, read-only, does not exist).
    """
    if readonly:
        uri = "file:" + os.path.abspath(path).replace("?", "%3f").replace("#", "%23") + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False)
    else:
        # Client addresses and event IDs are nobody else's business: owner and group only
        # (SQLite gives its -wal and -shm files the same mode).
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o640))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
    conn.isolation_level = None  # explicit BEGIN IMMEDIATE below: no lock upgrades
    try:
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


class DeliveryLog(ClaimedIds):
    """Records every verdict into the SQLite file of an ``audit:`` config section.

    The guard builds one from ``audit:``; pass one as ``Guard(..., audit=...)`` to share it
    or to choose its clock. :meth:`flush` writes what is queued now (tests, shutdown).
    """

    def __init__(self, config: AuditConfig, *, clock: Any = time.time) -> None:
        super().__init__()
        self.config = config
        self.path = config.path
        self._clock = clock
        self.interval = FLUSH_INTERVAL
        """Seconds between the writer thread's batches."""
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=QUEUE_LIMIT)
        self._lock = threading.Lock()  # one batch at a time: the thread or flush()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self._failures = 0
        self._last_error = 0.0
        self.dropped = 0
        """Deliveries lost because the queue was full or the file could not be written."""
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            # Said at start-up, where it is read; writes would fail (and say so) anyway.
            logger.warning(
                "audit.path: directory %s does not exist; no delivery will be recorded "
                "until it does",
                directory,
            )

    def __repr__(self) -> str:
        return f"DeliveryLog(path={self.path!r})"

    def record(self, verdict: Verdict, request: WebhookRequest, seconds: float) -> None:
        queue = self._queue
        if len(queue) == QUEUE_LIMIT:
            self.dropped += 1
        claimed = self.claimed(verdict, request) if verdict.event_id is None else None
        queue.append(
            (self._clock(), verdict, request.method, request.path, request.body, seconds, claimed)
        )
        if self._pid != os.getpid():
            self._start()

    def _start(self) -> None:
        # In a forked worker the parent's thread and connection do not exist: start anew.
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._conn = None
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=_run,
                args=(weakref.ref(self), self._stop, self.interval),
                daemon=True,
                name="webhook_guard-audit",
            )
            self._thread.start()
            _OPEN.add(self)

    def flush(self) -> None:
        """Write every queued delivery now (failures are logged, not raised)."""
        with self._lock:
            self._write()

    def close(self) -> None:
        """Stop the writer thread after a last flush, and close the file."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=BUSY_TIMEOUT + 1)
        with self._lock:
            self._write()
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        _OPEN.discard(self)

    def _write(self) -> None:
        """Insert the queued deliveries in one transaction; drop them if that fails."""
        queue = self._queue
        if not queue:
            return
        batch = []
        store, pop = self.config.store_bodies, queue.popleft
        while queue:
            when, verdict, method, path, body, seconds, claimed = pop()
            batch.append(delivery_row(verdict, method, path, body, seconds, when, store, claimed))
        try:
            conn = self._conn
            if conn is None:
                conn = self._conn = connect(self.path)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, batch)
                now = self._clock()
                if now - self._last_prune >= PRUNE_INTERVAL:
                    self._prune(conn, now)
                    self._last_prune = now
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            self.dropped += len(batch)
            self._failed(exc, len(batch))
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM deliveries WHERE time < ?", (now - self.config.max_age,))
        conn.execute(
            "DELETE FROM deliveries WHERE id <= "
            "(SELECT id FROM deliveries ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (self.config.max_rows,),
        )

    def _failed(self, exc: Exception, lost: int) -> None:
        # One error line a minute at most: a broken log must not flood the server's output.
        self._failures += lost
        now = time.monotonic()
        if now - self._last_error >= 60.0 or not self._last_error:
            logger.error(
                "delivery log %s cannot be written (%s: %s); %d deliveries not recorded; "
                "deliveries are still checked and answered",
                self.path,
                type(exc).__name__,
                exc,
                self._failures,
            )
            self._last_error = now
            self._failures = 0


def _run(ref: weakref.ReferenceType[DeliveryLog], stop: threading.Event, interval: float) -> None:
    # A weak reference: a guard that is dropped takes its log (and this thread) with it.
    while not stop.wait(interval):
        log = ref()
        if log is None:
            return
        log.flush()
        del log


_OPEN: weakref.WeakSet[DeliveryLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for log in list(_OPEN):
        log.close()


def _after_fork() -> None:
    # A lock the parent's writer thread held at fork time would stay held in the child,
    # and what the parent had queued is the parent's to write.
    for log in list(_OPEN):
        log._lock = threading.Lock()
        log._pid = -1
        log._queue.clear()
    _OPEN.clear()


os.register_at_fork(after_in_child=_after_fork)


# -- reading ---------------------------------------------------------------------------


def query(
    conn: sqlite3.Connection,
    *,
    route: str | None = None,
    reason: str | None = None,
    outcome: str | None = None,
    since: float | None = None,
    event_id: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest deliveries matching every filter given, newest first (``after_id``: only
    those with a larger id, oldest first, for following the log)."""
    where, args = _where(
        route=route, reason=reason, outcome=outcome, since=since, event_id=event_id
    )
    if after_id is not None:
        where.append("id > ?")
        args.append(after_id)
    order = "ASC" if after_id is not None else "DESC"
    sql = (
        f"SELECT id, {_COLUMNS} FROM deliveries"  # noqa: S608
        f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id {order} LIMIT ?"
    )
    conn.row_factory = sqlite3.Row
    return [dict(row) for row in conn.execute(sql, (*args, limit))]


def summary(
    conn: sqlite3.Connection,
    *,
    since: float | None = None,
    route: str | None = None,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Deliveries per (route, outcome, reason, secret_id) in the window: count, first and
    last time, most first. (The secret shows when an old one can be retired.)"""
    where, args = _where(route=route, reason=reason, since=since)
    clause = " WHERE " + " AND ".join(where) if where else ""
    sql = (
        "SELECT route, outcome, reason, secret_id, COUNT(*) AS count, "  # noqa: S608
        f"MIN(time) AS first, MAX(time) AS last FROM deliveries{clause} "
        "GROUP BY route, outcome, reason, secret_id ORDER BY count DESC, route, reason"
    )
    conn.row_factory = sqlite3.Row
    return [dict(row) for row in conn.execute(sql, args)]


def buckets(
    conn: sqlite3.Connection,
    *,
    since: float,
    width: float,
    route: str | None = None,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Counts per time bucket (``bucket``: its index from ``since``) and outcome."""
    where, args = _where(route=route, reason=reason, since=since)
    sql = (
        "SELECT CAST((time - ?) / ? AS INTEGER) AS bucket, outcome, COUNT(*) AS count "  # noqa: S608
        f"FROM deliveries WHERE {' AND '.join(where)} GROUP BY bucket, outcome"
    )
    conn.row_factory = sqlite3.Row
    return [dict(row) for row in conn.execute(sql, (since, width, *args))]


def distinct(conn: sqlite3.Connection, column: str, since: float = 0.0) -> list[str]:
    """The values of ``route`` or ``reason`` seen in the log since ``since``, sorted."""
    assert column in ("route", "reason")
    sql = f"SELECT DISTINCT {column} FROM deliveries WHERE time >= ? AND {column} IS NOT NULL"  # noqa: S608
    rows = conn.execute(sql, (since,))
    return sorted(str(r[0]) for r in rows)


def _where(**filters: Any) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, value in filters.items():
        if value is None:
            continue
        if column == "since":
            where.append("time >= ?")
        elif column == "event_id":
            # A refused delivery has only the ID it claimed: find it by that too.
            where.append("(event_id = ? OR claimed_event_id = ?)")
            args.append(value)
        elif column == "reason" and value == "accepted":
            where.append("reason IS NULL AND ? = 'accepted'")
        else:
            where.append(f"{column} = ?")
        args.append(value)
    return where, args
