"""The pipeline: one configuration compiled into route plans, and the one path every
request takes through them (see docs/architecture.md, "The pipeline")."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..config import Config
from ..replay import ReplayStore
from ..request import WebhookRequest
from ..routes import SAFE_PATH, RouteTable, normalise_path
from ..secrets import Secret
from ..signatures.base import FETCHED_KEY_SCHEMES, Failure, ParsedSignature
from ..untrusted import shown
from ..verdict import Reason, Verdict, accepted_verdict
from .access import AddressCheck
from .outcome import PASS, Pending, handshake, path_invalid, reject
from .plan import RoutePlan
from .replay import ReplayStep

if TYPE_CHECKING:
    from ..signatures.keyfetch import KeyFetcher

_DIGITS = re.compile(r"[0-9]{1,19}")

Started = tuple[RoutePlan, "str | None", list[Reason]]


class Pipeline:
    """Everything a request reads, built from one config and never changed after (a
    reload builds a new pipeline and swaps one reference)."""

    def __init__(
        self,
        config: Config,
        store: ReplayStore,
        clock: Callable[[], float],
        key_fetcher: KeyFetcher | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.replay = ReplayStep(store, config.replay)
        self.retention = config.replay.retention
        self._address = AddressCheck(config.network)
        if key_fetcher is None and any(
            r.signature is not None and r.signature.scheme in FETCHED_KEY_SCHEMES
            for r in config.routes
        ):
            from ..signatures.keyfetch import KeyFetcher

            key_fetcher = KeyFetcher()
        #: Where routes with fetched keys (sns, google-pubsub) get them; kept across
        #: reloads so its cache is too.
        self.key_fetcher = key_fetcher
        self.routes: Mapping[str, RoutePlan] = {
            r.name: RoutePlan(r, config.network, self._address, key_fetcher) for r in config.routes
        }
        self._table: RouteTable[RoutePlan] = RouteTable(
            (r.config.path, r) for r in self.routes.values()
        )
        # Routes by the raw request path that certainly selects them (checked through the
        # general matcher itself): one dict lookup instead of normalising and matching.
        self._exact: dict[str, RoutePlan] = {}
        for route in self.routes.values():
            norm = normalise_path(route.config.path)
            if norm.canonical and norm.path and self._table.match(norm.path) is route:
                self._exact[route.config.path] = route

    @property
    def store(self) -> ReplayStore:
        return self.replay.store

    def body_limit(self, route: str) -> int:
        found = self.routes.get(route)
        if found is not None:
            return found.max_body_bytes
        return max((r.max_body_bytes for r in self.routes.values()), default=0)

    # -- before the body ---------------------------------------------------------------

    def precheck(self, req: WebhookRequest) -> Verdict:
        """Route, method, client address, client certificate and Content-Length."""
        started = self._start(req, has_body=False)
        if isinstance(started, Verdict):
            return started
        route, client_ip, reported = started
        return Verdict(True, route=route.name, client_ip=client_ip, reported=tuple(reported))

    def body_too_large(self, precheck: Verdict, limit: int | None) -> Verdict:
        assert precheck.route is not None, "body_too_large() needs a routed precheck verdict"
        if limit is None:
            limit = self.body_limit(precheck.route)
        return Verdict(
            False,
            Reason.BODY_TOO_LARGE,
            Reason.BODY_TOO_LARGE.status,
            f"the body exceeds the limit of {limit} bytes",
            route=precheck.route,
            client_ip=precheck.client_ip,
        )

    def _route(self, req: WebhookRequest) -> RoutePlan | Verdict:
        """The plan of the route covering the request's path, or the verdict without one."""
        route = self._exact.get(req.path)
        if route is not None:
            return route
        norm = normalise_path(req.path)
        if norm.path is None:
            # Which route it is for cannot be known: never pass it on.
            return path_invalid(norm.problem or "", req.peer)
        # A framework may also match the decoded path as it is: "/hooks/x/.." and
        # "/hooks/x/" are under "/hooks/x/*" for Flask or Starlette, though their
        # canonical form "/hooks" or "/hooks/x" is not.
        route = self._table.match(norm.path) or self._table.match(norm.decoded or "")
        if route is None:
            return PASS
        if not norm.canonical:
            # Never pass such a request on: the application may resolve it to the route.
            return reject(
                route,
                Reason.ROUTE_NOT_FOUND,
                "the path is not in canonical form (encoded separators, dot segments or "
                "repeated slashes)",
                req.peer,
            )
        return route

    def _start(self, req: WebhookRequest, has_body: bool) -> Verdict | Started:
        """The steps before the body; ``has_body``: its real length is checked instead
        of Content-Length."""
        route = self._exact.get(req.path) or self._route(req)
        if isinstance(route, Verdict):
            return route
        client_ip = req.peer
        reported: list[Reason] = []
        failure: Failure | None
        if req.method not in route.methods:
            detail = f"{shown(req.method)} is not allowed here; use {route.allow[0][1]}"
            if route.enforce:
                return reject(
                    route, Reason.METHOD_NOT_ALLOWED, detail, client_ip, headers=route.allow
                )
            reported.append(Reason.METHOD_NOT_ALLOWED)
        if route.check_address:
            client_ip, failure = self._address.check(req, route.allow_set)
            if failure is not None:
                if route.enforce:
                    return reject(route, failure.reason, failure.detail, client_ip)
                reported.append(failure.reason)
        if route.client_cert is not None:
            failure = route.client_cert.check(req)
            if failure is not None:
                if route.enforce:
                    return reject(route, failure.reason, failure.detail, client_ip)
                reported.append(failure.reason)
        if not has_body:
            refusal = _declared_too_large(route, req, client_ip)
            if refusal is not None:
                return refusal
        return route, client_ip, reported

    # -- with the body -----------------------------------------------------------------

    def check(self, req: WebhookRequest) -> Verdict:
        pending = self._authenticate(req)
        if isinstance(pending, Verdict):
            return pending
        return self.replay.reserve(pending)

    async def acheck(self, req: WebhookRequest) -> Verdict:
        pending = self._authenticate(req)
        if isinstance(pending, Verdict):
            return pending
        return await self.replay.areserve(pending)

    def _authenticate(self, req: WebhookRequest) -> Verdict | Pending:
        """The refusal, the final verdict of a delivery with no replay key (``event_id:
        none``, or let through unauthenticated in report mode), or the pending delivery
        for the replay step."""
        started = self._start(req, has_body=True)
        if isinstance(started, Verdict):
            return started
        route, client_ip, reported = started
        if len(req.body) > route.max_body_bytes:
            return _too_large(route, req, client_ip)
        shake = route.handshake
        if shake is not None and shake.before and not reported:
            early = _unsigned_handshake(route, req, client_ip, reported)
            if early is not None:
                return early
        now = self.clock()
        secret_id: str | None = None
        secret: Secret | None = None
        authentic = True
        if route.token is not None:
            outcome = route.token.check(req, now)
            if isinstance(outcome, Failure):
                authentic = False
                if route.enforce:
                    return reject(route, outcome.reason, outcome.detail, client_ip)
                reported.append(outcome.reason)
            else:
                secret_id = outcome
        parsed: ParsedSignature | None = None
        signed_ts: int | None = None
        digest: bytes | None = None
        signature = route.signature
        if signature is not None:
            parsed = signature.scheme.parse(req)
            # With no signature header at all, "signature_missing" is the useful answer.
            failure = parsed.failure
            if signature.early and (
                failure is None or failure.reason is not Reason.SIGNATURE_MISSING
            ):
                window = _window(route, signature.timestamp(parsed, now), client_ip, reported)
                if isinstance(window, Verdict):
                    return window
                signed_ts = window
            matched = signature.verify(parsed, req, now)
            if isinstance(matched, Failure):
                authentic = False
                signed_ts = None
                if route.enforce:
                    return reject(route, matched.reason, matched.detail, client_ip)
                reported.append(matched.reason)
            else:
                secret, digest = matched
                secret_id = secret.label
                if signature.in_body:  # a timestamp the body holds is trusted only now
                    late = signature.body_timestamp(req.body, now)
                    window = _window(route, late, client_ip, reported)
                    if isinstance(window, Verdict):
                        return window
                    signed_ts = window
        answer: Verdict | None = None
        if shake is not None and authentic and not shake.before and not reported:
            # Only now: the check's answer may be derived from the secret (Zoom).
            answered = shake.answer(req, secret)
            if isinstance(answered, Failure):
                return reject(route, answered.reason, answered.detail, client_ip)
            if answered is not None:
                answer = handshake(route, answered, client_ip, secret_id)
        event_id = key = second = None
        if authentic:
            event_id, key, second = route.event_ids.find(req, parsed, digest)
        if key is None:
            return answer or accepted_verdict(
                route.name, client_ip, None, secret_id, signed_ts, tuple(reported), None
            )
        return Pending(
            route, client_ip, reported, event_id, key, secret_id, signed_ts, answer, second
        )

    # -- after routing -----------------------------------------------------------------

    def dispatch(
        self, req: WebhookRequest, verdict: Verdict, path: str | tuple[str, ...]
    ) -> Verdict | None:
        """The refusal when the application dispatches ``req`` (on its decoded ``path``,
        or any of several: the full path and the one a mounted app matches its routes
        against) to another route than ``verdict``'s; None when they agree."""
        if isinstance(path, str):
            return self._dispatch_one(req, verdict, path)
        for one in path:
            refusal = self._dispatch_one(req, verdict, one)
            if refusal is not None:
                return refusal
        return None

    def _dispatch_one(self, req: WebhookRequest, verdict: Verdict, path: str) -> Verdict | None:
        if not verdict.ok or (path == req.path and "%" not in path):
            return None  # the path the verdict was reached on, read the same way
        norm = normalise_path(quote(path, safe=SAFE_PATH, errors="surrogatepass"))
        if norm.path is None:
            return path_invalid(norm.problem or "", verdict.client_ip)
        # As matched (Flask, Starlette and Django match the decoded path as it is) and
        # as resolved (a server or framework may merge slashes and dot segments).
        other = next(
            (
                found
                for found in map(self._table.match, (norm.decoded or "", norm.path))
                if found is not None and found.name != verdict.route
            ),
            None,
        )
        if other is None:
            return None
        return reject(
            other,
            Reason.PATH_INVALID,
            f"the application routes this request to route {other.name}, but its target "
            f"was checked as {'route ' + verdict.route if verdict.route else 'no route'}",
            verdict.client_ip,
        )


def _window(
    route: RoutePlan, ts: Failure | int, client_ip: str | None, reported: list[Reason]
) -> Verdict | int | None:
    """The signed timestamp; else its refusal, or None once reported (report mode)."""
    if not isinstance(ts, Failure):
        return ts
    if route.enforce:
        return reject(route, ts.reason, ts.detail, client_ip)
    reported.append(ts.reason)
    return None


def _unsigned_handshake(
    route: RoutePlan, req: WebhookRequest, client_ip: str | None, reported: list[Reason]
) -> Verdict | None:
    """The answer to a check that carries its own proof (Meta's verify token) or needs
    none (Graph's echo); its refusal; or None for an ordinary delivery.

    Like a signed check, it is not asked once report mode has noted a failure (method,
    address) that enforce mode would refuse: the dry run must show that refusal.
    """
    assert route.handshake is not None
    answered = route.handshake.answer(req, None)
    if isinstance(answered, Failure):
        if route.enforce:
            return reject(route, answered.reason, answered.detail, client_ip)
        reported.append(answered.reason)
        return None
    return None if answered is None else handshake(route, answered, client_ip, None)


def _too_large(route: RoutePlan, req: WebhookRequest, client_ip: str | None) -> Verdict:
    """The refusal of a body over the route's limit."""
    return reject(
        route,
        Reason.BODY_TOO_LARGE,
        f"the body has {len(req.body)} bytes; the limit is {route.max_body_bytes}",
        client_ip,
    )


def _declared_too_large(
    route: RoutePlan, req: WebhookRequest, client_ip: str | None
) -> Verdict | None:
    """The refusal of a declared Content-Length over the route's limit, before reading."""
    lengths = req.values(b"content-length")
    if not lengths:
        return None
    limit = route.max_body_bytes
    for value in lengths:
        text = value.strip()
        if _DIGITS.fullmatch(text) and int(text) > limit:
            return reject(
                route,
                Reason.BODY_TOO_LARGE,
                f"Content-Length {int(text)} exceeds the limit of {limit} bytes",
                client_ip,
            )
    return None
