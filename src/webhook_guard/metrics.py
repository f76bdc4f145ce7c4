"""Prometheus metrics for verdicts (the ``metrics`` extra: prometheus-client).

```python
from webhook_guard import Guard
from webhook_guard.metrics import PrometheusMetrics

guard = Guard.from_file("webhook-guard.yaml", metrics=PrometheusMetrics())
```

Exposes, per route:

- ``webhook_guard_requests_total{route,outcome,reason}``: outcome is ``accepted``,
  ``rejected``, ``duplicate``, ``handshake`` (a provider's endpoint check the guard
  answered) or ``reported`` (let through in report mode; ``reason`` is the first failure
  recorded); ``reason`` is empty for accepted requests.
- ``webhook_guard_verification_seconds{route}``: time spent in ``check``/``acheck``, replay
  store round trip included.
- ``webhook_guard_previous_secret_total{route,secret}``: requests verified by a secret other
  than the first one listed for the route. When it stops growing for a label, no sender
  uses that secret any more and it can be retired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .audit.record import outcome_of
from .verdict import Verdict

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["PrometheusMetrics", "VerdictMetrics"]

# Verification takes microseconds; a replay-store round trip milliseconds.
LATENCY_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)


class VerdictMetrics(Protocol):
    """What :class:`~webhook_guard.Guard` calls after each check of a webhook route."""

    def observe(self, verdict: Verdict, seconds: float, previous_secret: bool) -> None:
        """Record one verdict; ``previous_secret``: it matched a secret other than the first."""


def outcome(verdict: Verdict) -> tuple[str, str]:
    """The ``(outcome, reason)`` labels of a verdict: the audit record's, with an empty
    reason for an accepted request."""
    kind, reason = outcome_of(verdict)
    return kind, reason or ""


class PrometheusMetrics:
    """Counters and a latency histogram in a prometheus-client registry.

    Args:
        registry: where to register (default: prometheus-client's global ``REGISTRY``).
            Pass a fresh ``CollectorRegistry()`` per guard in tests or when one process
            runs several guards.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        try:
            from prometheus_client import REGISTRY, Counter, Histogram
        except ImportError as exc:  # pragma: no cover - exercised without the extra only
            raise ImportError(
                "PrometheusMetrics needs prometheus-client: "
                "pip install 'webhook-guard-middleware[metrics]'"
            ) from exc
        registry = REGISTRY if registry is None else registry
        self.requests = Counter(
            "webhook_guard_requests",
            "Webhook requests checked, by route, outcome and reason code.",
            ["route", "outcome", "reason"],
            registry=registry,
        )
        self.latency = Histogram(
            "webhook_guard_verification_seconds",
            "Time spent verifying one webhook request (replay store included).",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.previous_secret = Counter(
            "webhook_guard_previous_secret",
            "Requests verified by a secret other than the route's first (current) one.",
            ["route", "secret"],
            registry=registry,
        )

    def observe(self, verdict: Verdict, seconds: float, previous_secret: bool) -> None:
        route = verdict.route or ""
        self.requests.labels(route, *outcome(verdict)).inc()
        self.latency.labels(route).observe(seconds)
        if previous_secret and verdict.secret_id is not None:
            self.previous_secret.labels(route, verdict.secret_id).inc()
