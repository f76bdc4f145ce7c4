"""In-process replay store, bounded by ``max_entries`` (one process only)."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from .base import ReplayState

logger = logging.getLogger("webhook_guard")

_DONE = ReplayState.DONE
_IN_FLIGHT = ReplayState.IN_FLIGHT
_NEW = ReplayState.NEW

# Module name of a multi-process server's config class, its class name, and its attribute
# holding the number of worker processes (gunicorn -w, uvicorn --workers).
_SERVERS = (("gunicorn.config", "Config", "workers"), ("uvicorn.config", "Config", "workers"))
_checked_workers = False


def warn_if_many_workers() -> None:
    """Print a warning to stderr, once per process, when this process is one of several
    workers of a server (gunicorn ``-w``, uvicorn ``--workers``).

    A memory store remembers only what its own process saw, so a retry or replay that
    reaches another worker is processed again. Said on stderr, where the server's own
    start-up lines go, because the library's logger has only a NullHandler.
    """
    global _checked_workers
    if _checked_workers:
        return
    _checked_workers = True
    classes: dict[type, tuple[str, str]] = {}
    for module_name, class_name, attribute in _SERVERS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None)
        if isinstance(cls, type):
            classes[cls] = (module_name.partition(".")[0], attribute)
    if not classes:
        return
    # The server's parsed configuration is in this process (a forked gunicorn worker
    # inherits the arbiter's, a uvicorn worker is handed its own), but not reachable
    # from a module; looked for once per process.
    for obj in gc.get_objects():
        found = classes.get(type(obj))
        if found is None:
            continue
        server, attribute = found
        workers = getattr(obj, attribute, 1)
        if isinstance(workers, int) and workers > 1:
            print(
                f"webhook_guard: WARNING: {server} runs {workers} worker processes but the "
                "replay store is in memory: each process remembers only its own deliveries, "
                "so a retry or replay that reaches another worker is processed again. Set "
                "replay.store to a redis:// URL.",
                file=sys.stderr,
                flush=True,
            )
            return


class MemoryReplayStore:
    """A bounded in-memory :class:`~webhook_guard.replay.ReplayStore`.

    Entries carry their own deadline and are treated as absent once it passes; when the
    store is full the oldest entry is evicted (entries of one route share a TTL, so the
    oldest is also the first to expire). Evicting an entry before its deadline weakens
    replay protection for that event, so it is logged: raise ``max_entries`` or use Redis.

    Why a bare ``OrderedDict`` and not cachetools (which this store used before): a
    reservation is on every verified request's path, so its budget is 2 us per
    check+insert with a million entries (bench/bench_core.py, section 2; see
    docs/guides/performance.md). ``FIFOCache`` costs
    about 3.5 us there (every insert and eviction runs a chain of Python-level
    ``__setitem__``/``popitem``/``__delitem__`` calls and keeps a dict *and* an
    OrderedDict); the leanest cachetools usage measured 2.1 us without the eviction
    warning. ``OrderedDict`` does insert, ``move_to_end`` and ``popitem(last=False)`` in C:
    about 1.1 us, and one map instead of two (see bench/README.md). Each operation holds a
    lock (about 0.1 us): between reading a key's state and writing it, another thread may
    run, and two copies of a delivery would both be reserved.

    Args:
        max_entries: upper bound on remembered events.
        clock: monotonic time source (tests pass a fake one).
    """

    def __init__(
        self, max_entries: int = 1_000_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        # Value: a bare deadline for a DONE event, or (deadline, token) for a reservation;
        # the bare float keeps a million remembered events in about 200 MB. Order: oldest
        # insert or commit first, which is the eviction order.
        self._entries: OrderedDict[str, float | tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock
        self._warned_at = float("-inf")
        self._lock = threading.Lock()
        warn_if_many_workers()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def max_entries(self) -> int:
        """Upper bound on remembered events; lowering it evicts the oldest at once."""
        return self._max_entries

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        if value < 1:
            raise ValueError("max_entries must be at least 1")
        with self._lock:
            self._max_entries = value
            now = self._clock()
            while len(self._entries) > value:
                self._evict(now)

    def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.reserve`."""
        # Under the lock, reading the state and taking the key are one step for threads
        # too (gunicorn gthread, runserver, a threadpool): else two could both find the
        # key free between the read and the write, and both run the handler. Taken with
        # acquire/release, which costs half of what `with` does here.
        self._lock.acquire()
        try:
            now = self._clock()
            entries = self._entries
            entry = entries.get(key)
            if entry is None:
                entries[key] = (now + ttl, token)
                if len(entries) > self._max_entries:
                    self._evict(now)
                return _NEW
            # A reservation is the tuple; anything else is a DONE deadline, whatever
            # number type the clock returns (an int clock is allowed by the type hints).
            if entry.__class__ is tuple:
                if entry[0] > now:  # type: ignore[index,unused-ignore]
                    return _IN_FLIGHT
            elif entry > now:  # type: ignore[operator,unused-ignore]
                return _DONE
            # An expired entry is taken over; it moves to the back like a new one.
            entries[key] = (now + ttl, token)
            entries.move_to_end(key)
            return _NEW
        finally:
            self._lock.release()

    def commit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.commit`."""
        # Even if our reservation lapsed and another worker took the key, this event has
        # now been processed, so DONE is the truth. Retention counts from now, so the
        # event moves to the back of the eviction queue.
        self._lock.acquire()
        try:
            entries = self._entries
            now = self._clock()
            entries[key] = now + ttl
            entries.move_to_end(key)
            if len(entries) > self._max_entries:
                self._evict(now)
        finally:
            self._lock.release()

    def release(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.release`."""
        self._lock.acquire()
        try:
            entry = self._entries.get(key)
            if isinstance(entry, tuple) and entry[1] == token:
                del self._entries[key]
        finally:
            self._lock.release()

    async def areserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.areserve`."""
        return self.reserve(key, ttl, token)

    async def acommit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.acommit`."""
        self.commit(key, ttl, token)

    async def arelease(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.arelease`."""
        self.release(key, token)

    def _evict(self, now: float) -> None:
        _, entry = self._entries.popitem(last=False)
        deadline = entry[0] if entry.__class__ is tuple else entry  # type: ignore[index,unused-ignore]
        if deadline > now and now - self._warned_at > 60:  # type: ignore[operator,unused-ignore]
            self._warned_at = now
            logger.warning(
                "memory replay store is full (max_entries=%d): evicting events before their "
                "retention ends weakens replay protection; raise max_entries or use redis",
                self._max_entries,
            )
