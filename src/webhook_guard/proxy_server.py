"""Running the verifying reverse proxy: ``serve()`` on uvicorn, its TLS, SIGHUP reload, limits.

:mod:`webhook_guard.proxy` is the ASGI app (what is checked and forwarded); this module is
the server around it: uvicorn's settings, terminating TLS (:mod:`webhook_guard.tlsserver`),
per-connection limits (:mod:`webhook_guard.proxy_limits`), reloading on SIGHUP and a clean
exit on SIGTERM. ``webhook-guard serve`` is a thin shell over :func:`serve`.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import ssl
import threading
from typing import TYPE_CHECKING

from .adapters._common import ConfigSource, redact_query
from .adapters.asgi import GuardMiddleware
from .config import Config, TLSConfig
from .errors import ConfigError
from .guard import Guard
from .proxy import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, create_proxy
from .proxy_limits import ClientLimits, limit_head

if TYPE_CHECKING:
    from .tlsserver import ServerCertificates

__all__ = ["cannot_listen", "reload_on_sighup", "serve"]


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _check_client_cert_source(config: Config, tls: TLSConfig | None) -> None:
    """A route that requires a client certificate needs something to verify one: this
    server (a client CA) or a terminator in front (``network.client_cert``). Without
    either, every request to it would be refused; say so before starting."""
    if (tls is not None and tls.client_ca is not None) or config.network.client_cert:
        return
    for i, route in enumerate(config.routes):
        if route.client_cert is not None:
            raise ConfigError(
                f"routes[{i}].client_cert: nothing verifies client certificates; give serve "
                "a client CA (tls.client_ca or --client-ca), or describe the TLS terminator "
                "in front (network.client_cert)"
            )


def reload_on_sighup(guard: Guard, certificates: ServerCertificates | None = None) -> None:
    """Make SIGHUP reload ``guard``'s config file (main thread only), and with
    ``certificates`` the server certificate and key (``serve``'s TLS: renewals).

    The reload runs in a thread of its own, never inside the signal handler: the handler
    interrupts whatever the main thread (the event loop) was doing, possibly a check.
    A config that does not load is logged and the running one stays; so do a certificate
    and key that do not load together.
    """
    announce = logging.getLogger("uvicorn.error")

    def run() -> None:
        try:
            config = guard.reload()
        except ConfigError as exc:
            announce.error("SIGHUP: the new config does not load; still running the old one")
            for line in exc.errors:
                announce.error("  %s", line)
        else:
            announce.info("SIGHUP: config reloaded, %d route(s)", len(config.routes))
        if certificates is not None:
            try:
                certificates.reload()
            except (OSError, ssl.SSLError) as exc:
                announce.error("SIGHUP: the TLS certificate does not load (%s); kept", exc)
            else:
                announce.info("SIGHUP: TLS certificate reloaded")

    def handler(signum: int, frame: object) -> None:
        threading.Thread(target=run, name="webhook-guard-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, handler)


def serve(
    *,
    config: Guard | ConfigSource,
    upstream: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    log_level: str = "info",
    limits: ClientLimits | None = None,
    tls: TLSConfig | None = None,
) -> None:
    """Run the proxy on uvicorn until SIGTERM or SIGINT (then finish open requests).

    With ``tls`` (default: the config's ``tls`` section) it terminates TLS itself, and
    the verified client certificate of each connection is what routes' ``client_cert``
    rules check.

    The config is loaded before the socket is bound, so a bad one fails at once. SIGHUP
    reloads it without a restart (see :meth:`~webhook_guard.Guard.reload`).
    ``limits`` bounds what one client connection may hold (default: ``ClientLimits()``).
    """
    import uvicorn

    limits = limits or ClientLimits()
    proxy = create_proxy(config, upstream, timeout=timeout, connect_timeout=connect_timeout)
    assert isinstance(proxy, GuardMiddleware)
    processing_timeout = proxy.guard.config.replay.processing_timeout
    app = limit_head(proxy, limits)
    # uvicorn drains open requests on SIGTERM, then re-raises the signal with the handler
    # that was installed before it; make that a normal exit, so a requested stop is not
    # reported as a crash (exit status 0 instead of -15).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if tls is None:
        tls = proxy.guard.config.tls
    _check_client_cert_source(proxy.guard.config, tls)
    options = limits.uvicorn_options()
    if tls is not None:
        from .tlsserver import peer_cert_protocol

        options.update(
            ssl_certfile=tls.certfile,
            ssl_keyfile=tls.keyfile,
            http=peer_cert_protocol(options["http"]),
        )
    settings = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        # The guard resolves the client address under network.trusted_proxies; uvicorn
        # must not rewrite the peer from X-Forwarded-For first.
        proxy_headers=False,
        server_header=False,
        # A delivery whose sender already got 504 still waits for the upstream's answer
        # (up to processing_timeout) to settle the event; a stop lets it finish.
        timeout_graceful_shutdown=max(math.ceil(timeout), processing_timeout, 1),
        # Always uvicorn's h11 parser (even where httptools is installed), with deadlines
        # for the request head and body (see ClientLimits), and TLS details when it has TLS.
        **options,
    )
    certificates = None
    if tls is not None:
        from .tlsserver import ServerCertificates

        # uvicorn's own context has no minimum version and no optional client
        # certificates; once it has loaded, this one is what the socket uses.
        settings.load()
        certificates = ServerCertificates(tls)
        settings.ssl = certificates.listening
    reload_on_sighup(proxy.guard, certificates)
    # After uvicorn.Config has set up logging: webhook URLs may carry a token.
    logging.getLogger("uvicorn.access").addFilter(redact_query)
    # The proxy is the server: its log level applies to the guard's lines (at info, one
    # per accepted delivery with its secret_id; refusals are warnings).
    logging.getLogger("webhook_guard").setLevel(log_level.upper())
    uvicorn.Server(settings).run()


def cannot_listen(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (in use, privileged, no such address), else None.

    Checked before starting, so the answer is one line and exit status 2 rather than the
    server's own start-up failure.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return str(exc.strerror)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As uvicorn binds: a port in TIME_WAIT after a restart is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return str(exc.strerror).lower()
    return None
