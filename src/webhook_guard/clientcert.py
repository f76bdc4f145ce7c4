"""Client certificates: what a TLS layer verified, and how a route's ``client_cert`` rule
judges it.

The certificate comes from ``webhook-guard serve`` terminating TLS itself (the peer
certificate of the connection), from an ASGI server's ``tls`` extension, or from the
headers a TLS terminator in front sets (nginx ``ssl_verify_client``, Envoy's
``x-forwarded-client-cert``), which are believed only from ``network.trusted_proxies``.
Anything doubtful in those headers is a failure, never a pass.

References: RFC 4514 (distinguished names as text), RFC 6125 section 6.4.4 (a DNS name
in the subjectAltName wins over the subject's CN), the ASGI TLS extension
(https://asgi.readthedocs.io/en/latest/specs/tls.html), nginx's ``$ssl_client_verify``,
``$ssl_client_s_dn`` and ``$ssl_client_escaped_cert``, Envoy's
``x-forwarded-client-cert``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import WebhookGuardError

__all__ = ["ClientCert", "ClientCertHeaders", "ClientCertInvalid", "from_asgi", "from_headers"]

#: The key under which ``webhook-guard serve`` puts the parsed certificate into the ASGI
#: ``tls`` extension, next to the standard fields (no PEM parsing per request).
ASGI_KEY = "webhook_guard.client_cert"
_MAX_HEADER = 16_384  # a PEM certificate, URL-encoded, with room to spare
_SHOW = 80


class ClientCertInvalid(WebhookGuardError):
    """The certificate information is present but unusable; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class ClientCert:
    """A client certificate that a TLS layer verified against its CA.

    Attributes:
        dns_names: the DNS names of its subjectAltName, in order.
        common_name: the subject's CN (None when it has none).
        error: set when the TLS layer reported a certificate it could not verify.
    """

    dns_names: tuple[str, ...] = ()
    common_name: str | None = None
    error: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The names a ``client_cert`` rule matches: the DNS names, else the CN."""
        if self.dns_names:
            return self.dns_names
        return (self.common_name,) if self.common_name else ()

    @classmethod
    def from_peercert(cls, cert: Mapping[str, Any]) -> ClientCert:
        """From :meth:`ssl.SSLSocket.getpeercert` (a verified certificate's dict)."""
        dns = tuple(v for k, v in cert.get("subjectAltName", ()) if k == "DNS")
        cns = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
        return cls(dns_names=dns, common_name=cns[-1] if len(cns) == 1 else None)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> ClientCert:
        """From a PEM certificate (needs the ``cryptography`` package).

        Raises:
            ClientCertInvalid: not a PEM certificate, or ``cryptography`` is missing.
        """
        try:
            from cryptography import x509
            from cryptography.x509.oid import NameOID
        except ImportError:  # pragma: no cover - installed with the ed25519 or test extra
            raise ClientCertInvalid(
                "reading a PEM client certificate needs the 'cryptography' package"
            ) from None
        try:
            cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
            cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            try:
                san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                dns = tuple(san.value.get_values_for_type(x509.DNSName))
            except x509.ExtensionNotFound:
                dns = ()
        except ValueError as exc:
            raise ClientCertInvalid(f"the client certificate cannot be read ({exc})") from None
        cn = cns[0].value if len(cns) == 1 else None
        return cls(dns_names=dns, common_name=cn if isinstance(cn, str) else None)

    def matches(self, subjects: tuple[str, ...]) -> bool:
        """True when one of :attr:`names` is in ``subjects`` (lower-case; DNS names are
        case-insensitive). No wildcard matching: ``*.example.com`` in a certificate is
        only matched by ``*.example.com`` in the rule."""
        return any(name.lower() in subjects for name in self.names)


@dataclass(frozen=True)
class ClientCertHeaders:
    """``network.client_cert``: the headers a TLS terminator in front sets.

    Either nginx's three (``verify_header`` with ``SUCCESS``/``FAILED:...``/``NONE``,
    ``subject_header`` with the RFC 4514 subject, ``cert_header`` with the URL-encoded PEM
    certificate), or Envoy's one ``xfcc_header``. Names are lower-case.
    """

    verify_header: str = "x-ssl-client-verify"
    subject_header: str | None = "x-ssl-client-s-dn"
    cert_header: str | None = "x-ssl-client-cert"
    xfcc_header: str | None = None


def from_asgi(tls: Mapping[str, Any]) -> ClientCert | None:
    """The client certificate of an ASGI ``tls`` extension; None when none was presented."""
    parsed = tls.get(ASGI_KEY)
    if isinstance(parsed, ClientCert):
        return parsed
    error = tls.get("client_cert_error")
    if error:
        return ClientCert(error=f"the TLS layer could not verify it ({_show(str(error))})")
    chain = tls.get("client_cert_chain") or ()
    if not chain:
        return None
    try:
        # A list of PEM certificates, leaf first (the spec); some servers give one string.
        return ClientCert.from_pem(chain if isinstance(chain, str) else chain[0])
    except ClientCertInvalid as exc:
        return ClientCert(error=exc.detail)


def from_headers(config: ClientCertHeaders, lookup: Any) -> ClientCert | None:
    """The certificate a trusted terminator describes in its headers; None when it says
    the client presented none. ``lookup(name)`` returns every line of a header (or None).

    Raises:
        ClientCertInvalid: a header is repeated, malformed, or reports a failed check.
    """
    if config.xfcc_header is not None:
        xfcc = _one(lookup, config.xfcc_header)
        return None if xfcc is None else _from_xfcc(xfcc, config.xfcc_header)
    verify = _one(lookup, config.verify_header)
    if verify is None or verify.strip() == "NONE":
        return None
    verify = verify.strip()
    if verify.startswith("FAILED"):
        raise ClientCertInvalid(
            f"the TLS terminator could not verify the certificate ({_show(verify)})"
        )
    if verify != "SUCCESS":
        raise ClientCertInvalid(f"the {config.verify_header} header is malformed: {_show(verify)}")
    pem = _one(lookup, config.cert_header) if config.cert_header else None
    if pem:
        return ClientCert.from_pem(unquote(pem))
    subject = _one(lookup, config.subject_header) if config.subject_header else None
    if subject:
        return ClientCert(common_name=_common_name(subject, config.subject_header or ""))
    raise ClientCertInvalid(
        f"the {config.verify_header} header says SUCCESS, but no header names the certificate"
    )


def _one(lookup: Any, name: str) -> str | None:
    lines: list[str] | None = lookup(name)
    if not lines:
        return None
    if len(lines) > 1:
        raise ClientCertInvalid(f"the {name} header was sent {len(lines)} times")
    if len(lines[0]) > _MAX_HEADER:
        raise ClientCertInvalid(f"the {name} header is longer than {_MAX_HEADER} characters")
    return lines[0]


# RFC 4514: attribute=value pairs separated by unescaped "," (RDNs) or "+" (multi-valued);
# a value may escape any character with "\" or be a "#" hex string.
_DN_PAIR = re.compile(r'\s*([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)\s*=((?:[^,+\\"]|\\.)*)')
_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)")


def _common_name(dn: str, header: str) -> str:
    """The CN of an RFC 4514 subject such as ``CN=hooks.example.com,O=Example``."""
    if dn.startswith("/"):  # nginx before 1.11.6: "/O=Example/CN=..."; ambiguous escaping
        raise ClientCertInvalid(
            f"the {header} header is in the legacy '/'-separated form; send $ssl_client_s_dn "
            "from nginx 1.11.6 or later, or the certificate itself"
        )
    cns: list[str] = []
    pos = 0
    while pos < len(dn):
        m = _DN_PAIR.match(dn, pos)
        if m is None:
            raise ClientCertInvalid(f"the {header} header is not a distinguished name")
        key, raw = m.group(1), m.group(2).strip()
        if key.upper() in ("CN", "2.5.4.3"):
            cns.append(_unescape(raw, header))
        pos = m.end()
        if pos < len(dn):
            if dn[pos] not in ",+":
                raise ClientCertInvalid(f"the {header} header is not a distinguished name")
            pos += 1
    if len(cns) != 1:
        raise ClientCertInvalid(
            f"the {header} header names {len(cns)} common names; exactly one is needed"
        )
    return cns[0]


def _unescape(value: str, header: str) -> str:
    r"""RFC 4514 escapes: ``\,`` is a comma, ``\C3\A9`` the UTF-8 bytes of an e-acute."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(value):
        out += value[pos : m.start()].encode("utf-8", "surrogateescape")
        text = m.group(1)
        out += bytes.fromhex(text) if len(text) == 2 else text.encode("utf-8", "surrogateescape")
        pos = m.end()
    out += value[pos:].encode("utf-8", "surrogateescape")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientCertInvalid(f"the {header} header has a CN that is not UTF-8") from None


def _from_xfcc(value: str, header: str) -> ClientCert:
    """Envoy's ``x-forwarded-client-cert``: ``By=...;Hash=...;Subject="...";DNS=...``.

    Exactly one element is accepted (Envoy's ``forward_client_cert_details:
    SANITIZE_SET``): with several, which one describes the sender depends on every
    proxy in the chain.
    """
    elements = _split_quoted(value, ",")
    if len(elements) != 1:
        raise ClientCertInvalid(
            f"the {header} header has {len(elements)} elements; configure the proxy to "
            "replace it (Envoy: forward_client_cert_details: SANITIZE_SET)"
        )
    dns: list[str] = []
    subject: str | None = None
    pem: str | None = None
    for pair in _split_quoted(elements[0], ";"):
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ClientCertInvalid(f"the {header} header is malformed: {_show(pair)}")
        raw = raw.strip()
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise ClientCertInvalid(f"the {header} header has an unclosed quote")
            raw = raw[1:-1].replace('\\"', '"')
        key = key.strip().lower()
        if key == "dns":
            dns.append(raw)
        elif key == "subject":
            subject = raw
        elif key == "cert":
            pem = unquote(raw)
    if pem:
        return ClientCert.from_pem(pem)
    if dns:
        return ClientCert(dns_names=tuple(dns))
    if subject:
        return ClientCert(common_name=_common_name(subject, header))
    raise ClientCertInvalid(f"the {header} header names no certificate (no Cert, DNS or Subject)")


def _split_quoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _show(text: str) -> str:
    return repr(text[:_SHOW] + ("..." if len(text) > _SHOW else ""))
