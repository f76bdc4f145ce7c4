"""The checks that need no body: the client address and the client certificate (see
docs/architecture.md, "The client-address model")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clientcert import ClientCertInvalid, from_headers
from ..clientip import ClientIPResolver, PeerInvalid, ProxyHeadersInvalid
from ..config import ClientCertRule, NetworkConfig
from ..request import WebhookRequest
from ..signatures.base import Failure
from ..untrusted import shown
from ..verdict import Reason

if TYPE_CHECKING:
    from ..ipset import IPSet


class AddressCheck:
    """The client address, then ``deny_ips``, then the route's ``allow_ips``.

    One per configuration: the resolver and deny list are the network's; the allow list
    is the route's, passed in per call.
    """

    def __init__(self, network: NetworkConfig) -> None:
        self._resolver = ClientIPResolver(network.client_ip_config())
        header = self._resolver.header
        self._ip_header = header.encode("latin-1") if header else None
        self._deny = network.deny_set if network.deny_set else None
        # With no address rule at all, a route without allow_ips skips this step and
        # the peer is reported as given.
        self.network_rules = (
            bool(network.trusted_set) or network.trust_unix_socket or self._deny is not None
        )

    def check(self, req: WebhookRequest, allow: IPSet | None) -> tuple[str | None, Failure | None]:
        """The client address to report and the failure, if any."""
        headers: dict[str, list[str]] = {}
        # The configured source, and the headers a server may have rewritten the peer from
        # (a peer rewritten from a client's header is refused by the resolver).
        for name in (self._ip_header, b"x-forwarded-for", b"forwarded"):
            if name is not None:
                headers[name.decode("latin-1")] = req.values(name) or []
        has_lists = self._deny is not None or allow is not None
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
        if allow is not None and addr not in allow:
            return client_ip, Failure(
                Reason.IP_NOT_ALLOWED, f"{client_ip} is not in this route's allow_ips"
            )
        return client_ip, None


class ClientCertCheck:
    """A route's ``client_cert`` rule: the certificate a trusted TLS terminator reports in
    its headers, else the one this server's own TLS layer verified (``req.client_cert``)."""

    def __init__(self, rule: ClientCertRule, network: NetworkConfig) -> None:
        self._rule = rule
        self._network = network
        self._headers = network.client_cert

    def check(self, req: WebhookRequest) -> Failure | None:
        """The failure, or None when the certificate is one the rule accepts."""
        cert = req.client_cert
        headers = self._headers
        ignored = ""
        if headers is not None:
            network = self._network
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
        if not cert.matches(self._rule.subjects):
            names = ", ".join(repr(n[:80]) for n in cert.names[:5]) or "no DNS name or CN"
            return Failure(
                Reason.CLIENT_CERT_INVALID,
                f"the client certificate ({names}) is not one this route accepts",
            )
        return None
