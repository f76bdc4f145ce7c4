"""The ReplayStore protocol that every store implements."""

from __future__ import annotations

from enum import Enum
from typing import Protocol, runtime_checkable


class ReplayState(str, Enum):
    """What :meth:`ReplayStore.reserve` found for a key."""

    NEW = "new"
    """Nobody had the key: it is now reserved for the caller."""
    IN_FLIGHT = "in_flight"
    """Another handler holds an unexpired reservation."""
    DONE = "done"
    """The event was processed already."""


@runtime_checkable
class ReplayStore(Protocol):
    """Remembers which events were processed, with reservations for ones in progress.

    ``token`` identifies one reservation, so that a late ``release`` cannot remove a
    reservation another worker took after this one expired.
    """

    def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """Reserve ``key`` for ``ttl`` seconds unless it is reserved or done."""
        ...

    def commit(self, key: str, ttl: float, token: str) -> None:
        """Mark ``key`` done, remembered for ``ttl`` seconds."""
        ...

    def release(self, key: str, token: str) -> None:
        """Drop the reservation of ``key`` if ``token`` still holds it."""
        ...

    async def areserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """Async twin of :meth:`reserve`."""
        ...

    async def acommit(self, key: str, ttl: float, token: str) -> None:
        """Async twin of :meth:`commit`."""
        ...

    async def arelease(self, key: str, token: str) -> None:
        """Async twin of :meth:`release`."""
        ...
