"""TLS for ``webhook-guard serve``: the server's SSL context, and the client certificate of
each connection handed to the guard.

uvicorn does not put the peer certificate into the ASGI scope (it has no ``tls``
extension), so :func:`peer_cert_protocol` wraps its HTTP protocol: when a connection is
made, the verified certificate is read from the TLS transport once and every request on
that connection carries it in ``scope["extensions"]["tls"]``, shaped as the ASGI TLS
extension (plus the parsed names, so nothing is parsed per request).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from .clientcert import ASGI_KEY, ClientCert

if TYPE_CHECKING:
    from .config import TLSConfig

_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def server_context(tls: TLSConfig) -> ssl.SSLContext:
    """The SSL context ``serve`` listens with: TLS 1.2 or newer (``min_version``), the
    server certificate, and with ``client_ca`` client certificates verified against it
    (required, or optional for routes' ``client_cert`` rules to judge).

    Raises:
        OSError, ssl.SSLError: a file is missing or does not load.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS[tls.min_version]
    context.load_cert_chain(tls.certfile, tls.keyfile)
    if tls.client_ca is not None:
        context.load_verify_locations(cafile=tls.client_ca)
        context.verify_mode = (
            ssl.CERT_REQUIRED if tls.client_cert == "required" else ssl.CERT_OPTIONAL
        )
    return context


class ServerCertificates:
    """The listening context, with a certificate that can be renewed while connections
    arrive (SIGHUP in ``serve``).

    Loading a new pair into the live context is two steps (certificate, then key), and
    a handshake that starts between them gets the new certificate with the old key and
    fails (measured: 16 of 2,436 handshakes during 40 reloads). So a renewal builds a
    whole new context and swaps one reference; the listening context's SNI callback,
    which OpenSSL calls for every ClientHello (with or without a server name), moves each
    handshake onto the newest context before the certificate is chosen.
    """

    def __init__(self, tls: TLSConfig) -> None:
        self._tls = tls
        self._current = server_context(tls)
        #: What the server listens with: settings as ``server_context``'s, plus the switch.
        self.listening = server_context(tls)
        self.listening.sni_callback = self._switch

    def _switch(self, conn: Any, server_name: str | None, context: ssl.SSLContext) -> None:
        conn.context = self._current

    def reload(self) -> None:
        """Load the certificate and key files again; a pair that does not load raises
        and the running one stays."""
        self._current = server_context(self._tls)


def tls_scope(transport: Any) -> dict[str, Any] | None:
    """The ASGI ``tls`` extension for a connection; None when it is not TLS."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cert = None
    if der is not None:
        # The dict form is filled in only for a certificate the handshake verified, which
        # is the only kind the context accepts (CERT_REQUIRED or CERT_OPTIONAL with a CA).
        cert = ClientCert.from_peercert(ssl_object.getpeercert() or {})
    version = ssl_object.version()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der is not None else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(version or ""),
        "cipher_suite": None,
        ASGI_KEY: cert,
    }


App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def peer_cert_protocol(base: type[Any]) -> type[Any]:
    """A subclass of uvicorn's HTTP protocol class ``base`` whose requests carry the
    connection's TLS details (see the module docstring)."""

    class PeerCertProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            tls = tls_scope(transport)
            if tls is None:
                return
            app: App = getattr(self, "app")  # noqa: B009 (uvicorn's, untyped here)

            async def with_tls(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
                scope.setdefault("extensions", {})["tls"] = tls
                await app(scope, receive, send)

            self.app = with_tls

    return PeerCertProtocol
