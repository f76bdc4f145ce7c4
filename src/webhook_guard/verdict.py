"""The outcome of a check: :class:`Verdict`, its :class:`Reason` codes, problem+json."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field
from enum import Enum
from typing import Any

from .untrusted import MAX_DETAIL, shown


class Reason(str, Enum):
    """Why a request was rejected. The values are stable wire codes.

    ``Reason.X.status`` is the HTTP status sent for it. For ``duplicate_event`` that is the
    default (``on_duplicate: acknowledge``, 200); ``on_duplicate: reject`` sends 409.
    """

    ROUTE_NOT_FOUND = "route_not_found"
    PATH_INVALID = "path_invalid"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    IP_NOT_ALLOWED = "ip_not_allowed"
    PROXY_HEADERS_INVALID = "proxy_headers_invalid"
    CLIENT_CERT_MISSING = "client_cert_missing"
    CLIENT_CERT_INVALID = "client_cert_invalid"
    TOKEN_MISSING = "token_missing"
    TOKEN_INVALID = "token_invalid"
    TIMESTAMP_MISSING = "timestamp_missing"
    TIMESTAMP_MALFORMED = "timestamp_malformed"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_MISMATCH = "signature_mismatch"
    DUPLICATE_EVENT = "duplicate_event"
    EVENT_IN_FLIGHT = "event_in_flight"
    REPLAY_STORE_UNAVAILABLE = "replay_store_unavailable"
    KEY_UNAVAILABLE = "key_unavailable"
    HANDSHAKE = "handshake"

    def __str__(self) -> str:
        return self.value

    @property
    def status(self) -> int:
        """The HTTP status sent for this reason."""
        return _STATUS[self]

    @property
    def summary(self) -> str:
        """A short human summary, the problem+json ``title``."""
        return _TITLES[self]


_STATUS: dict[Reason, int] = {
    Reason.ROUTE_NOT_FOUND: 404,
    Reason.PATH_INVALID: 400,
    Reason.METHOD_NOT_ALLOWED: 405,
    Reason.BODY_TOO_LARGE: 413,
    Reason.IP_NOT_ALLOWED: 403,
    Reason.PROXY_HEADERS_INVALID: 400,
    Reason.CLIENT_CERT_MISSING: 403,
    Reason.CLIENT_CERT_INVALID: 403,
    Reason.TOKEN_MISSING: 401,
    Reason.TOKEN_INVALID: 401,
    Reason.TIMESTAMP_MISSING: 401,
    Reason.TIMESTAMP_MALFORMED: 401,
    Reason.TIMESTAMP_TOO_OLD: 401,
    Reason.TIMESTAMP_IN_FUTURE: 401,
    Reason.SIGNATURE_MISSING: 401,
    Reason.SIGNATURE_MALFORMED: 401,
    Reason.SIGNATURE_MISMATCH: 401,
    Reason.DUPLICATE_EVENT: 200,
    Reason.EVENT_IN_FLIGHT: 409,
    Reason.REPLAY_STORE_UNAVAILABLE: 503,
    Reason.KEY_UNAVAILABLE: 503,
    Reason.HANDSHAKE: 200,
}

_TITLES: dict[Reason, str] = {
    Reason.ROUTE_NOT_FOUND: "No such webhook route",
    Reason.PATH_INVALID: "Request path cannot be read unambiguously",
    Reason.METHOD_NOT_ALLOWED: "Method not allowed",
    Reason.BODY_TOO_LARGE: "Body too large",
    Reason.IP_NOT_ALLOWED: "Source address not allowed",
    Reason.PROXY_HEADERS_INVALID: "Invalid proxy headers",
    Reason.CLIENT_CERT_MISSING: "Client certificate missing",
    Reason.CLIENT_CERT_INVALID: "Client certificate not accepted",
    Reason.TOKEN_MISSING: "Token missing",
    Reason.TOKEN_INVALID: "Token invalid",
    Reason.TIMESTAMP_MISSING: "Timestamp missing",
    Reason.TIMESTAMP_MALFORMED: "Timestamp malformed",
    Reason.TIMESTAMP_TOO_OLD: "Timestamp too old",
    Reason.TIMESTAMP_IN_FUTURE: "Timestamp in the future",
    Reason.SIGNATURE_MISSING: "Signature missing",
    Reason.SIGNATURE_MALFORMED: "Signature malformed",
    Reason.SIGNATURE_MISMATCH: "Signature mismatch",
    Reason.DUPLICATE_EVENT: "Duplicate event",
    Reason.EVENT_IN_FLIGHT: "Event in flight",
    Reason.REPLAY_STORE_UNAVAILABLE: "Replay store unavailable",
    Reason.KEY_UNAVAILABLE: "Verification key unavailable",
    Reason.HANDSHAKE: "Provider handshake answered",
}

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "urn:webhook-guard:reason:"


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about one request.

    Attributes:
        ok: True when the handler should run.
        reason: why the request was refused (``None`` when ok).
        status: the HTTP status to send when refused.
        detail: human text for the sender; never contains a secret.
        route: the matched route's name; ``None`` when no route matched.
        client_ip: the client address the checks used.
        event_id: the delivery's ID used for replay protection.
        secret_id: label of the secret that verified the signature or token.
        timestamp: the signed timestamp, set only once the signature holds.
        duplicate: True when this event was already processed.
        reported: failures let through because the route is in ``mode: report``.
        headers: extra response headers for a refusal (``Allow``, ``Retry-After``).
        verified: True when every check the route configures passed (``ok``, and nothing
            let through by ``mode: report``): the request is authenticated by its
            signature or token, so a framework's CSRF check may be waived for it. False
            for a precheck's verdict, which has not seen the body yet.
    """

    ok: bool
    reason: Reason | None = None
    status: int = 200
    detail: str = ""
    route: str | None = None
    client_ip: str | None = None
    event_id: str | None = None
    secret_id: str | None = None
    timestamp: int | None = None
    duplicate: bool = False
    reported: tuple[Reason, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    verified: bool = False
    answer: tuple[str, bytes] | None = field(default=None, compare=False)
    """For ``reason=handshake``: the (content type, body) the guard answers the provider
    with; :meth:`response_body` and :meth:`response_headers` send it."""
    # The replay reservation that complete() settles; opaque to users.
    reservation: Any = field(default=None, repr=False, compare=False)

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem details object for this verdict."""
        if self.reason is None:
            return {"type": "about:blank", "title": "OK", "status": self.status}
        body: dict[str, Any] = {
            "type": _TYPE_BASE + self.reason.value,
            "title": self.reason.summary,
            "status": self.status,
            "detail": shown(self.detail, MAX_DETAIL),  # built from shown() parts already
            "reason": self.reason.value,
        }
        if self.event_id is not None and self.duplicate:
            body["event_id"] = self.event_id
        return body

    def problem_json(self) -> bytes:
        """:meth:`problem` serialised, for an ``application/problem+json`` response."""
        return json.dumps(self.problem(), separators=(",", ":")).encode()

    def response_body(self) -> bytes:
        """The one body an adapter sends for a verdict that is not ok: the handshake's
        answer for ``reason=handshake``, else :meth:`problem_json`."""
        if self.answer is not None:
            return self.answer[1]
        return self.problem_json()

    def response_headers(self) -> list[tuple[str, str]]:
        """Headers for :meth:`response_body`: its content type plus :attr:`headers`."""
        if self.answer is not None:
            # nosniff: an echoed challenge is never rendered as anything but what it says.
            return [
                ("content-type", self.answer[0]),
                ("x-content-type-options", "nosniff"),
                *self.headers,
            ]
        return [("content-type", PROBLEM_CONTENT_TYPE), *self.headers]


_FIELD_DEFAULTS: dict[str, Any] = {f.name: f.default for f in Verdict.__dataclass_fields__.values()}
assert all(f.default_factory is MISSING for f in Verdict.__dataclass_fields__.values())
_ACCEPTED: dict[str, Any] = {**_FIELD_DEFAULTS, "ok": True}


def build_verdict(**fields: Any) -> Verdict:
    """A verdict from keyword fields, for the pipeline (the public way is ``Verdict(...)``).

    The guard builds one verdict per request; a frozen dataclass's ``__init__`` spends
    about 1.5 us in ``object.__setattr__`` calls (measured: half the pipeline's own cost
    at 1 KiB), so ``__dict__`` is filled in one go instead. Every field has a plain
    default (no default_factory, no __post_init__): ``_FIELD_DEFAULTS`` covers them all.
    """
    self = object.__new__(Verdict)
    self.__dict__.update(_FIELD_DEFAULTS, **fields)
    return self


def accepted_verdict(
    route: str,
    client_ip: str | None,
    event_id: str | None,
    secret_id: str | None,
    timestamp: int | None,
    reported: tuple[Reason, ...],
    reservation: Any,
) -> Verdict:
    """:func:`build_verdict` for every accepted request, without packing keywords
    (about 0.5 us of the 1 KiB budget)."""
    self = object.__new__(Verdict)
    fields = self.__dict__
    fields.update(_ACCEPTED)
    fields["route"] = route
    fields["client_ip"] = client_ip
    fields["event_id"] = event_id
    fields["secret_id"] = secret_id
    fields["timestamp"] = timestamp
    fields["reported"] = reported
    fields["reservation"] = reservation
    fields["verified"] = not reported
    return self
