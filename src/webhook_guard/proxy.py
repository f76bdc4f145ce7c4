"""The verifying reverse proxy as an ASGI app; :mod:`webhook_guard.proxy_server` runs it.

For applications that cannot verify webhooks themselves (FlexDeploy, Jenkins, an internal
tool): the proxy exposes only the configured webhook routes and forwards a request to the
upstream only once the guard accepted it; every other path gets 404, so the base
application is never reachable through it.

:func:`create_proxy` is :class:`~webhook_guard.adapters.asgi.GuardMiddleware` around
:class:`ForwardingApp`: the middleware does all the checking (there is one copy of that
logic) and leaves its verdict in ``scope["state"]["webhook"]``; the forwarding app only
translates an accepted request into an upstream request and streams the answer back.

Needs the ``proxy`` extra (httpx; uvicorn for ``webhook-guard serve``). How to deploy it:
docs/getting-started/reverse-proxy.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx

from .adapters._common import ConfigSource, redact_query, target_path
from .adapters.asgi import ASGIApp, GuardMiddleware, Receive, Scope, Send, read_body, send_verdict
from .config import Config, TokenConfig
from .guard import Guard
from .verdict import PROBLEM_CONTENT_TYPE, Reason, Verdict

if TYPE_CHECKING:
    from .proxy_server import reload_on_sighup, serve

logger = logging.getLogger("webhook_guard.proxy")

#: RFC 9110 section 7.6.1 connection-specific fields, plus the de facto Proxy-Connection
#: and Keep-Alive: meaningful for one hop only, never forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

#: Headers the proxy sets itself. A client's copies are dropped, so the upstream can
#: believe them: a sender must not be able to pose as an address or a verified route.
SET_BY_PROXY = frozenset(
    {
        b"host",
        b"content-length",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-real-ip",
    }
)
VERDICT_HEADER_PREFIX = b"x-webhook-guard-"

#: Client headers that make common upstream servers and frameworks dispatch another path
#: or method than the one the guard verified (IIS, Zend/Laminas, old Symfony; method
#: override middleware), or take a client address the proxy did not establish. Never
#: forwarded, nor is any name with an underscore: CGI-style servers map
#: ``X_Forwarded_For`` onto ``X-Forwarded-For`` (merging it with the proxy's own), and
#: gunicorn takes ``SCRIPT_NAME`` from a header sent from loopback and routes
#: the rest of the path (nginx drops such names too, by default).
NOT_FORWARDED = frozenset(
    {
        b"x-original-url",
        b"x-rewrite-url",
        b"x-http-method-override",
        b"x-http-method",
        b"x-method-override",
        # Client-address headers other than the ones the proxy sets: libraries that read
        # them before X-Forwarded-For would take the sender's word for its address.
        b"x-client-ip",
        b"true-client-ip",
        b"cf-connecting-ip",
        b"fastly-client-ip",
        b"x-cluster-client-ip",
    }
)

#: Upstream response headers not passed back: hop-by-hop ones, and the upstream's
#: ``Server``/``Date`` (the proxy's server sends its own Date; hiding Server keeps the
#: application behind it from being fingerprinted).
_DROP_FROM_RESPONSE = HOP_BY_HOP | {b"server", b"date"}

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0


def check_upstream(url: str) -> str:
    """Validate an upstream base URL; returns it without a trailing slash.

    Raises:
        ValueError: not an absolute http(s) URL, or it has a query or fragment.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"upstream {url!r} must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError(f"upstream {url!r} must not have a query or fragment")
    return url.rstrip("/")


def _credential_header(token: TokenConfig | None) -> bytes | None:
    """The request header that carries ``token`` (lower case), if it is a header."""
    if token is None or token.source == "query":
        return None
    return b"authorization" if token.source == "basic" else (token.name or "").lower().encode()


def _without_param(query: bytes, name: str) -> bytes:
    """``query`` without the ``name`` parameter, the rest byte for byte in order.

    Each ``&``-separated field is decoded as the guard decodes the query when it reads a
    token (latin-1 text, then ``parse_qsl``), so an encoded spelling of the name such as
    ``t%6Fken`` is removed too.
    """
    fields = query.split(b"&")
    kept = [
        f
        for f in fields
        if not any(k == name for k, _ in parse_qsl(f.decode("latin-1"), keep_blank_values=True))
    ]
    return query if len(kept) == len(fields) else b"&".join(kept)


def _connection_listed(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Names a ``Connection`` header declares hop-by-hop (RFC 9110 section 7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return named


async def _gateway_error(send: Send, status: int, kind: str, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": f"urn:webhook-guard:proxy:{kind}", "title": title, "status": status,
         "detail": detail},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode())]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_NOT_FOUND = Verdict(
    ok=False,
    reason=Reason.ROUTE_NOT_FOUND,
    status=404,
    detail="no webhook route here; this proxy forwards only its configured webhook routes",
)


class ForwardingApp:
    """ASGI app that forwards requests the guard accepted to ``upstream``.

    It must run behind :class:`~webhook_guard.adapters.asgi.GuardMiddleware` (use
    :func:`create_proxy`): anything without an accepted verdict on a configured route in
    ``scope["state"]["webhook"]`` gets 404, and WebSocket connections are refused, so a
    mistake in assembling the stack fails closed.

    Args:
        upstream: base URL of the application, e.g. ``http://127.0.0.1:8000``; the
            request path and query are appended unchanged.
        timeout: seconds to wait for the upstream between bytes (a slower one gets 504).
            With a ``guard``, a request whose answer has not begun by then keeps running:
            the sender gets 504, and the upstream's eventual answer (awaited up to the
            guard's ``replay.processing_timeout``) commits or releases the event, so the
            sender's retry meanwhile gets 409 ``event_in_flight``, not a second delivery.
        connect_timeout: seconds to wait for a connection (an unreachable one gets 502).
        trusted_proto: returns True for a socket peer whose ``X-Forwarded-Proto`` is
            believed (a TLS-terminating proxy in front); default: none is.
        client: an httpx client to use (tests); by default one is made per app and
            closed at lifespan shutdown (run the server with lifespan on, uvicorn's
            default "auto" included).
    """

    def __init__(
        self,
        upstream: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        trusted_proto: Callable[[str | None], bool] | None = None,
        client: httpx.AsyncClient | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.upstream = check_upstream(upstream)
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._answer_within = timeout
        self._connect_timeout = connect_timeout
        self.guard = guard
        self.trusted_proto: Callable[[str | None], bool] = trusted_proto or (lambda peer: False)
        self._client = client
        self._own_client = client is None
        #: The token a route verified, to be stripped before forwarding (None: nothing to
        #: strip); :func:`create_proxy` sets it from the config's ``forward_credentials``.
        self.credentials: Callable[[str], TokenConfig | None] = lambda route: None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: HTTP(S)_PROXY and .netrc must not redirect or decorate
            # verified webhooks; follow_redirects stays off (the sender sees the 3xx).
            self._client = httpx.AsyncClient(
                timeout=self._timeout, trust_env=False, follow_redirects=False
            )
            # Nor may httpx add its defaults: an Accept-Encoding the sender never sent
            # would let the upstream answer it in gzip, passed back as is.
            self._client.headers.clear()
        return self._client

    async def aclose(self) -> None:
        """Close the upstream connection pool (done at lifespan shutdown)."""
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            # Webhooks are plain HTTP; nothing else may pass unverified.
            await send({"type": "websocket.close", "code": 1008})
            return
        verdict = scope.get("state", {}).get("webhook")
        if not isinstance(verdict, Verdict) or not verdict.ok or verdict.route is None:
            await send_verdict(send, _NOT_FOUND)
            return
        # The guard middleware has already read (and bounded) the body and replays it.
        body = await read_body(receive, sys.maxsize)
        if body is None:
            return  # the client went away
        await self._forward(scope, verdict, body, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._http()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def upstream_headers(self, scope: Scope, verdict: Verdict) -> list[tuple[bytes, bytes]]:
        """The request headers sent upstream: the client's, minus hop-by-hop ones and
        any copy of a header the proxy sets, plus ``X-Forwarded-*`` and the verdict."""
        received: list[tuple[bytes, bytes]] = list(scope.get("headers", ()))
        drop = HOP_BY_HOP | SET_BY_PROXY | NOT_FORWARDED | _connection_listed(received)
        credential = _credential_header(self.credentials(str(verdict.route)))
        if credential is not None:
            drop = drop | {credential}
        out: list[tuple[bytes, bytes]] = []
        host: bytes | None = None
        proto: bytes | None = None
        for raw_name, value in received:
            name = raw_name.lower()
            if name == b"host":
                host = value
            elif name == b"x-forwarded-proto":
                proto = value if proto is None else b""  # sent twice: believe neither
            if name in drop or b"_" in name or name.startswith(VERDICT_HEADER_PREFIX):
                continue
            out.append((name, value))
        client = scope.get("client")
        peer = client[0] if client else None
        scheme = str(scope.get("scheme", "http")).encode()
        if proto in (b"http", b"https") and self.trusted_proto(peer):
            scheme = proto
        client_ip = verdict.client_ip or peer
        if client_ip:
            out.append((b"x-forwarded-for", client_ip.encode()))
        out.append((b"x-forwarded-proto", scheme))
        if host:
            out.append((b"x-forwarded-host", host))
        out.append((b"x-webhook-guard-route", str(verdict.route).encode()))
        for name, field in ((b"event-id", verdict.event_id), (b"secret-id", verdict.secret_id)):
            if field is not None:
                out.append((VERDICT_HEADER_PREFIX + name, field.encode("utf-8", "replace")))
        return out

    async def _forward(self, scope: Scope, verdict: Verdict, body: bytes, send: Send) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        token = self.credentials(str(verdict.route))
        if token is not None and token.source == "query" and token.name:
            query = _without_param(query, token.name)
        # The path as the guard read it (an absolute-form target loses its scheme and host).
        target = self.upstream + target_path(raw_path)
        if query:
            target += "?" + query.decode("latin-1")
        client = self._http()
        # The sender is answered after `timeout`; the upstream request itself may run up
        # to processing_timeout, for as long as the event stays reserved for it.
        patience = self._answer_within
        if self.guard is not None:
            patience = max(patience, self.guard.config.replay.processing_timeout)
        request = client.build_request(
            scope["method"],
            target,
            headers=self.upstream_headers(scope, verdict),
            content=body,
            timeout=httpx.Timeout(patience, connect=self._connect_timeout),
        )
        pending = asyncio.ensure_future(client.send(request, stream=True))
        try:
            await asyncio.wait({pending}, timeout=self._answer_within)
        except BaseException:
            pending.cancel()
            raise
        if not pending.done():
            logger.warning(
                "upstream has not answered in %s s for event %s on route %s: 504 to the "
                "sender; the upstream's answer will settle the event",
                self._answer_within,
                verdict.event_id,
                verdict.route,
            )
            detail = "the application behind this proxy did not answer in time"
            await _gateway_error(send, 504, "upstream_timeout", "Gateway timeout", detail)
            await self._settle_late(pending, verdict, patience - self._answer_within)
            return
        try:
            response = pending.result()
        except httpx.TimeoutException as exc:
            logger.warning(
                "upstream timed out (%s) for route %s", type(exc).__name__, verdict.route
            )
            detail = "the application behind this proxy did not answer in time"
            await _gateway_error(send, 504, "upstream_timeout", "Gateway timeout", detail)
            return
        except httpx.HTTPError as exc:
            logger.error(
                "upstream unreachable (%s: %s) for route %s", type(exc).__name__, exc, verdict.route
            )
            detail = "the application behind this proxy cannot be reached"
            await _gateway_error(send, 502, "upstream_unavailable", "Bad gateway", detail)
            return
        await self._relay(response, verdict, send)

    async def _relay(self, response: httpx.Response, verdict: Verdict, send: Send) -> None:
        """Stream the upstream's answer back to the sender, then close it."""
        try:
            listed = _connection_listed(response.headers.raw)
            headers = [
                (n, v)
                for n, v in response.headers.raw
                if n.lower() not in _DROP_FROM_RESPONSE and n.lower() not in listed
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            # aiter_raw: bytes exactly as the upstream sent them (no decompression), so
            # Content-Encoding and Content-Length stay true. The request's own read
            # timeout is the longer patience above, so `timeout` between bytes is here.
            chunks = response.aiter_raw()
            while True:
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), self._answer_within)
                except StopAsyncIteration:
                    break
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            # The status line is gone already: end without completing the body, so the
            # server closes the connection and the sender sees a truncated response
            # rather than a short one that looks complete.
            logger.error(
                "upstream failed mid-response (%s) for route %s", type(exc).__name__, verdict.route
            )
            return
        else:
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _settle_late(
        self, pending: asyncio.Future[httpx.Response], verdict: Verdict, patience: float
    ) -> None:
        """After a 504 to the sender: the upstream's answer, when it comes, commits or
        releases the event (none within ``patience`` seconds, or a failure: released)."""
        status: int | None = None
        try:
            response = await asyncio.wait_for(pending, max(patience, 0.0))
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            logger.error(
                "upstream never answered (%s) for event %s on route %s: released for the "
                "sender's retry",
                type(exc).__name__,
                verdict.event_id,
                verdict.route,
            )
        else:
            status = response.status_code
            await response.aclose()
            logger.warning(
                "upstream answered %d late for event %s on route %s",
                status,
                verdict.event_id,
                verdict.route,
            )
        if self.guard is not None:
            await self.guard.acomplete(verdict, status)


def create_proxy(
    config: Guard | ConfigSource,
    upstream: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> ASGIApp:
    """The verifying reverse proxy as one ASGI app.

    Args:
        config: a :class:`~webhook_guard.Guard`, a config file path, mapping or Config.
        upstream: base URL of the application behind the proxy.
        timeout, connect_timeout: see :class:`ForwardingApp`.

    Raises:
        ConfigError: the configuration is invalid.
        ValueError: ``upstream`` is not an absolute http(s) URL.
    """
    forward = ForwardingApp(upstream, timeout=timeout, connect_timeout=connect_timeout)
    # A guard built here from config belongs to the middleware, which closes its replay
    # store (Redis connections) at lifespan shutdown; a Guard passed in stays the caller's.
    middleware = (
        GuardMiddleware(forward, guard=config)
        if isinstance(config, Guard)
        else GuardMiddleware(forward, config)
    )
    guard = middleware.guard
    forward.guard = guard
    # X-Forwarded-Proto is believed from the same peers as X-Forwarded-For (read on each
    # request: guard.reload() may change them).
    forward.trusted_proto = lambda peer: (
        peer is not None and peer in guard.config.network.trusted_set
    )
    # A verified token is the sender's proof to the guard, not the application's business
    # (and in a query it would end up in the application's access log).
    forward.credentials = lambda route: _credentials_to_strip(guard.config, route)
    return middleware


def _credentials_to_strip(config: Config, route: str) -> TokenConfig | None:
    """The token route ``route`` verified, unless it sets ``forward_credentials``."""
    for rc in config.routes:
        if rc.name == route:
            return None if rc.forward_credentials else rc.token
    return None


__all__ = [
    "ForwardingApp",
    "check_upstream",
    "create_proxy",
    "redact_query",
    "reload_on_sighup",
    "serve",
]

# Running the proxy (uvicorn, TLS, SIGHUP) lives in proxy_server, which imports this module;
# its names stay importable from here, resolved on first use so there is no import cycle.
_IN_PROXY_SERVER = frozenset({"reload_on_sighup", "serve"})


def __getattr__(name: str) -> object:
    if name in _IN_PROXY_SERVER:
        from . import proxy_server

        return getattr(proxy_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
