from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
import standardwebhooks

from webhook_guard import Guard, MemoryReplayStore, WebhookRequest
from webhook_guard.testing import FakeClock

# Standard Webhooks test secrets: "whsec_" + base64 of the key bytes.
SW_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
SW_SECRET_OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = 1_700_000_000.0
BODY = b'{"id":"evt_1","kind":"ping"}'


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


GuardFactory = Callable[..., Guard]


@pytest.fixture
def make_guard(clock: FakeClock) -> GuardFactory:
    """Build a guard from route dicts, on the fake clock (store included)."""

    def factory(*routes: dict[str, Any], **top: Any) -> Guard:
        config: dict[str, Any] = {"version": 1, "routes": list(routes), **top}
        env = top.pop("env", None) if "env" in top else None
        config.pop("env", None)
        store = MemoryReplayStore(config.get("replay", {}).get("max_entries", 1000), clock=clock)
        return Guard.from_dict(config, env=env, store=store, clock=clock)

    return factory


def sw_route(**overrides: Any) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": "sw",
        "path": "/hooks/sw",
        "provider": "standard",
        "secrets": [SW_SECRET],
    }
    route.update(overrides)
    return route


def post(
    path: str,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes = BODY,
    query: str = "",
    method: str = "POST",
    peer: str | None = "203.0.113.9",
) -> WebhookRequest:
    return WebhookRequest(method, path, query=query, headers=headers or {}, body=body, peer=peer)


def sdk_signed(
    msg_id: str, body: str, when: datetime | None = None, secret: str = SW_SECRET
) -> dict[str, str]:
    """Standard Webhooks headers made by the real standardwebhooks SDK (``when``
    defaults to the real clock: adapters tested over a socket use a real-clock guard)."""
    when = when or datetime.now(timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret).sign(msg_id, when, body),
        "content-type": "application/json",
    }


def preset_route(provider: str, secret: str, **extra: Any) -> dict[str, Any]:
    """A route named and pathed after its preset (``/hooks/<provider>``), one secret."""
    return {
        "name": provider,
        "path": f"/hooks/{provider}",
        "provider": provider,
        "secrets": [secret],
        **extra,
    }


def hex_hmac(key: str, message: bytes, digest: Any = hashlib.sha256) -> str:
    return hmac.new(key.encode(), message, digest).hexdigest()


def b64_hmac(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()
