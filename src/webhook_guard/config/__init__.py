"""YAML or dict configuration -> typed, validated :class:`Config`.

Every error names the exact place (``routes[2].secrets[0]: ...``); all errors found are
reported together in one :class:`~webhook_guard.errors.ConfigError`. The format is
declared once, in :mod:`.keys` and :mod:`.route_keys`; see
docs/reference/configuration.md.
"""

from __future__ import annotations

from .keys import (
    ALL_HOPS_TRUSTED,
    CLIENT_CERT_MODES,
    DEFAULTS,
    ON_STORE_ERROR,
    ROUTE_KEYS,
    TLS_VERSIONS,
)
from .load import load_config
from .model import (
    ROUTE_FIELDS,
    AuditConfig,
    ClientCertRule,
    Config,
    EventIdConfig,
    NetworkConfig,
    ReplayConfig,
    RouteConfig,
    TLSConfig,
    TokenConfig,
    configured_route_keys,
)
from .route_keys import COMMIT_ON, HTTP_METHODS, MODES, ON_DUPLICATE
from .tls import check_tls, tls_with_options
from .values import did_you_mean

# The JSON pointer reader, under the name tests/test_guard.py knows it by.
from .values import pointer as _pointer  # noqa: F401

__all__ = [
    "ALL_HOPS_TRUSTED",
    "CLIENT_CERT_MODES",
    "COMMIT_ON",
    "DEFAULTS",
    "HTTP_METHODS",
    "MODES",
    "ON_DUPLICATE",
    "ON_STORE_ERROR",
    "ROUTE_FIELDS",
    "ROUTE_KEYS",
    "TLS_VERSIONS",
    "AuditConfig",
    "ClientCertRule",
    "Config",
    "EventIdConfig",
    "NetworkConfig",
    "ReplayConfig",
    "RouteConfig",
    "TLSConfig",
    "TokenConfig",
    "check_tls",
    "configured_route_keys",
    "did_you_mean",
    "load_config",
    "tls_with_options",
]
