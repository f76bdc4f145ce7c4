"""The generic HMAC signature scheme that every preset is an instance of."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Formatter
from typing import Any

from ..errors import ConfigError
from ..request import WebhookRequest
from ..secrets import Secret
from ..verdict import Reason

#: At most this many signatures from one header are examined, so a header stuffed with
#: junk entries costs a bounded number of comparisons.
MAX_SIGNATURES = 10

ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
#: Public-key signature algorithms (the ``pubkey`` extra; see :mod:`.pubkey`).
ASYMMETRIC = ("ed25519", "ecdsa-p256-sha256", "rsa-sha256", "rsa-sha1", "jwt")
#: ``jwt``: a bearer token signed by the issuer (RS256), verified against the issuer's
#: published keys; only a fetched-key scheme can hold it (``google-pubsub``).
JWT_SCHEMES = ("google-oidc",)
#: Schemes verifying with keys fetched from the provider at run time (the ``pubkey``
#: extra): scheme -> where the key comes from, for messages.
FETCHED_KEY_SCHEMES = {
    "sns": "the certificate AWS publishes at the message's SigningCertURL",
    "google-oidc": "Google's published OIDC keys",
    "paypal": "the certificate PayPal names in PAYPAL-CERT-URL",
}
ENCODINGS = ("hex", "base64")
FORMATS = ("plain", "kv", "list")
SECRET_ENCODINGS = ("raw", "base64")
PLACEHOLDERS = ("id", "timestamp", "body", "method", "url", "path")


@dataclass(frozen=True)
class SignatureSpec:
    """Where a signature is and what it covers (the ``signature:`` config block).

    Header fields are tuples of alternatives: ``headers[i]`` goes with
    ``timestamp_headers[i]`` and ``id_headers[i]`` (Standard Webhooks sends ``webhook-*``,
    Svix the same scheme as ``svix-*``). The first alternative present in a request wins.
    """

    headers: tuple[str, ...]
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    format: str = "plain"
    separator: str = ","
    version: str = "v1"
    timestamp_key: str | None = None
    signed_content: str = "{body}"
    timestamp_headers: tuple[str, ...] = ()
    id_headers: tuple[str, ...] = ()
    secret_prefix: str = ""
    secret_encoding: str = "raw"
    scheme: str = "hmac"
    """``hmac`` (the template above), or a provider's own canonicalisation (``twilio``)."""
    timestamp_format: str = "seconds"
    """How the signed timestamp is written (see :data:`.timestamps.FORMS`)."""
    topics: tuple[str, ...] = ()
    """``sns``: the ``TopicArn`` values accepted (any AWS account can get SNS to sign)."""
    audience: str | None = None
    """``google-oidc``: the token audience the push subscription was given."""
    emails: tuple[str, ...] = ()
    """``google-oidc``: the service accounts whose tokens are accepted."""
    webhook_id: str | None = None
    """``paypal``: the webhook's ID as PayPal shows it (part of what PayPal signs)."""
    timestamp_json: tuple[str, ...] = ()
    """A JSON pointer (its unescaped tokens) to the timestamp inside the signed body
    (Linear's ``webhookTimestamp``): read only once the signature verified."""


@dataclass
class Failure:
    """A failed check: the reason code and the human detail."""

    reason: Reason
    detail: str


class ParsedSignature:
    """What one request's signature headers say, before anything is trusted."""

    # A plain slotted class: built once per request, on the hot path.
    __slots__ = (
        "context",
        "event_id",
        "failure",
        "payload",
        "seen",
        "signatures",
        "signed",
        "timestamp",
        "ts_failure",
    )

    def __init__(self) -> None:
        self.signatures: list[bytes] = []
        #: Scheme-specific request facts needed to rebuild the signed bytes (Twilio).
        self.context: str = ""
        #: Scheme-specific parsed data a scheme's verify reads (an SNS message).
        self.payload: Any = None
        self.failure: Failure | None = None
        self.timestamp: str | None = None
        self.ts_failure: Failure | None = None
        self.event_id: str | None = None
        self.seen = 0
        #: The placeholder values the signature verified with (see content_digest).
        self.signed: dict[str, str] | None = None


def _parse_template(template: str) -> tuple[list[str | bytes], list[str | bytes]]:
    """Split ``signed_content`` around ``{body}`` into literal bytes and field names."""
    before: list[str | bytes] = []
    after: list[str | bytes] = []
    target = before
    for literal, name, spec, conv in Formatter().parse(template):
        if literal:
            target.append(literal.encode())
        if name is None:
            continue
        if spec or conv:
            raise ValueError(f"placeholder {{{name}}} takes no format spec or conversion")
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join(PLACEHOLDERS)})")
        if name == "body":
            if target is after:
                raise ValueError("{body} may appear only once")
            target = after
        else:
            target.append(name)
    if target is before:
        raise ValueError("must contain {body}")
    return before, after


class HmacScheme:
    """Verifies (and, for tests, produces) HMAC signatures described by a SignatureSpec."""

    #: Schemes whose keys are fetched from the provider (AWS SNS, Google) take no
    #: ``secrets``; what they match is reported as this secret label instead.
    fetched_key_label: str | None = None
    #: Whether the digest :meth:`verify` returns is the HMAC that matched (schemes that
    #: identify a delivery otherwise, by its signed bytes or token, say False).
    digest_is_match: bool = True
    #: Whether the signature covers the body only through a checksum anyone can match
    #: (PayPal's CRC32): the signed delivery ID is then reserved beside the event ID.
    weak_body: bool = False

    def __init__(self, spec: SignatureSpec) -> None:
        self.spec = spec
        self._digest = ALGORITHMS.get(spec.algorithm, hashlib.sha256)
        self.digest_size: int = self._signature_size()
        before, after = _parse_template(spec.signed_content)
        self.fields = frozenset(f for f in (*before, *after) if isinstance(f, str))
        # Each half of the template compiled once into one function of the values.
        self._render_before = _compile_parts(before)
        self._render_after = _compile_parts(after)
        self.has_timestamp = bool(
            spec.timestamp_key or spec.timestamp_headers or spec.timestamp_json
        )
        n = len(spec.headers)
        self._ts_headers = _align(spec.timestamp_headers, n)
        self._id_headers = _align(spec.id_headers, n)
        # Request headers are looked up by lower-case bytes name (see WebhookRequest).
        self._keys = [h.encode() for h in spec.headers]
        self._ts_keys = [h.encode() if h else None for h in self._ts_headers]
        self._id_keys = [h.encode() if h else None for h in self._id_headers]
        self._list_version = spec.version + ","
        self._decode_digest = self._decode_hex if spec.encoding == "hex" else self._decode_base64
        # Per header family, in order: (signature, timestamp, ID) names as looked up,
        # and the signature and timestamp header names as shown in details.
        names = (self._keys, self._ts_keys, self._id_keys, spec.headers, self._ts_headers)
        self._families = list(zip(*names, strict=True))

    def _signature_size(self) -> int:
        return int(self._digest().digest_size)

    # -- keys -------------------------------------------------------------------------

    def derive_key(self, secret: Secret) -> bytes:
        """The HMAC key for ``secret`` under this scheme.

        Raises:
            ValueError: the secret is not in the scheme's encoding (message names no value).
        """
        raw = secret.reveal()
        prefix = self.spec.secret_prefix.encode()
        if prefix and raw.startswith(prefix):
            raw = raw[len(prefix) :]
        if self.spec.secret_encoding == "base64":
            padded = raw + b"=" * (-len(raw) % 4)
            try:
                raw = base64.b64decode(padded, validate=True)
            except binascii.Error:
                hint = f"{self.spec.secret_prefix}<base64>" if prefix else "base64"
                raise ValueError(f"is not a valid {hint} secret") from None
            if not raw:
                raise ValueError("decodes to an empty key")
        return raw

    def prepare(self, secret: Secret) -> Any:
        """An HMAC object keyed with ``secret``, to be ``.copy()``'d per request."""
        # The public hmac.HMAC, not the OpenSSL object CPython keeps in its private
        # ``_hmac``: that saved only ~0.3 us of ~11 per request (docs/architecture.md).
        return hmac.new(self.derive_key(secret), digestmod=self._digest)

    # -- parsing ----------------------------------------------------------------------

    def parse(self, req: WebhookRequest) -> ParsedSignature:
        """Read the signature, timestamp and ID headers; never raises on hostile input."""
        spec = self.spec
        values = req.values
        value: list[str] | None = None
        family = self._families[0]
        for family in self._families:
            value = values(family[0])
            if value is not None:
                break
        else:
            family = self._families[0]
        _, ts_key, id_key, header, ts_header = family
        parsed = ParsedSignature()
        if ts_key is not None:
            ts_lines = values(ts_key)
            if ts_lines is None:
                parsed.ts_failure = Failure(
                    Reason.TIMESTAMP_MISSING, f"the {ts_header} header is missing"
                )
            elif len(ts_lines) != 1:
                parsed.ts_failure = Failure(
                    Reason.TIMESTAMP_MALFORMED,
                    f"the {ts_header} header was sent {len(ts_lines)} times",
                )
            else:
                parsed.timestamp = ts_lines[0]
        if id_key is not None:
            id_lines = values(id_key)
            if id_lines is not None and len(id_lines) == 1:
                parsed.event_id = id_lines[0]
        if value is None:
            parsed.failure = Failure(Reason.SIGNATURE_MISSING, f"the {header} header is missing")
        elif len(value) != 1:
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED, f"the {header} header was sent {len(value)} times"
            )
        else:
            self._parse_value(value[0], header, parsed)
        if spec.timestamp_key is not None and parsed.ts_failure is None:
            if parsed.failure is not None and parsed.timestamp is None:
                # The timestamp lives in the missing or broken signature header.
                parsed.ts_failure = parsed.failure
            elif parsed.timestamp is None:
                parsed.ts_failure = Failure(
                    Reason.TIMESTAMP_MISSING,
                    f"the {header} header has no {spec.timestamp_key}= timestamp",
                )
        return parsed

    def _parse_value(self, value: str, header: str, parsed: ParsedSignature) -> None:
        spec = self.spec
        fmt = spec.format
        tokens: list[str]
        if fmt != "kv":
            tokens = self._tokens(value)
        else:
            tokens, stamps = self.kv_pairs(value)
            for val in stamps:
                if parsed.timestamp is not None:
                    parsed.ts_failure = Failure(
                        Reason.TIMESTAMP_MALFORMED,
                        f"the {header} header carries {spec.timestamp_key}= more than once",
                    )
                parsed.timestamp = val
        parsed.seen = len(tokens)
        signatures: list[bytes]
        if len(tokens) == 1:  # as nearly every sender sends: no list to filter
            one = self._decode(tokens[0])
            signatures = [] if one is None else [one]
        else:
            decode = self._decode
            signatures = [s for s in map(decode, tokens[:MAX_SIGNATURES]) if s is not None]
        if signatures:
            parsed.signatures = signatures
        else:
            wanted = f"{spec.version} " if fmt != "plain" else ""
            parsed.failure = Failure(
                Reason.SIGNATURE_MALFORMED,
                f"the {header} header holds no well-formed {wanted}signature "
                f"({spec.encoding}, {self.digest_size} bytes)",
            )

    def kv_pairs(self, value: str) -> tuple[list[str], list[str]]:
        """The ``version`` signatures (still encoded) and the ``timestamp_key`` values, in
        order, of a ``kv`` header value; pairs without ``=`` and other keys are ignored."""
        spec = self.spec
        version, ts_key = spec.version, spec.timestamp_key
        tokens: list[str] = []
        stamps: list[str] = []
        for pair in value.split(spec.separator):
            key, eq, val = pair.strip().partition("=")
            if not eq:
                continue
            if key == version:
                tokens.append(val)
            elif key == ts_key:
                stamps.append(val)
        return tokens, stamps

    def _tokens(self, value: str) -> list[str]:
        """The signatures in a ``plain`` or ``list`` header value, still encoded."""
        if self.spec.format == "plain":
            return [value.strip()]
        version = self._list_version
        cut = len(version)
        separator = self.spec.separator
        if separator not in value:  # one entry: no split
            return [value[cut:]] if value.startswith(version) else []
        return [t[cut:] for t in value.split(separator) if t.startswith(version)]

    def encode(self, digest: bytes) -> str:
        """``digest`` as a sender writes it: prefix + the scheme's encoding."""
        if self.spec.encoding == "hex":
            return self.spec.prefix + digest.hex()
        return self.spec.prefix + binascii.b2a_base64(digest, newline=False).decode()

    def _decode(self, token: str) -> bytes | None:
        """The digest a presented signature encodes, or None when it is not well formed."""
        prefix = self.spec.prefix
        if prefix:
            if not token.startswith(prefix):
                return None
            token = token[len(prefix) :]
        return self._decode_digest(token)

    def _decode_hex(self, token: str) -> bytes | None:
        if len(token) != 2 * self.digest_size or not token.isascii():
            return None
        try:
            sig = bytes.fromhex(token)
        except ValueError:
            return None
        # fromhex() skips ASCII whitespace: a shorter result had some.
        return sig if len(sig) == self.digest_size else None

    def _decode_base64(self, token: str) -> bytes | None:
        try:
            sig = _b64decode_strict(token)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text
            return None
        return sig if len(sig) == self.digest_size else None

    # -- signing and verifying --------------------------------------------------------

    def signed_parts(self, values: dict[str, str]) -> tuple[bytes, bytes]:
        """The bytes signed before and after the body, for these placeholder values."""
        return self._render_before(values), self._render_after(values)

    def verify(
        self,
        parsed: ParsedSignature,
        body: bytes,
        values: dict[str, str],
        keys: Sequence[tuple[Secret, Any]],
    ) -> tuple[Secret, bytes] | Failure | None:
        """The (secret, digest) that verifies one of ``parsed.signatures``, or None (a
        scheme with fetched keys may also refuse with its own reason, e.g.
        ``key_unavailable``).

        ``keys`` are the active (secret, prepared HMAC) pairs, at most MAX_ACTIVE_SECRETS.
        Every comparison is ``hmac.compare_digest``.
        """
        before = self._render_before(values)
        return self.match(parsed, keys, (before, body, self._render_after(values)))

    @staticmethod
    def match(
        parsed: ParsedSignature, keys: Sequence[tuple[Secret, Any]], chunks: Sequence[bytes]
    ) -> tuple[Secret, bytes] | None:
        """(the secret whose HMAC over ``chunks`` equals one of the signatures sent, that
        HMAC), or None.

        The HMAC that matched is a signature the request carries, so a replay gives the
        same one whatever the order, expiry or number of the route's secrets (a header
        with several signatures is identified by :meth:`content_digest` instead; see
        docs/architecture.md, "Event IDs and replay keys"). Every comparison is
        ``hmac.compare_digest``; the message is fed in pieces so the body is never copied.
        """
        for secret, base in keys:
            mac = base.copy()
            for chunk in chunks:
                if chunk:
                    mac.update(chunk)
            digest: bytes = mac.digest()
            for sig in parsed.signatures:
                if hmac.compare_digest(digest, sig):
                    return secret, digest
        return None

    def content_digest(self, parsed: ParsedSignature, body: bytes) -> bytes:
        """The SHA-256 of the verified content (rendered only now, for ``parsed.signed``):
        what identifies a delivery whose header may carry several signatures."""
        assert parsed.signed is not None
        before, after = self.signed_parts(parsed.signed)
        digest = hashlib.sha256(before)
        digest.update(body)
        digest.update(after)
        return digest.digest()

    def _sign_bytes(self, key_secret: Secret, message: bytes) -> bytes:
        mac = self.prepare(key_secret)
        mac.update(message)
        return bytes(mac.digest())

    def sign(self, key_secret: Secret, body: bytes, values: dict[str, str]) -> dict[str, str]:
        """The headers a sender using this scheme would send (see webhook_guard.testing)."""
        before, after = self.signed_parts(values)
        digest = self._sign_bytes(key_secret, before + body + after)
        sig = self.encode(digest)
        spec = self.spec
        headers: dict[str, str] = {}
        if spec.format == "list":
            headers[spec.headers[0]] = f"{spec.version},{sig}"
        elif spec.format == "kv":
            pairs = []
            if spec.timestamp_key:
                pairs.append(f"{spec.timestamp_key}={values['timestamp']}")
            pairs.append(f"{spec.version}={sig}")
            headers[spec.headers[0]] = spec.separator.join(pairs)
        else:
            headers[spec.headers[0]] = sig
        if self._ts_headers[0] is not None and "timestamp" in values:
            headers[self._ts_headers[0]] = values["timestamp"]
        if self._id_headers[0] is not None and "id" in values:
            headers[self._id_headers[0]] = values["id"]
        return headers


if sys.version_info >= (3, 11):
    # Standard base64 only: no whitespace, url-safe letters or bad padding.
    _b64decode_strict = functools.partial(binascii.a2b_base64, strict_mode=True)

else:  # strict_mode is new in 3.11

    def _b64decode_strict(text: str) -> bytes:
        """Standard base64 only: no whitespace, url-safe letters or bad padding."""
        return base64.b64decode(text, validate=True)


def _compile_parts(parts: list[str | bytes]) -> Callable[[dict[str, str]], bytes]:
    """A function rendering ``parts`` (literal bytes and placeholder names) for values.

    Header values were decoded as latin-1, so encoding them back gives the wire bytes
    (other characters, from a caller's str headers, become ``?``).
    """
    if all(isinstance(p, bytes) for p in parts):
        constant = b"".join(p for p in parts if isinstance(p, bytes))
        return lambda values: constant
    if all(p.isascii() for p in parts if isinstance(p, bytes)):
        # One %-format and one encode: ASCII literals encode alike as a whole or in parts.
        fmt = "".join("%s" if isinstance(p, str) else p.decode().replace("%", "%%") for p in parts)
        names = [p for p in parts if isinstance(p, str)]
        if len(names) == 1:
            (name,) = names
            return lambda values: (fmt % values[name]).encode("latin-1", "replace")
        pick = operator.itemgetter(*names)
        return lambda values: (fmt % pick(values)).encode("latin-1", "replace")

    def render(values: dict[str, str]) -> bytes:
        return b"".join(
            [p if isinstance(p, bytes) else values[p].encode("latin-1", "replace") for p in parts]
        )

    return render


def _align(names: tuple[str, ...], n: int) -> tuple[str | None, ...]:
    """One optional header name per signature-header alternative."""
    if not names:
        return (None,) * n
    if len(names) == 1:
        return names * n
    if len(names) != n:
        raise ConfigError(f"expected 1 or {n} header names, got {len(names)}")
    return names
