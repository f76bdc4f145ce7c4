"""Replay protection stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ReplayState, ReplayStore
from .memory import MemoryReplayStore
from .redis_store import RedisReplayStore

if TYPE_CHECKING:
    from ..config import ReplayConfig


def open_store(config: ReplayConfig) -> ReplayStore:
    """The store that a ``replay:`` section describes (memory or a Redis URL)."""
    if config.store == "memory":
        return MemoryReplayStore(config.max_entries)
    return RedisReplayStore(
        config.store, prefix=config.prefix, socket_timeout=config.socket_timeout
    )


def same_store(new: ReplayConfig, old: ReplayConfig) -> bool:
    """Whether the store opened for ``old`` serves ``new`` as well, so that a reload keeps
    it with what it remembers: memory for memory (only ``max_entries`` may differ, which
    the store takes on), or one Redis client (a new store would forget nothing, but open
    a connection pool of its own). A new memory store would have forgotten every
    processed event and every reservation in flight: their copies would be processed
    again."""
    if new.store == "memory":
        return old.store == "memory"
    return (new.store, new.prefix, new.socket_timeout) == (
        old.store,
        old.prefix,
        old.socket_timeout,
    )


__all__ = [
    "MemoryReplayStore",
    "RedisReplayStore",
    "ReplayState",
    "ReplayStore",
    "open_store",
    "same_store",
]
