"""Secrets and the per-route secret ring (current + previous, with expiry)."""

from __future__ import annotations

import base64
import difflib
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path

from .errors import ConfigError

logger = logging.getLogger("webhook_guard")

#: How many active secrets one check examines; more is a config error. Each one is an HMAC
#: over the body, so this bounds what one forged request can cost (see
#: docs/reference/configuration.md#secrets).
MAX_ACTIVE_SECRETS = 5


class Secret:
    """A secret value with a label and an optional expiry.

    The value is kept out of ``repr``/``str`` so config dumps, logs and tracebacks
    cannot leak it (after starlette's ``Secret``).
    """

    __slots__ = ("_value", "expires", "label")

    def __init__(self, value: bytes | str, label: str, expires: float | None = None) -> None:
        self._value = value.encode() if isinstance(value, str) else bytes(value)
        self.label = label
        #: Unix time after which the secret no longer verifies; ``None``: never expires.
        self.expires = expires

    def reveal(self) -> bytes:
        """The secret bytes. Call only where they are used."""
        return self._value

    def active(self, now: float) -> bool:
        """True while the secret may verify requests."""
        return self.expires is None or now < self.expires

    def __repr__(self) -> str:
        return f"Secret(label={self.label!r}, value='**********')"

    __str__ = __repr__


def _parse_expiry(raw: object, where: str) -> float:
    # PyYAML already turns ISO timestamps into datetime (or date) objects.
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{where}: {raw!r} is not an ISO 8601 date-time (e.g. 2026-12-01T00:00:00Z)"
            ) from None
    else:
        raise ConfigError(f"{where}: expected an ISO 8601 date-time, got {type(raw).__name__}")
    if moment.tzinfo is None:
        # A rotation deadline must not depend on the server's local zone.
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _read_source(ref: str, where: str, env: Mapping[str, str]) -> tuple[str, str]:
    """Resolve ``env:NAME``, ``file:PATH`` or a literal; returns (value, default label)."""
    if ref.startswith("env:"):
        name = ref[4:]
        if not name:
            raise ConfigError(f"{where}: 'env:' needs a variable name")
        value = env.get(name)
        if value is None:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        if not value:
            raise ConfigError(f"{where}: environment variable {name} is empty")
        return value, ref
    if ref.startswith("file:"):
        if not ref[5:]:
            raise ConfigError(f"{where}: 'file:' needs a path")
        path = Path(ref[5:])
        try:
            # Bytes, not read_text(): universal newlines would turn a CR inside the secret
            # into LF and silently change the key.
            value = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read secret file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: secret file {path} is not UTF-8 text") from None
        # Secret files (Docker, Kubernetes, `echo > file`) usually end in one newline.
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
        if not value:
            raise ConfigError(f"{where}: secret file {path} is empty")
        return value, ref
    if not ref:
        raise ConfigError(f"{where}: secret is empty")
    return ref, ""


def load_secret(
    spec: object, where: str, *, env: Mapping[str, str] | None = None, now: float
) -> Secret:
    """Build one :class:`Secret` from its config entry.

    Args:
        spec: a string (literal, ``env:NAME`` or ``file:PATH``) or a mapping with ``value``
            and optional ``label`` and ``expires``.
        where: the config path of the entry, used in error messages.
        env: environment to read ``env:`` from (default ``os.environ``).
        now: current Unix time, to warn about already expired secrets.

    Raises:
        ConfigError: naming ``where``; never containing the secret.
    """
    env = os.environ if env is None else env
    label: str | None = None
    expires: float | None = None
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"value", "label", "expires"})
        if unknown:
            near = difflib.get_close_matches(str(unknown[0]), ["value", "label", "expires"], n=1)
            hint = f"did you mean '{near[0]}'?" if near else "allowed: value, label, expires"
            raise ConfigError(f"{where}.{unknown[0]}: unknown key; {hint}")
        if "value" not in spec:
            raise ConfigError(f"{where}: missing 'value'")
        ref = spec["value"]
        if spec.get("label") is not None:
            if not isinstance(spec["label"], str) or not spec["label"]:
                raise ConfigError(
                    f"{where}.label: expected a non-empty string (a name such as 'previous')"
                )
            label = spec["label"]
        if spec.get("expires") is not None:
            expires = _parse_expiry(spec["expires"], f"{where}.expires")
        value_where = f"{where}.value"
    else:
        ref = spec
        value_where = where
    if not isinstance(ref, str):
        raise ConfigError(f"{value_where}: expected a string (literal, env:NAME or file:PATH)")
    value, source_label = _read_source(ref, value_where, env)
    secret = Secret(value, label or source_label or where.rpartition(".")[2])
    secret.expires = expires
    if expires is not None and expires <= now:
        logger.warning(
            "%s: secret %r expired at %s; it is loaded but never verifies",
            where,
            secret.label,
            datetime.fromtimestamp(expires, timezone.utc).isoformat(),
        )
    return secret


def new_secret(provider: str) -> str:
    """A fresh random secret (256 bits; 192 for the base64 ones, as Svix issues) in the
    form ``provider:`` expects (its preset's ``secret_shape``): ``whsec_`` + base64 for
    ``standard``, 64 hex digits for most others.

    Raises:
        ValueError: the preset verifies the provider's public key: no secret to make.
    """
    from .signatures.presets import PRESETS  # not at the top: signatures imports this module

    preset = PRESETS[provider]
    if preset.public_key:
        raise ValueError(
            f"{provider} signs with its private key and the route holds its public key "
            "(copy it from the provider's dashboard); for tests, make a key pair with "
            f"webhook_guard.testing.keypair({provider!r})"
        )
    shape = preset.secret_shape
    if shape is None:
        if preset.signature.get("secret_encoding") == "base64":
            shape = preset.signature.get("secret_prefix", "") + "{base64}"
        else:
            shape = "{hex}"
    return shape.format(
        hex=secrets.token_hex(32), base64=base64.b64encode(secrets.token_bytes(24)).decode()
    )


def issued_by_provider(provider: str) -> bool:
    """Whether ``provider`` issues the signing secret itself (then :func:`new_secret` only
    suits tests and local development)."""
    from .signatures.presets import PRESETS

    return PRESETS[provider].issued
