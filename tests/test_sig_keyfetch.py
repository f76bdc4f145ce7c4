"""Fetching keys from pinned hosts: URL pins, real TLS to a local server, cache bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from webhook_guard.signatures.keyfetch import (
    GOOGLE_JWKS_URL,
    KeyFetcher,
    KeyUnavailable,
    google_jwks_url_ok,
    sns_certificate_url_ok,
    sns_subscribe_url_ok,
)

from .keyserver import SNS_CERT_PATH, SNS_CN_HOST, SNS_HOST, KeyServer, key_server

CERT_URL = f"https://{SNS_HOST}{SNS_CERT_PATH}"
HEX = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        f"https://{SNS_CN_HOST}{SNS_CERT_PATH}",
        f"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-{HEX}.pem",
        f"https://sns.ap-southeast-5.amazonaws.com/SimpleNotificationService-{HEX}.pem",
    ],
)
def test_sns_certificate_urls_aws_serves_are_allowed(url: str) -> None:
    assert sns_certificate_url_ok(url)


@pytest.mark.parametrize(
    "url",
    [
        f"http://{SNS_HOST}{SNS_CERT_PATH}",  # not https
        f"https://evil.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com.evil.com{SNS_CERT_PATH}",
        f"https://evil.com/sns.us-east-1.amazonaws.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com@evil.com{SNS_CERT_PATH}",  # userinfo
        f"https://evil.com@sns.us-east-1.amazonaws.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com:8443{SNS_CERT_PATH}",  # port
        f"https://sns.us-east-1.amazonaws.com:443{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com.{SNS_CERT_PATH}",  # trailing dot
        f"https://SNS.us-east-1.amazonaws.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.co{SNS_CERT_PATH}",
        f"https://sqs.us-east-1.amazonaws.com{SNS_CERT_PATH}",
        f"https://sns.evil-region.amazonaws.com{SNS_CERT_PATH}",
        f"https://sns..amazonaws.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com{SNS_CERT_PATH}?x=1",  # query
        f"https://sns.us-east-1.amazonaws.com{SNS_CERT_PATH}#frag",
        f"https://sns.us-east-1.amazonaws.com/../evil{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com/x{SNS_CERT_PATH}",
        "https://sns.us-east-1.amazonaws.com/?Action=GetCert",  # API endpoint, not a cert
        f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{HEX[:-1]}.pem",
        f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{HEX.upper()}.pem",
        f"https://sns.us-east-1.amazonaws.com\\@evil.com{SNS_CERT_PATH}",
        f"https://sns.us-east-1.amazonaws.com{SNS_CERT_PATH}\n",
        f"https://sns.us-east-1.amazonaws.com {SNS_CERT_PATH}",
        "https://\u0455ns.us-east-1.amazonaws.com" + SNS_CERT_PATH,  # Cyrillic s
        f"https://[::1]{SNS_CERT_PATH}",
        f"https://127.0.0.1{SNS_CERT_PATH}",
        "https://sns.us-east-1.amazonaws.com" + "/a" * 2000,
        "",
    ],
)
def test_sns_certificate_url_tricks_are_refused(url: str) -> None:
    assert not sns_certificate_url_ok(url)


def test_subscribe_url_pin() -> None:
    good = (
        f"https://{SNS_HOST}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:1:t"
        "&Token=2336412f37"
    )
    assert sns_subscribe_url_ok(good)
    assert not sns_subscribe_url_ok(good.replace(SNS_HOST, "evil.com"))
    assert not sns_subscribe_url_ok(good.replace("ConfirmSubscription", "Unsubscribe"))
    assert not sns_subscribe_url_ok(good.replace("/?", "/x?"))
    assert not sns_subscribe_url_ok(f"https://{SNS_HOST}/?Action=ConfirmSubscription")


def test_google_jwks_url_is_exact() -> None:
    assert google_jwks_url_ok(GOOGLE_JWKS_URL)
    for url in (
        GOOGLE_JWKS_URL + "?x",
        GOOGLE_JWKS_URL.replace("https", "http"),
        "https://www.googleapis.com/oauth2/v1/certs",
        "https://evil.com/oauth2/v3/certs",
    ):
        assert not google_jwks_url_ok(url)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server(tmp_path: Path) -> Iterator[KeyServer]:
    with key_server(tmp_path) as srv:
        yield srv


def fetcher_for(server: KeyServer, clock: Clock | None = None, **options: object) -> KeyFetcher:
    return KeyFetcher(
        sns_certificate_url_ok,
        pins=server.pins(),
        ssl_context=server.client_context(),
        clock=clock or Clock(),
        **options,  # type: ignore[arg-type]
    )


def test_fetches_over_verified_tls_and_caches(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"-----BEGIN CERTIFICATE-----...")
    clock = Clock()
    fetcher = fetcher_for(server, clock, ttl=60)
    assert fetcher.get(CERT_URL) == b"-----BEGIN CERTIFICATE-----..."
    assert fetcher.get(CERT_URL) == b"-----BEGIN CERTIFICATE-----..."
    assert server.requests == [SNS_CERT_PATH]
    clock.now += 61  # the TTL ran out
    assert fetcher.get(CERT_URL) == b"-----BEGIN CERTIFICATE-----..."
    assert server.requests == [SNS_CERT_PATH, SNS_CERT_PATH]


def test_china_partition_host_is_fetched_too(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"cn")
    assert fetcher_for(server).get(f"https://{SNS_CN_HOST}{SNS_CERT_PATH}") == b"cn"


def test_a_url_outside_the_pin_is_never_fetched(server: KeyServer) -> None:
    server.serve("/evil.pem", b"attacker's certificate")
    fetcher = fetcher_for(server)
    outcome = fetcher.get(f"https://{SNS_HOST}/evil.pem")
    assert isinstance(outcome, KeyUnavailable)
    assert outcome.detail == "the key URL is not one this key may come from"
    assert server.requests == []
    assert fetcher.fetches == 0


def test_an_untrusted_certificate_is_unavailable(server: KeyServer) -> None:
    """The same server, but the client trusts only the system CAs (not the test CA)."""
    server.serve(SNS_CERT_PATH, b"x")
    fetcher = KeyFetcher(sns_certificate_url_ok, pins=server.pins())
    outcome = fetcher.get(CERT_URL)
    assert isinstance(outcome, KeyUnavailable)
    assert "SSLCertVerificationError" in outcome.detail


def test_a_certificate_for_another_name_is_unavailable(tmp_path: Path) -> None:
    with key_server(tmp_path, names=("other.example",)) as srv:
        srv.serve(SNS_CERT_PATH, b"x")
        outcome = fetcher_for(srv).get(CERT_URL)
        assert isinstance(outcome, KeyUnavailable)
        assert srv.requests == []


@pytest.mark.parametrize("status", [301, 302, 307, 404, 500])
def test_redirects_and_errors_are_unavailable(server: KeyServer, status: int) -> None:
    server.serve(SNS_CERT_PATH, b"moved", status, Location="https://evil.com/cert.pem")
    outcome = fetcher_for(server).get(CERT_URL)
    assert outcome == KeyUnavailable(f"fetching {CERT_URL} answered HTTP {status}")
    assert server.requests == [SNS_CERT_PATH]  # the Location was not followed


def test_failures_are_remembered_briefly(server: KeyServer) -> None:
    clock = Clock()
    fetcher = fetcher_for(server, clock, failure_ttl=30)
    assert isinstance(fetcher.get(CERT_URL), KeyUnavailable)
    server.serve(SNS_CERT_PATH, b"now here")
    assert isinstance(fetcher.get(CERT_URL), KeyUnavailable)  # a burst costs one fetch
    assert len(server.requests) == 1
    clock.now += 31
    assert fetcher.get(CERT_URL) == b"now here"


def test_oversized_response_is_unavailable(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"x" * 2000)
    outcome = fetcher_for(server, max_response=1000).get(CERT_URL)
    assert outcome == KeyUnavailable(f"{CERT_URL} served more than 1000 bytes")


def test_connection_refused_is_unavailable(server: KeyServer) -> None:
    fetcher = KeyFetcher(
        sns_certificate_url_ok,
        pins={SNS_HOST: ("127.0.0.1", 1)},
        ssl_context=server.client_context(),
    )
    outcome = fetcher.get(CERT_URL)
    assert isinstance(outcome, KeyUnavailable)
    assert "ConnectionRefusedError" in outcome.detail


def test_cache_is_bounded_by_entries_and_bytes(server: KeyServer) -> None:
    urls = []
    for i in range(5):
        path = f"/SimpleNotificationService-{i:032x}.pem"
        server.serve(path, bytes([65 + i]) * 100)
        urls.append(f"https://{SNS_HOST}{path}")
    fetcher = fetcher_for(server, max_entries=3, max_bytes=250)
    for url in urls:
        assert isinstance(fetcher.get(url), bytes)
    assert len(fetcher) == 2  # 250 bytes hold two 100-byte entries
    assert fetcher.cached_bytes == 200
    fetcher.get(urls[-1])  # still cached
    assert len(server.requests) == 5
    fetcher.get(urls[0])  # evicted, fetched again
    assert len(server.requests) == 6


def test_refresh_is_rate_limited(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"v1")
    clock = Clock()
    fetcher = fetcher_for(server, clock, min_refresh=60)
    assert fetcher.get(CERT_URL) == b"v1"
    server.serve(SNS_CERT_PATH, b"v2")
    assert fetcher.get(CERT_URL, refresh=True) == b"v1"  # too soon: forged kids cannot force it
    clock.now += 61
    assert fetcher.get(CERT_URL, refresh=True) == b"v2"
    assert len(server.requests) == 2


def _cert_url(i: int) -> tuple[str, str]:
    path = f"/SimpleNotificationService-{i:032x}.pem"
    return path, f"https://{SNS_HOST}{path}"


def test_failing_urls_never_evict_a_key_in_use(server: KeyServer) -> None:
    """Forged messages naming well-shaped certificate URLs that do not exist fill the
    failure memory only: the real certificate stays cached, and is not fetched again."""
    server.serve(SNS_CERT_PATH, b"real")
    fetcher = fetcher_for(server, max_entries=3, max_failures=5)
    assert fetcher.get(CERT_URL) == b"real"
    for i in range(1, 50):
        assert isinstance(fetcher.get(_cert_url(i)[1]), KeyUnavailable)
    assert fetcher.get(CERT_URL) == b"real"
    assert server.requests.count(SNS_CERT_PATH) == 1
    assert len(fetcher) == 1


def test_a_failed_refetch_serves_the_key_it_had(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"v1")
    clock = Clock()
    fetcher = fetcher_for(server, clock, ttl=60, failure_ttl=30, max_stale=3600)
    assert fetcher.get(CERT_URL) == b"v1"
    server.serve(SNS_CERT_PATH, b"gone", 503)
    clock.now += 61  # expired, and the provider is down
    assert fetcher.get(CERT_URL) == b"v1"
    assert fetcher.get(CERT_URL) == b"v1"  # the failure is remembered: no second fetch
    assert len(server.requests) == 2
    clock.now += 3600  # too old to stand in any longer
    outcome = fetcher.get(CERT_URL)
    assert outcome == KeyUnavailable(f"fetching {CERT_URL} answered HTTP 503")
    server.serve(SNS_CERT_PATH, b"v2")
    clock.now += 31
    assert fetcher.get(CERT_URL) == b"v2"


def test_a_failed_refresh_keeps_the_key_set_it_had(server: KeyServer) -> None:
    """A token naming an unknown ``kid`` asks for a refresh. When that fails the caller is
    told the key is unavailable (a 503 the provider retries, not a 401 for a key it never
    saw), and the key set in the cache is kept for tokens signed with a known key."""
    server.serve(SNS_CERT_PATH, b"jwks-v1")
    clock = Clock()
    fetcher = fetcher_for(server, clock, min_refresh=60)
    assert fetcher.get(CERT_URL) == b"jwks-v1"
    server.serve(SNS_CERT_PATH, b"", 500)
    clock.now += 61
    failed = fetcher.get(CERT_URL, refresh=True)
    assert failed == KeyUnavailable(f"fetching {CERT_URL} answered HTTP 500")
    assert fetcher.get(CERT_URL, refresh=True) == failed  # remembered: no second fetch
    assert fetcher.get(CERT_URL) == b"jwks-v1"
    assert len(server.requests) == 2


def test_busy_fetch_slots_serve_a_cached_key(server: KeyServer) -> None:
    server.serve(SNS_CERT_PATH, b"v1")
    clock = Clock()
    fetcher = fetcher_for(server, clock, ttl=60, max_concurrent=1)
    assert fetcher.get(CERT_URL) == b"v1"
    clock.now += 61
    fetcher._slots.acquire()  # every slot taken by other fetches
    try:
        assert fetcher.get(CERT_URL) == b"v1"
        outcome = fetcher.get(_cert_url(7)[1])
        assert outcome == KeyUnavailable("too many key fetches in progress")
    finally:
        fetcher._slots.release()
    assert len(server.requests) == 1


def test_a_fetch_that_remembers_no_failure(server: KeyServer) -> None:
    """What confirming an SNS subscription uses: SNS retries a failed confirmation 20 s
    later, and that retry must reach AWS again; once confirmed, replays of the captured
    confirmation do not each visit AWS."""
    fetcher = fetcher_for(server, failure_ttl=30)
    server.serve(SNS_CERT_PATH, b"", 503)
    assert isinstance(fetcher.get(CERT_URL, remember_failure=False), KeyUnavailable)
    server.serve(SNS_CERT_PATH, b"confirmed")
    assert fetcher.get(CERT_URL, remember_failure=False) == b"confirmed"
    assert fetcher.get(CERT_URL, remember_failure=False) == b"confirmed"
    assert len(server.requests) == 2
