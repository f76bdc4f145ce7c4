from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from fractions import Fraction
from typing import Any

import pytest

from webhook_guard import Guard, MemoryReplayStore, Reason, ReplayState, ReplayStore
from webhook_guard.testing import FakeClock, sign

from .conftest import BODY, NOW, post, sw_route


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def store(clock: FakeClock) -> MemoryReplayStore:
    return MemoryReplayStore(max_entries=100, clock=clock)


def test_implements_the_protocol(store: MemoryReplayStore) -> None:
    assert isinstance(store, ReplayStore)


def test_new_in_flight_done(store: MemoryReplayStore) -> None:
    assert store.reserve("r:1", 60, "a") is ReplayState.NEW
    assert store.reserve("r:1", 60, "b") is ReplayState.IN_FLIGHT
    store.commit("r:1", 600, "a")
    assert store.reserve("r:1", 60, "c") is ReplayState.DONE


def test_reservation_expires(store: MemoryReplayStore, clock: FakeClock) -> None:
    store.reserve("r:1", 60, "a")
    clock.advance(59.9)
    assert store.reserve("r:1", 60, "b") is ReplayState.IN_FLIGHT
    clock.advance(0.2)
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW


def test_done_expires_after_its_ttl(store: MemoryReplayStore, clock: FakeClock) -> None:
    store.reserve("r:1", 60, "a")
    store.commit("r:1", 600, "a")
    clock.advance(599)
    assert store.reserve("r:1", 60, "b") is ReplayState.DONE
    clock.advance(2)
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW


def test_release_only_with_the_holding_token(store: MemoryReplayStore) -> None:
    store.reserve("r:1", 60, "a")
    store.release("r:1", "someone-else")
    assert store.reserve("r:1", 60, "b") is ReplayState.IN_FLIGHT
    store.release("r:1", "a")
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW


def test_release_never_removes_a_done_event(store: MemoryReplayStore) -> None:
    store.reserve("r:1", 60, "a")
    store.commit("r:1", 600, "a")
    store.release("r:1", "a")
    assert store.reserve("r:1", 60, "b") is ReplayState.DONE


def test_commit_after_lapse_still_marks_done(store: MemoryReplayStore, clock: FakeClock) -> None:
    store.reserve("r:1", 60, "a")
    clock.advance(61)
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW
    store.commit("r:1", 600, "a")  # the slow first worker finished after all
    assert store.reserve("r:1", 60, "c") is ReplayState.DONE


def test_bounded_by_max_entries(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryReplayStore(max_entries=3, clock=clock)
    for i in range(5):
        store.reserve(f"r:{i}", 60, "t")
        store.commit(f"r:{i}", 600, "t")
    assert len(store) == 3
    assert store.reserve("r:0", 60, "t") is ReplayState.NEW  # evicted: oldest first
    assert store.reserve("r:4", 60, "t") is ReplayState.DONE
    assert "evicting events before their retention ends" in caplog.text


def test_eviction_of_expired_entries_is_silent(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryReplayStore(max_entries=2, clock=clock)
    store.commit("a", 10, "t")
    store.commit("b", 10, "t")
    clock.advance(11)
    store.commit("c", 10, "t")
    assert "evicting" not in caplog.text


def test_async_twins(store: MemoryReplayStore) -> None:
    async def scenario() -> list[ReplayState]:
        out = [await store.areserve("k", 60, "a"), await store.areserve("k", 60, "b")]
        await store.arelease("k", "a")
        out.append(await store.areserve("k", 60, "b"))
        await store.acommit("k", 60, "b")
        out.append(await store.areserve("k", 60, "c"))
        return out

    assert asyncio.run(scenario()) == [
        ReplayState.NEW,
        ReplayState.IN_FLIGHT,
        ReplayState.NEW,
        ReplayState.DONE,
    ]


def test_warning_is_rate_limited(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="webhook_guard")
    store = MemoryReplayStore(max_entries=1, clock=clock)
    for i in range(50):
        store.commit(f"k{i}", 600, "t")
    assert caplog.text.count("evicting") == 1


def test_commit_moves_the_event_to_the_back_of_the_eviction_queue(clock: FakeClock) -> None:
    store = MemoryReplayStore(max_entries=2, clock=clock)
    store.reserve("a", 60, "t")
    store.reserve("b", 60, "t")
    store.commit("a", 600, "t")  # a is now the newest entry
    store.reserve("c", 60, "t")  # evicts the oldest: b
    assert store.reserve("a", 60, "t") is ReplayState.DONE
    assert store.reserve("b", 60, "t2") is ReplayState.NEW


@pytest.mark.parametrize("start", [1_700_000_000, 1_700_000_000.0, Fraction(1_700_000_000)])
def test_any_number_type_from_the_clock(start: float) -> None:
    # An int clock (which the type hints allow) once made every DONE entry look like a
    # reservation, and every duplicate a store error.
    clock = FakeClock(start)
    store = MemoryReplayStore(max_entries=2, clock=clock)
    assert store.reserve("k", 60, "a") is ReplayState.NEW
    assert store.reserve("k", 60, "b") is ReplayState.IN_FLIGHT
    store.commit("k", 600, "a")
    assert store.reserve("k", 60, "c") is ReplayState.DONE
    store.release("k", "a")  # a late release never drops the DONE mark
    assert store.reserve("k", 60, "c") is ReplayState.DONE
    clock.advance(601)
    assert store.reserve("k", 60, "d") is ReplayState.NEW
    store.release("k", "d")
    assert store.reserve("k", 60, "e") is ReplayState.NEW
    for key in ("x", "y"):  # evicts k's reservation and then a DONE entry
        store.commit(key, 600, "t")
    assert len(store) == 2


def test_guard_with_an_int_clock_acknowledges_duplicates() -> None:
    clock = FakeClock(int(NOW))
    guard = Guard.from_dict(
        {"version": 1, "routes": [sw_route()]},
        store=MemoryReplayStore(clock=clock),
        clock=clock,
    )
    headers = sign(guard, "sw", BODY, event_id="msg_int")
    first = guard.check(post("/hooks/sw", headers, BODY))
    guard.complete(first, 200)
    again = guard.check(post("/hooks/sw", headers, BODY))
    assert again.reason is Reason.DUPLICATE_EVENT
    assert again.status == 200


class _SlowReads(OrderedDict[str, Any]):
    """Entries whose read lets other threads run before the caller acts on it (the GIL
    may switch there too, only more rarely)."""

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key, default)
        time.sleep(0.02)
        return found


def test_threads_reserving_one_key_at_once_get_one_reservation() -> None:
    """gunicorn gthread workers, runserver and thread pools share one memory store: two
    copies of a delivery reserved at once must not both find the key free."""
    store = MemoryReplayStore()
    store._entries = _SlowReads()
    results: list[ReplayState] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(store.reserve("k", 60, f"t{i}")))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [ReplayState.IN_FLIGHT] * 3 + [ReplayState.NEW]
