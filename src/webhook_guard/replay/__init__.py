"""Replay protection stores."""

from .base import ReplayState, ReplayStore
from .memory import MemoryReplayStore

__all__ = ["MemoryReplayStore", "ReplayState", "ReplayStore"]
