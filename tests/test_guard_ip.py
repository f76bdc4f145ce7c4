"""The address step of a check: client address, then deny_ips, then allow_ips."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from webhook_guard import Reason

from .conftest import GuardFactory, post, sw_route
from .test_guard import gen_headers, generic_route

GITHUB_HOOK = "140.82.112.9"  # in GitHub's published `hooks` ranges
STRANGER = "198.51.100.7"
PROXY = "10.0.0.2"

NETWORK = {"trusted_proxies": ["loopback", "10.0.0.0/8"], "deny_ips": ["140.82.112.66"]}


def github_only(**overrides: Any) -> dict[str, Any]:
    # event_id none: the same signed request is sent from several addresses below.
    route = {"allow_ips": ["github", "2001:db8:77::/48"], "event_id": "none", **overrides}
    return generic_route(**route)


def test_allowed_peer_passes_and_is_reported(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only())
    verdict = guard.check(post("/hooks/gen", gen_headers(), peer=GITHUB_HOOK))
    assert verdict.ok, verdict.detail
    assert verdict.client_ip == GITHUB_HOOK


def test_peer_outside_allow_ips_is_403(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only())
    verdict = guard.check(post("/hooks/gen", gen_headers(), peer=STRANGER))
    assert not verdict.ok
    assert verdict.reason is Reason.IP_NOT_ALLOWED
    assert verdict.status == 403
    assert verdict.client_ip == STRANGER
    assert verdict.detail == f"{STRANGER} is not in this route's allow_ips"
    assert verdict.problem()["status"] == 403


def test_allowlist_is_checked_before_the_body_and_signature(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(max_body_bytes=10))
    verdict = guard.check(post("/hooks/gen", {"content-length": "999"}, peer=STRANGER))
    assert verdict.reason is Reason.IP_NOT_ALLOWED
    pre = guard.precheck(post("/hooks/gen", {}, peer=STRANGER))
    assert pre.reason is Reason.IP_NOT_ALLOWED


def test_spoofed_xff_from_an_untrusted_peer_is_ignored(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network=NETWORK)
    headers = {**gen_headers(), "X-Forwarded-For": GITHUB_HOOK}
    verdict = guard.check(post("/hooks/gen", headers, peer=STRANGER))
    assert verdict.reason is Reason.IP_NOT_ALLOWED
    assert verdict.client_ip == STRANGER


def test_spoofed_leftmost_xff_behind_our_proxy_is_ignored(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network=NETWORK)
    headers = {**gen_headers(), "X-Forwarded-For": f"{GITHUB_HOOK}, {STRANGER}"}
    verdict = guard.check(post("/hooks/gen", headers, peer=PROXY))
    assert verdict.reason is Reason.IP_NOT_ALLOWED
    assert verdict.client_ip == STRANGER


def test_client_behind_trusted_proxy_is_found(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network=NETWORK)
    headers = {**gen_headers(), "X-Forwarded-For": f"6.6.6.6, {GITHUB_HOOK}, 10.0.0.9"}
    verdict = guard.check(post("/hooks/gen", headers, peer=PROXY))
    assert verdict.ok, verdict.detail
    assert verdict.client_ip == GITHUB_HOOK


def test_repeated_xff_lines_are_merged(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network=NETWORK)
    headers = [*gen_headers().items(), ("X-Forwarded-For", GITHUB_HOOK), ("x-forwarded-for", "::1")]
    verdict = guard.check(post("/hooks/gen", headers, peer=PROXY))
    assert verdict.ok, verdict.detail
    assert verdict.client_ip == GITHUB_HOOK


@pytest.mark.parametrize(
    "xff",
    ["010.1.1.1", f"{GITHUB_HOOK}:0", "10.0.0.5", "", "unknown", ", ".join([GITHUB_HOOK] * 21)],
)
def test_doubtful_proxy_headers_are_400(make_guard: GuardFactory, xff: str) -> None:
    guard = make_guard(github_only(), network=NETWORK)
    verdict = guard.check(post("/hooks/gen", {**gen_headers(), "X-Forwarded-For": xff}, peer=PROXY))
    assert verdict.reason is Reason.PROXY_HEADERS_INVALID
    assert verdict.status == 400
    assert verdict.client_ip is None
    assert verdict.detail.startswith("x-forwarded-for: ")


def test_proxy_headers_are_checked_even_without_allow_lists(make_guard: GuardFactory) -> None:
    guard = make_guard(generic_route(), network={"trusted_proxies": ["loopback"]})
    bad = guard.check(post("/hooks/gen", {**gen_headers(), "X-Forwarded-For": "1.2.3"}, peer="::1"))
    assert bad.reason is Reason.PROXY_HEADERS_INVALID
    good = guard.check(
        post("/hooks/gen", {**gen_headers(), "X-Forwarded-For": STRANGER}, peer="::1")
    )
    assert good.ok
    assert good.client_ip == STRANGER


def test_deny_ips_is_global_and_wins_over_allow_ips(make_guard: GuardFactory) -> None:
    guard = make_guard(
        github_only(), sw_route(), network={"deny_ips": ["140.82.112.66", "192.0.2.0/24"]}
    )
    denied = guard.check(post("/hooks/gen", gen_headers(), peer="140.82.112.66"))
    assert denied.reason is Reason.IP_NOT_ALLOWED
    assert denied.detail == "140.82.112.66 is in deny_ips"
    other_route = guard.check(post("/hooks/sw", {}, peer="192.0.2.1"))
    assert other_route.reason is Reason.IP_NOT_ALLOWED
    assert other_route.route == "sw"


def test_mapped_ipv6_peer_is_unmapped_before_matching(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network={"deny_ips": ["140.82.112.66"]})
    allowed = guard.check(post("/hooks/gen", gen_headers(), peer=f"::ffff:{GITHUB_HOOK}"))
    assert allowed.ok
    assert allowed.client_ip == GITHUB_HOOK
    denied = guard.check(post("/hooks/gen", gen_headers(), peer="::FFFF:140.82.112.66"))
    assert denied.reason is Reason.IP_NOT_ALLOWED


def test_ipv6_allowlist(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only())
    assert guard.check(post("/hooks/gen", gen_headers(), peer="2001:DB8:77::5")).ok
    assert guard.check(post("/hooks/gen", gen_headers(), peer="2606:50c0::1")).ok  # GitHub v6
    outside = guard.check(post("/hooks/gen", gen_headers(), peer="2001:db8:78::5"))
    assert outside.reason is Reason.IP_NOT_ALLOWED


def test_peer_that_is_not_an_address(make_guard: GuardFactory) -> None:
    # Test clients report placeholders such as "testclient": fine without address rules,
    # refused (never matched by accident) when a rule must be applied.
    plain = make_guard(generic_route())
    verdict = plain.check(post("/hooks/gen", gen_headers(), peer="testclient"))
    assert verdict.ok
    assert verdict.client_ip == "testclient"
    proxied_only = make_guard(generic_route(), network={"trusted_proxies": ["loopback"]})
    assert proxied_only.check(post("/hooks/gen", gen_headers(), peer="testclient")).ok
    strict = make_guard(github_only())
    refused = strict.check(post("/hooks/gen", gen_headers(), peer="testclient"))
    assert refused.reason is Reason.IP_NOT_ALLOWED
    assert "socket peer 'testclient' is not a usable IP address" in refused.detail


def test_unix_socket_peer(make_guard: GuardFactory) -> None:
    untrusted = make_guard(github_only())
    refused = untrusted.check(post("/hooks/gen", gen_headers(), peer=None))
    assert refused.reason is Reason.IP_NOT_ALLOWED
    assert "Unix socket" in refused.detail
    trusted = make_guard(github_only(), network={"trust_unix_socket": True})
    headers = {**gen_headers(), "X-Forwarded-For": GITHUB_HOOK}
    verdict = trusted.check(post("/hooks/gen", headers, peer=None))
    assert verdict.ok, verdict.detail
    assert verdict.client_ip == GITHUB_HOOK
    # Without X-Forwarded-For the Unix-socket proxy itself is the client: no address.
    assert trusted.check(post("/hooks/gen", gen_headers(), peer=None)).reason is (
        Reason.IP_NOT_ALLOWED
    )


def test_single_value_source_must_be_sent_once(make_guard: GuardFactory) -> None:
    guard = make_guard(
        github_only(), network={"client_ip": "x-real-ip", "trusted_proxies": ["loopback"]}
    )
    one = guard.check(post("/hooks/gen", {**gen_headers(), "X-Real-IP": GITHUB_HOOK}, peer="::1"))
    assert one.ok, one.detail
    headers = [*gen_headers().items(), ("X-Real-IP", GITHUB_HOOK), ("X-Real-IP", GITHUB_HOOK)]
    twice = guard.check(post("/hooks/gen", headers, peer="::1"))
    assert twice.reason is Reason.PROXY_HEADERS_INVALID
    missing = guard.check(post("/hooks/gen", gen_headers(), peer="::1"))
    assert missing.reason is Reason.PROXY_HEADERS_INVALID
    # No fallback: X-Forwarded-For is not consulted when X-Real-IP is the source.
    xff = guard.check(
        post("/hooks/gen", {**gen_headers(), "X-Forwarded-For": GITHUB_HOOK}, peer="::1")
    )
    assert xff.reason is Reason.PROXY_HEADERS_INVALID


def test_cloudflare_pseudo_addresses_are_refused(make_guard: GuardFactory) -> None:
    guard = make_guard(
        generic_route(allow_ips=["198.51.100.0/24"], event_id="none"),
        network={"client_ip": "cf-connecting-ip", "trusted_proxies": ["cloudflare"]},
    )
    real = guard.check(
        post("/hooks/gen", {**gen_headers(), "CF-Connecting-IP": STRANGER}, peer="173.245.48.1")
    )
    assert real.ok, real.detail
    assert real.client_ip == STRANGER
    pseudo = guard.check(
        post("/hooks/gen", {**gen_headers(), "CF-Connecting-IP": "240.0.0.7"}, peer="173.245.48.1")
    )
    assert pseudo.reason is Reason.PROXY_HEADERS_INVALID
    not_cloudflare = guard.check(
        post("/hooks/gen", {**gen_headers(), "CF-Connecting-IP": "1.1.1.1"}, peer=STRANGER)
    )
    assert not_cloudflare.client_ip == STRANGER


def test_report_mode_records_ip_failures_and_goes_on(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(mode="report"), network=NETWORK)
    outside = guard.check(post("/hooks/gen", gen_headers(), peer=STRANGER))
    assert outside.ok
    assert outside.reported == (Reason.IP_NOT_ALLOWED,)
    assert outside.client_ip == STRANGER
    headers = {
        **gen_headers(),
        "X-Forwarded-For": "010.0.0.1",
        "X-Signature": "sha256=" + "00" * 32,
    }
    bad = guard.check(post("/hooks/gen", headers, peer=PROXY))
    assert bad.ok
    assert bad.reported == (Reason.PROXY_HEADERS_INVALID, Reason.SIGNATURE_MISMATCH)
    assert bad.client_ip is None


def test_acheck_applies_the_same_step(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only())
    verdict = asyncio.run(guard.acheck(post("/hooks/gen", gen_headers(), peer=STRANGER)))
    assert verdict.reason is Reason.IP_NOT_ALLOWED


def test_rejection_is_logged_with_the_client_address(
    make_guard: GuardFactory, caplog: pytest.LogCaptureFixture
) -> None:
    guard = make_guard(github_only())
    with caplog.at_level(logging.INFO, logger="webhook_guard"):
        guard.check(post("/hooks/gen", gen_headers(), peer=STRANGER))
    assert "reason=ip_not_allowed" in caplog.text
    assert f"client_ip={STRANGER}" in caplog.text


def test_unrouted_paths_are_not_address_checked(make_guard: GuardFactory) -> None:
    guard = make_guard(github_only(), network={"deny_ips": [STRANGER]})
    verdict = guard.check(post("/elsewhere", {}, peer=STRANGER))
    assert verdict.ok
    assert verdict.route is None


@pytest.mark.parametrize("client_ip", ["x-real-ip", "x-forwarded-for", "peer"])
def test_peer_rewritten_from_x_forwarded_for_is_refused(
    make_guard: GuardFactory, client_ip: str
) -> None:
    # What uvicorn's default proxy_headers hands the guard behind nginx when a client adds
    # X-Forwarded-For: <an allowed address>: that address as the "socket peer".
    guard = make_guard(github_only(), network={**NETWORK, "client_ip": client_ip})
    headers = {**gen_headers(), "X-Forwarded-For": GITHUB_HOOK, "X-Real-IP": STRANGER}
    for verdict in (
        guard.precheck(post("/hooks/gen", headers, peer=GITHUB_HOOK)),
        guard.check(post("/hooks/gen", headers, peer=GITHUB_HOOK)),
    ):
        assert verdict.reason is Reason.PROXY_HEADERS_INVALID, verdict.detail
        assert verdict.status == 400
        assert verdict.client_ip is None
        assert "--no-proxy-headers" in verdict.detail
        assert GITHUB_HOOK in verdict.detail


def test_genuine_direct_peer_with_its_own_chain_passes(make_guard: GuardFactory) -> None:
    # A sender behind its own forward proxy: the chain names the hosts behind the proxy,
    # never the proxy's own (the peer's) address.
    guard = make_guard(github_only(), network=NETWORK)
    headers = {**gen_headers(), "X-Forwarded-For": "192.168.1.20, 140.82.112.99"}
    verdict = guard.check(post("/hooks/gen", headers, peer=GITHUB_HOOK))
    assert verdict.ok, verdict.detail
    assert verdict.client_ip == GITHUB_HOOK


def test_peer_that_is_not_an_address_is_escaped(make_guard: GuardFactory) -> None:
    # uvicorn copies any X-Forwarded-For text into the client, address or not.
    peer = "G\x1b[2J\n" + "x" * 60_000
    # Reported as given when no address rule needs it (trusted proxies only) ...
    guard = make_guard(generic_route(event_id="none"), network={"trusted_proxies": ["loopback"]})
    verdict = guard.check(post("/hooks/gen", gen_headers(), peer=peer))
    assert verdict.ok
    assert verdict.client_ip is not None
    assert verdict.client_ip.startswith("G\\x1b[2J\\x0a")
    assert len(verdict.client_ip) < 120
    # ... refused when one does.
    verdict = make_guard(github_only()).check(post("/hooks/gen", gen_headers(), peer=peer))
    assert verdict.reason is Reason.IP_NOT_ALLOWED
    assert "\x1b" not in verdict.detail
    assert "\n" not in verdict.detail
    assert len(verdict.detail) < 300
