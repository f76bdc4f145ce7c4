"""Verdicts: the pending request between authentication and the replay check, the
verdicts built from it, and the one log line per decision (see docs/architecture.md,
"Outcomes")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..logs import logger
from ..replay import ReplayStore
from ..signatures.handshakes import HandshakeAnswer
from ..untrusted import MAX_DETAIL, shown
from ..verdict import Reason, Verdict, accepted_verdict, build_verdict

if TYPE_CHECKING:
    from .plan import RoutePlan

PASS = Verdict(ok=True)
"""The verdict for a path no route covers: not a webhook, passed through unchecked."""


class Pending:
    """An authenticated request waiting for its replay reservation.

    Once the store reserved ``key`` under ``token`` it is also the verdict's reservation,
    which :func:`~webhook_guard.pipeline.settle.settle` settles once (one object per
    request instead of two).
    """

    __slots__ = (
        "answer",
        "client_ip",
        "event_id",
        "key",
        "reported",
        "route",
        "second",
        "secret_id",
        "settled",
        "store",
        "timestamp",
        "token",
    )

    def __init__(
        self,
        route: RoutePlan,
        client_ip: str | None,
        reported: list[Reason],
        event_id: str | None,
        key: str | None,
        secret_id: str | None,
        timestamp: int | None,
        answer: Verdict | None = None,
        second: str | None = None,
    ) -> None:
        self.route = route
        self.client_ip = client_ip
        self.reported = reported
        self.event_id = event_id
        self.key = key
        self.secret_id = secret_id
        self.timestamp = timestamp
        #: The guard's answer to a signed endpoint check: its key is used up, not handed
        #: to the app (docs/architecture.md, "Handshakes").
        self.answer = answer
        #: A second key reserved, settled and refused with ``key`` (PayPal's signed
        #: transmission ID beside its event ID).
        self.second = second
        self.token: str | None = None
        self.settled = False
        # The store that holds the reservation: it is settled there even when a reload
        # swapped in a new store in between.
        self.store: ReplayStore | None = None


def accept(pending: Pending, reservation: Pending | None) -> Verdict:
    """The passing verdict for ``pending`` (``reservation``: what complete() settles)."""
    return accepted_verdict(
        pending.route.name,
        pending.client_ip,
        pending.event_id,
        pending.secret_id,
        pending.timestamp,
        tuple(pending.reported) if pending.reported else (),
        reservation,
    )


def reject(
    route: RoutePlan,
    reason: Reason,
    detail: str,
    client_ip: str | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Verdict:
    """The refusal of a request on ``route``, with the reason's own status."""
    return build_verdict(
        ok=False,
        reason=reason,
        status=reason.status,
        detail=detail,
        route=route.name,
        client_ip=client_ip,
        headers=headers,
    )


def handshake(
    route: RoutePlan, answer: HandshakeAnswer, client_ip: str | None, secret_id: str | None
) -> Verdict:
    """The guard's own answer to the provider's endpoint check (``reason=handshake``): the
    app is not called. A signed check's key is still used up (see :class:`Pending`)."""
    assert route.handshake is not None
    return build_verdict(
        ok=False,
        reason=Reason.HANDSHAKE,
        status=answer.status,
        detail=f"answered the {route.handshake.kind} endpoint check",
        route=route.name,
        client_ip=client_ip,
        secret_id=secret_id,
        answer=(answer.content_type, answer.body),
    )


def path_invalid(problem: str, client_ip: str | None) -> Verdict:
    """The refusal of a path whose route cannot be told (it is for no route)."""
    return Verdict(
        False, Reason.PATH_INVALID, Reason.PATH_INVALID.status, problem, client_ip=client_ip
    )


def log_verdict(verdict: Verdict) -> None:
    """One line per rejection (or report-mode pass), with the fields also as ``extra`` for
    structured handlers. Details never hold secrets or query-string tokens."""
    reason = verdict.reason
    status = verdict.status
    if reason is None and not verdict.reported:
        _log_accepted(verdict)
        return
    if reason is None:
        level, what = logging.WARNING, "webhook would be rejected (report mode)"
        reason = verdict.reported[0]
        status = reason.status
    elif verdict.duplicate:
        level, what = logging.INFO, "webhook duplicate"
    elif reason is Reason.HANDSHAKE:
        level, what = logging.INFO, "webhook handshake answered"
    else:
        level, what = logging.WARNING, "webhook rejected"
    if not logger.isEnabledFor(level):
        return
    reported = ",".join(r.value for r in verdict.reported)
    # Details quote request data through shown() already; the peer may be any text a server
    # took from a header. Shown again here, so no field can break the line.
    client_ip = None if verdict.client_ip is None else shown(verdict.client_ip, MAX_DETAIL)
    event_id = None if verdict.event_id is None else shown(verdict.event_id, MAX_DETAIL)
    detail = shown(verdict.detail, MAX_DETAIL)
    logger.log(
        level,
        "%s: route=%s reason=%s status=%s client_ip=%s event_id=%s reported=%s detail=%s",
        what,
        verdict.route,
        reason.value,
        status,
        client_ip,
        event_id,
        reported or "-",
        detail or "-",
        extra={
            "webhook_route": verdict.route,
            "webhook_reason": reason.value,
            "webhook_status": status,
            "webhook_client_ip": client_ip,
            "webhook_event_id": event_id,
            "webhook_reported": reported,
            "webhook_detail": detail,
            "webhook_secret_id": verdict.secret_id,
        },
    )


def _log_accepted(verdict: Verdict) -> None:
    """INFO: an accepted delivery and the label of the secret that verified it, so an
    operator rotating secrets sees when the old one stops being used."""
    if not logger.isEnabledFor(logging.INFO):
        return
    logger.info(
        "webhook accepted: route=%s client_ip=%s event_id=%s secret_id=%s",
        verdict.route,
        verdict.client_ip,
        verdict.event_id,
        verdict.secret_id,
        extra={
            "webhook_route": verdict.route,
            "webhook_reason": None,
            "webhook_status": verdict.status,
            "webhook_client_ip": verdict.client_ip,
            "webhook_event_id": verdict.event_id,
            "webhook_reported": "",
            "webhook_detail": None,
            "webhook_secret_id": verdict.secret_id,
        },
    )
