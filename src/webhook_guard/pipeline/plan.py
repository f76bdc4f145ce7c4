"""A route compiled once, at load time, into the plan of the checks its config needs
(see docs/architecture.md, "The route plan")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import NetworkConfig, RouteConfig
from ..signatures import PRESETS, make_scheme
from .access import AddressCheck, ClientCertCheck
from .eventid import EventIdRule
from .handshake import HandshakeStep
from .signature import SignatureCheck
from .token import TokenCheck

if TYPE_CHECKING:
    from ..signatures.keyfetch import KeyFetcher


class RoutePlan:
    """One route's checks, in order, each specialised for the route by its data.

    A step the route does not configure is None and costs nothing per request. The
    order is fixed: cheap checks before expensive ones, authenticity before state.
    route/method -> client address -> client certificate -> body size -> [unsigned
    handshake] -> token -> timestamp -> signature -> [signed handshake] -> replay.
    """

    __slots__ = (
        "allow",
        "allow_set",
        "check_address",
        "client_cert",
        "commit_below_500",
        "config",
        "current_secret",
        "enforce",
        "event_ids",
        "handshake",
        "max_body_bytes",
        "methods",
        "name",
        "signature",
        "token",
    )

    def __init__(
        self,
        config: RouteConfig,
        network: NetworkConfig,
        address: AddressCheck,
        key_fetcher: KeyFetcher | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.methods = config.methods
        self.enforce = config.mode == "enforce"
        self.allow = (("allow", ", ".join(sorted(config.methods))),)
        self.max_body_bytes = config.max_body_bytes
        self.commit_below_500 = config.commit_on == "below_500"
        self.allow_set = config.allow_set
        #: Whether the client address step runs: any network rule, or the route's allow_ips.
        self.check_address = address.network_rules or config.allow_set is not None
        self.client_cert = (
            ClientCertCheck(config.client_cert, network) if config.client_cert else None
        )
        self.token = TokenCheck(config.token) if config.token is not None else None
        scheme = make_scheme(config.signature, key_fetcher) if config.signature else None
        self.signature = SignatureCheck(config, scheme) if scheme is not None else None
        self.event_ids = EventIdRule(config.name, config.event_id, scheme)
        preset = PRESETS.get(config.provider or "")
        kind = preset.handshake if preset is not None else None
        self.handshake = HandshakeStep(kind, config, key_fetcher) if kind is not None else None
        # The first secret listed is the current one; a match on any other is "previous"
        # (metrics count those so users see when an old secret can be retired).
        ring = config.secrets or (config.token.secrets if config.token else ())
        self.current_secret = ring[0].label if ring else None
        if scheme is not None and scheme.fetched_key_label is not None:
            self.current_secret = scheme.fetched_key_label

    @property
    def steps(self) -> tuple[str, ...]:
        """The names of the checks this plan runs, in order."""
        optional = (
            ("address", self.check_address),
            ("client_cert", self.client_cert is not None),
            ("body", True),
            ("handshake", self.handshake is not None and self.handshake.before),
            ("token", self.token is not None),
            ("timestamp", self.signature is not None and self.signature.tolerance is not None),
            ("signature", self.signature is not None),
            ("handshake", self.handshake is not None and not self.handshake.before),
            ("replay", self.event_ids.replays),
        )
        return ("route", "method", *(name for name, needed in optional if needed))
