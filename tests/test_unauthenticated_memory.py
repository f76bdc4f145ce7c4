"""Unauthenticated input cannot grow memory: what the guard keeps from requests it has not
authenticated yet (the path normalisation cache, the address parse caches) is bounded in
bytes, not only in entries. Measured with tracemalloc: memory still held after thousands
of hostile requests, each with a distinct path or forwarding header."""

from __future__ import annotations

import gc
import logging
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from webhook_guard import Guard, WebhookRequest
from webhook_guard.forwarded import _parse_node_cached
from webhook_guard.ipset import _parse_text
from webhook_guard.routes import _normalise_cached

from .conftest import SW_SECRET

REQUESTS = 1500  # more than the path cache holds entries
LIMIT = 2_000_000  # bytes retained; unbounded caches of these requests keep 30 MB or more


def retained(send: Callable[[int], object]) -> int:
    """Bytes still allocated after ``send(0..REQUESTS-1)``, from empty caches."""
    send(-1)  # whatever the first request sets up once (lazy imports) is not counted
    for cache in (_normalise_cached, _parse_node_cached, _parse_text):
        cache.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(REQUESTS):
            send(i)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    # Refusals are logged as warnings; pytest's log capture would keep every record.
    # setLevel, not the attribute: it also clears the logger's isEnabledFor cache.
    logger = logging.getLogger("webhook_guard")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def guard() -> Guard:
    return Guard.from_dict(
        {
            "version": 1,
            "network": {"trusted_proxies": ["loopback"], "client_ip": "x-forwarded-for"},
            "routes": [
                {"name": "sw", "path": "/hooks/sw", "provider": "standard",
                 "secrets": [SW_SECRET], "allow_ips": ["192.0.2.0/24"]},
                {"name": "builds", "path": "/hooks/builds/*", "provider": "standard",
                 "secrets": [SW_SECRET]},
            ],
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/unrouted/{i}/" + "a" * 15_000,  # the worst case: 15 KB paths no route covers
        "/hooks/builds/{i}/" + "a" * 15_000,  # routed, refused unsigned
        "/unrouted/{i}/" + "a" * 200,  # short enough to be cached
        "/hooks//builds/{i}/" + "%61" * 60,  # not canonical, cached
        "/unrouted/{i}/%FF" + "a" * 5_000,  # path_invalid
    ],
    ids=["long", "long-routed", "short", "short-not-canonical", "invalid"],
)
def test_distinct_paths_do_not_stay_in_memory(guard: Guard, path: str) -> None:
    def send(i: int) -> object:
        return guard.check(WebhookRequest("POST", path.format(i=i), peer="198.51.100.7"))

    assert retained(send) < LIMIT


def test_distinct_forwarding_headers_do_not_stay_in_memory(guard: Guard) -> None:
    def send(i: int) -> object:
        forwarded = f"2001:db8::{i:x}, 10.{i % 250}.{i // 250}.7, 192.0.2.{i % 250}"
        headers = {"x-forwarded-for": forwarded + ", " + "9" * 90}
        return guard.check(WebhookRequest("POST", "/hooks/sw", headers=headers, peer="127.0.0.1"))

    assert retained(send) < LIMIT
