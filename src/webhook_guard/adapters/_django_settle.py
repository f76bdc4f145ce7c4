"""When a Django view's event is settled: after a streamed body was sent, after the
view's ``ATOMIC_REQUESTS`` transactions committed, and by the view's own answer when
Django cancelled its request (see :mod:`webhook_guard.adapters.django`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from django.db import connections, transaction
from django.http import HttpResponseBase, StreamingHttpResponse

from ..guard import Guard
from ..verdict import Verdict
from ._common import SettleWhenSent, asettle_when_sent


def settle_streamed(response: HttpResponseBase, guard: Guard, verdict: Verdict) -> bool:
    """For a streaming response below 500: settle the event once its body was sent (the
    view's iterator runs while it is sent); True then."""
    if not isinstance(response, StreamingHttpResponse) or response.status_code >= 500:
        return False
    # The documented way for a middleware to wrap a streaming body (as GZipMiddleware).
    if response.is_async:
        response.streaming_content = asettle_when_sent(
            response.streaming_content, guard, verdict, response.status_code
        )
    else:
        response.streaming_content = SettleWhenSent(
            response.streaming_content, guard, verdict, response.status_code
        )
    return True


async def asettle_when_done(
    task: asyncio.Future[HttpResponseBase], guard: Guard, verdict: Verdict
) -> None:
    """Settle the event by the answer of a view whose request Django cancelled (its
    client went away): the view was left running, as a sync view's thread cannot be
    stopped, so its outcome says whether the event was processed. The response is never
    sent, so a streamed one (whose body would do the work) releases the event."""
    await asyncio.wait({task})
    status: int | None = None
    if not task.cancelled() and task.exception() is None:
        response = task.result()
        if not isinstance(response, StreamingHttpResponse):
            status = response.status_code
    await guard.acomplete(verdict, status)


class AllDatabases(set[str]):
    """A sync view's ``_non_atomic_requests`` under ``protect()`` (Django's
    ``make_view_atomic`` reads it): Django opens no ``ATOMIC_REQUESTS`` transaction around
    the view, since :func:`in_transactions` opens them inside. The databases that
    ``transaction.non_atomic_requests`` adds outside ``protect()`` are its members."""

    def __contains__(self, alias: object) -> bool:
        return True


def in_transactions(skip: Iterable[str], call: Callable[[], HttpResponseBase]) -> HttpResponseBase:
    """``call()`` in the ``ATOMIC_REQUESTS`` transactions Django would have opened around
    the view (none for the databases in ``skip``), nested as Django nests them.

    Opened by Django around ``protect()``, they would commit after the event was settled:
    a COMMIT that fails (a deferred constraint, a serialization failure) answers 500 with
    the event used up, and the provider's retry would be dropped as a duplicate. Opened
    here, a failed COMMIT raises inside ``protect()``, which releases the event.
    """
    skipped = set(skip)
    with contextlib.ExitStack() as stack:
        for alias, options in reversed(connections.settings.items()):
            # make_view_atomic wraps the view in each in turn: the last one outermost.
            if options.get("ATOMIC_REQUESTS") and alias not in skipped:
                stack.enter_context(transaction.atomic(using=alias))
        return call()
