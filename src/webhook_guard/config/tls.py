"""The ``tls:`` section checked against the files it names, and the command-line
options of ``webhook-guard serve`` over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from .keys import CLIENT_CERT_MODES
from .model import TLSConfig
from .values import Invalid


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
    check_tls(tls, lambda key: f"--{key.replace('_', '-')}")
    return tls


def check_tls(tls: TLSConfig, place: Callable[[str], str]) -> None:
    """Raise a :class:`~webhook_guard.errors.ConfigError` naming the setting that cannot
    be loaded."""
    import ssl

    from ..tlsserver import server_context

    for key in ("certfile", "keyfile", "client_ca"):
        name = getattr(tls, key)
        if name is None:
            continue
        try:
            Path(name).read_bytes()
        except OSError as exc:
            raise Invalid(place(key), f"cannot read {name}: {exc.strerror}") from None
    try:
        server_context(tls)
    except (ssl.SSLError, OSError) as exc:
        raise Invalid(
            place("certfile"), f"cannot load the certificate, key or client CA: {exc}"
        ) from None
