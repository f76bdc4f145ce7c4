"""In-process replay store, bounded by ``max_entries`` (one process only)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cachetools import FIFOCache

from .base import ReplayState

logger = logging.getLogger("webhook_guard")


class MemoryReplayStore:
    """A bounded in-memory :class:`~webhook_guard.replay.ReplayStore`.

    Entries carry their own deadline and are treated as absent once it passes; when the
    store is full the oldest entry is evicted (entries of one route share a TTL, so the
    oldest is also the first to expire). Evicting an entry before its deadline weakens
    replay protection for that event, so it is logged: raise ``max_entries`` or use Redis.

    Why FIFOCache and not TTLCache: a per-entry deadline in the value gives both
    reservation and retention TTLs in one map, and it is about 2.5x faster per check.

    Args:
        max_entries: upper bound on remembered events.
        clock: monotonic time source (tests pass a fake one).
    """

    def __init__(
        self, max_entries: int = 1_000_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # Value: a float deadline for a DONE event, or (deadline, token) for a reservation;
        # the bare float keeps a million remembered events in about 200 MB.
        self._entries: FIFOCache[str, float | tuple[float, str]] = _EvictingCache(
            maxsize=max_entries, clock=clock
        )
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.reserve`."""
        now = self._clock()
        try:
            # One lookup: Cache.get() would cost a __contains__ and a __getitem__ call.
            entry = self._entries[key]
        except KeyError:
            entry = None
        if entry is not None:
            if entry.__class__ is float:
                if entry > now:  # type: ignore[operator,unused-ignore]
                    return ReplayState.DONE
            elif entry[0] > now:  # type: ignore[index,unused-ignore]
                return ReplayState.IN_FLIGHT
        self._entries[key] = (now + ttl, token)
        return ReplayState.NEW

    def commit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.commit`."""
        # Even if our reservation lapsed and another worker took the key, this event has
        # now been processed, so DONE is the truth.
        # FIFOCache moves a re-set key to the end, so retention counts from now.
        self._entries[key] = self._clock() + ttl

    def release(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.release`."""
        entry = self._entries.get(key)
        if isinstance(entry, tuple) and entry[1] == token:
            del self._entries[key]

    async def areserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.areserve`."""
        return self.reserve(key, ttl, token)

    async def acommit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.acommit`."""
        self.commit(key, ttl, token)

    async def arelease(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.arelease`."""
        self.release(key, token)


class _EvictingCache(FIFOCache):  # type: ignore[type-arg]
    """FIFOCache that logs when it evicts an entry that had not yet expired."""

    def __init__(self, maxsize: int, clock: Callable[[], float]) -> None:
        super().__init__(maxsize=maxsize)
        self._clock = clock
        self._warned_at = float("-inf")

    def popitem(self) -> tuple[str, float | tuple[float, str]]:
        key, entry = super().popitem()
        now = self._clock()
        deadline = entry if isinstance(entry, float) else entry[0]
        if deadline > now and now - self._warned_at > 60:
            self._warned_at = now
            logger.warning(
                "memory replay store is full (max_entries=%d): evicting events before their "
                "retention ends weakens replay protection; raise max_entries or use redis",
                self.maxsize,
            )
        return key, entry
