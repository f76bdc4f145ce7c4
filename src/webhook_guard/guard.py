"""The public face of the verifier: :class:`Guard`.

The checks themselves live in :mod:`webhook_guard.pipeline` (see docs/architecture.md):
here a request is handed to the pipeline in force, its verdict observed (logged, counted,
recorded), its reservation settled, and the configuration reloaded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .config import Config, load_config
from .errors import ConfigError
from .logs import logger
from .pipeline import Delivery, Pipeline, RoutePlan, asettle, log_verdict, settle
from .replay import MemoryReplayStore, ReplayStore, open_store, same_store
from .request import WebhookRequest
from .verdict import Verdict

if TYPE_CHECKING:
    from .audit import DeliveryRecorder
    from .metrics import VerdictMetrics
    from .signatures.keyfetch import KeyFetcher

_INFO = logging.INFO


class Guard:
    """Decides whether a request is a genuine, fresh, first-time webhook.

    Args:
        config: a validated :class:`~webhook_guard.config.Config`.
        store: the replay store (default: an in-memory store sized by ``replay.max_entries``).
        clock: Unix time source for timestamps and secret expiry (tests pass a fake one).
        on_verdict: called as ``on_verdict(verdict, request)`` after every check of a
            webhook route (not for unrouted paths); an exception in it is logged, not raised.
        metrics: a :class:`~webhook_guard.metrics.PrometheusMetrics` (``metrics`` extra) or
            anything with its ``observe(verdict, seconds, previous_secret)`` method.
        audit: where every delivery is recorded (default: the config's ``audit:`` section,
            a :class:`~webhook_guard.audit.DeliveryLog`, if any); anything with a
            ``record(verdict, request, seconds)`` method, such as
            :class:`~webhook_guard.audit.JsonLinesAudit`.
        key_fetcher: where routes with fetched keys (``sns``, ``google-pubsub``) get AWS's
            certificates and Google's keys: a
            :class:`~webhook_guard.signatures.keyfetch.KeyFetcher` (default: one over the
            system's CAs, made when such a route exists). Tests pass one with ``pins`` and
            an ``ssl_context`` to serve keys locally.

    ``check``/``acheck`` never raise for bad input; every refusal is a :class:`Verdict`.

    :meth:`reload` swaps in a new configuration while requests are being served: each
    request runs entirely under the configuration that was current when it started.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: ReplayStore | None = None,
        clock: Callable[[], float] = time.time,
        on_verdict: Callable[[Verdict, WebhookRequest], None] | None = None,
        metrics: VerdictMetrics | None = None,
        audit: DeliveryRecorder | None = None,
        key_fetcher: KeyFetcher | None = None,
    ) -> None:
        self._source: str | os.PathLike[str] | Mapping[str, Any] | None = None
        self._env: Mapping[str, str] | None = None
        self._own_store = store is None
        self._own_audit = audit is None
        self._reload_lock = threading.Lock()
        self._on_verdict = on_verdict
        self._metrics = metrics
        if audit is None and config.audit is not None:
            from .audit import DeliveryLog

            audit = DeliveryLog(config.audit)
        self.audit = audit
        self._clock = clock
        # Everything a request reads is in one pipeline built from one config and never
        # changed after; reload() builds a whole new one and swaps this one reference.
        self._live = Pipeline(
            config, store if store is not None else open_store(config.replay), clock, key_fetcher
        )
        self._bind_audit()

    def _bind_audit(self) -> None:
        audit = self.audit
        # Without a callback, metrics or a delivery log only rejections need observing (to
        # log them), and accepted requests when INFO is on.
        self._observed = (
            self._on_verdict is not None or self._metrics is not None or audit is not None
        )
        self._timed = self._metrics is not None or audit is not None
        bind = getattr(self.audit, "bind_routes", None)
        if bind is not None:
            # A delivery log shows the ID a refused delivery claims (see audit.record).
            bind({name: route.event_ids.headers for name, route in self._live.routes.items()})

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Guard:
        """Build a guard from a YAML file (see :func:`~webhook_guard.load_config`);
        :meth:`reload` re-reads it."""
        guard = cls(load_config(path), **kwargs)
        guard._source = path
        return guard

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Guard:
        """Build a guard from an already parsed configuration mapping; :meth:`reload`
        loads it again (re-reading its ``env:`` and ``file:`` secrets)."""
        guard = cls(load_config(data, env=env), **kwargs)
        guard._source, guard._env = data, env
        return guard

    def __repr__(self) -> str:
        live = self._live
        return f"Guard(routes={list(live.routes)!r}, store={type(live.store).__name__})"

    @property
    def clock(self) -> Callable[[], float]:
        """The Unix time source for timestamps and secret expiry."""
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock = self._live.clock = clock

    @property
    def config(self) -> Config:
        """The configuration in force (the latest :meth:`reload`'s)."""
        return self._live.config

    @property
    def store(self) -> ReplayStore:
        """The replay store in use."""
        return self._live.store

    def plan(self, route: str) -> RoutePlan:
        """The compiled plan of the named route in force (its ``steps`` show which checks
        run, in order).

        Raises:
            KeyError: no such route.
        """
        return self._live.routes[route]

    # -- lifetime ----------------------------------------------------------------------

    def reload(
        self, source: str | os.PathLike[str] | Mapping[str, Any] | Config | None = None
    ) -> Config:
        """Load a new configuration and switch to it between requests.

        Args:
            source: a YAML file path, a mapping or a :class:`~webhook_guard.Config`; by
                default the file (or mapping) this guard was built from is loaded again,
                with its ``env:`` and ``file:`` secrets. A path or mapping given here is
                what the next ``reload()`` re-reads.

        The new configuration is built completely before one reference is swapped: a
        request in progress finishes under the configuration it started with, the next
        one runs under the new one. The replay store is kept (with the events it
        remembers and the reservations it holds) unless ``replay.store`` names another
        one (or, for Redis, ``prefix`` or ``socket_timeout`` changed); a memory store
        takes the new ``max_entries``, and a store passed as ``store=`` is always kept.
        A replaced store is not closed: requests in flight still settle their events
        in it. Safe to call from any thread (not inside a signal handler:
        start a thread there, as :func:`webhook_guard.proxy.reload_on_sighup` does).

        Returns:
            The configuration now in force.

        Raises:
            ConfigError: the new configuration does not load (every error, with its
                place); it is also logged, and the running configuration stays.
        """
        with self._reload_lock:
            live = self._live
            where = self._source if source is None else source
            try:
                if where is None:
                    raise ConfigError(
                        "<config>: this guard was built from a Config object, so there is "
                        "no file to re-read; pass reload(path), reload(mapping) or "
                        "reload(config)"
                    )
                config = (
                    where
                    if isinstance(where, Config)
                    else load_config(where, env=self._env if source is None else None)
                )
                keep = not self._own_store or same_store(config.replay, live.config.replay)
                store = live.store if keep else open_store(config.replay)
                if self._own_store and isinstance(store, MemoryReplayStore):
                    store.max_entries = config.replay.max_entries
                new = Pipeline(config, store, self._clock, live.key_fetcher)
            except ConfigError as exc:
                logger.error(
                    "webhook_guard config reload failed; the running config stays: %s",
                    "; ".join(exc.errors),
                )
                raise
            if self._own_audit and config.audit != live.config.audit:
                from .audit import DeliveryLog

                self.audit = DeliveryLog(config.audit) if config.audit is not None else None
            self._live = new
            self._bind_audit()
            if source is not None and not isinstance(source, Config):
                self._source, self._env = source, None
        logger.info(
            "webhook_guard config reloaded: %d route(s)%s",
            len(config.routes),
            "" if keep else "; new replay store",
        )
        return config

    def close(self) -> None:
        """Release what this guard opened: its replay store's connections (a store
        passed as ``store=`` is the caller's and stays open) and its delivery log."""
        if self._own_store:
            close = getattr(self._live.store, "close", None)
            if close is not None:
                close()
        if self._own_audit:
            close = getattr(self.audit, "close", None)
            if close is not None:
                close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`, for async store connections (they belong to the
        event loop that used them, so they are closed on it)."""
        if self._own_store:
            aclose = getattr(self._live.store, "aclose", None)
            if aclose is not None:
                await aclose()
        if self._own_audit:
            close = getattr(self.audit, "close", None)
            if close is not None:
                close()

    # -- the request lifecycle ---------------------------------------------------------

    def begin(
        self, req: WebhookRequest, dispatched_path: str | tuple[str, ...] | None = None
    ) -> Delivery:
        """Start one request's way through the guard, for an adapter to drive: the body
        limit, the check, the settling (see :class:`~webhook_guard.pipeline.Delivery`).

        Args:
            req: the request, without its body yet.
            dispatched_path: the decoded path the framework routes on; the verdict is
                bound to the route covering it (see :meth:`check_dispatch`). Several
                when the app is mounted under a prefix (``SCRIPT_NAME``, ``root_path``):
                the full path and the path the framework matches its routes against.
        """
        verdict = self.precheck(req)
        if dispatched_path is not None:
            verdict = self.check_dispatch(req, verdict, dispatched_path)
        return Delivery(self, req, verdict)

    def precheck(self, req: WebhookRequest) -> Verdict:
        """The checks that need no body: route, method, client address, Content-Length.

        Adapters call this before reading the body. ``ok`` with ``route=None``: not a
        webhook route, pass it through. ``ok`` with a route: read at most
        :meth:`body_limit` bytes, then call :meth:`check`. Not ``ok``: refuse now.
        """
        live = self._live
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = live.precheck(req)
        # Only refusals are observed here; a pass is observed by the check() that follows.
        if not verdict.ok:
            self._observe(verdict, req, t0, live)
        return verdict

    def body_limit(self, route: str) -> int:
        """``max_body_bytes`` of the named route.

        A route that a :meth:`reload` removed since the precheck gets the largest limit
        of the current routes: :meth:`check` then judges the request under the new
        configuration."""
        return self._live.body_limit(route)

    def body_too_large(
        self, req: WebhookRequest, precheck: Verdict, limit: int | None = None
    ) -> Verdict:
        """The refusal for a body that grew past the limit while an adapter read it.

        A declared Content-Length over the limit is refused by :meth:`precheck` already;
        this is for bodies without one (chunked), or a framework's own stricter limit.

        Args:
            req: the request, as given to :meth:`precheck`.
            precheck: the passing :meth:`precheck` verdict, for its route.
            limit: the limit that was exceeded (default: the route's ``max_body_bytes``).
        """
        live = self._live
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = live.body_too_large(precheck, limit)
        self._observe(verdict, req, t0, live)
        return verdict

    def check(self, req: WebhookRequest) -> Verdict:
        """Check one request (synchronous stores).

        Returns:
            The verdict. When ``ok`` and a replay reservation was taken, call
            :meth:`complete` after the handler ran.
        """
        live = self._live
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = live.check(req)
        if self._observed or not verdict.ok or verdict.reported or logger.isEnabledFor(_INFO):
            self._observe(verdict, req, t0, live)
        return verdict

    async def acheck(self, req: WebhookRequest) -> Verdict:
        """Async twin of :meth:`check`, for async replay stores."""
        live = self._live
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = await live.acheck(req)
        if self._observed or not verdict.ok or verdict.reported or logger.isEnabledFor(_INFO):
            self._observe(verdict, req, t0, live)
        return verdict

    def check_dispatch(
        self, req: WebhookRequest, verdict: Verdict, path: str | tuple[str, ...]
    ) -> Verdict:
        """Bind ``verdict`` to where the application dispatches the request.

        Adapters call this with the decoded ``path`` the framework routes on (or a tuple
        of them: under a mount prefix, the full path and the mount-relative path the
        framework's routes are matched against, which a server may have cut from a
        target the guard read whole). When a
        route covers that path but ``verdict`` is not for that route, the server or
        framework read the request target differently from the guard, so the handler of
        a guarded route would run without its check: refused with ``path_invalid``
        (and ``verdict``'s replay reservation, if any, released).

        Returns:
            ``verdict``, or the refusal.
        """
        live = self._live
        t0 = time.perf_counter() if self._metrics is not None else 0.0
        refusal = live.dispatch(req, verdict, path)
        if refusal is None:
            return verdict
        self.complete(verdict, None)
        self._observe(refusal, req, t0, live)
        return refusal

    def complete(self, verdict: Verdict, status: int | None) -> None:
        """Settle the verdict's replay reservation once the handler has answered.

        Args:
            verdict: the verdict :meth:`check` returned.
            status: the handler's response status; ``None`` when it raised or the client
                went away before the whole answer was produced. A 2xx (under the route's
                ``commit_on: below_500``: any status below 500) remembers the event as
                done; anything else releases the reservation so the provider's retry is
                processed. Store errors are logged, never raised.
        """
        settle(verdict, status, self._live.retention)

    async def acomplete(self, verdict: Verdict, status: int | None) -> None:
        """Async twin of :meth:`complete`."""
        await asettle(verdict, status, self._live.retention)

    # -- observation -------------------------------------------------------------------

    def _observe(
        self, verdict: Verdict, req: WebhookRequest, started: float, live: Pipeline
    ) -> None:
        """Log a rejection, count it, and call ``on_verdict``: never raises into the request."""
        route = verdict.route
        if route is None:
            if verdict.ok:
                return  # not a webhook route: nothing was checked
            # A path no route can be told for (path_invalid): refused, so seen and recorded.
            log_verdict(verdict)
            self._record(verdict, req, 0.0)
            return
        log_verdict(verdict)
        seconds = time.perf_counter() - started if self._timed else 0.0
        if self._metrics is not None:
            plan = live.routes.get(route)
            previous = (
                verdict.secret_id is not None
                and plan is not None
                and verdict.secret_id != plan.current_secret
            )
            try:
                self._metrics.observe(verdict, seconds, previous)
            except Exception:
                logger.exception("webhook_guard metrics failed for route %s", route)
        self._record(verdict, req, seconds)
        if self._on_verdict is not None:
            try:
                self._on_verdict(verdict, req)
            except Exception:
                logger.exception("on_verdict callback failed for route %s", route)

    def _record(self, verdict: Verdict, req: WebhookRequest, seconds: float) -> None:
        """Add the verdict to the delivery log, if there is one; never raises."""
        if self.audit is not None:
            try:
                self.audit.record(verdict, req, seconds)
            except Exception:
                logger.exception("delivery log failed for route %s", verdict.route)


__all__ = ["ConfigError", "Guard"]
