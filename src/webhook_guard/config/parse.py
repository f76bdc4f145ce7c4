"""A parsed mapping -> :class:`Config`: the top level and the sections besides routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..clientcert import ClientCertHeaders
from ..clientip import ClientIPConfig
from ..errors import ConfigError
from ..replay.redis_store import parse_redis_url, require_redis
from ..secrets import _read_source
from .addresses import ip_list, overlaps_with_trusted
from .keys import (
    AUDIT,
    AUDIT_RETENTION,
    CLIENT_CERT_HEADERS,
    DEFAULTS,
    MEMORY_STORE,
    NETWORK,
    REPLAY,
    TLS,
    TOP,
    XFCC_HEADER,
)
from .model import AuditConfig, Config, NetworkConfig, ReplayConfig, RouteConfig, TLSConfig
from .route import RouteParser, setting
from .route_keys import SETTINGS
from .tls import check_tls
from .values import Invalid, get, header, listing, mapping, string


class Parser(RouteParser):
    def parse(self, data: object) -> Config:
        try:
            top = mapping(data, "", TOP)
        except Invalid as exc:
            raise ConfigError(f"<config>{exc}" if str(exc).startswith(":") else str(exc)) from None
        if "version" not in top:
            self.errors.append("version: missing; this format is 'version: 1'")
        elif type(top["version"]) is not int or top["version"] != 1:
            self.errors.append(f"version: unsupported version {top['version']!r}; expected 1")
        defaults = self.guard(self._defaults, top.get("defaults")) or dict(DEFAULTS)
        replay = self.guard(_replay, top.get("replay"), self.env) or ReplayConfig()
        network = self.guard(_network, top.get("network")) or NetworkConfig()
        audit = self.guard(_audit, top.get("audit"))
        tls = self.guard(_tls, top.get("tls"))
        routes = self._routes(top.get("routes"), defaults)
        if network.trusted_set:
            for i, route in enumerate(routes):
                if route.allow_set is not None and route.allow_set.overlaps(network.trusted_set):
                    self.errors += overlaps_with_trusted(
                        f"routes[{i}].allow_ips", route.allow_ips, network.trusted_set
                    )
        for route in routes:
            if replay.retention < 2 * route.tolerance:
                self.errors.append(
                    f"replay.retention: {replay.retention} s is shorter than the replay window "
                    f"of route {route.name!r} (2 x tolerance = {2 * route.tolerance} s)"
                )
        if self.errors:
            raise ConfigError(self.errors)
        return Config(routes=tuple(routes), replay=replay, network=network, audit=audit, tls=tls)

    def _defaults(self, raw: object) -> dict[str, Any]:
        merged = dict(DEFAULTS)
        if raw is None:
            return merged
        block = mapping(raw, "defaults", SETTINGS)
        before = len(self.errors)
        for key, value in block.items():
            merged[key] = self.guard(setting, key, value, f"defaults.{key}")
        self.settle(before)
        return merged

    def _routes(self, raw: object, defaults: Mapping[str, Any]) -> list[RouteConfig]:
        if raw is None:
            self.errors.append("routes: missing; at least one route is required")
            return []
        try:
            items = listing(raw, "routes")
        except Invalid as exc:
            self.errors.append(str(exc))
            return []
        if not items:
            self.errors.append("routes: at least one route is required")
        routes: list[RouteConfig] = []
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        for i, item in enumerate(items):
            where = f"routes[{i}]"
            route = self.guard(self.route, item, where, defaults)
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


def _replay(raw: object, env: Mapping[str, str]) -> ReplayConfig:
    if raw is None:
        return ReplayConfig()
    block = mapping(raw, "replay", REPLAY)
    store = get(REPLAY, block, "store", "replay")
    if store.startswith(("env:", "file:")):
        # A Redis URL may carry a password: let it live where secrets live.
        store = _read_source(store, "replay.store", env)[0].strip()
    if store != MEMORY_STORE:
        try:
            parse_redis_url(store)
        except ValueError as exc:
            raise Invalid("replay.store", str(exc)) from None
        require_redis()
    prefix = string(block.get("prefix", REPLAY.default("prefix")), "replay.prefix")
    if len(prefix) > 100 or not prefix.isprintable():
        raise Invalid("replay.prefix", "expected at most 100 printable characters")
    timeout = block.get("socket_timeout", REPLAY.default("socket_timeout"))
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
        raise Invalid("replay.socket_timeout", f"expected seconds in (0, 60], got {timeout!r}")
    return ReplayConfig(
        store=store,
        prefix=prefix,
        socket_timeout=float(timeout),
        max_entries=get(REPLAY, block, "max_entries", "replay"),
        processing_timeout=get(REPLAY, block, "processing_timeout", "replay"),
        retention=get(REPLAY, block, "retention", "replay"),
        on_store_error=get(REPLAY, block, "on_store_error", "replay"),
    )


def _audit(raw: object) -> AuditConfig | None:
    if raw is None:
        return None
    block = mapping(raw, "audit", AUDIT)
    if "path" not in block:
        raise Invalid("audit.path", "missing; where the delivery log (SQLite) is written")
    retention = mapping(block.get("retention", {}), "audit.retention", AUDIT_RETENTION)
    store_bodies = get(AUDIT, block, "store_bodies", "audit")
    return AuditConfig(
        path=get(AUDIT, block, "path", "audit"),
        max_age=get(AUDIT_RETENTION, retention, "max_age", "audit.retention"),
        max_rows=get(AUDIT_RETENTION, retention, "max_rows", "audit.retention"),
        store_bodies=store_bodies,
    )


def _network(raw: object) -> NetworkConfig:
    if raw is None:
        return NetworkConfig()
    block = mapping(raw, "network", NETWORK)
    source = string(block.get("client_ip", NETWORK.default("client_ip")), "network.client_ip")
    if source.lower().startswith("header:"):
        source = "header:" + source[7:].lower()
    try:
        ClientIPConfig(source=source)
    except ValueError as exc:
        raise Invalid("network.client_ip", str(exc).removeprefix("client_ip: ")) from None
    all_hops = get(NETWORK, block, "all_hops_trusted", "network")
    unix = get(NETWORK, block, "trust_unix_socket", "network")
    trusted, trusted_set = ip_list(
        block.get("trusted_proxies"), "network.trusted_proxies", providers=False
    )
    deny, deny_set = ip_list(block.get("deny_ips"), "network.deny_ips", providers=True)
    client_cert = None
    if block.get("client_cert") is not None:
        client_cert = _client_cert_headers(block["client_cert"], "network.client_cert")
        if not trusted_set and not unix:
            raise Invalid(
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


def _client_cert_headers(raw: object, where: str) -> ClientCertHeaders:
    block = mapping(raw, where, CLIENT_CERT_HEADERS)
    if "xfcc" in block:
        others = [k for k in block if k != "xfcc"]
        if others:
            raise Invalid(f"{where}.{others[0]}", "does not go with xfcc (Envoy's one header)")
        name = XFCC_HEADER if block["xfcc"] is True else header(block["xfcc"], f"{where}.xfcc")
        return ClientCertHeaders(xfcc_header=name)
    verify = header(
        block.get("verify_header", CLIENT_CERT_HEADERS.default("verify_header")),
        f"{where}.verify_header",
    )
    names: dict[str, str | None] = {}
    for key in ("subject_header", "cert_header"):
        value = block.get(key, CLIENT_CERT_HEADERS.default(key))
        names[key] = None if value is None else header(value, f"{where}.{key}")
    if names["cert_header"] is not None:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise Invalid(
                f"{where}.cert_header",
                "reading the certificate needs the 'cryptography' package (pip install "
                "cryptography); or set cert_header: null to match the subject's CN only",
            ) from None
    if names["subject_header"] is None and names["cert_header"] is None:
        raise Invalid(where, "set subject_header or cert_header: one must name the certificate")
    return ClientCertHeaders(
        verify_header=verify,
        subject_header=names["subject_header"],
        cert_header=names["cert_header"],
    )


def _tls(raw: object) -> TLSConfig | None:
    if raw is None:
        return None
    block = mapping(raw, "tls", TLS)
    if "certfile" not in block:
        raise Invalid("tls", "missing 'certfile' (the server certificate, PEM)")
    # min_version: 1.2 in YAML is a float; the versions are compared as written.
    version = block.get("min_version", TLS.default("min_version"))
    tls = TLSConfig(
        certfile=get(TLS, block, "certfile", "tls"),
        keyfile=get(TLS, block, "keyfile", "tls"),
        client_ca=get(TLS, block, "client_ca", "tls"),
        client_cert=get(TLS, block, "client_cert", "tls"),
        min_version=get(TLS, {"min_version": str(version)}, "min_version", "tls"),
    )
    check_tls(tls, lambda key: f"tls.{key}")
    return tls
