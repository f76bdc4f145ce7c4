"""The verification pipeline: :class:`Guard`.

Order matters (design §3): cheap checks before expensive ones, authenticity before state.
route -> method -> client address -> body size -> token -> timestamp -> signature -> replay.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
import operator
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote

from .clientcert import ClientCertInvalid, from_headers
from .clientip import ClientIPResolver, PeerInvalid, ProxyHeadersInvalid
from .config import ClientCertRule, Config, RouteConfig, load_config
from .errors import ConfigError
from .logs import logger
from .replay import ReplayState, ReplayStore, open_store
from .request import WebhookRequest, unique_header_table
from .routes import SAFE_PATH, RouteTable, normalise_path
from .secrets import MAX_ACTIVE_SECRETS, Secret
from .signatures import make_scheme
from .signatures.base import MAX_SIGNATURES, Failure, HmacScheme, ParsedSignature
from .signatures.convoy import ConvoyScheme
from .untrusted import MAX_DETAIL, shown
from .verdict import Reason, Verdict

if TYPE_CHECKING:
    from .audit import DeliveryRecorder
    from .metrics import VerdictMetrics

_DIGITS = re.compile(r"[0-9]{1,19}")
_PRINTABLE_ID = re.compile(r"[\x21-\x7e]{1,128}")

_PASS = Verdict(ok=True)
_NEW = ReplayState.NEW  # (a module global: cheaper than the enum attribute per request)
_INFO = logging.INFO


class _Route:
    """A route compiled for fast checking: scheme, prepared HMAC keys, token digests."""

    __slots__ = (
        "allow",
        "allow_set",
        "commit_below_500",
        "config",
        "current_secret",
        "enforce",
        "expiring",
        "fast",
        "id_signed_header",
        "id_unsigned",
        "key_prefix",
        "keys",
        "name",
        "scheme",
        "token_digests",
    )

    def __init__(self, config: RouteConfig) -> None:
        self.config = config
        self.name = config.name
        self.enforce = config.mode == "enforce"
        self.allow = (("allow", ", ".join(sorted(config.methods))),)
        self.allow_set = config.allow_set
        self.commit_below_500 = config.commit_on == "below_500"
        self.scheme = make_scheme(config.signature) if config.signature else None
        scheme = self.scheme
        # HMAC key schedules are computed once; each request copies them.
        self.keys: list[tuple[Secret, Any]] = (
            [(s, scheme.prepare(s)) for s in config.secrets] if scheme else []
        )
        # Without expiry dates the active set never changes (config allows at most
        # MAX_ACTIVE_SECRETS then), so the per-request filter can be skipped.
        self.expiring = any(s.expires is not None for s, _ in self.keys)
        # The first secret listed is the current one; a match on any other is "previous"
        # (metrics count those so users see when an old secret can be retired).
        ring = config.secrets or (config.token.secrets if config.token else [])
        self.current_secret = ring[0].label if ring else None
        # Tokens are compared as SHA-256 digests so the comparison time does not depend
        # on the length of the configured token.
        self.token_digests: list[tuple[Secret, bytes]] = (
            [(s, hashlib.sha256(s.reveal()).digest()) for s in config.token.secrets]
            if config.token
            else []
        )
        self.key_prefix = config.name + ":"
        source, scheme = config.event_id.source, self.scheme
        signs_id = scheme is not None and "id" in scheme.fields
        id_headers = scheme.spec.id_headers if scheme is not None else ()
        # A route naming one of its scheme's ID headers (``svix-id`` on the standard
        # preset) takes the ID the signature covered, from the header family that verified:
        # a sender signing ``webhook-*`` leaves ``svix-id`` unsigned, and a captured
        # delivery resent with a fresh one would otherwise be processed again.
        self.id_signed_header = (
            signs_id
            and source == "header"
            and (config.event_id.header or "").lower() in (h.lower() for h in id_headers)
        )
        # A delivery ID in a header the signature does not cover can be rewritten by
        # anyone replaying a captured delivery (GitHub, Shopify, Bitbucket, Twilio...), so
        # such a route keys its replay check on the verified signature instead: provider
        # retries resend the same signed bytes, a replay under a fresh ID does too. The
        # header ID is still reported as the verdict's event_id.
        self.id_unsigned = (
            scheme is not None
            and source in ("auto", "header")
            and not (signs_id and (source == "auto" or self.id_signed_header))
        )
        self.fast: _FastPath | None = None  # set by Guard: it depends on the whole config


class _FastPath:
    """The common accepted request on one route, checked in straight-line code.

    :meth:`authenticate` returns the :class:`_Pending` request only when the general
    pipeline (:meth:`Guard._authenticate`) would certainly pass it on to the replay check
    with the same values; for anything unusual or failing it returns None and the general
    pipeline runs. So every rejection, with its reason and detail,
    comes out of one place. tests/test_fastpath.py checks that both give identical
    verdicts on valid and tampered requests. The rules themselves are shared, not copied:
    :func:`_timestamp_outcome`, :func:`_json_pointer`, :func:`_digest_id`,
    :meth:`HmacScheme.kv_pairs` and the scheme's tokenizer.

    It saves (issue: at most 3x raw ``hmac`` at 1 KiB) the header index and per-header
    lists, the ``ParsedSignature``/``Failure`` objects and the per-part rendering of the
    signed prefix, which here is one ``%``-format and one encode.
    """

    __slots__ = (
        "_after",
        "_before",
        "_families",
        "_hex",
        "_id_header",
        "_id_pointer",
        "_id_source",
        "_kv",
        "_label",
        "_mac",
        "_max_body",
        "_needs_id",
        "_needs_ts",
        "_plain",
        "_prefix",
        "_scheme",
        "_separator",
        "_single",
        "_tolerance",
    )

    # RouteConfig / NetworkConfig / Config fields whose values compile() checks. A field
    # added later (an IP allowlist, say) is not listed and disqualifies a route whenever it
    # is set: the fast path never skips a check it does not know about.
    _ROUTE_FIELDS = frozenset(
        {
            "name",
            "path",
            "methods",
            "provider",
            "signature",
            "secrets",
            "token",
            "event_id",
            "tolerance",
            "max_body_bytes",
            "on_duplicate",
            "mode",
            "public_url",
            "allow_ips",
            "allow_set",
            "forward_credentials",
            "commit_on",
        }
    )
    # Client address rules are checked through Guard._ip_rules (the general path's own
    # switch for step 2); the other fields only matter with trusted proxies.
    _NETWORK_FIELDS = frozenset(
        {
            "client_ip",
            "trusted_proxies",
            "deny_ips",
            "all_hops_trusted",
            "trust_unix_socket",
            "trusted_set",
            "deny_set",
            # Read only for routes with a client_cert rule, which never qualify.
            "client_cert",
        }
    )
    _CONFIG_FIELDS = frozenset({"routes", "replay", "network", "audit", "tls"})
    # Scheme classes (exactly, not their subclasses) and the ``scheme`` each is built for.
    # ConvoyScheme only adds a second try over the compacted body once the raw body did
    # not verify, and then this path has already handed over to the general one.
    _SCHEMES: ClassVar[dict[type, str]] = {HmacScheme: "hmac", ConvoyScheme: "convoy"}

    @classmethod
    def compile(cls, config: Config, route: _Route, ip_rules: bool) -> _FastPath | None:
        """The fast path for ``route``, or None unless every check it configures is one of:
        enforce mode, no token, an :class:`HmacScheme` or :class:`ConvoyScheme` in
        ``plain``, ``list`` or ``kv`` format signing only ``{id}``, ``{timestamp}`` and
        ``{body}``, the timestamp in its own header or (``kv``) in the signature header but
        not both, secrets without expiry, any event ID source, and no client address step
        (``ip_rules`` is the guard's switch for it: any trusted proxy, ``deny_ips`` or
        Unix-socket trust; or the route's ``allow_ips``)."""
        scheme, rc = route.scheme, route.config
        if (
            scheme is None
            or cls._SCHEMES.get(type(scheme)) != scheme.spec.scheme
            or not route.enforce
            or rc.token is not None
            or route.expiring
            or not route.keys
            or rc.event_id.source not in ("auto", "none", "header", "json")
            or not (rc.event_id.header or "").isascii()
            or scheme.spec.format not in ("plain", "list", "kv")
            or (scheme.spec.timestamp_key is not None and any(scheme._ts_keys))
            or not scheme.fields <= {"id", "timestamp"}
            or ip_rules
            or route.allow_set is not None
            or _configured(rc, cls._ROUTE_FIELDS)
            or _configured(config.network, cls._NETWORK_FIELDS)
            or _configured(config, cls._CONFIG_FIELDS)
        ):
            return None
        return cls(route, scheme)

    def __init__(self, route: _Route, scheme: HmacScheme) -> None:
        self._scheme = scheme
        self._label, self._mac = route.keys[0][0].label, route.keys[0][1]
        self._tolerance = route.config.tolerance if scheme.has_timestamp else None
        self._needs_id = "id" in scheme.fields
        self._needs_ts = "timestamp" in scheme.fields
        self._max_body = route.config.max_body_bytes
        spec = scheme.spec
        self._plain = spec.format == "plain"
        self._kv = spec.format == "kv"
        self._single = spec.version + "," if spec.format == "list" else None
        self._separator = spec.separator
        self._prefix = spec.prefix
        self._hex = spec.encoding == "hex"
        ids = route.config.event_id
        # As in Guard._event_id(): a named ID header of the scheme is read from the family
        # that verified, as "auto" does.
        self._id_source = "auto" if route.id_signed_header else ids.source
        self._id_pointer = ids.pointer
        name = (ids.header or "").lower()
        self._id_header: tuple[Any, Any] = (name, name.encode())
        # The scheme's ID header is read only when it is signed or is the event ID.
        id_keys = scheme._id_keys if self._needs_id or self._id_source == "auto" else []
        # Per header family: (signature, timestamp, id) names, None where the family has
        # no such header; as str and as bytes, for the type the caller's headers use.
        families = list(itertools.zip_longest(scheme._keys, scheme._ts_keys, id_keys))
        self._families: tuple[list[Any], list[Any]] = (
            [tuple(None if n is None else n.decode() for n in names) for names in families],
            families,
        )
        self._before = _compile_template(scheme._before)
        self._after = _compile_template(scheme._after)

    def authenticate(
        self, req: WebhookRequest, route: _Route, now: float
    ) -> _Pending | Verdict | None:
        """See the class docstring (and, without an event ID, the accepted verdict
        itself). Never raises on hostile input."""
        body = req.body
        if len(body) > self._max_body:
            return None
        table: dict[Any, Any]
        index = req._index
        if index is not None and req._dups is None:
            # The general path's own header index, already built (precheck read
            # Content-Length): lower-case bytes names, none repeated.
            table, as_bytes = index, True
        else:
            unique = unique_header_table(req.headers)
            if unique is None:
                return None
            table, as_bytes = unique
        sig: Any
        for sig_name, ts_name, id_name in self._families[as_bytes]:  # noqa: B007 (used below)
            sig = table.get(sig_name)
            if sig is not None:
                break
        else:
            return None
        ts = None if ts_name is None else table.get(ts_name)
        eid = None if id_name is None else table.get(id_name)
        # Values as text, as WebhookRequest.values() decodes them. Only ASCII str, on whose
        # bytes both paths agree: the general path re-encodes str values as latin-1 with
        # replacement, this one encodes the signed prefix as UTF-8.
        if as_bytes:
            if sig.__class__ is bytes:
                sig = sig.decode("latin-1")
            if ts.__class__ is bytes:
                ts = ts.decode("latin-1")
            if eid.__class__ is bytes:
                eid = eid.decode("latin-1")
        if not (sig.__class__ is str and sig.isascii()):
            return None
        if ts is not None and not (ts.__class__ is str and ts.isascii()):
            return None
        if eid is not None and not (eid.__class__ is str and eid.isascii()):
            return None
        single = self._single
        if single is not None and sig.startswith(single) and self._separator not in sig:
            # One "v1,<sig>" entry, as nearly every sender sends: what _tokens() returns
            # for it, without the split and the list comprehension.
            tokens = [sig[len(single) :]]
        elif self._plain:
            tokens = [sig.strip()]  # HmacScheme._tokens() of a plain header, without the call
        elif self._kv:
            tokens, stamps = self._scheme.kv_pairs(sig)
            tokens = tokens[:MAX_SIGNATURES]
            if stamps:
                if len(stamps) != 1:
                    return None
                ts = stamps[0]
        else:
            tokens = self._scheme._tokens(sig)[:MAX_SIGNATURES]
        signed_ts: int | None = None
        if self._tolerance is not None:
            if ts is None:
                return None
            outcome = _timestamp_outcome(self._tolerance, ts, now)
            if not isinstance(outcome, int):
                return None
            signed_ts = outcome
        if (self._needs_id and eid is None) or (self._needs_ts and ts is None):
            return None
        values = (eid, ts)
        before, after = self._before, self._after
        # Literals were UTF-8 in the template and the values are ASCII (checked above), so
        # one UTF-8 encode gives the bytes HmacScheme.signed_parts() renders part by part.
        mac = self._mac.copy()
        if before:
            mac.update(
                before if isinstance(before, bytes) else (before[0] % before[1](values)).encode()
            )
        mac.update(body)
        if after:
            mac.update(
                after if isinstance(after, bytes) else (after[0] % after[1](values)).encode()
            )
        digest = mac.digest()
        # The digest is encoded once and compared with each presented string instead of
        # decoding every presented signature: a match is a canonical encoding, which the
        # general path decodes to the same digest. Only the first secret is tried: the
        # general path tries the secrets in order, and could match an earlier one on a
        # non-canonical encoding (say upper-case hex), giving another secret_id. Requests
        # signed with a later secret (rotation) therefore take the general path.
        # (HmacScheme.encode without the call.)
        expected = self._prefix + (
            digest.hex() if self._hex else binascii.b2a_base64(digest, newline=False).decode()
        )
        for token in tokens:
            if hmac.compare_digest(token, expected):
                break
        else:
            return None
        # The event ID as Guard._event_id() finds it; an ID it would hash (not printable)
        # or a header it would not use (empty) is left to it.
        source = self._id_source
        event_id: str | None
        if source == "auto":
            event_id = eid
        elif source == "none":
            # No replay reservation: the verdict itself, as Guard._accept() makes it.
            return Verdict._accepted(route.name, req.peer, None, self._label, signed_ts, (), None)
        elif source == "json":
            event_id = _json_pointer(body, self._id_pointer)
        else:
            found = table.get(self._id_header[as_bytes])
            if found.__class__ is bytes:
                found = found.decode("latin-1")
            if found.__class__ is not str:
                return None  # absent, or a value of another type: the general path decides
            event_id = found
        if event_id is None:
            event_id = _digest_id(digest)
        elif not _PRINTABLE_ID.fullmatch(event_id):
            return None
        # As in Guard._authenticate(): an ID outside the signature does not key the replay
        # check (see _Route.id_unsigned).
        key = route.key_prefix + (_digest_id(digest) if route.id_unsigned else event_id)
        return _Pending(route, req.peer, [], event_id, key, self._label, signed_ts)


class _Pending:
    """An authenticated request waiting for its replay reservation.

    Once the store reserved ``key`` under ``token`` it is also the verdict's reservation,
    which :meth:`Guard.complete` settles once (one object per request instead of two).
    """

    __slots__ = (
        "client_ip",
        "event_id",
        "key",
        "reported",
        "route",
        "secret_id",
        "settled",
        "store",
        "timestamp",
        "token",
    )

    def __init__(
        self,
        route: _Route,
        client_ip: str | None,
        reported: list[Reason],
        event_id: str | None,
        key: str | None,
        secret_id: str | None,
        timestamp: int | None,
    ) -> None:
        self.route = route
        self.client_ip = client_ip
        self.reported = reported
        self.event_id = event_id
        self.key = key
        self.secret_id = secret_id
        self.timestamp = timestamp
        self.token: str | None = None
        self.settled = False
        # The store that holds the reservation: complete() settles it there even when a
        # reload swapped in a new store in between.
        self.store: ReplayStore | None = None


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
    ) -> None:
        # Everything a request reads is built from one config and never changed after;
        # reload() builds a whole new Guard and swaps this one reference (the public
        # methods run on it), so no request sees half of a new config.
        self._live: Guard = self
        self._config = config
        self._source: str | os.PathLike[str] | Mapping[str, Any] | None = None
        self._env: Mapping[str, str] | None = None
        self._own_store = store is None
        self._reload_lock = threading.Lock()
        self._on_verdict = on_verdict
        self._metrics = metrics
        if audit is None and config.audit is not None:
            from .audit import DeliveryLog

            audit = DeliveryLog(config.audit)
        self.audit = audit
        # Without a callback, metrics or a delivery log only rejections need _observe (to
        # log them), and accepted requests when INFO is on.
        self._observed = on_verdict is not None or metrics is not None or audit is not None
        self._timed = metrics is not None or audit is not None
        self.clock = clock
        self._store: ReplayStore = store if store is not None else open_store(config.replay)
        self._routes = {r.name: _Route(r) for r in config.routes}
        self._table: RouteTable[_Route] = RouteTable(
            (r.config.path, r) for r in self._routes.values()
        )
        self._processing_timeout = config.replay.processing_timeout
        self._retention = config.replay.retention
        self._fail_open = config.replay.on_store_error == "fail_open"
        network = config.network
        self._resolver = ClientIPResolver(network.client_ip_config())
        header = self._resolver.header
        self._ip_header = header.encode("latin-1") if header else None
        self._deny = network.deny_set if network.deny_set else None
        self._cert_headers = network.client_cert
        # With no address rule at all, step 2 is skipped and the peer is reported as given.
        self._ip_rules = bool(network.trusted_set) or network.trust_unix_socket or bool(self._deny)
        # Routes by the raw request path that certainly selects them (checked through the
        # general matcher itself): one dict lookup instead of normalising and matching.
        # Other spellings and prefix routes still get there through normalise_path() and
        # the table.
        self._exact: dict[str, _Route] = {}
        for route in self._routes.values():
            route.fast = _FastPath.compile(config, route, self._ip_rules)
            norm = normalise_path(route.config.path)
            if norm.canonical and norm.path and self._table.match(norm.path) is route:
                self._exact[route.config.path] = route
        bind = getattr(self.audit, "bind_routes", None)
        if bind is not None:
            # A delivery log shows the ID a refused delivery claims (see audit.record).
            bind({name: _id_headers(route) for name, route in self._routes.items()})
        # Reservation tokens: unique per guard instance (random prefix) and per request.
        self._token_prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count()

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
        return f"Guard(routes={list(live._routes)!r}, store={type(live._store).__name__})"

    @property
    def config(self) -> Config:
        """The configuration in force (the latest :meth:`reload`'s)."""
        return self._live._config

    @property
    def store(self) -> ReplayStore:
        """The replay store in use."""
        return self._live._store

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
        remembers) unless the ``replay`` section changed; a store passed as ``store=``
        is always kept. A replaced store is not closed: requests in flight still settle
        their events in it. Safe to call from any thread (not inside a signal handler:
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
                keep = not self._own_store or config.replay == live._config.replay
                new = Guard(
                    config,
                    store=live._store if keep else None,
                    clock=self.clock,
                    on_verdict=self._on_verdict,
                    metrics=self._metrics,
                )
            except ConfigError as exc:
                logger.error(
                    "webhook_guard config reload failed; the running config stays: %s",
                    "; ".join(exc.errors),
                )
                raise
            self._live = new
            if source is not None and not isinstance(source, Config):
                self._source, self._env = source, None
        logger.info(
            "webhook_guard config reloaded: %d route(s)%s",
            len(config.routes),
            "" if keep else "; new replay store",
        )
        return config

    # -- public API ------------------------------------------------------------------

    def precheck(self, req: WebhookRequest) -> Verdict:
        """The checks that need no body: route, method, client address, Content-Length.

        Adapters call this before reading the body. ``ok`` with ``route=None``: not a
        webhook route, pass it through. ``ok`` with a route: read at most
        :meth:`body_limit` bytes, then call :meth:`check`. Not ``ok``: refuse now.
        """
        live = self._live
        if live is not self:
            return live.precheck(req)
        t0 = time.perf_counter() if self._timed else 0.0
        started = self._start(req)
        if isinstance(started, Verdict):
            # Only refusals are observed here; a pass is observed by the check() that follows.
            if not started.ok:
                self._observe(started, req, t0)
            return started
        route, client_ip, reported = started
        return Verdict._accepted(
            route.name, client_ip, None, None, None, tuple(reported) if reported else (), None
        )

    def body_limit(self, route: str) -> int:
        """``max_body_bytes`` of the named route.

        A route that a :meth:`reload` removed since the precheck gets the largest limit
        of the current routes: :meth:`check` then judges the request under the new
        configuration."""
        live = self._live
        found = live._routes.get(route)
        if found is not None:
            return found.config.max_body_bytes
        return max((r.config.max_body_bytes for r in live._routes.values()), default=0)

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
        if live is not self:
            return live.body_too_large(req, precheck, limit)
        t0 = time.perf_counter() if self._timed else 0.0
        assert precheck.route is not None, "body_too_large() needs a routed precheck verdict"
        if limit is None:
            limit = self.body_limit(precheck.route)
        verdict = Verdict._make(
            ok=False,
            reason=Reason.BODY_TOO_LARGE,
            status=Reason.BODY_TOO_LARGE.status,
            detail=f"the body exceeds the limit of {limit} bytes",
            route=precheck.route,
            client_ip=precheck.client_ip,
        )
        self._observe(verdict, req, t0)
        return verdict

    def check(self, req: WebhookRequest) -> Verdict:
        """Check one request (synchronous stores).

        Returns:
            The verdict. When ``ok`` and a replay reservation was taken, call
            :meth:`complete` after the handler ran.
        """
        live = self._live
        if live is not self:
            return live.check(req)
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = self._check(req)
        if self._observed or not verdict.ok or verdict.reported or logger.isEnabledFor(_INFO):
            self._observe(verdict, req, t0)
        return verdict

    async def acheck(self, req: WebhookRequest) -> Verdict:
        """Async twin of :meth:`check`, for async replay stores."""
        live = self._live
        if live is not self:
            return await live.acheck(req)
        t0 = time.perf_counter() if self._timed else 0.0
        verdict = await self._acheck(req)
        if self._observed or not verdict.ok or verdict.reported or logger.isEnabledFor(_INFO):
            self._observe(verdict, req, t0)
        return verdict

    def _check(self, req: WebhookRequest) -> Verdict:
        pending = self._fast_authenticate(req) or self._authenticate(req)
        if isinstance(pending, Verdict):
            return pending
        if pending.key is None:
            return self._accept(pending, None)
        token = self._token_prefix + str(next(self._counter))
        try:
            state = self._store.reserve(pending.key, self._processing_timeout, token)
        except Exception as exc:
            return self._store_failed(pending, exc)
        return self._after_reserve(pending, state, token)

    async def _acheck(self, req: WebhookRequest) -> Verdict:
        pending = self._fast_authenticate(req) or self._authenticate(req)
        if isinstance(pending, Verdict):
            return pending
        if pending.key is None:
            return self._accept(pending, None)
        token = self._token_prefix + str(next(self._counter))
        try:
            state = await self._store.areserve(pending.key, self._processing_timeout, token)
        except Exception as exc:
            return self._store_failed(pending, exc)
        return self._after_reserve(pending, state, token)

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
        settle = self._settle(verdict)
        if settle is None:
            return
        store, key, token, route = settle
        try:
            if _commits(route, status):
                store.commit(key, self._live._retention, token)
            else:
                store.release(key, token)
        except Exception as exc:
            self._log_settle_error(verdict, exc)

    async def acomplete(self, verdict: Verdict, status: int | None) -> None:
        """Async twin of :meth:`complete`."""
        settle = self._settle(verdict)
        if settle is None:
            return
        store, key, token, route = settle
        try:
            if _commits(route, status):
                await store.acommit(key, self._live._retention, token)
            else:
                await store.arelease(key, token)
        except Exception as exc:
            self._log_settle_error(verdict, exc)

    # -- pipeline --------------------------------------------------------------------

    def _start(
        self, req: WebhookRequest, has_body: bool = False
    ) -> Verdict | tuple[_Route, str | None, list[Reason]]:
        route = self._exact.get(req.path)
        client_ip = req.peer
        if route is None:
            norm = normalise_path(req.path)
            if norm.path is None:
                # Which route it is for cannot be known: never pass it on.
                return _path_invalid(norm.problem or "", client_ip)
            # A framework may also match the decoded path as it is: "/hooks/x/.." and
            # "/hooks/x/" are under "/hooks/x/*" for Flask or Starlette, though their
            # canonical form "/hooks" or "/hooks/x" is not.
            route = self._table.match(norm.path) or self._table.match(norm.decoded or "")
            if route is None:
                return _PASS
            if not norm.canonical:
                # Never pass such a request on: the application may resolve it to the route.
                return self._reject(
                    route,
                    Reason.ROUTE_NOT_FOUND,
                    "the path is not in canonical form (encoded separators, dot segments or "
                    "repeated slashes)",
                    client_ip,
                )
        reported: list[Reason] = []
        if req.method not in route.config.methods:
            detail = f"{shown(req.method)} is not allowed here; use {route.allow[0][1]}"
            if route.enforce:
                return self._reject(
                    route, Reason.METHOD_NOT_ALLOWED, detail, client_ip, headers=route.allow
                )
            reported.append(Reason.METHOD_NOT_ALLOWED)
        if self._ip_rules or route.allow_set is not None:
            client_ip, failure = self._check_address(route, req)
            if failure is not None:
                if route.enforce:
                    return self._reject(route, failure.reason, failure.detail, client_ip)
                reported.append(failure.reason)
        rule = route.config.client_cert
        if rule is not None:
            failure = self._check_client_cert(rule, req)
            if failure is not None:
                if route.enforce:
                    return self._reject(route, failure.reason, failure.detail, client_ip)
                reported.append(failure.reason)
        # With the body in hand its real length is checked instead (see _authenticate).
        lengths = None if has_body else req.values(b"content-length")
        if lengths:
            limit = route.config.max_body_bytes
            for value in lengths:
                text = value.strip()
                if _DIGITS.fullmatch(text) and int(text) > limit:
                    return self._reject(
                        route,
                        Reason.BODY_TOO_LARGE,
                        f"Content-Length {int(text)} exceeds the limit of {limit} bytes",
                        client_ip,
                    )
        return route, client_ip, reported

    def _authenticate(self, req: WebhookRequest) -> Verdict | _Pending:
        started = self._start(req, has_body=True)
        if isinstance(started, Verdict):
            return started
        route, client_ip, reported = started
        config = route.config
        limit = config.max_body_bytes
        if len(req.body) > limit:
            return self._reject(
                route,
                Reason.BODY_TOO_LARGE,
                f"the body has {len(req.body)} bytes; the limit is {limit}",
                client_ip,
            )
        now = self.clock()
        secret_id: str | None = None
        authentic = True

        if config.token is not None:
            outcome = self._check_token(route, req, now)
            if isinstance(outcome, Failure):
                authentic = False
                if route.enforce:
                    return self._reject(route, outcome.reason, outcome.detail, client_ip)
                reported.append(outcome.reason)
            else:
                secret_id = outcome

        scheme = route.scheme
        parsed: ParsedSignature | None = None
        signed_ts: int | None = None
        digest: bytes | None = None
        if scheme is not None:
            parsed = scheme.parse(req)
            # With no signature header at all, "signature_missing" is the useful answer.
            missing = (
                parsed.failure is not None and parsed.failure.reason is Reason.SIGNATURE_MISSING
            )
            if scheme.has_timestamp and not missing:
                ts_outcome = self._check_timestamp(config.tolerance, parsed, now)
                if isinstance(ts_outcome, Failure):
                    if route.enforce:
                        return self._reject(route, ts_outcome.reason, ts_outcome.detail, client_ip)
                    reported.append(ts_outcome.reason)
                else:
                    signed_ts = ts_outcome
            sig_outcome = self._check_signature(route, scheme, parsed, req, now)
            if isinstance(sig_outcome, Failure):
                authentic = False
                signed_ts = None
                if route.enforce:
                    return self._reject(route, sig_outcome.reason, sig_outcome.detail, client_ip)
                reported.append(sig_outcome.reason)
            else:
                secret, digest = sig_outcome
                secret_id = secret.label

        event_id: str | None = None
        key: str | None = None
        if authentic:
            event_id = self._event_id(route, req, parsed, digest)
            if event_id is not None:
                key = route.key_prefix + (
                    _digest_id(digest) if route.id_unsigned and digest is not None else event_id
                )
        return _Pending(route, client_ip, reported, event_id, key, secret_id, signed_ts)

    def _fast_authenticate(self, req: WebhookRequest) -> _Pending | Verdict | None:
        """:meth:`_authenticate` for a request certain to pass on a qualifying route, or
        None: then the general pipeline decides (see :class:`_FastPath`)."""
        route = self._exact.get(req.path)
        if route is None:
            norm = normalise_path(req.path)
            if not norm.canonical or norm.path is None:
                return None
            route = self._table.match(norm.path)
        if route is None or route.fast is None or req.method not in route.config.methods:
            return None
        return route.fast.authenticate(req, route, self.clock())

    def check_dispatch(self, req: WebhookRequest, verdict: Verdict, path: str) -> Verdict:
        """Bind ``verdict`` to where the application dispatches the request.

        Adapters call this with the decoded ``path`` the framework routes on. When a
        route covers that path but ``verdict`` is not for that route, the server or
        framework read the request target differently from the guard, so the handler of
        a guarded route would run without its check: refused with ``path_invalid``
        (and ``verdict``'s replay reservation, if any, released).

        Returns:
            ``verdict``, or the refusal.
        """
        if not verdict.ok or (path == req.path and "%" not in path):
            return verdict  # the path the verdict was reached on, read the same way
        t0 = time.perf_counter() if self._metrics is not None else 0.0
        norm = normalise_path(quote(path, safe=SAFE_PATH, errors="surrogatepass"))
        if norm.path is None:
            refusal = _path_invalid(norm.problem or "", verdict.client_ip)
        else:
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
                return verdict
            refusal = self._reject(
                other,
                Reason.PATH_INVALID,
                f"the application routes this request to route {other.name}, but its target "
                f"was checked as {'route ' + verdict.route if verdict.route else 'no route'}",
                verdict.client_ip,
            )
        self.complete(verdict, None)
        self._observe(refusal, req, t0)
        return refusal

    def _check_address(
        self, route: _Route, req: WebhookRequest
    ) -> tuple[str | None, Failure | None]:
        """Step 2 (design §5): the client address, then ``deny_ips``, then ``allow_ips``.

        Returns the client address to report and the failure, if any.
        """
        headers: dict[str, list[str]] = {}
        # The configured source, and the headers a server may have rewritten the peer from
        # (see clientip._check_not_rewritten).
        for name in (self._ip_header, b"x-forwarded-for", b"forwarded"):
            if name is not None:
                headers[name.decode("latin-1")] = req.values(name) or []
        has_lists = self._deny is not None or route.allow_set is not None
        try:
            addr = self._resolver.resolve_address(req.peer, headers)
        except PeerInvalid as exc:
            # Not an address, so possibly text a server copied from a header.
            peer = shown(req.peer or "")
            if not has_lists:
                return peer, None
            return peer, Failure(
                Reason.IP_NOT_ALLOWED, f"{exc.detail}; it cannot match the address rules"
            )
        except ProxyHeadersInvalid as exc:
            return None, Failure(Reason.PROXY_HEADERS_INVALID, exc.detail)
        if addr is None:
            if not has_lists:
                return None, None
            return None, Failure(
                Reason.IP_NOT_ALLOWED,
                "the request came over a Unix socket and names no client address, so it "
                "cannot match the address rules (see network.trust_unix_socket)",
            )
        client_ip = str(addr)
        if self._deny is not None and addr in self._deny:
            return client_ip, Failure(Reason.IP_NOT_ALLOWED, f"{client_ip} is in deny_ips")
        if route.allow_set is not None and addr not in route.allow_set:
            return client_ip, Failure(
                Reason.IP_NOT_ALLOWED, f"{client_ip} is not in this route's allow_ips"
            )
        return client_ip, None

    def _check_client_cert(self, rule: ClientCertRule, req: WebhookRequest) -> Failure | None:
        """The route's ``client_cert`` rule, before the body is read: the certificate that
        a trusted TLS terminator reports in its headers, else the one this server's own
        TLS layer verified (``req.client_cert``)."""
        cert = req.client_cert
        headers = self._cert_headers
        ignored = ""
        if headers is not None:
            network = self._config.network
            if (req.peer is None and network.trust_unix_socket) or (
                req.peer is not None and req.peer in network.trusted_set
            ):
                try:
                    cert = from_headers(headers, lambda name: req.values(name.encode("latin-1")))
                except ClientCertInvalid as exc:
                    return Failure(Reason.CLIENT_CERT_INVALID, exc.detail)
            elif req.values((headers.xfcc_header or headers.verify_header).encode("latin-1")):
                ignored = (
                    "; certificate headers are believed only from network.trusted_proxies, "
                    "and this peer is not one"
                )
        if cert is None:
            return Failure(
                Reason.CLIENT_CERT_MISSING,
                "this route requires a client certificate and none was presented" + ignored,
            )
        if cert.error is not None:
            return Failure(Reason.CLIENT_CERT_INVALID, cert.error)
        if not cert.matches(rule.subjects):
            names = ", ".join(repr(n[:80]) for n in cert.names[:5]) or "no DNS name or CN"
            return Failure(
                Reason.CLIENT_CERT_INVALID,
                f"the client certificate ({names}) is not one this route accepts",
            )
        return None

    def _check_token(self, route: _Route, req: WebhookRequest, now: float) -> Failure | str:
        token = route.config.token
        assert token is not None
        presented: str | None
        if token.source == "query":
            try:
                pairs = parse_qsl(req.query, keep_blank_values=True)
            except ValueError:  # undecodable text handed in by a caller, never on the wire
                return Failure(Reason.TOKEN_INVALID, "the query string cannot be decoded")
            values = [v for k, v in pairs if k == token.name]
            if len(values) > 1:
                return Failure(
                    Reason.TOKEN_INVALID,
                    f"the {token.name} query parameter was sent {len(values)} times",
                )
            presented = values[0] if values and values[0] else None
            where = f"the {token.name} query parameter"
        elif token.source == "header":
            lines = req.header(token.name or "")
            if len(lines) > 1:
                return Failure(
                    Reason.TOKEN_INVALID, f"the {token.name} header was sent {len(lines)} times"
                )
            presented = lines[0].strip() if lines and lines[0].strip() else None
            where = f"the {token.name} header"
        else:
            outcome = self._basic_password(req, token.name)
            if isinstance(outcome, Failure):
                return outcome
            presented = outcome
            where = "basic auth credentials"
        if presented is None:
            return Failure(Reason.TOKEN_MISSING, f"{where} is missing")
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        examined = 0
        for secret, expected in route.token_digests:
            if not secret.active(now):
                continue
            examined += 1
            if examined > MAX_ACTIVE_SECRETS:
                break
            if hmac.compare_digest(digest, expected):
                return secret.label
        return Failure(Reason.TOKEN_INVALID, f"{where} does not match any active token")

    @staticmethod
    def _basic_password(req: WebhookRequest, username: str | None) -> Failure | str | None:
        lines = req.header("authorization")
        if not lines:
            return None
        if len(lines) > 1:
            return Failure(Reason.TOKEN_INVALID, "the Authorization header was sent more than once")
        scheme, _, encoded = lines[0].strip().partition(" ")
        if scheme.lower() != "basic":
            return Failure(Reason.TOKEN_INVALID, "the Authorization header is not Basic auth")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials are not valid base64")
        user, sep, password = decoded.partition(":")
        if not sep:
            return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials have no ':'")
        if username is not None and not hmac.compare_digest(
            user.encode("utf-8"), username.encode("utf-8")
        ):
            return Failure(Reason.TOKEN_INVALID, "the Basic auth credentials do not match")
        return password or None

    @staticmethod
    def _check_timestamp(tolerance: int, parsed: ParsedSignature, now: float) -> Failure | int:
        if parsed.ts_failure is not None:
            return parsed.ts_failure
        assert parsed.timestamp is not None
        return _timestamp_outcome(tolerance, parsed.timestamp, now)

    def _check_signature(
        self,
        route: _Route,
        scheme: HmacScheme,
        parsed: ParsedSignature,
        req: WebhookRequest,
        now: float,
    ) -> Failure | tuple[Secret, bytes]:
        if parsed.failure is not None:
            return parsed.failure
        fields = scheme.fields
        values: dict[str, str] = {}
        if fields:
            if "id" in fields:
                if parsed.event_id is None:
                    name = scheme.spec.id_headers[0] if scheme.spec.id_headers else "id"
                    return Failure(
                        Reason.SIGNATURE_MALFORMED,
                        f"the {name} header, which the signature covers, is missing or repeated",
                    )
                values["id"] = parsed.event_id
            if "timestamp" in fields:
                if parsed.timestamp is None:
                    return Failure(Reason.SIGNATURE_MALFORMED, "the signed timestamp is missing")
                values["timestamp"] = parsed.timestamp
            values["method"] = req.method
            values["path"] = req.path
            if "url" in fields:
                query = f"?{req.query}" if req.query else ""
                values["url"] = f"{route.config.public_url}{req.path}{query}"
        keys = (
            [k for k in route.keys if k[0].active(now)][:MAX_ACTIVE_SECRETS]
            if route.expiring
            else route.keys
        )
        if not keys:
            return Failure(
                Reason.SIGNATURE_MISMATCH, "no active secret: every configured secret has expired"
            )
        matched = scheme.verify(parsed, req.body, values, keys)
        if matched is None:
            return Failure(
                Reason.SIGNATURE_MISMATCH,
                f"no signature matched ({min(parsed.seen, 10)} examined); check the secret "
                "and that the body is passed on unmodified",
            )
        return matched

    def _event_id(
        self,
        route: _Route,
        req: WebhookRequest,
        parsed: ParsedSignature | None,
        digest: bytes | None,
    ) -> str | None:
        spec = route.config.event_id
        found: str | None = None
        if spec.source == "none":
            return None
        if spec.source == "auto" or route.id_signed_header:
            found = parsed.event_id if parsed is not None else None
        elif spec.source == "header":
            lines = req.header(spec.header or "")
            found = lines[0] if len(lines) == 1 and lines[0] else None
        else:
            found = _json_pointer(req.body, spec.pointer)
        if found is not None:
            if _PRINTABLE_ID.fullmatch(found):
                return found
            return "sha256:" + hashlib.sha256(found.encode("utf-8", "surrogateescape")).hexdigest()
        # No ID from the provider: the verified signature itself identifies the delivery
        # (a replay carries the same one); token-only routes fall back to the body.
        if digest is not None:
            return _digest_id(digest)
        return "body:" + hashlib.sha256(req.body).hexdigest()

    # -- outcomes --------------------------------------------------------------------

    def _after_reserve(self, pending: _Pending, state: ReplayState, token: str) -> Verdict:
        if state is _NEW:
            pending.token = token
            pending.store = self._store
            return self._accept(pending, pending)
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
            headers = (("retry-after", str(self._processing_timeout)),)
        if not route.enforce:
            pending.reported.append(reason)
            return self._accept(pending, None)
        return Verdict._make(
            ok=False,
            reason=reason,
            status=status,
            detail=detail,
            route=route.name,
            client_ip=pending.client_ip,
            event_id=pending.event_id,
            secret_id=pending.secret_id,
            timestamp=pending.timestamp,
            duplicate=state is ReplayState.DONE,
            reported=tuple(pending.reported),
            headers=headers,
        )

    def _store_failed(self, pending: _Pending, exc: Exception) -> Verdict:
        logger.error(
            "replay store failed (%s: %s); route=%s policy=%s",
            type(exc).__name__,
            exc,
            pending.route.name,
            "fail_open" if self._fail_open else "fail_closed",
        )
        if self._fail_open or not pending.route.enforce:
            pending.reported.append(Reason.REPLAY_STORE_UNAVAILABLE)
            return self._accept(pending, None)
        return Verdict._make(
            ok=False,
            reason=Reason.REPLAY_STORE_UNAVAILABLE,
            status=503,
            detail="the replay store is unavailable; retry later",
            route=pending.route.name,
            client_ip=pending.client_ip,
            event_id=pending.event_id,
            secret_id=pending.secret_id,
            headers=(("retry-after", "5"),),
        )

    @staticmethod
    def _accept(pending: _Pending, reservation: _Pending | None) -> Verdict:
        return Verdict._accepted(
            pending.route.name,
            pending.client_ip,
            pending.event_id,
            pending.secret_id,
            pending.timestamp,
            tuple(pending.reported) if pending.reported else (),
            reservation,
        )

    def _reject(
        self,
        route: _Route,
        reason: Reason,
        detail: str,
        client_ip: str | None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Verdict:
        return Verdict._make(
            ok=False,
            reason=reason,
            status=reason.status,
            detail=detail,
            route=route.name,
            client_ip=client_ip,
            headers=headers,
        )

    def _observe(self, verdict: Verdict, req: WebhookRequest, started: float) -> None:
        """Log a rejection, count it, and call ``on_verdict``: never raises into the request."""
        route = verdict.route
        if route is None:
            if verdict.ok:
                return  # not a webhook route: nothing was checked
            # A path no route can be told for (path_invalid): refused, so seen and recorded.
            _log_verdict(verdict)
            self._record(verdict, req, 0.0)
            return
        _log_verdict(verdict)
        seconds = time.perf_counter() - started if self._timed else 0.0
        if self._metrics is not None:
            previous = (
                verdict.secret_id is not None
                and verdict.secret_id != self._routes[route].current_secret
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

    def _settle(self, verdict: Verdict) -> tuple[ReplayStore, str, str, _Route] | None:
        """(store that holds it, key, token, route) of the verdict's reservation, the first
        time only."""
        res = verdict.reservation
        if not isinstance(res, _Pending) or res.settled or res.key is None or res.token is None:
            return None
        res.settled = True
        return res.store or self._store, res.key, res.token, res.route

    @staticmethod
    def _log_settle_error(verdict: Verdict, exc: Exception) -> None:
        logger.error(
            "replay store failed while completing event %s on route %s (%s: %s)",
            verdict.event_id,
            verdict.route,
            type(exc).__name__,
            exc,
        )


def _path_invalid(problem: str, client_ip: str | None) -> Verdict:
    return Verdict._make(
        ok=False,
        reason=Reason.PATH_INVALID,
        status=Reason.PATH_INVALID.status,
        detail=problem,
        client_ip=client_ip,
    )


def _commits(route: _Route, status: int | None) -> bool:
    """Whether the handler's answer uses the event up (see :meth:`Guard.complete`)."""
    if status is None:
        return False
    return 200 <= status < 300 or (route.commit_below_500 and status < 500)


def _id_headers(route: _Route) -> tuple[str, ...]:
    """The headers a route's delivery IDs come from (none for JSON pointers or no IDs)."""
    ids = route.config.event_id
    if ids.source == "header" and ids.header:
        return (ids.header,)
    if ids.source == "auto" and route.scheme is not None:
        return tuple(h for h in route.scheme.spec.id_headers if h)
    return ()


def _configured(obj: Any, known: frozenset[str]) -> bool:
    """True when a dataclass field of ``obj`` outside ``known`` is set (not empty/None)."""
    return any(getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in known)


def _compile_template(parts: list[str | bytes]) -> bytes | tuple[str, Callable[..., Any]]:
    """One half of ``signed_content`` for :class:`_FastPath`: constant bytes, or a
    ``%s`` format and the getter that picks its arguments from ``(id, timestamp)``."""
    if all(isinstance(p, bytes) for p in parts):
        return b"".join(p for p in parts if isinstance(p, bytes))
    fmt = "".join("%s" if isinstance(p, str) else p.decode().replace("%", "%%") for p in parts)
    order = [("id", "timestamp").index(p) for p in parts if isinstance(p, str)]
    # itemgetter of one index returns the value itself, which "%" takes as one argument.
    return fmt, operator.itemgetter(*order)


def _timestamp_outcome(tolerance: int, raw: str, now: float) -> Failure | int:
    """The signed timestamp ``raw`` as an int if it is in the window, else the failure."""
    # isdigit() alone accepts non-ASCII digits such as "١٢"; isascii() rules them out.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        return Failure(
            Reason.TIMESTAMP_MALFORMED,
            "the timestamp must be Unix seconds: 1 to 12 ASCII digits",
        )
    ts = int(raw)
    age = int(now) - ts
    if age > tolerance:
        return Failure(
            Reason.TIMESTAMP_TOO_OLD, f"timestamp is {age} s old; tolerance {tolerance} s"
        )
    if -age > tolerance:
        return Failure(
            Reason.TIMESTAMP_IN_FUTURE,
            f"timestamp is {-age} s in the future; tolerance {tolerance} s",
        )
    return ts


def _digest_id(digest: bytes) -> str:
    """The replay ID of a delivery identified by its verified signature."""
    return "sig:" + digest.hex()[:64]


def _log_verdict(verdict: Verdict) -> None:
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


def _json_pointer(body: bytes, pointer: tuple[str, ...]) -> str | None:
    """Resolve an RFC 6901 pointer in a JSON body; None when absent or not a scalar ID."""
    try:
        node: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    for token in pointer:
        if isinstance(node, dict):
            if token not in node:
                return None
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and token.isascii():
            index = int(token)
            if index >= len(node) or (token != "0" and token.startswith("0")):
                return None
            node = node[index]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, (str, int)):
        return None
    return str(node)


__all__ = ["ConfigError", "Guard"]
