"""The replay step and the settling of its reservations (see docs/architecture.md,
"Replay states")."""

from __future__ import annotations

import contextlib
import itertools
import os

from ..config import ReplayConfig
from ..logs import logger
from ..replay import ReplayState, ReplayStore
from ..verdict import Reason, Verdict
from .outcome import Pending, accept
from .plan import RoutePlan

_NEW = ReplayState.NEW  # a module global: cheaper than the enum attribute per request


class ReplayStep:
    """Reserves each authenticated delivery's key in the store: NEW passes (and is settled
    by :func:`settle` once the handler answered), IN_FLIGHT and DONE are refused. A signed
    endpoint check is answered in every state, its key committed when NEW."""

    def __init__(self, store: ReplayStore, config: ReplayConfig) -> None:
        self.store = store
        self._timeout = config.processing_timeout
        self._retention = config.retention
        self._fail_open = config.on_store_error == "fail_open"
        # Reservation tokens: unique per pipeline (random prefix) and per request.
        self._token_prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count()

    def reserve(self, pending: Pending) -> Verdict:
        """The verdict for ``pending`` once its key is reserved (synchronous stores)."""
        assert pending.key is not None
        token = self._token_prefix + str(next(self._counter))
        try:
            state = self.store.reserve(pending.key, self._timeout, token)
            if pending.answer is not None:  # a signed check uses its key up
                if state is _NEW:
                    self.store.commit(pending.key, self._retention, token)
                return pending.answer
        except Exception as exc:
            return self._failed(pending, exc)
        if state is _NEW and pending.second is not None:
            second = self._reserve_second(pending, token)
            if isinstance(second, Verdict):
                return second
            state = second
        if state is _NEW:
            pending.token = token
            pending.store = self.store
            return accept(pending, pending)
        return self._outcome(pending, state)

    async def areserve(self, pending: Pending) -> Verdict:
        """Async twin of :meth:`reserve`."""
        assert pending.key is not None
        token = self._token_prefix + str(next(self._counter))
        try:
            state = await self.store.areserve(pending.key, self._timeout, token)
            if pending.answer is not None:  # a signed check uses its key up
                if state is _NEW:
                    await self.store.acommit(pending.key, self._retention, token)
                return pending.answer
        except Exception as exc:
            return self._failed(pending, exc)
        if state is _NEW and pending.second is not None:
            second = await self._areserve_second(pending, token)
            if isinstance(second, Verdict):
                return second
            state = second
        if state is _NEW:
            pending.token = token
            pending.store = self.store
            return accept(pending, pending)
        return self._outcome(pending, state)

    def _reserve_second(self, pending: Pending, token: str) -> ReplayState | Verdict:
        """The state of ``pending.second``; when it is not NEW (or the store failed), the
        first key is let go at once, so the provider's retry is not held off until the
        reservation times out."""
        assert pending.key is not None
        assert pending.second is not None
        try:
            state = self.store.reserve(pending.second, self._timeout, token)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.store.release(pending.key, token)
            return self._failed(pending, exc)
        if state is not _NEW:
            with contextlib.suppress(Exception):
                self.store.release(pending.key, token)
        return state

    async def _areserve_second(self, pending: Pending, token: str) -> ReplayState | Verdict:
        """Async twin of :meth:`_reserve_second`."""
        assert pending.key is not None
        assert pending.second is not None
        try:
            state = await self.store.areserve(pending.second, self._timeout, token)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await self.store.arelease(pending.key, token)
            return self._failed(pending, exc)
        if state is not _NEW:
            with contextlib.suppress(Exception):
                await self.store.arelease(pending.key, token)
        return state

    def _outcome(self, pending: Pending, state: ReplayState) -> Verdict:
        """The verdict for a key already IN_FLIGHT or DONE."""
        route = pending.route
        if state is ReplayState.DONE:
            reason = Reason.DUPLICATE_EVENT
            detail = f"event {pending.event_id} was already processed"
            status = 200 if route.config.on_duplicate == "acknowledge" else 409
            headers: tuple[tuple[str, str], ...] = ()
        else:
            reason = Reason.EVENT_IN_FLIGHT
            detail = f"event {pending.event_id} is being processed; retry later"
            status = 409
            headers = (("retry-after", str(self._timeout)),)
        if not route.enforce:
            pending.reported.append(reason)
            return accept(pending, None)
        return Verdict(
            False,
            reason,
            status,
            detail,
            route=route.name,
            client_ip=pending.client_ip,
            event_id=pending.event_id,
            secret_id=pending.secret_id,
            timestamp=pending.timestamp,
            duplicate=state is ReplayState.DONE,
            reported=tuple(pending.reported),
            headers=headers,
        )

    def _failed(self, pending: Pending, exc: Exception) -> Verdict:
        logger.error(
            "replay store failed (%s: %s); route=%s policy=%s",
            type(exc).__name__,
            exc,
            pending.route.name,
            "fail_open" if self._fail_open else "fail_closed",
        )
        if self._fail_open or not pending.route.enforce:
            pending.reported.append(Reason.REPLAY_STORE_UNAVAILABLE)
            return pending.answer or accept(pending, None)
        return Verdict(
            False,
            Reason.REPLAY_STORE_UNAVAILABLE,
            503,
            "the replay store is unavailable; retry later",
            route=pending.route.name,
            client_ip=pending.client_ip,
            event_id=pending.event_id,
            secret_id=pending.secret_id,
            headers=(("retry-after", "5"),),
        )


def _claim(verdict: Verdict) -> tuple[ReplayStore, tuple[str, ...], str, RoutePlan] | None:
    """(store that holds it, keys, token, route) of the verdict's reservation, the first
    time only."""
    res = verdict.reservation
    if not isinstance(res, Pending) or res.settled or res.key is None or res.token is None:
        return None
    res.settled = True
    assert res.store is not None
    keys = (res.key,) if res.second is None else (res.key, res.second)
    return res.store, keys, res.token, res.route


def commits(route: RoutePlan, status: int | None) -> bool:
    """Whether the handler's answer uses the event up: a 2xx (under ``commit_on:
    below_500`` any status below 500); None (raised, or cut short) never does."""
    if status is None:
        return False
    return 200 <= status < 300 or (route.commit_below_500 and status < 500)


def settle(verdict: Verdict, status: int | None, retention: int) -> None:
    """Commit or release the verdict's reservation, once; store errors are logged."""
    claim = _claim(verdict)
    if claim is None:
        return
    store, keys, token, route = claim
    done = commits(route, status)
    for key in keys:  # each on its own: one failing must not leave the other held
        try:
            if done:
                store.commit(key, retention, token)
            else:
                store.release(key, token)
        except Exception as exc:
            _log_settle_error(verdict, exc)


async def asettle(verdict: Verdict, status: int | None, retention: int) -> None:
    """Async twin of :func:`settle`."""
    claim = _claim(verdict)
    if claim is None:
        return
    store, keys, token, route = claim
    done = commits(route, status)
    for key in keys:
        try:
            if done:
                await store.acommit(key, retention, token)
            else:
                await store.arelease(key, token)
        except Exception as exc:
            _log_settle_error(verdict, exc)


def _log_settle_error(verdict: Verdict, exc: Exception) -> None:
    logger.error(
        "replay store failed while completing event %s on route %s (%s: %s)",
        verdict.event_id,
        verdict.route,
        type(exc).__name__,
        exc,
    )
