"""YAML or dict configuration -> typed, validated :class:`Config`.

Every error names the exact place (``routes[2].secrets[0]: ...``); all errors found are
reported together in one :class:`~webhook_guard.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .clientcert import ClientCertHeaders
from .clientip import ClientIPConfig
from .errors import ConfigError
from .ipset import NAMED_SETS, PROVIDERS, IPSet, provider_set
from .replay.redis_store import (
    DEFAULT_PREFIX,
    DEFAULT_SOCKET_TIMEOUT,
    parse_redis_url,
    redact_url,
    require_redis,
)
from .routes import pattern_error
from .secrets import MAX_ACTIVE_SECRETS, Secret, _read_source, load_secret
from .signatures import make_scheme
from .signatures.base import (
    ALGORITHMS,
    ASYMMETRIC,
    ENCODINGS,
    FORMATS,
    SECRET_ENCODINGS,
    HmacScheme,
    SignatureSpec,
)
from .signatures.presets import PRESETS

DEFAULTS: dict[str, Any] = {
    "tolerance": 300,
    "max_body_bytes": 1_048_576,
    "on_duplicate": "acknowledge",
    "mode": "enforce",
    "methods": ["POST"],
}
ON_DUPLICATE = ("acknowledge", "reject")
COMMIT_ON = ("2xx", "below_500")
MODES = ("enforce", "report")
ON_STORE_ERROR = ("fail_closed", "fail_open")
ALL_HOPS_TRUSTED = ("reject", "leftmost")
TLS_VERSIONS = ("1.2", "1.3")
CLIENT_CERT_MODES = ("required", "optional")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_METHOD = re.compile(r"^[A-Z]+$")
#: The methods of RFC 9110 and PATCH (RFC 5789); a route with any other (a typo such as
#: FETCH) could never be called, so it is refused rather than silently never matching.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")


@dataclass(frozen=True)
class TokenConfig:
    """A shared token the sender puts in the URL, a header, or HTTP basic auth."""

    source: str
    """``query``, ``header`` or ``basic``."""
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
    forward_credentials: bool = False
    """Whether the verifying proxy passes the token it verified (query parameter, header
    or ``Authorization``) on to the upstream; by default it strips it."""
    commit_on: str = "2xx"
    """Which handler answers use the event up: ``2xx`` (default; anything else releases
    it for the provider's retry) or ``below_500`` (a 4xx means "processed, never again")."""
    client_cert: ClientCertRule | None = None
    """The client certificate this route requires (None: none is checked)."""

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

    store: str = "memory"
    """``memory`` or a Redis URL (``redis://``, ``rediss://``, ``unix://``,
    ``redis+sentinel://``, ``redis+cluster://``), given literally or as ``env:NAME`` /
    ``file:PATH``; its password is masked in ``repr``."""
    max_entries: int = 1_000_000
    processing_timeout: int = 60
    retention: int = 259_200
    """How long a processed event is remembered (default 3 days: Stripe's and Paddle's
    retry horizon). Must cover the timestamp window on both sides."""
    on_store_error: str = "fail_closed"
    prefix: str = DEFAULT_PREFIX
    """Redis key prefix, so several guards (or apps) can share one Redis."""
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
    """Seconds to wait for Redis to connect or answer before ``on_store_error`` applies."""

    def __repr__(self) -> str:
        # A Redis URL may carry a password: never print it.
        shown = {k: redact_url(v) if k == "store" else v for k, v in vars(self).items()}
        fields = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"ReplayConfig({fields})"


@dataclass(frozen=True)
class NetworkConfig:
    """The ``network:`` section (client address rules)."""

    client_ip: str = "x-forwarded-for"
    trusted_proxies: tuple[str, ...] = ()
    """The entries as written; :attr:`trusted_set` is what is matched."""
    deny_ips: tuple[str, ...] = ()
    """The entries as written; :attr:`deny_set` is what is matched."""
    all_hops_trusted: str = "reject"
    trust_unix_socket: bool = False
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
    max_age: int = 2_592_000
    """Seconds a delivery is kept (default 30 days)."""
    max_rows: int = 1_000_000
    """Deliveries kept at most; the oldest go first."""
    store_bodies: bool = False
    """Also keep each body (they may hold personal data; off by default)."""


@dataclass(frozen=True)
class TLSConfig:
    """The ``tls:`` section: TLS for ``webhook-guard serve`` (adapters ignore it: their
    server terminates TLS)."""

    certfile: str
    keyfile: str | None = None
    client_ca: str | None = None
    """CA bundle that client certificates must chain to; None: none is asked for."""
    client_cert: str = "required"
    """With ``client_ca``: ``required`` (the handshake fails without a valid certificate)
    or ``optional`` (a route's ``client_cert`` rule refuses it with a precise reason)."""
    min_version: str = "1.2"


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


# -- entry points ----------------------------------------------------------------------


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> Config:
    """Load and validate a configuration.

    Args:
        source: a path to a YAML file, or an already parsed mapping.
        env: environment for ``env:`` secrets (default ``os.environ``).
        now: Unix time used to report already expired secrets (default: now).

    Raises:
        ConfigError: listing every problem with its place in the file.
    """
    if isinstance(source, Mapping):
        data: object = source
    elif not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"<config>: expected a mapping or a file path, got {_kind(source)}")
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        loader = yaml.SafeLoader(text)
        try:
            # The node tree keeps each value's line, so that errors can point at it.
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ConfigError(f"{where}: {problem}") from None
        finally:
            loader.dispose()
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping with 'version: 1', got {_kind(data)}")
        try:
            return _Parser(
                env if env is not None else os.environ, time.time() if now is None else now
            ).parse(data)
        except ConfigError as exc:
            assert node is not None  # data is a mapping, so the document had a node
            raise ConfigError([_locate(e, path, node) for e in exc.errors]) from None
    return _Parser(
        env if env is not None else os.environ, time.time() if now is None else now
    ).parse(source)


_PLACE = re.compile(r"^([A-Za-z_][\w-]*(?:\[\d+\]|\.[\w-]+)*): ")
_STEP = re.compile(r"\[(\d+)\]|\.?([\w-]+)")


def _locate(error: str, path: Path, root: yaml.Node) -> str:
    """``"routes[0].tolerance: ..."`` -> ``"FILE:LINE:COL: routes[0].tolerance: ..."``: the
    line of the deepest node of that place the file has (a missing key: its mapping)."""
    m = _PLACE.match(error)
    if m is None:
        return error
    node = root
    mark = root.start_mark
    for index, key in _STEP.findall(m.group(1)):
        child: yaml.Node | None = None
        if index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            mark = child.start_mark
        elif key and isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    child = v
                    mark = v.start_mark
                    break
        if child is None:
            break
        node = child
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {error}"


# -- parsing helpers -------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


class _Reported(Exception):
    """The errors of a part were already recorded in ``_Parser.errors``; skip the part."""


def _mapping(value: object, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(where, f"expected a mapping, got {_kind(value)}")
    unknown = _unknown_keys(value, where, allowed)
    if unknown:
        raise _Invalid(*unknown[0])
    return value


def _unknown_keys(
    value: Mapping[str, Any], where: str, allowed: Sequence[str]
) -> list[tuple[str, str]]:
    """(place, message) of each key of ``value`` that is not ``allowed``."""
    out = []
    for key in value:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (allowed: {', '.join(allowed)})"
            out.append((f"{where}.{key}" if where else str(key), f"unknown key{hint}"))
    return out


def did_you_mean(value: str, known: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for a near match, else the list of known values."""
    near = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    listed = f"(known: {', '.join(known)})"
    return f"; did you mean {near[0]!r}? {listed}" if near else f" {listed}"


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _int(value: object, where: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(where, f"expected an integer, got {_kind(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise _Invalid(where, f"must be {bound}, got {value}")
    return value


def _choice(value: object, where: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise _Invalid(where, f"must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(where, f"expected a string, got {_kind(value)}")
    if not value:
        raise _Invalid(where, "must not be empty")
    return value


def _header(value: object, where: str) -> str:
    name = _str(value, where)
    if not _HEADER.match(name):
        raise _Invalid(where, f"{name!r} is not a valid header name")
    return name.lower()


def _headers(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, list):
        if not value:
            raise _Invalid(where, "expected at least one header name")
        return tuple(_header(v, f"{where}[{i}]") for i, v in enumerate(value))
    return (_header(value, where),)


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid(where, f"expected a list, got {_kind(value)}")
    return value


def _pointer(value: object, where: str) -> tuple[str, ...]:
    text = _str(value, where)
    if not text.startswith("/"):
        raise _Invalid(where, f"{text!r} is not a JSON pointer (RFC 6901), e.g. /id")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


_ROUTE_KEYS = (
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
    "forward_credentials",
    "commit_on",
    "client_cert",
)
_SIGNATURE_KEYS = (
    "header",
    "algorithm",
    "encoding",
    "prefix",
    "format",
    "separator",
    "version",
    "timestamp_key",
    "signed_content",
    "timestamp_header",
    "id_header",
    "secret_prefix",
    "secret_encoding",
)


class _Parser:
    def __init__(self, env: Mapping[str, str], now: float) -> None:
        self.env = env
        self.now = now
        self.errors: list[str] = []

    def parse(self, data: object) -> Config:
        try:
            top = _mapping(
                data, "", ("version", "defaults", "network", "replay", "routes", "audit", "tls")
            )
        except _Invalid as exc:
            raise ConfigError(f"<config>{exc}" if str(exc).startswith(":") else str(exc)) from None
        if "version" not in top:
            self.errors.append("version: missing; this format is 'version: 1'")
        elif type(top["version"]) is not int or top["version"] != 1:
            self.errors.append(f"version: unsupported version {top['version']!r}; expected 1")
        defaults = self._guard(self._defaults, top.get("defaults")) or dict(DEFAULTS)
        replay = self._guard(self._replay, top.get("replay")) or ReplayConfig()
        network = self._guard(self._network, top.get("network")) or NetworkConfig()
        audit = self._guard(self._audit, top.get("audit"))
        tls = self._guard(self._tls, top.get("tls"))
        routes = self._routes(top.get("routes"), defaults)
        self._check_allow_vs_trusted(routes, network)
        for route in routes:
            if replay.retention < 2 * route.tolerance:
                self.errors.append(
                    f"replay.retention: {replay.retention} s is shorter than the replay window "
                    f"of route {route.name!r} (2 x tolerance = {2 * route.tolerance} s)"
                )
        if self.errors:
            raise ConfigError(self.errors)
        return Config(routes=tuple(routes), replay=replay, network=network, audit=audit, tls=tls)

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (_Invalid, ConfigError) as exc:
            self.errors.append(str(exc))
        except _Reported:  # already in self.errors
            pass
        return None

    def _settle(self, before: int) -> None:
        """End a part whose pieces were checked one by one (so that one run reports every
        problem, not one per round): skip the part if any piece failed."""
        if len(self.errors) > before:
            raise _Reported

    def _defaults(self, raw: object) -> dict[str, Any]:
        merged = dict(DEFAULTS)
        if raw is None:
            return merged
        block = _mapping(raw, "defaults", tuple(DEFAULTS))
        before = len(self.errors)
        for key, value in block.items():
            merged[key] = self._guard(self._setting, key, value, f"defaults.{key}")
        self._settle(before)
        return merged

    def _setting(self, key: str, value: object, where: str) -> Any:
        if key == "tolerance":
            if value == 0 and not isinstance(value, bool):
                raise _Invalid(
                    where,
                    "0 is not allowed: tolerance is the replay window in seconds (e.g. 300); "
                    "it cannot be turned off",
                )
            return _int(value, where, minimum=1, maximum=7 * 86_400)
        if key == "max_body_bytes":
            return _int(value, where, minimum=1, maximum=1 << 31)
        if key == "on_duplicate":
            return _choice(value, where, ON_DUPLICATE)
        if key == "mode":
            return _choice(value, where, MODES)
        if key == "methods":
            methods = _list(value, where)
            if not methods:
                raise _Invalid(where, "expected at least one method")
            out = []
            for i, m in enumerate(methods):
                text = _str(m, f"{where}[{i}]").upper()
                if not _METHOD.match(text):
                    raise _Invalid(f"{where}[{i}]", f"{m!r} is not an HTTP method")
                if text not in HTTP_METHODS:
                    raise _Invalid(
                        f"{where}[{i}]",
                        f"unknown HTTP method {m!r}{did_you_mean(text, HTTP_METHODS)}",
                    )
                out.append(text)
            return out
        raise AssertionError(key)  # pragma: no cover

    def _replay(self, raw: object) -> ReplayConfig:
        if raw is None:
            return ReplayConfig()
        block = _mapping(
            raw,
            "replay",
            (
                "store",
                "max_entries",
                "processing_timeout",
                "retention",
                "on_store_error",
                "prefix",
                "socket_timeout",
            ),
        )
        store = _str(block.get("store", "memory"), "replay.store")
        if store.startswith(("env:", "file:")):
            # A Redis URL may carry a password: let it live where secrets live.
            store = _read_source(store, "replay.store", self.env)[0].strip()
        if store != "memory":
            try:
                parse_redis_url(store)
            except ValueError as exc:
                raise _Invalid("replay.store", str(exc)) from None
            require_redis()
        prefix = _str(block.get("prefix", DEFAULT_PREFIX), "replay.prefix")
        if len(prefix) > 100 or not prefix.isprintable():
            raise _Invalid("replay.prefix", "expected at most 100 printable characters")
        timeout = block.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= 60
        ):
            raise _Invalid("replay.socket_timeout", f"expected seconds in (0, 60], got {timeout!r}")
        return ReplayConfig(
            store=store,
            prefix=prefix,
            socket_timeout=float(timeout),
            max_entries=_int(block.get("max_entries", 1_000_000), "replay.max_entries", minimum=1),
            processing_timeout=_int(
                block.get("processing_timeout", 60),
                "replay.processing_timeout",
                minimum=1,
                maximum=86_400,
            ),
            retention=_int(block.get("retention", 259_200), "replay.retention", minimum=1),
            on_store_error=_choice(
                block.get("on_store_error", "fail_closed"),
                "replay.on_store_error",
                ON_STORE_ERROR,
            ),
        )

    def _audit(self, raw: object) -> AuditConfig | None:
        if raw is None:
            return None
        block = _mapping(raw, "audit", ("path", "retention", "store_bodies"))
        if "path" not in block:
            raise _Invalid("audit.path", "missing; where the delivery log (SQLite) is written")
        retention = _mapping(block.get("retention", {}), "audit.retention", ("max_age", "max_rows"))
        store_bodies = block.get("store_bodies", False)
        if not isinstance(store_bodies, bool):
            raise _Invalid("audit.store_bodies", f"expected true or false, got {store_bodies!r}")
        return AuditConfig(
            path=_str(block["path"], "audit.path"),
            max_age=_int(
                retention.get("max_age", 2_592_000), "audit.retention.max_age", minimum=60
            ),
            max_rows=_int(
                retention.get("max_rows", 1_000_000), "audit.retention.max_rows", minimum=100
            ),
            store_bodies=store_bodies,
        )

    def _network(self, raw: object) -> NetworkConfig:
        if raw is None:
            return NetworkConfig()
        block = _mapping(
            raw,
            "network",
            (
                "client_ip",
                "trusted_proxies",
                "deny_ips",
                "all_hops_trusted",
                "trust_unix_socket",
                "client_cert",
            ),
        )
        source = _str(block.get("client_ip", "x-forwarded-for"), "network.client_ip")
        if source.lower().startswith("header:"):
            source = "header:" + source[7:].lower()
        try:
            ClientIPConfig(source=source)
        except ValueError as exc:
            raise _Invalid("network.client_ip", str(exc).removeprefix("client_ip: ")) from None
        all_hops = _choice(
            block.get("all_hops_trusted", "reject"), "network.all_hops_trusted", ALL_HOPS_TRUSTED
        )
        unix = block.get("trust_unix_socket", False)
        if not isinstance(unix, bool):
            raise _Invalid("network.trust_unix_socket", f"expected true or false, got {unix!r}")
        trusted, trusted_set = self._ip_list(
            block.get("trusted_proxies"), "network.trusted_proxies", providers=False
        )
        deny, deny_set = self._ip_list(block.get("deny_ips"), "network.deny_ips", providers=True)
        client_cert = None
        if block.get("client_cert") is not None:
            client_cert = self._client_cert_headers(block["client_cert"], "network.client_cert")
            if not trusted_set and not unix:
                raise _Invalid(
                    "network.client_cert",
                    "needs network.trusted_proxies: the headers are believed only from the "
                    "TLS terminator that sets them",
                )
        return NetworkConfig(
            client_cert=client_cert,
            client_ip=source,
            trusted_proxies=trusted,
            deny_ips=deny,
            all_hops_trusted=all_hops,
            trust_unix_socket=unix,
            trusted_set=trusted_set,
            deny_set=deny_set,
        )

    @staticmethod
    def _client_cert_headers(raw: object, where: str) -> ClientCertHeaders:
        block = _mapping(raw, where, ("verify_header", "subject_header", "cert_header", "xfcc"))
        if "xfcc" in block:
            others = [k for k in block if k != "xfcc"]
            if others:
                raise _Invalid(f"{where}.{others[0]}", "does not go with xfcc (Envoy's one header)")
            header = block["xfcc"]
            name = "x-forwarded-client-cert" if header is True else _header(header, f"{where}.xfcc")
            return ClientCertHeaders(xfcc_header=name)
        defaults = ClientCertHeaders()
        verify = _header(
            block.get("verify_header", defaults.verify_header), f"{where}.verify_header"
        )
        names: dict[str, str | None] = {}
        for key in ("subject_header", "cert_header"):
            value = block.get(key, getattr(defaults, key))
            names[key] = None if value is None else _header(value, f"{where}.{key}")
        if names["cert_header"] is not None:
            try:
                import cryptography  # noqa: F401
            except ImportError:
                raise _Invalid(
                    f"{where}.cert_header",
                    "reading the certificate needs the 'cryptography' package (pip install "
                    "cryptography); or set cert_header: null to match the subject's CN only",
                ) from None
        if names["subject_header"] is None and names["cert_header"] is None:
            raise _Invalid(
                where, "set subject_header or cert_header: one must name the certificate"
            )
        return ClientCertHeaders(
            verify_header=verify,
            subject_header=names["subject_header"],
            cert_header=names["cert_header"],
        )

    def _tls(self, raw: object) -> TLSConfig | None:
        if raw is None:
            return None
        block = _mapping(
            raw, "tls", ("certfile", "keyfile", "client_ca", "client_cert", "min_version")
        )
        if "certfile" not in block:
            raise _Invalid("tls", "missing 'certfile' (the server certificate, PEM)")
        tls = TLSConfig(
            certfile=_str(block["certfile"], "tls.certfile"),
            keyfile=_str(block["keyfile"], "tls.keyfile") if "keyfile" in block else None,
            client_ca=_str(block["client_ca"], "tls.client_ca") if "client_ca" in block else None,
            client_cert=_choice(
                block.get("client_cert", "required"), "tls.client_cert", CLIENT_CERT_MODES
            ),
            min_version=_choice(
                str(block.get("min_version", "1.2")), "tls.min_version", TLS_VERSIONS
            ),
        )
        check_tls(tls, lambda key: f"tls.{key}")
        return tls

    def _ip_list(
        self, raw: object, where: str, *, providers: bool
    ) -> tuple[tuple[str, ...], IPSet]:
        if raw is None:
            return (), IPSet()
        items = _list(raw, where)
        sets = [self._ip_entry(item, f"{where}[{i}]", providers) for i, item in enumerate(items)]
        return tuple(items), IPSet().union(*sets)

    def _ip_entry(self, item: object, where: str, providers: bool) -> IPSet:
        """One entry: a CIDR, a named set, a provider list or ``file:PATH``."""
        text = _str(item, where)
        if text in NAMED_SETS:
            # "cloudflare" resolves through the provider lists, so a refreshed list applies.
            return provider_set(text) if text in PROVIDERS else NAMED_SETS[text]
        if text.startswith("file:"):
            return self._ip_file(text[5:], where, providers)
        if text in PROVIDERS or text.startswith("aws:"):
            if not providers:
                raise _Invalid(
                    where,
                    f"{text!r} is a list of webhook senders, not of proxies; trusted_proxies "
                    f"takes CIDRs, file:PATH and {', '.join(sorted(NAMED_SETS))}",
                )
            try:
                return provider_set(text)
            except ValueError as exc:
                raise _Invalid(where, str(exc)) from None
        try:
            return IPSet((text,))
        except ValueError as exc:
            names = sorted({*NAMED_SETS, *(PROVIDERS if providers else ())} - {"aws"})
            near = difflib.get_close_matches(text, names, n=1)
            hint = (
                f"; did you mean '{near[0]}'?"
                if near
                else f" (or one of {', '.join(names)}{', aws:SERVICE' if providers else ''}"
                ", file:PATH)"
            )
            raise _Invalid(where, f"{exc}{hint}") from None

    @staticmethod
    def _ip_file(name: str, where: str, providers: bool) -> IPSet:
        if not name:
            raise _Invalid(where, "'file:' needs a path")
        path = Path(name)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _Invalid(where, f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise _Invalid(where, f"{path} is not UTF-8 text") from None
        entries = []
        for number, line in enumerate(lines, 1):
            entry = line.partition("#")[0].strip()
            if not entry:
                continue
            try:
                IPSet((entry,))
            except ValueError as exc:
                raise _Invalid(where, f"{path} line {number}: {exc}") from None
            entries.append(entry)
        if not entries:
            raise _Invalid(where, f"{path} lists no addresses")
        return IPSet(entries)

    def _check_allow_vs_trusted(self, routes: list[RouteConfig], network: NetworkConfig) -> None:
        trusted = network.trusted_set
        if not trusted:
            return
        for i, route in enumerate(routes):
            if route.allow_set is None or not route.allow_set.overlaps(trusted):
                continue
            # Name the offending entry; re-resolving one entry is cheap and only on error.
            for j, entry in enumerate(route.allow_ips):
                try:
                    entry_set = self._ip_entry(entry, "", providers=True)
                except _Invalid:  # pragma: no cover - parsed once already
                    continue
                if entry_set.overlaps(trusted):
                    self.errors.append(
                        f"routes[{i}].allow_ips[{j}]: {entry!r} overlaps network.trusted_proxies "
                        "(a trusted proxy would pass this allowlist itself); narrow one of them"
                    )

    def _routes(self, raw: object, defaults: Mapping[str, Any]) -> list[RouteConfig]:
        if raw is None:
            self.errors.append("routes: missing; at least one route is required")
            return []
        try:
            items = _list(raw, "routes")
        except _Invalid as exc:
            self.errors.append(str(exc))
            return []
        if not items:
            self.errors.append("routes: at least one route is required")
        routes: list[RouteConfig] = []
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        for i, item in enumerate(items):
            where = f"routes[{i}]"
            route = self._guard(self._route, item, where, defaults)
            if route is None:
                continue
            if route.name in names:
                self.errors.append(
                    f"{where}.name: {route.name!r} is already used by routes[{names[route.name]}]"
                )
            # Routing ignores one trailing slash, so /a and /a/ are the same route.
            canonical = route.path.rstrip("/") or "/"
            if canonical in paths:
                self.errors.append(
                    f"{where}.path: {route.path!r} is already used by routes[{paths[canonical]}]"
                )
            names.setdefault(route.name, i)
            paths.setdefault(canonical, i)
            routes.append(route)
        return routes

    def _route(self, raw: object, where: str, defaults: Mapping[str, Any]) -> RouteConfig:
        if not isinstance(raw, Mapping):
            raise _Invalid(where, f"expected a mapping, got {_kind(raw)}")
        before = len(self.errors)
        # A misspelt key is reported with the route's other problems, not in a round of
        # its own; the route is skipped all the same.
        self.errors += [
            f"{place}: {message}" for place, message in _unknown_keys(raw, where, _ROUTE_KEYS)
        ]
        block = {k: v for k, v in raw.items() if k in _ROUTE_KEYS}
        name = self._guard(self._route_name, block, where)
        path = self._guard(self._route_path, block, where)
        settings = {
            key: self._guard(self._setting, key, block[key], f"{where}.{key}")
            if key in block
            else value
            for key, value in defaults.items()
        }
        allow_ips: tuple[str, ...] = ()
        allow_set: IPSet | None = None
        if block.get("allow_ips") is not None:
            allow_ips, allow_set = self._guard(self._allow_ips, block["allow_ips"], where) or (
                (),
                None,
            )
        client_cert = None
        if block.get("client_cert") is not None:
            client_cert = self._guard(
                self._client_cert_rule, block["client_cert"], f"{where}.client_cert"
            )
        public_url = None
        if block.get("public_url") is not None:
            public_url = self._guard(self._public_url, block["public_url"], f"{where}.public_url")

        provider = block.get("provider")
        signature: SignatureSpec | None = None
        token = None
        auth_failed = False
        preset = PRESETS.get(provider) if isinstance(provider, str) else None
        if preset is not None and preset.token_header is not None:
            # A token preset (GitLab): the secrets are tokens compared with a header.
            for key in ("signature", "token"):
                if key in block:
                    raise _Invalid(
                        f"{where}.{key}",
                        f"provider {provider!r} sends a plain token in "
                        f"{preset.token_header}, so it takes only 'secrets'",
                    )
            secrets_ = self._guard(self._secrets, block.get("secrets"), f"{where}.secrets", None)
            if secrets_ is None:
                auth_failed = True
            else:
                token = TokenConfig(source="header", name=preset.token_header, secrets=secrets_)
        elif provider is not None or "signature" in block:
            provider = _str(provider, f"{where}.provider") if provider is not None else "generic"
            if provider not in PRESETS:
                self.errors.append(
                    f"{where}.provider: unknown provider {provider!r}"
                    + did_you_mean(provider, sorted(PRESETS))
                )
                # Still read the secrets: a missing one is reported in the same run.
                self._guard(self._secrets, block.get("secrets"), f"{where}.secrets", None)
            else:
                signature = self._guard(
                    self._signature,
                    provider,
                    block.get("signature"),
                    f"{where}.signature",
                    public_url,
                    where,
                )
            auth_failed = signature is None
        secrets: tuple[Secret, ...] = ()
        if signature is not None:
            secrets = self._guard(
                self._secrets, block.get("secrets"), f"{where}.secrets", signature
            )
        elif "secrets" in block and token is None and not auth_failed:
            raise _Invalid(
                f"{where}.secrets", "secrets need a provider or signature block to verify with"
            )
        if block.get("token") is not None:
            token = self._guard(self._token, block["token"], f"{where}.token")
            auth_failed = auth_failed or token is None
        if signature is None and token is None and not auth_failed:
            raise _Invalid(
                where,
                "no authentication configured: set 'provider' (or 'signature') with "
                "'secrets', and/or 'token'",
            )
        forward_credentials = block.get("forward_credentials", False)
        if not isinstance(forward_credentials, bool):
            raise _Invalid(
                f"{where}.forward_credentials",
                f"expected true or false, got {forward_credentials!r}",
            )
        if forward_credentials and token is None:
            raise _Invalid(
                f"{where}.forward_credentials",
                "this route verifies no token, so there is no credential to forward",
            )
        default_event_id = preset.event_id if preset is not None else "auto"
        event_id = self._guard(
            self._event_id, block.get("event_id", default_event_id), f"{where}.event_id", signature
        )
        self._settle(before)
        return RouteConfig(
            name=name,
            path=path,
            methods=frozenset(settings["methods"]),
            provider=provider,
            signature=signature,
            secrets=secrets,
            token=token,
            event_id=event_id,
            tolerance=settings["tolerance"],
            max_body_bytes=settings["max_body_bytes"],
            on_duplicate=settings["on_duplicate"],
            mode=settings["mode"],
            public_url=public_url,
            allow_ips=allow_ips,
            allow_set=allow_set,
            forward_credentials=forward_credentials,
            commit_on=_choice(block.get("commit_on", "2xx"), f"{where}.commit_on", COMMIT_ON),
            client_cert=client_cert,
        )

    @staticmethod
    def _client_cert_rule(raw: object, where: str) -> ClientCertRule:
        block = _mapping(raw, where, ("subjects",))
        if "subjects" not in block:
            raise _Invalid(where, "missing 'subjects' (the certificate names to accept)")
        items = _list(block["subjects"], f"{where}.subjects")
        if not items:
            raise _Invalid(f"{where}.subjects", "is empty, which would refuse every request")
        return ClientCertRule(
            tuple(_str(v, f"{where}.subjects[{i}]").lower() for i, v in enumerate(items))
        )

    @staticmethod
    def _route_name(block: Mapping[str, Any], where: str) -> str:
        if "name" not in block:
            raise _Invalid(where, "missing 'name'")
        name = _str(block["name"], f"{where}.name")
        if not _NAME.match(name):
            raise _Invalid(
                f"{where}.name", f"{name!r} must be letters, digits, '_', '.' or '-' (max 64)"
            )
        return name

    @staticmethod
    def _route_path(block: Mapping[str, Any], where: str) -> str:
        if "path" not in block:
            raise _Invalid(where, "missing 'path'")
        path = _str(block["path"], f"{where}.path")
        problem = pattern_error(path)
        if problem:
            raise _Invalid(f"{where}.path", f"{path!r}: {problem}")
        return path

    def _allow_ips(self, raw: object, where: str) -> tuple[tuple[str, ...], IPSet]:
        allow_ips, allow_set = self._ip_list(raw, f"{where}.allow_ips", providers=True)
        if not allow_ips:
            raise _Invalid(
                f"{where}.allow_ips",
                "is empty, which would refuse every request; omit it to allow any address",
            )
        return allow_ips, allow_set

    def _public_url(self, raw: object, where: str) -> str:
        text = _str(raw, where)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _Invalid(where, f"{text!r} must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise _Invalid(where, "must not contain a query or fragment")
        return text.rstrip("/")

    def _signature(
        self, provider: str, raw: object, where: str, public_url: str | None, route_where: str
    ) -> SignatureSpec:
        preset = PRESETS[provider]
        merged: dict[str, Any] = dict(preset.signature)
        user: Mapping[str, Any] = {} if raw is None else _mapping(raw, where, _SIGNATURE_KEYS)
        merged.update(user)
        if merged.get("algorithm") in ASYMMETRIC:
            _require_cryptography(f"{where}.algorithm")
            merged.update({k: v for k, v in preset.ed25519.items() if k not in user})
        if provider == "generic" and "header" not in merged:
            raise _Invalid(
                f"{where}.header" if raw is not None else where,
                "missing: the generic provider needs 'signature.header'",
            )
        headers = _headers(merged["header"], f"{where}.header")
        ts_headers = (
            _headers(merged["timestamp_header"], f"{where}.timestamp_header")
            if merged.get("timestamp_header")
            else ()
        )
        id_headers = (
            _headers(merged["id_header"], f"{where}.id_header") if merged.get("id_header") else ()
        )
        for key, names in (("timestamp_header", ts_headers), ("id_header", id_headers)):
            if len(names) not in (0, 1, len(headers)):
                raise _Invalid(
                    f"{where}.{key}",
                    f"give 1 name, or one per signature header ({len(headers)})",
                )
        fmt = _choice(merged.get("format", "plain"), f"{where}.format", FORMATS)
        timestamp_key = merged.get("timestamp_key")
        if timestamp_key is not None:
            timestamp_key = _str(timestamp_key, f"{where}.timestamp_key")
            if fmt != "kv":
                raise _Invalid(f"{where}.timestamp_key", "only applies to format: kv")
        spec = SignatureSpec(
            headers=headers,
            algorithm=_choice(
                merged.get("algorithm", "sha256"),
                f"{where}.algorithm",
                (*ALGORITHMS, *ASYMMETRIC),
            ),
            encoding=_choice(merged.get("encoding", "hex"), f"{where}.encoding", ENCODINGS),
            prefix=self._plain_str(merged.get("prefix", ""), f"{where}.prefix"),
            format=fmt,
            separator=_str(
                merged.get("separator", "," if fmt == "kv" else " "), f"{where}.separator"
            ),
            version=_str(merged.get("version", "v1"), f"{where}.version"),
            timestamp_key=timestamp_key,
            signed_content=_str(merged.get("signed_content", "{body}"), f"{where}.signed_content"),
            timestamp_headers=ts_headers,
            id_headers=id_headers,
            secret_prefix=self._plain_str(
                merged.get("secret_prefix", ""), f"{where}.secret_prefix"
            ),
            secret_encoding=_choice(
                merged.get("secret_encoding", "raw"), f"{where}.secret_encoding", SECRET_ENCODINGS
            ),
            scheme=merged.get("scheme", "hmac"),
        )
        try:
            scheme = make_scheme(spec)
        except ValueError as exc:
            # Formatter's own messages ("Single '}' encountered") need the context.
            raise _Invalid(
                f"{where}.signed_content", f"invalid template {spec.signed_content!r}: {exc}"
            ) from None
        if "timestamp" in scheme.fields and not scheme.has_timestamp:
            raise _Invalid(
                f"{where}.signed_content",
                "uses {timestamp} but no timestamp_header or timestamp_key says where it is",
            )
        if "id" in scheme.fields and not id_headers:
            raise _Invalid(f"{where}.signed_content", "uses {id} but no id_header is set")
        if "url" in scheme.fields and public_url is None:
            raise _Invalid(
                f"{route_where}.public_url",
                "missing: this signature covers the URL the provider calls, so set "
                "public_url (e.g. https://hooks.example.com)",
            )
        return spec

    @staticmethod
    def _plain_str(value: object, where: str) -> str:
        if not isinstance(value, str):
            raise _Invalid(where, f"expected a string, got {_kind(value)}")
        return value

    def _secrets(self, raw: object, where: str, spec: SignatureSpec | None) -> tuple[Secret, ...]:
        if raw is None:
            raise _Invalid(where, "missing; at least one secret is required")
        items = _list(raw, where)
        if not items:
            raise _Invalid(where, "at least one secret is required")
        scheme = make_scheme(spec) if spec is not None else None
        secrets = []
        labels: dict[str, int] = {}
        before = len(self.errors)
        for i, item in enumerate(items):
            item_where = f"{where}[{i}]"
            secret = self._guard(self._secret, item, item_where, scheme)
            if secret is None:
                continue
            if secret.label in labels:
                self.errors.append(
                    f"{item_where}: label {secret.label!r} is already used by "
                    f"{where}[{labels[secret.label]}]"
                )
                continue
            labels[secret.label] = i
            secrets.append(secret)
        self._settle(before)
        active = [s for s in secrets if s.active(self.now)]
        if len(active) > MAX_ACTIVE_SECRETS:
            raise _Invalid(
                where,
                f"{len(active)} active secrets; at most {MAX_ACTIVE_SECRETS} are examined per "
                "request, so retire old ones (set 'expires')",
            )
        return tuple(secrets)

    def _secret(self, item: object, where: str, scheme: HmacScheme | None) -> Secret:
        secret = load_secret(item, where, env=self.env, now=self.now)
        try:
            if scheme is not None:
                scheme.prepare(secret)
        except ValueError as exc:
            raise _Invalid(where, str(exc)) from None
        return secret

    def _token(self, raw: object, where: str) -> TokenConfig:
        block = _mapping(raw, where, ("query", "header", "basic", "secrets"))
        sources = [k for k in ("query", "header", "basic") if k in block]
        if len(sources) != 1:
            raise _Invalid(where, "set exactly one of 'query', 'header' or 'basic'")
        source = sources[0]
        name: str | None
        if source == "query":
            name = _str(block["query"], f"{where}.query")
        elif source == "header":
            name = _header(block["header"], f"{where}.header")
        else:
            basic = block["basic"]
            if basic is True:
                name = None
            elif isinstance(basic, str) and basic and ":" not in basic:
                name = basic
            else:
                raise _Invalid(
                    f"{where}.basic", "expected true (any username) or a username without ':'"
                )
        secrets = self._secrets(block.get("secrets"), f"{where}.secrets", None)
        return TokenConfig(source=source, name=name, secrets=secrets)

    def _event_id(self, raw: object, where: str, signature: SignatureSpec | None) -> EventIdConfig:
        if raw in ("auto", "none"):
            return EventIdConfig(source=str(raw))
        if not isinstance(raw, Mapping):
            raise _Invalid(
                where,
                f"expected 'auto', 'none', {{header: NAME}} or {{json: /pointer}}; got {raw!r}",
            )
        block = _mapping(raw, where, ("header", "json"))
        if len(block) != 1:
            raise _Invalid(where, "expected 'auto', 'none', {header: NAME} or {json: /pointer}")
        if "header" in block:
            return EventIdConfig(
                source="header", header=_header(block["header"], f"{where}.header")
            )
        return EventIdConfig(source="json", pointer=_pointer(block["json"], f"{where}.json"))


def tls_with_options(base: TLSConfig | None, **options: str | None) -> TLSConfig | None:
    """The config's ``tls`` section with command-line values (``certfile``, ``keyfile``,
    ``client_ca``, ``client_cert``; None: not given) over it, checked.

    Raises:
        ConfigError: naming the option (``--certfile: cannot read ...``).
    """
    given = {k: v for k, v in options.items() if v is not None}
    if not given:
        return base
    merged = {**(vars(base) if base is not None else {}), **given}
    if "certfile" not in merged:
        raise ConfigError(
            f"--{next(iter(given)).replace('_', '-')}: needs --certfile (or tls.certfile)"
        )
    tls = TLSConfig(**merged)
    if tls.client_cert not in CLIENT_CERT_MODES:
        raise ConfigError(f"--client-cert: must be one of {', '.join(CLIENT_CERT_MODES)}")
    try:
        check_tls(tls, lambda key: f"--{key.replace('_', '-')}")
    except _Invalid as exc:
        raise ConfigError(str(exc)) from None
    return tls


def check_tls(tls: TLSConfig, place: Callable[[str], str]) -> None:
    """Raise :class:`_Invalid` (a config error) naming the setting that cannot be loaded."""
    import ssl

    from .tlsserver import server_context

    for key in ("certfile", "keyfile", "client_ca"):
        name = getattr(tls, key)
        if name is None:
            continue
        try:
            Path(name).read_bytes()
        except OSError as exc:
            raise _Invalid(place(key), f"cannot read {name}: {exc.strerror}") from None
    try:
        server_context(tls)
    except (ssl.SSLError, OSError) as exc:
        raise _Invalid(
            place("certfile"), f"cannot load the certificate, key or client CA: {exc}"
        ) from None


def _require_cryptography(where: str) -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise _Invalid(
            where,
            "ed25519 needs the 'cryptography' package: "
            "pip install 'webhook-guard-middleware[ed25519]'",
        ) from None
