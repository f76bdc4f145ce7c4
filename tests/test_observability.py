"""Logging, the on_verdict callback and Prometheus metrics (docs/guides/observability.md)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from webhook_guard import Guard, MemoryReplayStore, Reason, Verdict, WebhookRequest
from webhook_guard.metrics import PrometheusMetrics
from webhook_guard.testing import FakeClock, sign

from .conftest import BODY, NOW, SW_SECRET, SW_SECRET_OLD, post, sw_route

TOKEN = "query-t0ken-value"
SECRET_VALUES = (SW_SECRET, SW_SECRET_OLD, SW_SECRET[6:], SW_SECRET_OLD[6:], TOKEN)


def build(*routes: dict[str, Any], clock: FakeClock, **kwargs: Any) -> Guard:
    config = {"version": 1, "routes": list(routes) or [sw_route()]}
    return Guard.from_dict(config, store=MemoryReplayStore(100, clock=clock), clock=clock, **kwargs)


def signed(guard: Guard, secret: str | None = None, event_id: str = "msg_1") -> WebhookRequest:
    return post("/hooks/sw", sign(guard, "sw", BODY, secret=secret, event_id=event_id))


def webhook_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "webhook_guard"]


# -- logging -----------------------------------------------------------------------------


def test_rejection_is_one_structured_line(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = build(clock=clock)
    request = post("/hooks/sw", sign(guard, "sw", BODY, secret=SW_SECRET_OLD))
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        verdict = guard.check(request)
    assert verdict.reason is Reason.SIGNATURE_MISMATCH
    [record] = webhook_records(caplog)
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith("webhook rejected: route=sw reason=signature_mismatch status=401")
    assert "client_ip=203.0.113.9" in message
    assert record.webhook_route == "sw"  # type: ignore[attr-defined]
    assert record.webhook_reason == "signature_mismatch"  # type: ignore[attr-defined]
    assert record.webhook_status == 401  # type: ignore[attr-defined]
    assert record.webhook_client_ip == "203.0.113.9"  # type: ignore[attr-defined]
    assert record.webhook_detail == verdict.detail  # type: ignore[attr-defined]


def test_accepted_delivery_is_logged_at_info_with_its_secret_id(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    route = sw_route(
        secrets=[
            {"value": SW_SECRET, "label": "2026-current"},
            {"value": SW_SECRET_OLD, "label": "2025-old"},
        ]
    )
    guard = build(route, clock=clock)
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        assert guard.check(signed(guard, SW_SECRET_OLD, event_id="msg_old")).ok
        assert guard.check(post("/elsewhere")).route is None  # no webhook route: no line
    [record] = webhook_records(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "webhook accepted: route=sw client_ip=203.0.113.9 event_id=msg_old secret_id=2025-old"
    )
    assert record.webhook_secret_id == "2025-old"  # type: ignore[attr-defined]
    assert record.webhook_reason is None  # type: ignore[attr-defined]


def test_accepted_deliveries_are_quiet_at_warning(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = build(clock=clock)
    with caplog.at_level(logging.WARNING, logger="webhook_guard"):
        assert guard.check(signed(guard)).ok
        assert asyncio.run(guard.acheck(signed(guard, event_id="msg_2"))).ok
    assert webhook_records(caplog) == []


def test_duplicate_is_logged_at_info_with_its_event_id(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = build(clock=clock)
    first = guard.check(signed(guard, event_id="msg_dup"))
    guard.complete(first, 200)
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        assert guard.check(signed(guard, event_id="msg_dup")).duplicate
    [record] = webhook_records(caplog)
    assert record.levelno == logging.INFO
    assert "reason=duplicate_event" in record.getMessage()
    assert "event_id=msg_dup" in record.getMessage()
    assert record.webhook_event_id == "msg_dup"  # type: ignore[attr-defined]


def test_report_mode_logs_what_would_have_been_rejected(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = build(sw_route(mode="report"), clock=clock)
    request = post("/hooks/sw", sign(guard, "sw", BODY, timestamp=int(NOW) - 900))
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        verdict = guard.check(request)
    assert verdict.ok
    [record] = webhook_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        "webhook would be rejected (report mode): route=sw reason=timestamp_too_old status=401"
    )
    assert "reported=timestamp_too_old" in record.getMessage()


def test_precheck_refusal_is_logged_once_and_a_pass_not_at_all(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = build(clock=clock)
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        assert guard.precheck(post("/hooks/sw", method="GET")).reason is Reason.METHOD_NOT_ALLOWED
        assert guard.precheck(signed(guard)).ok
    [record] = webhook_records(caplog)
    assert "reason=method_not_allowed" in record.getMessage()


ATTACKS = [
    pytest.param({"query": f"token={TOKEN}x"}, id="wrong-query-token"),
    pytest.param({"query": f"token={TOKEN}", "secret": SW_SECRET_OLD}, id="right-token-old-sig"),
    pytest.param({"query": f"token={TOKEN}", "stale": True}, id="right-token-stale"),
    pytest.param({"query": f"token={TOKEN}", "tamper": True}, id="right-token-tampered"),
    pytest.param({"query": f"token={TOKEN}&token={TOKEN}"}, id="repeated-token"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_secret_or_token_reaches_the_log_or_the_callback(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, attack: dict[str, Any]
) -> None:
    seen: list[Verdict] = []
    route = sw_route(
        token={"query": "token", "secrets": [TOKEN]},
        secrets=[SW_SECRET, {"value": SW_SECRET_OLD, "expires": "2023-01-01T00:00:00Z"}],
    )
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        guard = build(route, clock=clock, on_verdict=lambda v, r: seen.append(v))
        ts = int(NOW) - 900 if attack.get("stale") else None
        headers = sign(guard, "sw", BODY, secret=attack.get("secret"), timestamp=ts)
        body = BODY + b" " if attack.get("tamper") else BODY
        verdict = guard.check(post("/hooks/sw", headers, body=body, query=attack["query"]))
    assert not verdict.ok
    assert seen == [verdict]
    logged = caplog.text + repr([r.__dict__ for r in caplog.records])
    for value in SECRET_VALUES:
        assert value not in logged
        assert value not in repr(verdict)
        assert value not in verdict.problem_json().decode()


# -- on_verdict ----------------------------------------------------------------------------


def test_on_verdict_sees_every_routed_check_with_its_request(clock: FakeClock) -> None:
    calls: list[tuple[Verdict, WebhookRequest]] = []
    guard = build(clock=clock, on_verdict=lambda v, r: calls.append((v, r)))
    good, forged, unrouted = signed(guard), signed(guard, SW_SECRET_OLD), post("/other")
    for request in (good, forged, unrouted):
        guard.check(request)
    assert [(v.ok, v.reason, r) for v, r in calls] == [
        (True, None, good),
        (False, Reason.SIGNATURE_MISMATCH, forged),
    ]


def test_on_verdict_is_called_from_acheck(clock: FakeClock) -> None:
    calls: list[Verdict] = []
    guard = build(clock=clock, on_verdict=lambda v, r: calls.append(v))
    verdict = asyncio.run(guard.acheck(signed(guard)))
    assert calls == [verdict]


def test_failing_callback_is_logged_and_the_verdict_still_returned(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(verdict: Verdict, request: WebhookRequest) -> None:
        raise RuntimeError("callback bug")

    guard = build(clock=clock, on_verdict=explode)
    with caplog.at_level(logging.ERROR, logger="webhook_guard"):
        assert guard.check(signed(guard)).ok
    assert "on_verdict callback failed for route sw" in caplog.text
    assert "callback bug" in caplog.text


# -- Prometheus --------------------------------------------------------------------------


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_prometheus_counts_outcomes_latency_and_previous_secrets(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    route = sw_route(
        secrets=[
            {"value": SW_SECRET, "label": "2026-current"},
            {"value": SW_SECRET_OLD, "label": "2025-old"},
        ]
    )
    guard = build(route, clock=clock, metrics=PrometheusMetrics(registry))
    done = guard.check(signed(guard, event_id="msg_a"))
    guard.complete(done, 200)
    guard.check(signed(guard, SW_SECRET_OLD, event_id="msg_b"))
    guard.check(signed(guard, SW_SECRET_OLD, event_id="msg_c"))
    guard.check(signed(guard, event_id="msg_a"))  # duplicate
    guard.check(post("/hooks/sw", {}))  # no signature
    guard.precheck(post("/hooks/sw", method="PUT"))
    guard.check(post("/not-a-route"))

    def requests(outcome: str, reason: str = "") -> float:
        return sample(
            registry, "webhook_guard_requests_total", route="sw", outcome=outcome, reason=reason
        )

    assert requests("accepted") == 3
    assert requests("duplicate", "duplicate_event") == 1
    assert requests("rejected", "signature_missing") == 1
    assert requests("rejected", "method_not_allowed") == 1
    assert sample(registry, "webhook_guard_verification_seconds_count", route="sw") == 6
    assert sample(registry, "webhook_guard_verification_seconds_sum", route="sw") > 0
    previous = "webhook_guard_previous_secret_total"
    assert sample(registry, previous, route="sw", secret="2025-old") == 2
    assert sample(registry, previous, route="sw", secret="2026-current") == 0


def test_prometheus_counts_report_mode_passes_as_reported(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    guard = build(sw_route(mode="report"), clock=clock, metrics=PrometheusMetrics(registry))
    guard.check(signed(guard, SW_SECRET_OLD))
    assert (
        sample(
            registry,
            "webhook_guard_requests_total",
            route="sw",
            outcome="reported",
            reason="signature_mismatch",
        )
        == 1
    )


def test_previous_secret_of_a_token_only_route_is_counted(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    route = {
        "name": "tok",
        "path": "/hooks/tok",
        "token": {"query": "t", "secrets": ["new-token", {"value": "old-token", "label": "old"}]},
    }
    guard = build(route, clock=clock, metrics=PrometheusMetrics(registry))
    # Token-only routes dedupe on the body digest: two different deliveries.
    assert guard.check(post("/hooks/tok", body=b"one", query="t=old-token")).ok
    assert guard.check(post("/hooks/tok", body=b"two", query="t=new-token")).ok
    previous = "webhook_guard_previous_secret_total"
    assert sample(registry, previous, route="tok", secret="old") == 1
    assert sample(registry, previous, route="tok", secret="secrets[0]") == 0


def test_body_grown_past_the_limit_is_logged_counted_and_reported_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Adapters refuse a chunked body that outgrew the limit through the core, so the
    refusal looks like every other one to logs, metrics and on_verdict."""
    registry = CollectorRegistry()
    seen: list[Verdict] = []
    guard = build(
        sw_route(max_body_bytes=64),
        clock=clock,
        metrics=PrometheusMetrics(registry),
        on_verdict=lambda v, r: seen.append(v),
    )
    request = post("/hooks/sw", {})
    pre = guard.precheck(request)
    with caplog.at_level(logging.DEBUG, logger="webhook_guard"):
        verdict = guard.body_too_large(request, pre)
    assert verdict.reason is Reason.BODY_TOO_LARGE
    assert verdict.status == 413
    assert verdict.detail == "the body exceeds the limit of 64 bytes"
    assert seen == [verdict]
    [record] = webhook_records(caplog)
    assert "reason=body_too_large status=413" in record.getMessage()
    assert (
        sample(
            registry,
            "webhook_guard_requests_total",
            route="sw",
            outcome="rejected",
            reason="body_too_large",
        )
        == 1
    )
    assert guard.body_too_large(request, pre, 10).detail == "the body exceeds the limit of 10 bytes"
