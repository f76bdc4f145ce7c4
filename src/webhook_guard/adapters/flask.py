"""Flask adapter: the :class:`WebhookGuard` extension and its ``protect()`` decorator.

Example::

    from webhook_guard.adapters.flask import WebhookGuard

    guard = WebhookGuard(app, config="webhook-guard.yaml")   # every configured route

    @app.post("/hooks/github")
    def github():
        event = request.get_json()        # the body is still there, already verified
        return {"delivery": g.webhook.event_id}

App factories: ``guard = WebhookGuard()`` at import time, ``guard.init_app(app)`` in the
factory, with ``app.config["WEBHOOK_GUARD_CONFIG"]`` (a path or a mapping). An explicit
``config=``/``guard=`` argument wins over the app config. ``guard_all=False`` (or
``WEBHOOK_GUARD_ALL = False``) checks only the views decorated with ``@guard.protect(...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import ClosingIterator

from ..guard import Guard
from ..pipeline import NOT_SET_UP, misrouted
from ..request import WebhookRequest
from ..verdict import Verdict
from ._common import (
    ConfigSource,
    SettleWhenSent,
    resolve_guard,
    wsgi_headers,
    wsgi_path,
    wsgi_peer,
)

__all__ = ["WebhookGuard"]

EXTENSION = "webhook_guard"
F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P")


class _AppState:
    """What :meth:`WebhookGuard.init_app` keeps per app, in ``app.extensions``."""

    def __init__(self, guard: Guard, guard_all: bool) -> None:
        self.guard = guard
        self.guard_all = guard_all


class WebhookGuard:
    """Verify webhooks in a Flask app.

    Args:
        app: the app; omit it and call :meth:`init_app` later (app factories).
        config: a YAML file path, a parsed mapping or a :class:`~webhook_guard.Config`;
            default ``app.config["WEBHOOK_GUARD_CONFIG"]``.
        guard: an already built :class:`~webhook_guard.Guard` instead of ``config``.
        guard_all: check every request whose path a configured route covers (default,
            ``app.config["WEBHOOK_GUARD_ALL"]`` when set); False: only views decorated
            with :meth:`protect`.

    The verdict is at ``flask.g.webhook``. Refusals and duplicates are answered with
    ``application/problem+json`` and never reach the view. The event ID is committed on
    a 2xx and released on anything else (see the route's ``commit_on``), so the
    provider's retry is processed.
    """

    def __init__(
        self,
        app: Flask | None = None,
        config: ConfigSource | None = None,
        *,
        guard: Guard | None = None,
        guard_all: bool | None = None,
    ) -> None:
        self._config = config
        self._guard = guard
        self._guard_all = guard_all
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the guard with ``app`` (``app.extensions["webhook_guard"]``).

        Raises:
            TypeError: no configuration was given (argument or app config).
            ConfigError: the configuration is invalid.
        """
        config = self._config
        if config is None and self._guard is None:
            config = app.config.get("WEBHOOK_GUARD_CONFIG")
        guard = resolve_guard(config, self._guard, "WebhookGuard")
        guard_all = self._guard_all
        if guard_all is None:
            guard_all = bool(app.config.get("WEBHOOK_GUARD_ALL", True))
        app.extensions[EXTENSION] = _AppState(guard, guard_all)
        app.before_request(_before_request)
        app.after_request(_after_request)
        app.teardown_request(_teardown_request)

    @staticmethod
    def get_guard(app: Flask | None = None) -> Guard:
        """The :class:`~webhook_guard.Guard` checking ``app``'s requests (default: the
        current app): call ``get_guard(app).reload()`` to load an edited config file
        without a restart.

        Raises:
            RuntimeError: :meth:`init_app` was not called for the app.
        """
        return _state(app).guard

    def protect(self, route: str) -> Callable[[F], F]:
        """Decorator: verify the view's requests against the route named ``route``.

        A view also covered by ``guard_all`` is checked once. A request whose path is not
        covered by ``route`` is refused with 500: the view was not verified, so it must
        not run (fix the route's ``path`` or the decorator's name).
        """

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                refusal = _verify()
                if refusal is not None:
                    return refusal
                if misrouted(g.webhook, route, request.path):
                    return Response(NOT_SET_UP, 500)
                return view(*args, **kwargs)

            return cast(F, wrapper)

        return decorate


def _state(app: Flask | None = None) -> _AppState:
    state = (app or current_app).extensions.get(EXTENSION)
    if not isinstance(state, _AppState):
        raise RuntimeError("WebhookGuard.init_app(app) was not called for this app")
    return state


def _live(proxy: P) -> P:
    """The object behind one of Flask's context proxies (``request``, ``g``): every
    attribute read through a proxy looks the context up again (about 1 us each, some
    twenty times per request here), so each function resolves it once."""
    return cast(P, cast(Any, proxy)._get_current_object())  # werkzeug's LocalProxy API


def _before_request() -> Response | None:
    state = _state()
    return _verify(state) if state.guard_all else None


def _verify(state: _AppState | None = None) -> Response | None:
    """Check the current request once; the refusal to send, or None to go on."""
    ctx = _live(g)
    verdict = ctx.get("webhook")
    if verdict is None:
        verdict = ctx.webhook = _check((state or _state()).guard)
    if not verdict.ok:
        return _problem(verdict)
    return None


def _check(guard: Guard) -> Verdict:
    current = _live(request)
    environ = current.environ
    req = WebhookRequest(
        current.method,
        wsgi_path(environ),
        current.query_string,
        wsgi_headers(environ),
        b"",
        wsgi_peer(environ),
    )
    # Flask matches its URL rules against request.path (PATH_INFO), below SCRIPT_NAME,
    # which a server may have cut from the target the guard read (gunicorn takes it from
    # a SCRIPT_NAME header): the verdict is bound to the route covering either spelling.
    path = current.path
    script = current.script_root
    delivery = guard.begin(req, (script + path, path) if script else path)
    if not delivery.needs_body:
        return delivery.verdict
    limit = delivery.body_limit
    app_limit = current.max_content_length
    if app_limit is not None and app_limit < limit:
        limit = app_limit  # the app's own MAX_CONTENT_LENGTH is stricter
    if current.content_length is None:
        # werkzeug enforces max_content_length while reading a body without
        # Content-Length (chunked), but stops silently at exactly the limit, so one byte
        # more is allowed to tell "exactly the limit" from "too large". Only then: a
        # declared length was checked against the limit before reading (and is again on
        # the bytes read), and setting the limit makes werkzeug read every body through a
        # Python-level LimitedStream.
        current.max_content_length = limit + 1
    # The body is cached: get_data(), get_json() and form still work in the view.
    try:
        body = current.get_data(cache=True)
    except RequestEntityTooLarge:
        return delivery.body_too_large(limit)
    return delivery.check(body, limit)


def _problem(verdict: Verdict) -> Response:
    return Response(verdict.response_body(), verdict.status, verdict.response_headers())


def _after_request(response: Response) -> Response:
    ctx = _live(g)
    verdict = ctx.get("webhook")
    if verdict is not None:
        ctx.webhook_status = status = response.status_code
        body = response.response
        # A generator the view returned runs view code while it is sent, after teardown
        # (unless stream_with_context): the event is committed once it has gone out. Not
        # for werkzeug's own WSGI bodies (abort() pages, ClosingIterator), nor for 5xx,
        # which teardown releases at once.
        if response.is_streamed and status < 500 and not isinstance(body, ClosingIterator):
            ctx.webhook_streamed = True
            response.response = SettleWhenSent(
                cast("Iterable[bytes]", body), _state().guard, verdict, status
            )
    return response


def _teardown_request(exc: BaseException | None) -> None:
    # Teardown runs also when the view raised (after_request then may not): release then.
    ctx = _live(g)
    verdict = ctx.get("webhook")
    if verdict is None:
        return
    if exc is None and ctx.get("webhook_streamed"):
        return  # settled by SettleWhenSent
    _state().guard.complete(verdict, None if exc is not None else ctx.get("webhook_status"))
