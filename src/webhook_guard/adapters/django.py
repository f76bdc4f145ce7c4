"""Django adapter: :class:`WebhookGuardMiddleware`, the :func:`protect` decorator and the
system checks.

Settings::

    MIDDLEWARE = [
        "webhook_guard.adapters.django.WebhookGuardMiddleware",   # before CsrfViewMiddleware
        ...
    ]
    WEBHOOK_GUARD = {"CONFIG": BASE_DIR / "webhook-guard.yaml"}   # or an inline dict
    INSTALLED_APPS += ["webhook_guard.adapters.django"]         # system checks at startup

``WEBHOOK_GUARD`` keys: ``CONFIG`` (a YAML path, a mapping or a ``Config``) or ``GUARD``
(a built :class:`~webhook_guard.Guard`); ``GUARD_ALL`` (default True: check every request
a configured route covers; False: only views decorated with :func:`protect`).

Works under WSGI and ASGI, with sync and async views. The verdict is ``request.webhook``.
A chunked delivery (no ``Content-Length``) is read under ASGI, and under WSGI servers that
de-chunk it and say so with ``wsgi.input_terminated`` (gunicorn, werkzeug); Django alone
would see an empty body there. Other WSGI servers give Django no way to find the end of
such a body, so its signature check fails.
A verified webhook needs no ``csrf_exempt`` (a provider cannot send a CSRF token); every
other request, including one let through in ``mode: report``, still meets Django's CSRF
protection.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import get_script_prefix

from ..config import Config
from ..errors import ConfigError
from ..guard import Guard
from ..pipeline import NOT_SET_UP, Delivery, misrouted
from ..request import WebhookRequest
from ..verdict import Verdict
from ._common import resolve_guard, wsgi_headers, wsgi_path, wsgi_peer
from ._django_settle import (
    AllDatabases,
    asettle_when_done,
    in_transactions,
    settle_streamed,
)
from .asgi import webhook_request

__all__ = ["WebhookGuardMiddleware", "check_settings", "get_guard", "protect"]

SETTING = "WEBHOOK_GUARD"
MIDDLEWARE_PATH = "webhook_guard.adapters.django.WebhookGuardMiddleware"
V = TypeVar("V", bound=Callable[..., Any])


class _Settings:
    """``settings.WEBHOOK_GUARD``, read on use (so ``override_settings`` works); the guard
    is rebuilt only when the setting object changes, keeping its replay store otherwise."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._source: object = None
        self._guard: Guard | None = None

    @property
    def value(self) -> Any:
        return getattr(settings, SETTING, None)

    @property
    def guard_all(self) -> bool:
        value = self.value
        return bool(value.get("GUARD_ALL", True)) if isinstance(value, Mapping) else True

    def guard(self) -> Guard:
        value = self.value
        guard = self._guard
        if guard is not None and value is self._source:
            return guard
        with self._lock:
            if self._guard is None or value is not self._source:
                self._guard = build_guard(value)
                self._source = value
            return self._guard


conf = _Settings()


def get_guard() -> Guard:
    """The :class:`~webhook_guard.Guard` that ``settings.WEBHOOK_GUARD`` describes, the
    one the middleware and :func:`protect` use: call ``get_guard().reload()`` to load an
    edited config file without a restart.

    Raises:
        ImproperlyConfigured: see :func:`build_guard`.
    """
    return conf.guard()


def build_guard(value: Any) -> Guard:
    """The guard ``settings.WEBHOOK_GUARD`` describes.

    Raises:
        ImproperlyConfigured: the setting is missing or malformed, or the configuration
            it names is invalid (the message lists every error with its place).
    """
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"settings.{SETTING} must be a dict such as "
            '{"CONFIG": BASE_DIR / "webhook-guard.yaml"}, got ' + type(value).__name__
        )
    unknown = sorted(set(value) - {"CONFIG", "GUARD", "GUARD_ALL"})
    if unknown:
        raise ImproperlyConfigured(
            f"settings.{SETTING}: unknown key(s) {', '.join(unknown)}; "
            "expected CONFIG or GUARD, and GUARD_ALL"
        )
    config, guard = value.get("CONFIG"), value.get("GUARD")
    if config is not None and not isinstance(config, (str, os.PathLike, Mapping, Config)):
        raise ImproperlyConfigured(
            f"settings.{SETTING}['CONFIG'] must be a file path or a dict, "
            f"got {type(config).__name__}"
        )
    try:
        return resolve_guard(config, guard, f"settings.{SETTING}")
    except TypeError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    except ConfigError as exc:
        raise ImproperlyConfigured(f"settings.{SETTING}['CONFIG']:\n{exc}") from exc


# -- the check, shared by the middleware and protect() ---------------------------------


def _webhook_request(request: HttpRequest) -> WebhookRequest:
    scope = getattr(request, "scope", None)
    if scope is not None:  # ASGIRequest: raw path and repeated header lines are kept
        return webhook_request(scope)
    meta = request.META
    return WebhookRequest(
        request.method or "GET",
        wsgi_path(meta),
        meta.get("QUERY_STRING", ""),
        wsgi_headers(meta),
        b"",
        wsgi_peer(meta),
    )


def _read(request: HttpRequest, delivery: Delivery) -> tuple[bytes, int] | None:
    """The body to check and its limit; None when the delivery needs no check (refused,
    not a webhook route, or the body was too large)."""
    if not delivery.needs_body:
        return None
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    limit = delivery.body_limit
    if django_limit is not None and django_limit < limit:
        limit = django_limit  # Django's own limit is stricter
    try:
        # Bounded by Content-Length (checked above) under WSGI; under ASGI Django has
        # already buffered the body and checks DATA_UPLOAD_MAX_MEMORY_SIZE on it.
        body = _terminated_wsgi_body(request, limit)
        if body is None:
            body = request.body
    except RequestDataTooBig:
        delivery.body_too_large(django_limit)
        return None
    return body, limit


def _dispatched_path(request: HttpRequest) -> str | tuple[str, ...]:
    """The paths Django resolves the view from, as they are now: ``path_info``, which its
    URL resolver matches, and with the script prefix before it. The verdict is bound to
    the route that covers either: a server may have cut a ``SCRIPT_NAME`` (gunicorn,
    from a header) or ``root_path`` (hypercorn) from the target the guard read whole."""
    prefix: str = get_script_prefix().rstrip("/")
    path_info: str = request.path_info
    return (prefix + path_info, path_info) if prefix else path_info


def _terminated_wsgi_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body of a WSGI request without ``Content-Length`` (chunked), read to its end
    but no further than ``limit + 1`` bytes; None for every other request.

    Django reads such a body as empty (it trusts only Content-Length), so a genuine
    chunked delivery would fail its signature. A server that de-chunks the input sets
    ``wsgi.input_terminated``, which makes reading to the end safe. The body read is then
    handed to Django as if it had come with a Content-Length, so the view's
    ``request.body``, ``request.POST`` and ``request.read()`` see the same bytes.
    """
    meta = request.META
    if (
        getattr(request, "scope", None) is not None
        or meta.get("CONTENT_LENGTH")
        or not meta.get("wsgi.input_terminated")
        or getattr(request, "_body", b"")  # already read by someone, with its length
    ):
        return None
    stream = meta["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(1 << 16, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    if size <= limit:
        # What HttpRequest.body itself leaves behind once it has read a body.
        request._body = body
        request._stream = io.BytesIO(body)
        meta["CONTENT_LENGTH"] = str(size)
    return body


def _begin(request: HttpRequest, guard: Guard) -> Delivery:
    checked = _webhook_request(request)
    # Kept for process_view, which binds the verdict to the view Django resolved.
    request._webhook_request = checked
    return guard.begin(checked, _dispatched_path(request))


def _verify(request: HttpRequest, guard: Guard) -> Verdict:
    delivery = _begin(request, guard)
    read = _read(request, delivery)
    return delivery.verdict if read is None else delivery.check(*read)


async def _averify(request: HttpRequest, guard: Guard) -> Verdict:
    delivery = _begin(request, guard)
    read = _read(request, delivery)
    return delivery.verdict if read is None else await delivery.acheck(*read)


def _admit(request: HttpRequest, verdict: Verdict, route: str | None) -> HttpResponse | None:
    """Record the verdict; the refusal to send, or None to go on to the view.

    ``route``: the route :func:`protect` requires (None under the middleware alone).
    """
    request.webhook = verdict
    if not verdict.ok:
        response = HttpResponse(verdict.response_body(), status=verdict.status)
        for name, value in verdict.response_headers():
            response[name] = value
        return response
    if route is not None and misrouted(verdict, route, request.path):
        return HttpResponse(NOT_SET_UP, status=500)
    if verdict.verified:
        # Authenticated by its signature or token, not by a session cookie: the hook
        # CsrfViewMiddleware itself honours (the test client sets it the same way).
        request._dont_enforce_csrf_checks = True
    return None


def _handle(
    request: HttpRequest, call: Callable[[], HttpResponseBase], route: str | None = None
) -> HttpResponseBase:
    """Verify, run ``call`` (the rest of the chain or the view), settle the event."""
    verdict = getattr(request, "webhook", None)
    if verdict is not None:  # already checked (middleware and protect() on one view)
        refusal = _admit(request, verdict, route)
        return refusal if refusal is not None else call()
    guard = conf.guard()
    verdict = _verify(request, guard)
    refusal = _admit(request, verdict, route)
    if refusal is not None:
        return refusal
    try:
        response = call()
    except BaseException:
        guard.complete(verdict, None)
        raise
    if not settle_streamed(response, guard, verdict):
        guard.complete(verdict, response.status_code)
    return response


async def _ahandle(
    request: HttpRequest,
    call: Callable[[], Awaitable[HttpResponseBase]],
    route: str | None = None,
) -> HttpResponseBase:
    """Async twin of :func:`_handle`."""
    verdict = getattr(request, "webhook", None)
    if verdict is not None:
        refusal = _admit(request, verdict, route)
        return refusal if refusal is not None else await call()
    guard = conf.guard()
    verdict = await _averify(request, guard)
    refusal = _admit(request, verdict, route)
    if refusal is not None:
        return refusal
    # Django's ASGI handler cancels a request whose client left, but a sync view's thread
    # goes on with the event: the view runs shielded, and its own answer settles it.
    task = asyncio.ensure_future(call())
    try:
        response = await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asettle_when_done(task, guard, verdict)
        else:
            await guard.acomplete(verdict, None)
        raise
    except BaseException:
        await guard.acomplete(verdict, None)
        raise
    if not settle_streamed(response, guard, verdict):
        await guard.acomplete(verdict, response.status_code)
    return response


class WebhookGuardMiddleware:
    """Verify webhooks before Django's views (sync and async capable).

    Refusals and duplicates get an ``application/problem+json`` answer and never reach the
    view. The event ID is committed on a 2xx and released on any other status (a view's
    exception becomes a 500; see the route's ``commit_on``) so the provider's retry is
    processed.

    Raises:
        ImproperlyConfigured: at startup, when ``settings.WEBHOOK_GUARD`` is broken.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        conf.guard()  # fail at startup, not on the first webhook

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not conf.guard_all:
            return self.get_response(request)
        return _handle(request, lambda: self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        get_response = cast(Callable[[HttpRequest], Awaitable[HttpResponseBase]], self.get_response)
        if not conf.guard_all:
            return await get_response(request)
        return await _ahandle(request, lambda: get_response(request))

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        """Bind the verdict to the view Django resolved: a middleware after this one may
        have rewritten ``path_info`` (a tenant or locale prefix, say) since the check, so
        the view may belong to another route than the one checked (then: 400
        ``path_invalid``)."""
        verdict = getattr(request, "webhook", None)
        if not isinstance(verdict, Verdict) or not verdict.ok:
            return None
        checked = getattr(request, "_webhook_request", None) or _webhook_request(request)
        bound = conf.guard().check_dispatch(checked, verdict, _dispatched_path(request))
        return None if bound is verdict else _admit(request, bound, None)


def protect(route: str) -> Callable[[V], V]:
    """Decorator: verify a single view's requests (sync or async) against route ``route``.

    Needs only ``settings.WEBHOOK_GUARD``, not the middleware; under the middleware the
    request is checked once. The view is ``csrf_exempt`` because every request that
    reaches it was verified here. A request whose path ``route`` does not cover is
    refused with 500: fix the route's ``path`` or the decorator's name.
    """

    def decorate(view: V) -> V:
        wrapper: Any
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return await _ahandle(request, lambda: view(request, *args, **kwargs), route)

        else:

            @functools.wraps(view)
            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                skip = {*getattr(view, "_non_atomic_requests", ()), *wrapper._non_atomic_requests}
                return _handle(
                    request,
                    lambda: in_transactions(skip, lambda: view(request, *args, **kwargs)),
                    route,
                )

            # ATOMIC_REQUESTS transactions are opened inside, so the event is settled
            # only once they committed (see _django_settle.in_transactions).
            wrapper._non_atomic_requests = AllDatabases()

        wrapper.csrf_exempt = True
        return cast(V, wrapper)

    return decorate


# -- system checks ---------------------------------------------------------------------


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """Report a broken ``WEBHOOK_GUARD`` at startup (``manage.py check``, runserver).

    IDs: ``webhook_guard.E001`` setting missing while the middleware is installed,
    ``E002`` setting or configuration invalid, ``W001`` a route allows bodies larger than
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django would refuse them first).
    """
    value = conf.value
    if value is None:
        if MIDDLEWARE_PATH in getattr(settings, "MIDDLEWARE", ()):
            return [
                checks.Error(
                    f"{MIDDLEWARE_PATH} is installed but settings.{SETTING} is not set.",
                    hint=f'Add {SETTING} = {{"CONFIG": BASE_DIR / "webhook-guard.yaml"}}.',
                    id="webhook_guard.E001",
                )
            ]
        return []
    try:
        guard = build_guard(value)
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Run `webhook-guard check` on the configuration for details.",
                id="webhook_guard.E002",
            )
        ]
    messages: list[checks.CheckMessage] = []
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for index, route in enumerate(guard.config.routes):
        if django_limit is not None and route.max_body_bytes > django_limit:
            messages.append(
                checks.Warning(
                    f"routes[{index}] ({route.name}): max_body_bytes {route.max_body_bytes} "
                    f"exceeds DATA_UPLOAD_MAX_MEMORY_SIZE ({django_limit}).",
                    hint="Django refuses larger bodies first; raise "
                    "DATA_UPLOAD_MAX_MEMORY_SIZE or lower max_body_bytes.",
                    id="webhook_guard.W001",
                )
            )
    return messages


# Registered on import: by INSTALLED_APPS (so `manage.py check` and runserver run it) or
# when the middleware is loaded.
checks.register(check_settings, checks.Tags.security)
