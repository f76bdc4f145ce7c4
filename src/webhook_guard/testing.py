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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast, overload
from urllib.parse import urlsplit

from .config import RouteConfig, load_config
from .errors import ConfigError, WebhookGuardError
from .guard import Guard
from .secrets import Secret
from .signatures import PRESETS, make_scheme
from .signatures.base import ASYMMETRIC, FETCHED_KEY_SCHEMES
from .signatures.keyfetch import KeyFetcher, KeyUnavailable
from .signatures.timestamps import TimestampForm, format_timestamp

if TYPE_CHECKING:
    from .signatures.testkeys import KeyPair

__all__ = [
    "FakeClock",
    "SignArgumentError",
    "StaticKeyFetcher",
    "google_push_token",
    "keypair",
    "sign",
    "sign_body",
    "sns_body",
]


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
            (required with a preset name). For a public-key route (``discord``,
            ``sendgrid``, ``standard`` with ``algorithm: ed25519``...) this is the private
            key: PKCS#8 PEM, or the provider's private form (``whsk_...``, an Ed25519 seed
            in hex); :func:`keypair` makes one.
        timestamp: Unix seconds; default: the guard's clock, else the current time. It
            is written in the scheme's ``timestamp_format`` (milliseconds, RFC 3339). A
            timestamp inside the body (``timestamp_json``, Linear) is the body's own: put
            it there yourself.
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
        values = {
            "id": delivery,
            "timestamp": format_timestamp(
                int(now) if timestamp is None else timestamp,
                cast(TimestampForm, config.signature.timestamp_format),
            ),
            "method": method.upper(),
            "path": path or config.path.replace("*", "test"),
        }
        headers.update(_signature_headers(config, payload, secret, now, values, query))
    headers.update(_token_headers(config, secret, now))
    preset = PRESETS.get(config.provider or "")
    if preset is not None:
        headers.update(preset.sent_headers)
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


def _token_headers(config: RouteConfig, secret: str | bytes | None, now: float) -> dict[str, str]:
    """The header (or Basic credentials) carrying a token route's shared secret."""
    headers: dict[str, str] = {}
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
    return headers


def _signature_headers(
    config: RouteConfig,
    payload: bytes,
    secret: str | bytes | None,
    now: float,
    values: dict[str, str],
    query: str,
) -> dict[str, str]:
    """The signature headers of ``config``'s scheme over ``payload`` and the placeholder
    ``values`` (``{url}`` is built here from the route's ``public_url``)."""
    assert config.signature is not None
    if config.signature.algorithm in ASYMMETRIC and secret is None:
        hint = "secret='whsk_...'" if config.signature.secret_prefix == "whpk_" else "secret="
        raise ValueError(
            f"the route holds {config.signature.algorithm} public keys; pass the "
            f"signing key ({hint}) to sign"
        )
    key = _pick(config.secrets, secret, now)
    url = f"{config.public_url}{values['path']}{'?' + query if query else ''}"
    return make_scheme(config.signature).sign(key, payload, {**values, "url": url})


def _preset_route(
    preset: str, secret: str | bytes, url: str | None, path: str | None, query: str
) -> tuple[RouteConfig, str | None, str]:
    """A one-route config for ``preset``, validated like any other."""
    route: dict[str, Any] = {"name": "test", "path": "/test", "provider": preset}
    fetched = PRESETS[preset].signature.get("scheme") if preset in PRESETS else None
    if fetched in FETCHED_KEY_SCHEMES:
        how = {
            "sns": "make its body with webhook_guard.testing.sns_body()",
            "google-oidc": "make its token with webhook_guard.testing.google_push_token()",
        }.get(
            str(fetched),
            "sign for its route in a config: sign(guard, route, body, secret=<private key>), "
            "or webhook-guard sign --config FILE --route NAME --secret KEY",
        )
        raise ValueError(f"provider {preset!r} needs its route's settings to sign: {how}")
    if url is not None:
        parts = urlsplit(url)
        route["public_url"] = f"{parts.scheme}://{parts.netloc}"
        path, query = parts.path or "/", parts.query
    elif preset in PRESETS and "{url}" in str(PRESETS[preset].signature.get("signed_content")):
        raise SignArgumentError("url", f"is required: the {preset} preset signs the URL")
    text = secret if isinstance(secret, str) else secret.decode()
    v1a = preset == "standard" and text.startswith("whsk_")
    if v1a:
        # A Standard Webhooks v1a signing key: the route holds its public key.
        route["signature"] = {"algorithm": "ed25519"}
    if v1a or _public_key_preset(preset):
        from .signatures.testkeys import public_key_for

        try:
            text = public_key_for(text, preset)
        except ValueError as exc:
            raise SignArgumentError("secret", str(exc)) from None
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


def _public_key_preset(preset: str) -> bool:
    preset_obj = PRESETS.get(preset)
    return preset_obj is not None and preset_obj.signature.get("algorithm") in ASYMMETRIC


def keypair(preset: str) -> KeyPair:
    """A fresh key pair for a public-key preset, for your handlers' tests: ``.private_key``
    to pass to :func:`sign` (PKCS#8 PEM; ``whsk_...`` for ``standard``) and
    ``.public_key`` as the provider's dashboard shows it (Discord's hex, SendGrid's base64
    DER, ``whpk_...``), to put in the route's ``secrets``. Needs the ``pubkey`` extra.

    Example::

        pair = keypair("discord")
        guard = Guard.from_dict({"version": 1, "routes": [{"name": "bot",
            "path": "/interactions", "provider": "discord", "secrets": [pair.public_key]}]})
        headers = sign("discord", body, secret=pair.private_key)

    Raises:
        ValueError: ``preset`` verifies no public-key signatures.
    """
    from .signatures.testkeys import keypair as make

    return make(preset)


def sns_body(message: Mapping[str, Any], private_key: str, *, version: str = "2") -> bytes:
    """An SNS message body signed as AWS signs it, for ``provider: sns`` routes (whose
    signature is in the body, so :func:`sign` cannot make it).

    ``message`` holds the type's fields (``Type``, ``MessageId``, ``TopicArn``,
    ``Message``, ``Timestamp``...) and a ``SigningCertURL`` where your test serves
    ``keypair("sns").public_key`` (a certificate) through the guard's ``key_fetcher``;
    ``version`` is the ``SignatureVersion`` (1: SHA-1, 2: SHA-256).
    """
    from .signatures.testkeys import sign_sns

    return json.dumps(sign_sns(message, private_key, version=version)).encode()


def google_push_token(
    pair: KeyPair, *, audience: str, email: str, issued_at: float | None = None
) -> str:
    """A Pub/Sub push token (send as ``Authorization: Bearer <token>``) signed with
    ``keypair("google-pubsub")``, whose ``public_key`` is the JWKS your test serves
    through the guard's ``key_fetcher``."""
    from .signatures.testkeys import google_oidc_token

    return google_oidc_token(pair, audience=audience, email=email, issued_at=issued_at)


class StaticKeyFetcher(KeyFetcher):
    """A key fetcher serving fixed keys, for testing ``sns`` and ``google-pubsub`` routes
    without the network: ``Guard(config, key_fetcher=StaticKeyFetcher({url: key}))``.

    ``keys`` maps a URL to what it serves: ``keypair("sns").public_key`` at an SNS
    ``SigningCertURL``, ``keypair("google-pubsub").public_key`` at
    ``https://www.googleapis.com/oauth2/v3/certs``, any body at an SNS ``SubscribeURL``.
    URLs are still checked against the pinned hosts first; any other is unavailable.
    """

    def __init__(self, keys: Mapping[str, str | bytes]) -> None:
        super().__init__()
        self._served = {url: k.encode() if isinstance(k, str) else k for url, k in keys.items()}
        #: The URLs asked for, in order (cache misses only).
        self.requested: list[str] = []

    def _fetch(self, url: str) -> bytes | KeyUnavailable:
        self.requested.append(url)
        body = self._served.get(url)
        return body if body is not None else KeyUnavailable(f"{url} is not served in this test")


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
