"""Keys fetched at run time (AWS SNS certificates, Google's OIDC JWKS), from pinned hosts only.

A request names the key it was signed with (SNS's ``SigningCertURL``); taken as given,
that is a forgery kit: the attacker points at their own certificate. So every URL is
checked against the shape the provider documents before anything is fetched: https, the
provider's own host pattern, no userinfo, no port, no query, and a path of the documented
shape. The fetch itself follows no redirect and reads a bounded response; results are
cached with a TTL and a bound on entries and bytes, failures apart from keys (see
:class:`KeyFetcher`).

A fetch failure is a :class:`KeyUnavailable` value, never an exception and never an
accept: the caller answers 503 ``key_unavailable`` so the provider retries later.

Tests (and unusual deployments) inject ``pins``: a map from the pinned host name to the
address actually connected to. TLS still verifies the certificate for the pinned *name*
(``server_hostname``), against the given ``ssl_context``'s CAs.
"""

from __future__ import annotations

import collections
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..verdict import Reason
from .base import Failure

#: Google's OIDC signing keys, which sign Pub/Sub push tokens (the JWKS the
#: ``jwks_uri`` of https://accounts.google.com/.well-known/openid-configuration names).
GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"

# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: the
# certificate comes from sns.<region>.amazonaws.com (.com.cn in the China partition).
# Regions are like us-east-1, us-gov-west-1, cn-north-1, ap-southeast-5.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}\.amazonaws\.com(?:\.cn)?")
_SNS_CERT_PATH = re.compile(r"/SimpleNotificationService-[0-9a-f]{32}\.pem")
# PayPal's PAYPAL-CERT-URL, e.g. https://api.paypal.com/v1/notifications/certs/CERT-360caa42-
# fca2a594-a5cafa77 (live) or api.sandbox.paypal.com (sandbox); api-m is the newer API host.
_PAYPAL_HOST = re.compile(r"api(?:-m)?(?:\.sandbox)?\.paypal\.com")
_PAYPAL_CERT_PATH = re.compile(r"/v1/notifications/certs/CERT-[0-9A-Za-z-]{1,64}")


@dataclass(frozen=True)
class KeyUnavailable:
    """A key could not be had: the caller refuses with 503 ``key_unavailable``.

    ``detail`` is safe to show (it names the URL and what went wrong, never a secret).
    """

    detail: str

    def failure(self) -> Failure:
        """This as a pipeline refusal: 503 ``key_unavailable``."""
        return Failure(Reason.KEY_UNAVAILABLE, self.detail)


#: What a scheme with fetched keys has without a fetcher (a scheme built for config checks).
NO_FETCHER = KeyUnavailable("no key fetcher is configured")


def _pinned_https(url: str, host: re.Pattern[str]) -> urllib.parse.SplitResult | None:
    """``url`` split, if it is ``https://<host>/...`` with nothing that could redirect
    the connection elsewhere (userinfo, a port, a backslash, a fragment, control bytes)."""
    if not url.isascii() or len(url) > 2048 or any(c in url for c in "\\@ \t\r\n"):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port is not None or parts.fragment:
        return None
    # netloc == hostname rules out userinfo, an explicit port, a trailing dot, upper case.
    if parts.hostname is None or parts.netloc != parts.hostname:
        return None
    return parts if host.fullmatch(parts.hostname) else None


def sns_certificate_url_ok(url: str) -> bool:
    """Whether ``url`` is an AWS SNS signing certificate URL as AWS serves them:
    ``https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<32 hex>.pem``."""
    parts = _pinned_https(url, _SNS_HOST)
    return parts is not None and not parts.query and bool(_SNS_CERT_PATH.fullmatch(parts.path))


def sns_subscribe_url_ok(url: str) -> bool:
    """Whether ``url`` is an SNS ``SubscribeURL`` (``/?Action=ConfirmSubscription&...``)
    on a pinned SNS host, so confirming a subscription cannot be pointed elsewhere."""
    parts = _pinned_https(url, _SNS_HOST)
    if parts is None or parts.path != "/":
        return False
    query = urllib.parse.parse_qs(parts.query, strict_parsing=False)
    return query.get("Action") == ["ConfirmSubscription"] and "TopicArn" in query


def paypal_certificate_url_ok(url: str) -> bool:
    """Whether ``url`` is a PayPal webhook certificate URL:
    ``https://api[-m][.sandbox].paypal.com/v1/notifications/certs/CERT-...``."""
    parts = _pinned_https(url, _PAYPAL_HOST)
    return parts is not None and not parts.query and bool(_PAYPAL_CERT_PATH.fullmatch(parts.path))


def google_jwks_url_ok(url: str) -> bool:
    """Whether ``url`` is exactly Google's OIDC JWKS URL."""
    return url == GOOGLE_JWKS_URL


def pinned_key_url(url: str) -> bool:
    """Whether ``url`` is one a preset may fetch: an SNS certificate or ``SubscribeURL``,
    a PayPal certificate, or Google's JWKS. Each caller checks its own kind again."""
    return (
        google_jwks_url_ok(url)
        or sns_certificate_url_ok(url)
        or sns_subscribe_url_ok(url)
        or paypal_certificate_url_ok(url)
    )


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTPS to ``address`` while TLS (SNI and certificate check) uses the pinned name."""

    def __init__(
        self, host: str, address: tuple[str, int], context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(host, 443, timeout=timeout, context=context)
        self._address = address
        self._context = context

    def connect(self) -> None:
        sock = socket.create_connection(self._address, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class _Entry:
    body: bytes
    expires: float
    fetched: float


class KeyFetcher:
    """Fetches keys from allowed URLs over verified HTTPS, with a bounded TTL cache.

    Thread-safe. ``get`` blocks for at most ``timeout`` seconds on a cache miss.

    Keys and failures are cached apart, so forged requests naming many failing URLs on a
    pinned host (any ``SimpleNotificationService-<hex>.pem``) evict only other failures,
    never a key in use. A key whose refetch fails (expiry, a JWKS refresh, every fetch
    slot busy) is served as it was for up to ``max_stale`` seconds: a provider's or the
    network's outage does not turn into refusals of genuine deliveries. (A refresh,
    which asks for a newer key than the one held, is unavailable instead.)

    Args:
        allowed: predicate every URL must pass before it is fetched (e.g.
            :func:`sns_certificate_url_ok`); the caller's pin. Default: any URL a preset
            may fetch (:func:`pinned_key_url`), what a :class:`~webhook_guard.Guard` uses.
        ttl: seconds a fetched key is reused before it is fetched again.
        failure_ttl: seconds a failed fetch is remembered, so a burst of forged requests
            naming one bad URL costs one outbound request, not one each.
        max_stale: seconds a key is still served while its refetch fails.
        min_refresh: seconds before ``get(refresh=True)`` may refetch a cached key.
        max_entries, max_bytes: key cache bounds; least recently used keys go first.
        max_failures: failures remembered at once; the oldest go first.
        max_response: largest response body accepted (bytes).
        max_concurrent: fetches in flight at once; more are refused as unavailable, so
            forged requests naming many URLs cannot tie up every worker.
        pins: pinned host name -> (address, port) actually connected to (tests).
        ssl_context: CAs and TLS settings; default: the system's, verifying.
        clock: monotonic seconds (tests).
    """

    def __init__(
        self,
        allowed: Callable[[str], bool] | None = None,
        *,
        ttl: float = 3600.0,
        failure_ttl: float = 30.0,
        max_stale: float = 86400.0,
        min_refresh: float = 60.0,
        max_entries: int = 64,
        max_bytes: int = 1 << 20,
        max_failures: int = 256,
        max_response: int = 64 * 1024,
        max_concurrent: int = 4,
        timeout: float = 5.0,
        pins: Mapping[str, tuple[str, int]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = allowed or pinned_key_url
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._max_stale = max_stale
        self._min_refresh = min_refresh
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_failures = max_failures
        self._max_response = max_response
        self._timeout = timeout
        self._pins = dict(pins or {})
        self._context = ssl_context or ssl.create_default_context()
        self._clock = clock
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._cache: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        #: url -> (remembered until, why): failed fetches, kept apart from the keys.
        self._failures: collections.OrderedDict[str, tuple[float, str]] = collections.OrderedDict()
        self._bytes = 0
        #: Outbound requests made (tests assert on caching through it).
        self.fetches = 0

    def get(
        self, url: str, *, refresh: bool = False, remember_failure: bool = True
    ) -> bytes | KeyUnavailable:
        """The body served at ``url``, from the cache when fresh.

        Args:
            refresh: skip a cached success older than ``min_refresh`` seconds (a JWKS
                that lacks the token's ``kid`` may have rotated). Forged requests cannot
                use it to make a fetch each: a younger entry is still served. When the
                refetch cannot be made, the answer is unavailable (the caller wants a
                newer key than it has), and the cached key stays for other callers.
            remember_failure: False to try again on the next call after a failure (an
                SNS ``SubscribeURL``: SNS's retry of a failed confirmation must visit
                again), and to report a failure as it is, never with an expired success;
                a success is still cached for ``ttl``.
        """
        if not self._allowed(url):
            # The URL is the sender's choice: not repeated in a detail that gets logged.
            return KeyUnavailable("the key URL is not one this key may come from")
        now = self._clock()
        with self._lock:
            entry = self._cache.get(url)
            if entry is not None:
                self._cache.move_to_end(url)
                if entry.expires > now and (not refresh or now - entry.fetched < self._min_refresh):
                    return entry.body
            failed = self._failures.get(url)
        # What stands in when the fetch fails: the key held, unless a newer one is wanted
        # or the fetch is a visit whose every failure counts.
        fallback = None if refresh or not remember_failure else self._stale(entry, now)
        if failed is not None and failed[0] > now:
            return fallback or KeyUnavailable(failed[1])
        result = self._fetch_in_slot(url)
        if result is None:  # no slot: the URL did not fail, nothing to remember
            return fallback or KeyUnavailable("too many key fetches in progress")
        if isinstance(result, KeyUnavailable):
            if remember_failure:
                self._remember_failure(url, result.detail, now)
            return fallback or result
        self._store(url, result, now)
        return result

    def _stale(self, entry: _Entry | None, now: float) -> bytes | None:
        """The key ``entry`` holds while it may still stand in for a failed refetch."""
        if entry is not None and now - entry.fetched < self._max_stale:
            return entry.body
        return None

    def _fetch_in_slot(self, url: str) -> bytes | KeyUnavailable | None:
        """The fetch's outcome, or None when every fetch slot is busy."""
        if not self._slots.acquire(blocking=False):
            return None
        try:
            return self._fetch(url)
        finally:
            self._slots.release()

    def _fetch(self, url: str) -> bytes | KeyUnavailable:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        address = self._pins.get(host, (host, 443))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.fetches += 1
        conn = _PinnedConnection(host, address, self._context, self._timeout)
        try:
            conn.request("GET", target, headers={"Accept": "*/*", "User-Agent": "webhook-guard"})
            response = conn.getresponse()
            # http.client never follows redirects; a 3xx is a failure like any non-200.
            if response.status != 200:
                return KeyUnavailable(f"fetching {url} answered HTTP {response.status}")
            body = response.read(self._max_response + 1)
        except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
            return KeyUnavailable(f"fetching {url} failed: {type(exc).__name__}")
        finally:
            conn.close()
        if len(body) > self._max_response:
            return KeyUnavailable(f"{url} served more than {self._max_response} bytes")
        return body

    def _remember_failure(self, url: str, detail: str, now: float) -> None:
        with self._lock:
            self._failures.pop(url, None)
            self._failures[url] = (now + self._failure_ttl, detail)
            while len(self._failures) > self._max_failures:
                self._failures.popitem(last=False)

    def _store(self, url: str, body: bytes, now: float) -> None:
        entry = _Entry(body, now + self._ttl, now)
        with self._lock:
            self._failures.pop(url, None)
            old = self._cache.pop(url, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._cache[url] = entry
            self._bytes += len(body)
            while len(self._cache) > self._max_entries or self._bytes > self._max_bytes:
                _, dropped = self._cache.popitem(last=False)
                self._bytes -= len(dropped.body)

    def __len__(self) -> int:
        """Keys cached (failures are not counted)."""
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Bytes of key material held in the cache."""
        return self._bytes


__all__ = [
    "GOOGLE_JWKS_URL",
    "NO_FETCHER",
    "KeyFetcher",
    "KeyUnavailable",
    "google_jwks_url_ok",
    "paypal_certificate_url_ok",
    "pinned_key_url",
    "sns_certificate_url_ok",
    "sns_subscribe_url_ok",
]
