"""ASGI adapter: :class:`GuardMiddleware` (Starlette, FastAPI, any ASGI app) and the
FastAPI dependency :func:`webhook_verdict`.

Example::

    from webhook_guard.adapters.asgi import GuardMiddleware

    app = GuardMiddleware(app, config="webhook-guard.yaml")

Pure ASGI (no ``BaseHTTPMiddleware``): the body of a webhook route is read once, under the
route's ``max_body_bytes``, and replayed byte for byte to the app. The verdict is put at
``scope["state"]["webhook"]`` (Starlette: ``request.state.webhook``) for every HTTP request,
with ``route=None`` on paths no route covers, which are passed through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias
from urllib.parse import quote

from ..clientcert import from_asgi
from ..guard import Guard
from ..pipeline import NOT_SET_UP
from ..request import WebhookRequest
from ..routes import SAFE_PATH
from ..untrusted import shown
from ..verdict import Verdict
from ._common import ConfigSource, logger, resolve_guard, target_path

try:  # Only the FastAPI dependency needs it; FastAPI injects by this annotation.
    from starlette.requests import Request
except ImportError:  # pragma: no cover - the middleware itself needs no framework
    Request = Any  # type: ignore[assignment,misc]

# Own aliases, as in starlette.types, so that no framework is needed.
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = [
    "GuardMiddleware",
    "dispatched_paths",
    "read_body",
    "replay_body",
    "send_verdict",
    "webhook_request",
    "webhook_verdict",
]


class GuardMiddleware:
    """Verify webhooks in front of an ASGI app.

    Args:
        app: the ASGI application to protect.
        config: a YAML file path, a parsed mapping or a :class:`~webhook_guard.Config`.
        guard: an already built :class:`~webhook_guard.Guard` instead of ``config``.

    Refusals are answered here with ``application/problem+json`` and never reach the app;
    so are duplicates (200 under ``on_duplicate: acknowledge``). After the app answered,
    the event ID is committed (2xx; see the route's ``commit_on``) or released (any other
    status, no response or one cut short, or an exception before the response was
    complete) so that the provider's retry is processed.

    A guard built here from ``config`` is owned by the middleware: its replay store's
    connections (Redis) are closed at lifespan shutdown. A ``guard=`` passed in is yours.
    """

    def __init__(
        self, app: ASGIApp, config: ConfigSource | None = None, *, guard: Guard | None = None
    ) -> None:
        self.app = app
        self.guard = resolve_guard(config, guard, "GuardMiddleware")
        self._owns_guard = guard is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self._owns_guard:
                receive = self._close_on_shutdown(receive)
            await self.app(scope, receive, send)  # lifespan, websocket: passed through
            return
        guard = self.guard
        # scope["path"] (less root_path) is what the app routes on (Starlette, FastAPI,
        # Django): the verdict is bound to the route that covers it.
        delivery = guard.begin(webhook_request(scope), dispatched_paths(scope))
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["webhook"] = delivery.verdict
        # For webhook_verdict, which runs after routing.
        state["webhook_guard"] = guard
        state["webhook_request"] = delivery.request
        if delivery.needs_body:
            body = await read_body(receive, delivery.body_limit)
            if body is None:  # the client went away mid-body: nobody to answer
                return
            state["webhook"] = await delivery.acheck(body)
        verdict = delivery.verdict
        if not verdict.ok:
            await send_verdict(send, verdict)
            return
        if verdict.route is None:
            await self.app(scope, receive, send)
            return

        status: int | None = None
        # The status settles the event only once the app has produced its whole response.
        # A stream cut short (Starlette stops it when the client disconnects) released,
        # as SettleWhenSent does under WSGI: the handler may not have finished its work.
        finished = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, replay_body(delivery.request.body, receive), send_wrapper)
        except BaseException:
            # Raised after the whole response was produced (the server found the client
            # gone while sending it; a background task failed): the status stands.
            await delivery.acomplete(status if finished else None)
            raise
        await delivery.acomplete(status if finished else None)

    def _close_on_shutdown(self, receive: Receive) -> Receive:
        # The server has stopped serving when it sends lifespan.shutdown; async Redis
        # connections belong to this event loop, so they are closed here, on it.
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.guard.aclose()
            return message

        return wrapped


def dispatched_paths(scope: Scope) -> str | tuple[str, ...]:
    """The decoded paths an app may route an HTTP scope on: ``scope["path"]`` and, under a
    ``root_path``, the path less that prefix, as Starlette (``get_route_path``) and Django
    (``removeprefix``) match their routes. Servers disagree on whether ``path`` holds the
    root path (uvicorn prepends it; hypercorn and gunicorn's ASGI worker do not), so a
    target sent with the prefix reaches the same handler as one without it; the guard
    read only the target, so the verdict is bound to both."""
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    if not root or not path.startswith(root):
        return path
    rest = path[len(root) :]
    if rest[:1] not in ("", "/") and not root.endswith("/"):
        return path
    return (path, rest or "/")


def webhook_request(scope: Scope, body: bytes = b"") -> WebhookRequest:
    """The :class:`~webhook_guard.WebhookRequest` for an HTTP scope (body as given)."""
    # raw_path is the path as sent, so encoded tricks stay visible to the guard (some
    # servers leave the query on it); without it the decoded path is re-encoded.
    raw = scope.get("raw_path")
    path = target_path(raw) if raw else quote(scope["path"], safe=SAFE_PATH)
    client = scope.get("client")
    req = WebhookRequest(
        scope["method"],
        path,
        scope.get("query_string", b""),
        scope["headers"],
        body,
        client[0] if client else None,
    )
    extensions = scope.get("extensions")
    if extensions and extensions.get("tls"):  # the ASGI TLS extension (serve sets it)
        req.client_cert = from_asgi(extensions["tls"])
    return req


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """Read the whole request body, stopping once it is longer than ``limit``.

    Returns:
        The body; ``limit + 1`` or more bytes when it is too large (the rest is left
        unread); ``None`` when the client disconnected first.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first hands out ``body`` in one message, then defers to
    ``receive`` (which then reports the client's disconnect)."""
    pending = True

    async def wrapped() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped


async def send_verdict(send: Send, verdict: Verdict) -> None:
    """Answer with the verdict's ``application/problem+json`` response."""
    payload = verdict.response_body()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in verdict.response_headers()]
    headers.append((b"content-length", str(len(payload)).encode("latin-1")))
    await send({"type": "http.response.start", "status": verdict.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def webhook_verdict(request: Request) -> Verdict:
    """FastAPI dependency: the verified webhook's :class:`~webhook_guard.Verdict`.

    Example::

        @app.post("/hooks/orders")
        def orders(verdict: Annotated[Verdict, Depends(webhook_verdict)]) -> dict[str, str]:
            return {"event": verdict.event_id}

    Fails closed: when no :class:`GuardMiddleware` ran, or no configured route covers the
    handler's path, the request was not verified, so the handler must not run (500). When
    the path the app routed on belongs to another route than the verdict (something
    between the middleware and the router rewrote it), 400 ``path_invalid``.

    A coroutine although it awaits nothing: FastAPI runs a plain function dependency in
    a worker thread, a hand-off that cost more server CPU than the whole check.
    """
    from starlette.exceptions import HTTPException

    state = request.scope.get("state", {})
    verdict = state.get("webhook")
    if not isinstance(verdict, Verdict) or verdict.route is None:
        logger.error(
            "webhook_verdict on %s: %s",
            shown(request.url.path),
            "no route covers this path" if verdict else "GuardMiddleware is not installed",
        )
        raise HTTPException(500, NOT_SET_UP)
    guard = state.get("webhook_guard")
    if isinstance(guard, Guard):
        scope = request.scope
        checked = state.get("webhook_request")
        if not isinstance(checked, WebhookRequest):
            checked = webhook_request(scope)
        bound = guard.check_dispatch(checked, verdict, dispatched_paths(scope))
        if bound is not verdict:
            state["webhook"] = bound
            raise HTTPException(bound.status, bound.detail)
    return verdict
