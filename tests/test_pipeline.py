"""The pipeline's public face: Verdict.verified, the Delivery lifecycle adapters drive,
misrouted handlers, route plans and Guard.close()/aclose()."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import Guard, MemoryReplayStore, Reason, WebhookRequest
from webhook_guard.pipeline import misrouted
from webhook_guard.testing import FakeClock, sign

from .conftest import BODY, NOW, SW_SECRET, GuardFactory

ROUTE: dict[str, Any] = {"name": "sw", "path": "/hooks/sw", "provider": "standard"}


def signed(guard: Guard, body: bytes = BODY, **kwargs: Any) -> WebhookRequest:
    headers = sign(guard, "sw", body, **kwargs)
    return WebhookRequest("POST", "/hooks/sw", headers=headers, body=body, peer="203.0.113.9")


def test_only_a_fully_checked_request_is_verified(make_guard: GuardFactory) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET]})
    req = signed(guard)
    assert not guard.precheck(req).verified  # the body is not checked yet
    verdict = guard.check(req)
    assert verdict.ok
    assert verdict.verified
    tampered = WebhookRequest("POST", "/hooks/sw", headers=req.headers, body=b"{}")
    assert not guard.check(tampered).verified
    unrouted = guard.check(WebhookRequest("POST", "/elsewhere", body=b"{}"))
    assert unrouted.ok
    assert not unrouted.verified


def test_a_report_mode_pass_is_not_verified(make_guard: GuardFactory) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET], "mode": "report"})
    req = WebhookRequest("POST", "/hooks/sw", headers=signed(guard).headers, body=b"forged")
    verdict = guard.check(req)
    assert verdict.ok
    assert verdict.reported == (Reason.SIGNATURE_MISMATCH,)
    assert not verdict.verified


def test_a_delivery_carries_a_request_through_check_and_settling(
    make_guard: GuardFactory,
) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET]})
    req = signed(guard)
    body = req.body
    req.body = b""
    delivery = guard.begin(req, "/hooks/sw")
    assert delivery.needs_body
    assert delivery.body_limit == guard.config.routes[0].max_body_bytes
    verdict = delivery.check(body)
    assert verdict.verified
    assert not delivery.needs_body
    delivery.complete(200)
    again = guard.begin(signed(guard, event_id=verdict.event_id), "/hooks/sw")
    assert again.check(BODY).duplicate  # committed by complete(200)


def test_a_delivery_refuses_a_body_over_the_limit(make_guard: GuardFactory) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET], "max_body_bytes": 10})
    delivery = guard.begin(WebhookRequest("POST", "/hooks/sw"), "/hooks/sw")
    verdict = delivery.check(b"x" * 11)
    assert verdict.reason is Reason.BODY_TOO_LARGE
    assert verdict.status == 413
    assert not delivery.needs_body


def test_a_delivery_on_another_dispatched_route_is_refused(make_guard: GuardFactory) -> None:
    guard = make_guard(
        {**ROUTE, "secrets": [SW_SECRET]},
        {"name": "other", "path": "/hooks/other", "token": {"header": "X-T", "secrets": ["t"]}},
    )
    delivery = guard.begin(signed(guard), "/hooks/other")
    assert delivery.verdict.reason is Reason.PATH_INVALID
    assert not delivery.needs_body


def test_async_delivery(make_guard: GuardFactory) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET]})
    req = signed(guard)

    async def run() -> bool:
        delivery = guard.begin(req)
        verdict = await delivery.acheck(req.body)
        await delivery.acomplete(200)
        return verdict.verified

    assert asyncio.run(run())


def test_misrouted_handler_is_logged(
    caplog: pytest.LogCaptureFixture, make_guard: GuardFactory
) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET]})
    verdict = guard.check(signed(guard))
    assert not misrouted(verdict, "sw", "/hooks/sw")
    with caplog.at_level(logging.ERROR, logger="webhook_guard"):
        assert misrouted(verdict, "orders", "/hooks/sw")
    assert "protected as route 'orders'" in caplog.text


def test_plans_run_only_the_configured_checks(make_guard: GuardFactory) -> None:
    guard = make_guard(
        {**ROUTE, "secrets": [SW_SECRET]},
        {
            "name": "tok",
            "path": "/t",
            "token": {"header": "X-T", "secrets": ["t"]},
            "event_id": "none",
        },
    )
    assert guard.plan("sw").steps == (
        "route",
        "method",
        "body",
        "timestamp",
        "signature",
        "replay",
    )
    assert guard.plan("tok").steps == ("route", "method", "body", "token")
    with pytest.raises(KeyError):
        guard.plan("missing")


class _Store(MemoryReplayStore):
    closed = False

    def close(self) -> None:
        self.closed = True


def test_close_leaves_a_passed_store_open_and_closes_its_own_delivery_log(
    tmp_path: Path,
) -> None:
    clock = FakeClock(NOW)
    store = _Store(100, clock=clock)
    path = tmp_path / "deliveries.db"
    config = {
        "version": 1,
        "routes": [{**ROUTE, "secrets": [SW_SECRET]}],
        "audit": {"path": str(path)},
    }
    guard = Guard.from_dict(config, store=store, clock=clock)
    assert guard.check(signed(guard)).ok
    guard.close()
    assert not store.closed
    # Closing flushed the delivery log: the row is on disk.
    rows = sqlite3.connect(path).execute("select count(*) from deliveries").fetchone()
    assert rows == (1,)


def test_a_clock_assigned_later_is_the_one_checks_use(make_guard: GuardFactory) -> None:
    guard = make_guard({**ROUTE, "secrets": [SW_SECRET]})
    req = signed(guard)
    guard.clock = lambda: NOW + 3600
    assert guard.check(req).reason is Reason.TIMESTAMP_TOO_OLD
