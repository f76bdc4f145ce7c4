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


__all__ = ["MemoryReplayStore", "RedisReplayStore", "ReplayState", "ReplayStore", "open_store"]
