"""Helpers for testing code that sits behind webhook_guard.

Example::

    from webhook_guard import Guard, WebhookRequest
    from webhook_guard.testing import sign

    guard = Guard.from_file("webhook-guard.yaml")
    body = b'{"type": "ping"}'
    headers = sign(guard, "billing", body)          # signed with the route's own secret
    verdict = guard.check(WebhookRequest("POST", "/hooks/billing", headers=headers, body=body))
    assert verdict.ok
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any, overload
from urllib.parse import urlsplit

from .config import RouteConfig, load_config
from .errors import ConfigError, WebhookGuardError
from .guard import Guard
from .secrets import Secret
from .signatures import PRESETS, make_scheme

__all__ = ["FakeClock", "SignArgumentError", "sign", "sign_body"]


class SignArgumentError(WebhookGuardError, ValueError):
    """An argument of :func:`sign` for a preset name is missing or invalid; ``argument``
    names it (``url`` or ``secret``), so a caller such as the CLI can name its own option."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        self.problem = problem
        super().__init__(f"{argument}= {problem}")


@overload
def sign(
    target: Guard,
    route: str,
    body: bytes | str,
    /,
    *,
    secret: str | bytes | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    method: str = "POST",
    path: str | None = None,
    query: str = "",
) -> dict[str, str]: ...


@overload
def sign(
    target: RouteConfig | str,
    body: bytes | str,
    /,
    *,
    secret: str | bytes | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    method: str = "POST",
    path: str | None = None,
    query: str = "",
    url: str | None = None,
) -> dict[str, str]: ...


def sign(
    target: Guard | RouteConfig | str,
    *args: Any,
    secret: str | bytes | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    method: str = "POST",
    path: str | None = None,
    query: str = "",
    url: str | None = None,
) -> dict[str, str]:
    """The headers a provider would send with ``body``, for testing your own handlers.

    Three forms::

        sign(guard, "billing", body)                  # a configured route, its own secret
        sign(guard.config.route("billing"), body)     # the same, from a RouteConfig
        sign("stripe", body, secret="whsec_...")      # a preset name and a secret

    Example (a Stripe-style request your handler's tests can send)::

        headers = sign("stripe", b'{"id":"evt_1"}', secret="whsec_test")
        # {"stripe-signature": "t=1700000000,v1=5f0c..."}

    Args:
        target: a :class:`~webhook_guard.Guard` (then the route name comes next), a
            :class:`~webhook_guard.config.RouteConfig`, or a preset name.
        body: the exact body bytes (str is UTF-8 encoded). Stripe's and Paddle's event ID
            is read from the body (``id`` / ``event_id``), so put it there.
        secret: the secret to sign with; default: the route's first active secret
            (required with a preset name). For ``algorithm: ed25519`` routes this is the
            private key, ``whsk_`` + base64 of the 32-byte seed.
        timestamp: Unix seconds; default: the guard's clock, else the current time.
        event_id: the delivery ID for presets that send one in a header; default: a random
            ``msg_...`` ID.
        method, path, query: only needed for schemes that sign them; ``path`` defaults to
            the route's path (with ``*`` replaced by ``test``).
        url: with a preset name, the full URL the provider calls (Twilio signs it); sets
            ``public_url``, ``path`` and ``query``.

    Returns:
        Header name (lower case) -> value. A route with a header token (GitLab) gets that
        header too, and one with a basic-auth token (Postmark) an ``Authorization`` header
        (user name ``webhook`` unless the route names one); for a query token, add it to
        the URL yourself.
    """
    config, payload, now, path, query = _target(target, args, secret, url, path, query)
    headers: dict[str, str] = {}
    delivery = event_id or "msg_" + os.urandom(12).hex()
    if config.signature is not None:
        scheme = make_scheme(config.signature)
        if config.signature.algorithm == "ed25519" and secret is None:
            raise ValueError(
                "the route holds Ed25519 public keys; pass the signing key "
                "(secret='whsk_...') to sign"
            )
        key = _pick(config.secrets, secret, now)
        req_path = path or config.path.replace("*", "test")
        values = {
            "id": delivery,
            "timestamp": str(int(now) if timestamp is None else timestamp),
            "method": method.upper(),
            "path": req_path,
            "url": f"{config.public_url}{req_path}{'?' + query if query else ''}",
        }
        headers.update(scheme.sign(key, payload, values))
    if config.token is not None and config.token.source == "clientstate":
        raise ValueError("msgraph's clientState travels in the body: use sign_body()")
    if config.token is not None and config.token.source in ("header", "basic"):
        given = secret if config.signature is None else None
        token = _pick(config.token.secrets, given, now).reveal().decode()
        if config.token.source == "basic":
            user = config.token.name or "webhook"
            credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
            headers["authorization"] = f"Basic {credentials}"
        else:
            assert config.token.name is not None
            headers[config.token.name] = token
    if config.event_id.source == "header" and config.event_id.header:
        headers.setdefault(config.event_id.header, delivery)
    return headers


def sign_body(
    target: Guard | RouteConfig | str,
    *args: Any,
    secret: str | bytes | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
) -> bytes:
    """The body a provider that signs inside the body (Mailgun) would send: ``body``
    with its signature fields added; for Microsoft Graph (``msgraph``), ``clientState``
    set in each notification of ``value``. The same target forms as :func:`sign`.

    Example::

        body = sign_body("mailgun", b'{"event-data": {"event": "delivered"}}',
                         secret="key-...")
        # b'{"event-data":{...},"signature":{"timestamp":"...","token":"...",...}}'

    Args:
        event_id: Mailgun's ``token`` (default: 50 random hex characters, as Mailgun's).
    """
    config, payload, now, _, _ = _target(target, args, secret, None, None, "")
    if config.token is not None and config.token.source == "clientstate":
        return _with_client_state(payload, _pick(config.token.secrets, secret, now))
    scheme = make_scheme(config.signature) if config.signature is not None else None
    sign_in_body = getattr(scheme, "sign_body", None)
    if scheme is None or sign_in_body is None:
        raise ValueError("this route's provider signs in headers: use sign()")
    values = {
        "id": event_id or os.urandom(25).hex(),
        "timestamp": str(int(now) if timestamp is None else timestamp),
    }
    signed: bytes = sign_in_body(_pick(config.secrets, secret, now), payload, values)
    return signed


def _with_client_state(body: bytes, token: Secret) -> bytes:
    """A Graph notification body with ``clientState`` set in each item of ``value``."""
    event = json.loads(body)
    items = event.get("value") if isinstance(event, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError('the body must be {"value": [{...}, ...]} (Graph notifications)')
    for item in items:
        item["clientState"] = token.reveal().decode()
    return json.dumps(event, separators=(",", ":")).encode()


def _target(
    target: Guard | RouteConfig | str,
    args: tuple[Any, ...],
    secret: str | bytes | None,
    url: str | None,
    path: str | None,
    query: str,
) -> tuple[RouteConfig, bytes, float, str | None, str]:
    """(route config, body bytes, now, path, query) of :func:`sign`'s arguments."""
    if isinstance(target, Guard):
        route_name, body = args
        config: RouteConfig = target.config.route(route_name)
        now = target.clock()
    else:
        (body,) = args
        now = time.time()
        if isinstance(target, RouteConfig):
            config = target
        else:
            if secret is None:
                raise ValueError("signing for a preset name needs secret=")
            config, path, query = _preset_route(target, secret, url, path, query)
    return config, body.encode() if isinstance(body, str) else body, now, path, query


def _preset_route(
    preset: str, secret: str | bytes, url: str | None, path: str | None, query: str
) -> tuple[RouteConfig, str | None, str]:
    """A one-route config for ``preset``, validated like any other."""
    route: dict[str, Any] = {"name": "test", "path": "/test", "provider": preset}
    if url is not None:
        parts = urlsplit(url)
        route["public_url"] = f"{parts.scheme}://{parts.netloc}"
        path, query = parts.path or "/", parts.query
    elif preset in PRESETS and "{url}" in str(PRESETS[preset].signature.get("signed_content")):
        raise SignArgumentError("url", f"is required: the {preset} preset signs the URL")
    text = secret if isinstance(secret, str) else secret.decode()
    if text.startswith("whsk_"):
        # A Standard Webhooks v1a signing key: the route holds its public key.
        from .signatures.ed25519 import public_key_for

        route["signature"] = {"algorithm": "ed25519"}
        text = public_key_for(text)
    route["secrets"] = [text]
    try:
        config = load_config({"version": 1, "routes": [route]})
    except ConfigError as exc:
        # Name the argument, not the place in the one-route config made up here.
        first = exc.errors[0]
        for key, argument in (("secrets[0]", "secret"), ("public_url", "url")):
            prefix = f"routes[0].{key}: "
            if first.startswith(prefix):
                raise SignArgumentError(argument, first.removeprefix(prefix)) from None
        raise
    return config.routes[0], path, query


def _pick(secrets: tuple[Secret, ...], given: str | bytes | None, now: float) -> Secret:
    if given is not None:
        return Secret(given, "given")
    for s in secrets:
        if s.active(now):
            return s
    raise ValueError("the route has no active secret to sign with")


class FakeClock:
    """A settable clock for ``Guard(clock=...)`` and ``MemoryReplayStore(clock=...)``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self.now += seconds
