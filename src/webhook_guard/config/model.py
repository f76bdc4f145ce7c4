"""The validated configuration: what :func:`~webhook_guard.config.load_config` returns.

Defaults come from the declarations in :mod:`.keys`, never from literals here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..clientcert import ClientCertHeaders
from ..clientip import ClientIPConfig
from ..ipset import IPSet
from ..replay.redis_store import redact_url
from ..secrets import Secret
from ..signatures.base import SignatureSpec
from .keys import AUDIT, AUDIT_RETENTION, NETWORK, REPLAY, TLS
from .route_keys import ROUTE


@dataclass(frozen=True)
class TokenConfig:
    """A shared token the sender puts in the URL, a header, or HTTP basic auth."""

    source: str
    """``query``, ``header`` or ``basic``; ``clientstate`` (only from the ``msgraph``
    preset): each Graph notification's ``clientState`` in the body."""
    name: str | None
    """Query parameter or header name; for ``basic`` the required username (None: any)."""
    secrets: tuple[Secret, ...]


@dataclass(frozen=True)
class EventIdConfig:
    """Where the delivery's ID comes from, for replay protection."""

    source: str
    """``auto`` (the scheme's ID header, else the verified signature), ``header``,
    ``json`` (a JSON pointer into the verified body) or ``none`` (no dedup)."""
    header: str | None = None
    pointer: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientCertRule:
    """A route's ``client_cert``: the client certificate names it accepts."""

    subjects: tuple[str, ...]
    """Lower-case; matched against the certificate's DNS names, else its CN."""


@dataclass(frozen=True)
class HandshakeConfig:
    """A route's ``handshake`` block: the settings its provider's endpoint check needs."""

    verify_token: Secret | None = None
    """Meta's Verify Token, compared with ``hub.verify_token``."""
    confirm: bool = False
    """sns: confirm a verified subscription by fetching its pinned ``SubscribeURL``."""


@dataclass(frozen=True)
class RouteConfig:
    """One protected webhook route."""

    name: str
    path: str
    methods: frozenset[str]
    provider: str | None
    signature: SignatureSpec | None
    secrets: tuple[Secret, ...]
    token: TokenConfig | None
    event_id: EventIdConfig
    tolerance: int
    max_body_bytes: int
    on_duplicate: str
    mode: str
    public_url: str | None = None
    allow_ips: tuple[str, ...] = ()
    """The ``allow_ips`` entries as written (empty: no allowlist)."""
    allow_set: IPSet | None = None
    """The compiled allowlist; None when the route has none (every address may call)."""
    forward_credentials: bool = ROUTE.default("forward_credentials")
    """Whether the verifying proxy passes the token it verified (query parameter, header
    or ``Authorization``) on to the upstream; by default it strips it."""
    commit_on: str = ROUTE.default("commit_on")
    """Which handler answers use the event up: ``2xx`` (default; anything else releases
    it for the provider's retry) or ``below_500`` (a 4xx means "processed, never again")."""
    client_cert: ClientCertRule | None = None
    """The client certificate this route requires (None: none is checked)."""
    handshake: HandshakeConfig = HandshakeConfig()
    """Settings for the provider's endpoint check (the preset names the check)."""

    def __post_init__(self) -> None:
        if self.allow_ips and self.allow_set is None:
            # An allowlist that is written but not compiled would silently allow everyone.
            raise ValueError(
                f"route {self.name!r}: allow_ips given without allow_set; build it with "
                "load_config()"
            )


@dataclass(frozen=True)
class ReplayConfig:
    """The ``replay:`` section."""

    store: str = REPLAY.default("store")
    """``memory`` or a Redis URL (``redis://``, ``rediss://``, ``unix://``,
    ``redis+sentinel://``, ``redis+cluster://``), given literally or as ``env:NAME`` /
    ``file:PATH``; its password is masked in ``repr``."""
    max_entries: int = REPLAY.default("max_entries")
    processing_timeout: int = REPLAY.default("processing_timeout")
    retention: int = REPLAY.default("retention")
    """How long a processed event is remembered (default 3 days: Stripe's and Paddle's
    retry horizon). Must cover the timestamp window on both sides."""
    on_store_error: str = REPLAY.default("on_store_error")
    prefix: str = REPLAY.default("prefix")
    """Redis key prefix, so several guards (or apps) can share one Redis."""
    socket_timeout: float = REPLAY.default("socket_timeout")
    """Seconds to wait for Redis to connect or answer before ``on_store_error`` applies."""

    def __repr__(self) -> str:
        # A Redis URL may carry a password: never print it.
        shown = {k: redact_url(v) if k == "store" else v for k, v in vars(self).items()}
        fields = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"ReplayConfig({fields})"


@dataclass(frozen=True)
class NetworkConfig:
    """The ``network:`` section (client address rules)."""

    client_ip: str = NETWORK.default("client_ip")
    trusted_proxies: tuple[str, ...] = ()
    """The entries as written; :attr:`trusted_set` is what is matched."""
    deny_ips: tuple[str, ...] = ()
    """The entries as written; :attr:`deny_set` is what is matched."""
    all_hops_trusted: str = NETWORK.default("all_hops_trusted")
    trust_unix_socket: bool = NETWORK.default("trust_unix_socket")
    trusted_set: IPSet = field(default_factory=IPSet)
    deny_set: IPSet = field(default_factory=IPSet)
    client_cert: ClientCertHeaders | None = None
    """The headers of a TLS terminator in front that verified the client certificate,
    believed only from :attr:`trusted_set` (None: no such headers are read)."""

    def __post_init__(self) -> None:
        # The compiled sets are what is enforced; entries without them would be ignored.
        for raw, compiled in (
            (self.trusted_proxies, self.trusted_set),
            (self.deny_ips, self.deny_set),
        ):
            if raw and not compiled:
                raise ValueError(
                    "NetworkConfig: entries given without their compiled IPSet; "
                    "build it with load_config()"
                )

    def client_ip_config(self) -> ClientIPConfig:
        """These settings as the :class:`~webhook_guard.clientip.ClientIPConfig` they mean."""
        return ClientIPConfig(
            source=self.client_ip,
            trusted_proxies=self.trusted_set,
            all_hops_trusted=self.all_hops_trusted,
            trust_unix_socket=self.trust_unix_socket,
        )


@dataclass(frozen=True)
class AuditConfig:
    """The ``audit:`` section: the delivery log (see ``webhook_guard.audit``)."""

    path: str
    """The SQLite file every worker appends to (created readable by owner and group only)."""
    max_age: int = AUDIT_RETENTION.default("max_age")
    """Seconds a delivery is kept (default 30 days)."""
    max_rows: int = AUDIT_RETENTION.default("max_rows")
    """Deliveries kept at most; the oldest go first."""
    store_bodies: bool = AUDIT.default("store_bodies")
    """Also keep each body (they may hold personal data; off by default)."""


@dataclass(frozen=True)
class TLSConfig:
    """The ``tls:`` section: TLS for ``webhook-guard serve`` (adapters ignore it: their
    server terminates TLS)."""

    certfile: str
    keyfile: str | None = None
    client_ca: str | None = None
    """CA bundle that client certificates must chain to; None: none is asked for."""
    client_cert: str = TLS.default("client_cert")
    """With ``client_ca``: ``required`` (the handshake fails without a valid certificate)
    or ``optional`` (a route's ``client_cert`` rule refuses it with a precise reason)."""
    min_version: str = TLS.default("min_version")


@dataclass(frozen=True)
class Config:
    """A validated webhook_guard configuration."""

    routes: tuple[RouteConfig, ...]
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    audit: AuditConfig | None = None
    """The delivery log; None: deliveries are not recorded."""
    tls: TLSConfig | None = None

    def route(self, name: str) -> RouteConfig:
        """The route called ``name``.

        Raises:
            KeyError: no such route.
        """
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)


def configured_route_keys(route: RouteConfig) -> frozenset[str]:
    """The fields of :data:`ROUTE_FIELDS` that ``route`` sets (not empty, None or false),
    for code that must refuse a route using a key it does not know about."""
    return frozenset(
        f.name
        for f in dataclasses.fields(route)
        if f.name in ROUTE_FIELDS and getattr(route, f.name)
    )


#: The :class:`RouteConfig` fields that hold route keys (``allow_set`` is ``allow_ips``
#: compiled).
ROUTE_FIELDS: frozenset[str] = frozenset(
    f.name
    for f in dataclasses.fields(RouteConfig)
    if f.name in ROUTE.names or f.name == "allow_set"
)
