"""Tests for webhook_guard.clientip: one adversarial table, plus config."""

from __future__ import annotations

import ipaddress
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_guard.clientip import (
    MAX_ELEMENTS,
    ClientIPConfig,
    ClientIPResolver,
    ProxyHeadersInvalid,
)
from webhook_guard.ipset import NAMED_SETS, IPSet

# Our proxies: 10/8, 192.0.2.0/24, 2001:db8:ffff::/48 and loopback.
TRUSTED = IPSet(["10.0.0.0/8", "192.0.2.0/24", "2001:db8:ffff::/48"]) | NAMED_SETS["loopback"]
CLOUDFLARE = NAMED_SETS["cloudflare"]

XFF = ClientIPConfig(trusted_proxies=TRUSTED)
XFF_LEFTMOST = ClientIPConfig(trusted_proxies=TRUSTED, all_hops_trusted="leftmost")
FWD = ClientIPConfig(source="forwarded", trusted_proxies=TRUSTED)
FWD_LEFTMOST = ClientIPConfig(
    source="forwarded", trusted_proxies=TRUSTED, all_hops_trusted="leftmost"
)
XRI = ClientIPConfig(source="x-real-ip", trusted_proxies=TRUSTED)
CUSTOM = ClientIPConfig(source="header:X-Client-IP", trusted_proxies=TRUSTED)
PEER_ONLY = ClientIPConfig(source="peer", trusted_proxies=TRUSTED)
CF = ClientIPConfig(source="cf-connecting-ip", trusted_proxies=CLOUDFLARE)
XFF_BEHIND_CF = ClientIPConfig(trusted_proxies=CLOUDFLARE | TRUSTED)
UNIX = ClientIPConfig(trusted_proxies=TRUSTED, trust_unix_socket=True)
UNIX_XRI = ClientIPConfig(source="x-real-ip", trusted_proxies=TRUSTED, trust_unix_socket=True)
UNIX_PEER = ClientIPConfig(source="peer", trusted_proxies=TRUSTED, trust_unix_socket=True)

P = "10.0.0.1"  # a trusted proxy peer
U = "198.51.100.7"  # an untrusted peer (the internet)
CF_PEER = "173.245.48.1"
C = "203.0.113.9"  # the real client in most rows


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


def xff(*lines: str) -> dict[str, list[str]]:
    return {"x-forwarded-for": list(lines)}


def fwd(*lines: str) -> dict[str, list[str]]:
    return {"forwarded": list(lines)}


def hdr(name: str, *lines: str) -> dict[str, list[str]]:
    return {name: list(lines)}


CASES = [
    # -- X-Forwarded-For: the walk ------------------------------------------------------
    pytest.param(XFF, P, xff(C), C, id="xff-basic"),
    pytest.param(XFF, P, xff(f"6.6.6.6, {C}"), C, id="xff-spoofed-leftmost"),
    pytest.param(XFF, P, xff(f"10.9.9.9, {C}"), C, id="xff-spoofed-trusted-looking-leftmost"),
    pytest.param(XFF, P, xff(f"6.6.6.6, {C}, 192.0.2.5, 10.0.0.2"), C, id="xff-skips-trusted"),
    pytest.param(XFF, P, xff(f"junk, 010.1.1.1, , {C}"), C, id="xff-left-garbage-not-examined"),
    pytest.param(XFF, P, xff("6.6.6.6", f"{C}, 192.0.2.5"), C, id="xff-dup-lines-merged"),
    pytest.param(XFF, P, xff(C, "198.51.100.1"), "198.51.100.1", id="xff-dup-lines-in-order"),
    pytest.param(XFF, P, xff("6.6.6.6", C, "10.0.0.9"), C, id="xff-three-lines"),
    pytest.param(XFF, P, xff(f"  6.6.6.6 ,\t{C}\t"), C, id="xff-ows-stripped"),
    pytest.param(XFF, P, {}, P, id="xff-absent-peer-is-client"),
    pytest.param(XFF, P, xff(), P, id="xff-no-lines-peer-is-client"),
    pytest.param(XFF, P, hdr("x-real-ip", "6.6.6.6"), P, id="xff-other-headers-ignored"),
    pytest.param(XFF, P, fwd("for=6.6.6.6"), P, id="xff-forwarded-ignored"),
    # -- comma and whitespace injection -------------------------------------------------
    pytest.param(XFF, P, xff(f"6.6.6.6 {C}"), INVALID, id="xff-space-not-comma"),
    pytest.param(XFF, P, xff(f"{C};6.6.6.6"), INVALID, id="xff-semicolon"),
    pytest.param(XFF, P, xff(f"{C},"), INVALID, id="xff-trailing-comma"),
    pytest.param(XFF, P, xff(f"{C}, , 10.0.0.2"), INVALID, id="xff-empty-at-boundary"),
    pytest.param(XFF, P, xff(""), INVALID, id="xff-empty-line"),
    pytest.param(XFF, P, xff("6.6.6.6", ""), INVALID, id="xff-empty-last-line"),
    pytest.param(XFF, P, xff(f"6.6.6.6\r\n{C}"), INVALID, id="xff-crlf"),
    pytest.param(XFF, P, xff(f"\u00a0{C}"), INVALID, id="xff-nbsp"),
    pytest.param(XFF, P, xff(f"{C}\x00"), INVALID, id="xff-nul"),
    pytest.param(XFF, P, xff(f"\u200b{C}"), INVALID, id="xff-zero-width-space"),
    pytest.param(XFF, P, xff(f'"{C}"'), INVALID, id="xff-quoted"),
    # -- leading zeros and other ambiguous forms ----------------------------------------
    pytest.param(XFF, P, xff("010.1.1.1"), INVALID, id="xff-leading-zero"),
    pytest.param(XFF, P, xff("203.000.113.9"), INVALID, id="xff-leading-zeros-middle"),
    pytest.param(XFF, P, xff("0177.0.0.1"), INVALID, id="xff-octal"),
    pytest.param(XFF, P, xff("0x7f.0.0.1"), INVALID, id="xff-hex-octet"),
    pytest.param(XFF, P, xff("0x7f000001"), INVALID, id="xff-hex-integer"),
    pytest.param(XFF, P, xff("2130706433"), INVALID, id="xff-integer"),
    pytest.param(XFF, P, xff("127.1"), INVALID, id="xff-short-form"),
    pytest.param(XFF, P, xff("1..2.3"), INVALID, id="xff-double-dot"),
    pytest.param(XFF, P, xff("1.2.3.4."), INVALID, id="xff-trailing-dot"),
    pytest.param(XFF, P, xff("1.2.3.256"), INVALID, id="xff-octet-overflow"),
    pytest.param(XFF, P, xff("\uff12\uff10\uff13.0.113.9"), INVALID, id="xff-fullwidth-digits"),
    pytest.param(XFF, P, xff("\u0662\u0660\u0663.0.113.9"), INVALID, id="xff-arabic-indic-digits"),
    pytest.param(XFF, P, xff("\u0968\u0966\u0969.0.113.9"), INVALID, id="xff-devanagari-digits"),
    pytest.param(XFF, P, xff("2001:db8::\uff11"), INVALID, id="xff-fullwidth-v6"),
    pytest.param(XFF, P, xff("0.0.0.0"), INVALID, id="xff-unspecified-v4"),  # noqa: S104
    pytest.param(XFF, P, xff("::"), INVALID, id="xff-unspecified-v6"),
    pytest.param(XFF, P, xff("::ffff:0.0.0.0"), INVALID, id="xff-unspecified-mapped"),
    pytest.param(XFF, P, xff("unknown"), INVALID, id="xff-unknown"),
    pytest.param(XFF, P, xff("evil.example"), INVALID, id="xff-hostname"),
    pytest.param(XFF, P, xff("_hidden"), INVALID, id="xff-obfuscated"),
    # -- ports and brackets -------------------------------------------------------------
    pytest.param(XFF, P, xff(f"{C}:4711"), C, id="xff-v4-port"),
    pytest.param(XFF, P, xff(f"{C}:65535"), C, id="xff-v4-port-max"),
    pytest.param(XFF, P, xff(f"{C}:0"), INVALID, id="xff-port-zero"),
    pytest.param(XFF, P, xff(f"{C}:65536"), INVALID, id="xff-port-too-big"),
    pytest.param(XFF, P, xff(f"{C}:"), INVALID, id="xff-port-empty"),
    pytest.param(XFF, P, xff(f"{C}:\uff18\uff10"), INVALID, id="xff-port-fullwidth"),
    pytest.param(XFF, P, xff("[2001:DB8::1]:443"), "2001:db8::1", id="xff-bracketed-v6-port"),
    pytest.param(XFF, P, xff("[2001:db8::1]"), "2001:db8::1", id="xff-bracketed-v6"),
    pytest.param(XFF, P, xff("2001:DB8:0:0:0:0:0:1"), "2001:db8::1", id="xff-v6-normalised"),
    pytest.param(XFF, P, xff("[2001:db8::1]:0"), INVALID, id="xff-bracketed-port-zero"),
    pytest.param(XFF, P, xff("[2001:db8::1"), INVALID, id="xff-unclosed-bracket"),
    pytest.param(XFF, P, xff(f"[{C}]"), INVALID, id="xff-v4-in-brackets"),
    pytest.param(XFF, P, xff("[[2001:db8::1]]"), INVALID, id="xff-double-brackets"),
    # -- zone ids and IPv4-mapped IPv6 --------------------------------------------------
    pytest.param(XFF, P, xff("fe80::1%eth0"), "fe80::1", id="xff-zone"),
    pytest.param(XFF, P, xff("[fe80::1%25eth0]:80"), "fe80::1", id="xff-zone-rfc6874"),
    pytest.param(XFF, P, xff(f"{C}%eth0"), INVALID, id="xff-zone-on-v4"),
    pytest.param(XFF, P, xff("fe80::1%"), INVALID, id="xff-empty-zone"),
    pytest.param(XFF, P, xff("fe80::1%eth 0"), INVALID, id="xff-zone-with-space"),
    pytest.param(XFF, P, xff(f"::ffff:{C}"), C, id="xff-mapped-unmapped"),
    pytest.param(XFF, P, xff(f"[::FFFF:{C}]:80"), C, id="xff-mapped-bracketed"),
    pytest.param(XFF, P, xff(f"{C}, ::ffff:10.0.0.2"), C, id="xff-mapped-proxy-skipped"),
    pytest.param(XFF, P, xff("::ffff:010.0.0.2"), INVALID, id="xff-mapped-leading-zero"),
    # -- size limits ----------------------------------------------------------------------
    pytest.param(XFF, P, xff("1" * 200), INVALID, id="xff-oversized-element"),
    pytest.param(XFF, P, xff(f"{'1' * 200}, {C}"), C, id="xff-oversized-left-not-examined"),
    pytest.param(XFF, P, xff(", ".join(["6.6.6.6"] * 19 + [C])), C, id="xff-20-elements-ok"),
    pytest.param(XFF, P, xff(", ".join([C] * 21)), INVALID, id="xff-21-elements"),
    pytest.param(XFF, P, xff(*([C] * 21)), INVALID, id="xff-21-lines"),
    pytest.param(XFF, P, xff(" " * 4100 + C), INVALID, id="xff-over-4k"),
    pytest.param(XFF, P, xff(" " * 3000, " " * 1100 + C), INVALID, id="xff-over-4k-total"),
    # -- all hops trusted ---------------------------------------------------------------
    pytest.param(XFF, P, xff("10.0.0.5, 192.0.2.1"), INVALID, id="xff-all-trusted-reject"),
    pytest.param(XFF_LEFTMOST, P, xff("10.0.0.5, 192.0.2.1"), "10.0.0.5", id="xff-leftmost"),
    pytest.param(XFF_LEFTMOST, P, xff("::1"), "::1", id="xff-leftmost-single"),
    pytest.param(XFF_LEFTMOST, P, xff(f"6.6.6.6, {C}"), C, id="xff-leftmost-not-used-if-client"),
    pytest.param(XFF_LEFTMOST, P, xff("junk, 10.0.0.5"), INVALID, id="xff-leftmost-malformed"),
    # -- untrusted peers: every header type is ignored ----------------------------------
    pytest.param(XFF, U, xff(C), U, id="untrusted-xff-ignored"),
    pytest.param(XFF, U, xff("010.1.1.1, \x00, ,"), U, id="untrusted-garbage-xff-ignored"),
    pytest.param(FWD, U, fwd(f"for={C}"), U, id="untrusted-forwarded-ignored"),
    pytest.param(FWD, U, fwd('for="unterminated'), U, id="untrusted-bad-forwarded-ignored"),
    pytest.param(XRI, U, hdr("x-real-ip", C), U, id="untrusted-x-real-ip-ignored"),
    pytest.param(XRI, U, {}, U, id="untrusted-x-real-ip-missing-fine"),
    pytest.param(CUSTOM, U, hdr("x-client-ip", C), U, id="untrusted-custom-header-ignored"),
    pytest.param(CF, U, hdr("cf-connecting-ip", C), U, id="untrusted-cf-connecting-ip-ignored"),
    pytest.param(ClientIPConfig(), P, xff(C), P, id="default-config-trusts-no-one"),
    # -- source peer ----------------------------------------------------------------------
    pytest.param(PEER_ONLY, P, xff(C), P, id="peer-source-ignores-xff"),
    pytest.param(PEER_ONLY, U, xff("junk"), U, id="peer-source-ignores-junk"),
    # -- the peer string itself -----------------------------------------------------------
    pytest.param(XFF, "[::1]", xff(C), C, id="peer-bracketed-loopback-trusted"),
    pytest.param(XFF, "::1", xff(C), C, id="peer-v6-loopback-trusted"),
    pytest.param(XFF, "::ffff:10.0.0.1", xff(C), C, id="peer-mapped-trusted"),
    pytest.param(XFF, "fe80::1%eth0", xff(C), "fe80::1", id="peer-zone-untrusted"),
    pytest.param(XFF, "2001:DB8:FFFF::7", xff(C), C, id="peer-v6-upper-trusted"),
    pytest.param(XFF, "testclient", xff(C), INVALID, id="peer-not-an-address"),
    pytest.param(XFF, "", {}, INVALID, id="peer-empty"),
    # -- Unix-socket peers --------------------------------------------------------------
    pytest.param(XFF, None, xff(C), None, id="unix-untrusted-headers-ignored"),
    pytest.param(UNIX, None, xff(f"6.6.6.6, {C}"), C, id="unix-trusted-xff"),
    pytest.param(UNIX, None, {}, None, id="unix-trusted-no-xff"),
    pytest.param(UNIX, None, xff("10.0.0.5"), INVALID, id="unix-trusted-all-trusted"),
    pytest.param(UNIX, None, xff("010.0.0.5"), INVALID, id="unix-trusted-malformed"),
    pytest.param(UNIX_XRI, None, hdr("x-real-ip", C), C, id="unix-trusted-x-real-ip"),
    pytest.param(UNIX_XRI, None, {}, INVALID, id="unix-trusted-x-real-ip-missing"),
    pytest.param(UNIX_PEER, None, xff(C), None, id="unix-peer-source"),
    # -- Forwarded (RFC 7239) -----------------------------------------------------------
    pytest.param(FWD, P, fwd(f"for={C}"), C, id="fwd-basic"),
    pytest.param(FWD, P, fwd(f"for=6.6.6.6, for={C}"), C, id="fwd-spoofed-leftmost"),
    pytest.param(FWD, P, fwd(f"FOR={C};PROTO=https"), C, id="fwd-case-insensitive"),
    pytest.param(FWD, P, fwd(f"proto=https;For={C};by=10.0.0.1"), C, id="fwd-for-not-first"),
    pytest.param(FWD, P, fwd('for="[2001:db8::1]:4711"'), "2001:db8::1", id="fwd-quoted-v6"),
    pytest.param(FWD, P, fwd(f'for="{C}:80"'), C, id="fwd-quoted-v4-port"),
    pytest.param(FWD, P, fwd(f'for="{C}"'), C, id="fwd-quoted-v4"),
    pytest.param(FWD, P, fwd(f'for="{C}:_abc"'), C, id="fwd-obfuscated-port"),
    pytest.param(FWD, P, fwd("for=[2001:db8::1]"), INVALID, id="fwd-v6-unquoted"),
    pytest.param(FWD, P, fwd('for="2001:db8::1"'), INVALID, id="fwd-v6-unbracketed"),
    pytest.param(FWD, P, fwd(f"for={C}:80"), INVALID, id="fwd-port-unquoted"),
    pytest.param(FWD, P, fwd(f'for="6.6.6.6, {C}"'), INVALID, id="fwd-comma-in-quoted-for"),
    pytest.param(FWD, P, fwd(f'for={C};host="a,b;c"'), C, id="fwd-comma-in-other-param"),
    pytest.param(FWD, P, fwd(f'for="{C}'), INVALID, id="fwd-unterminated-quote"),
    pytest.param(FWD, P, fwd(f'for="6.6.6.6, for={C}'), INVALID, id="fwd-unterminated-left"),
    pytest.param(FWD, P, fwd(f'for="{C}\\"'), INVALID, id="fwd-escaped-closing-quote"),
    pytest.param(FWD, P, fwd('for="203.0.113.\\9"'), C, id="fwd-quoted-pair-unescaped"),
    pytest.param(FWD, P, fwd(f'for="\\"{C}"'), INVALID, id="fwd-escaped-quote-in-value"),
    pytest.param(FWD, P, fwd("for=unknown"), INVALID, id="fwd-unknown-at-boundary"),
    pytest.param(FWD, P, fwd('for="UNKNOWN"'), INVALID, id="fwd-unknown-quoted-upper"),
    pytest.param(FWD, P, fwd(f"for=unknown, for={C}"), C, id="fwd-unknown-left-ignored"),
    pytest.param(FWD, P, fwd("for=_hidden"), INVALID, id="fwd-obfuscated-at-boundary"),
    pytest.param(FWD, P, fwd("for=_hidden, for=10.0.0.5"), INVALID, id="fwd-obfuscated-behind"),
    pytest.param(FWD, P, fwd(f"for=_hidden, for={C}"), C, id="fwd-obfuscated-left-ignored"),
    pytest.param(FWD, P, fwd("proto=https;by=10.0.0.1"), INVALID, id="fwd-no-for"),
    pytest.param(FWD, P, fwd(f"for=6.6.6.6;for={C}"), INVALID, id="fwd-duplicate-for"),
    pytest.param(FWD, P, fwd(f"for = {C}"), INVALID, id="fwd-space-around-equals"),
    pytest.param(FWD, P, fwd(f"for={C}; proto=https"), C, id="fwd-ows-around-semicolon"),
    pytest.param(FWD, P, fwd(f"for={C};;proto=https;"), C, id="fwd-empty-pairs-allowed"),
    pytest.param(FWD, P, fwd(f"for={C},"), INVALID, id="fwd-empty-element"),
    pytest.param(FWD, P, fwd(f'for="{C}:0"'), INVALID, id="fwd-port-zero"),
    pytest.param(FWD, P, fwd('for="010.1.1.1"'), INVALID, id="fwd-leading-zero"),
    pytest.param(FWD, P, fwd(f"for={C}\u00e9"), INVALID, id="fwd-obs-text"),
    pytest.param(FWD, P, fwd("for=6.6.6.6", f"for={C}, for=10.0.0.5"), C, id="fwd-lines-merged"),
    pytest.param(FWD, P, xff(C), P, id="fwd-xff-ignored"),
    pytest.param(FWD, P, fwd('for="[::ffff:203.0.113.9]"'), C, id="fwd-mapped"),
    pytest.param(FWD, P, fwd('for="[fe80::1%25eth0]"'), "fe80::1", id="fwd-zone"),
    pytest.param(FWD, P, fwd('for="[2001:db8:ffff::1]", for=10.0.0.5'), INVALID, id="fwd-all"),
    pytest.param(
        FWD_LEFTMOST,
        P,
        fwd('for=10.0.0.5, for="[2001:db8:ffff::1]"'),
        "10.0.0.5",
        id="fwd-all-trusted-leftmost",
    ),
    pytest.param(
        FWD, P, fwd(", ".join([f"for={C}"] * (MAX_ELEMENTS + 1))), INVALID, id="fwd-21-elements"
    ),
    pytest.param(FWD, P, fwd(f'for="{"1" * 200}"'), INVALID, id="fwd-oversized-node"),
    # -- single-value headers -----------------------------------------------------------
    pytest.param(XRI, P, hdr("x-real-ip", C), C, id="xri-basic"),
    pytest.param(XRI, P, hdr("x-real-ip", f" {C}\t"), C, id="xri-ows"),
    pytest.param(XRI, P, hdr("x-real-ip", f"{C}:8080"), C, id="xri-port"),
    pytest.param(XRI, P, hdr("x-real-ip", "[2001:db8::1]:8080"), "2001:db8::1", id="xri-v6"),
    pytest.param(XRI, P, {}, INVALID, id="xri-missing"),
    pytest.param(XRI, P, hdr("x-real-ip"), INVALID, id="xri-no-lines"),
    pytest.param(XRI, P, xff(C), INVALID, id="xri-xff-is-no-fallback"),
    pytest.param(XRI, P, hdr("x-real-ip", C, "6.6.6.6"), INVALID, id="xri-two-lines"),
    pytest.param(XRI, P, hdr("x-real-ip", C, C), INVALID, id="xri-two-identical-lines"),
    pytest.param(XRI, P, hdr("x-real-ip", f"6.6.6.6, {C}"), INVALID, id="xri-comma-list"),
    pytest.param(XRI, P, hdr("x-real-ip", ""), INVALID, id="xri-empty"),
    pytest.param(XRI, P, hdr("x-real-ip", "010.1.1.1"), INVALID, id="xri-leading-zero"),
    pytest.param(XRI, P, hdr("x-real-ip", "0.0.0.0"), INVALID, id="xri-unspecified"),  # noqa: S104
    pytest.param(XRI, P, hdr("x-real-ip", "10.0.0.7"), "10.0.0.7", id="xri-internal-client"),
    pytest.param(XRI, P, hdr("x-real-ip", "1" * 5000), INVALID, id="xri-over-4k"),
    pytest.param(CUSTOM, P, hdr("x-client-ip", C), C, id="custom-header"),
    pytest.param(CUSTOM, P, hdr("x-real-ip", C), INVALID, id="custom-header-missing"),
    # -- Cloudflare ---------------------------------------------------------------------
    pytest.param(CF, CF_PEER, hdr("cf-connecting-ip", C), C, id="cf-basic"),
    pytest.param(
        CF, "2606:4700::1", hdr("cf-connecting-ip", "2001:db8::1"), "2001:db8::1", id="cf-v6"
    ),
    pytest.param(CF, f"::ffff:{CF_PEER}", hdr("cf-connecting-ip", C), C, id="cf-mapped-peer"),
    pytest.param(CF, U, hdr("cf-connecting-ip", "6.6.6.6"), U, id="cf-non-cloudflare-peer"),
    pytest.param(CF, P, hdr("cf-connecting-ip", "6.6.6.6"), P, id="cf-private-peer-untrusted"),
    pytest.param(CF, CF_PEER, {}, INVALID, id="cf-missing"),
    pytest.param(CF, CF_PEER, xff(C), INVALID, id="cf-xff-is-no-fallback"),
    pytest.param(
        CF, CF_PEER, hdr("cf-connecting-ip", "2a06:98c0:3600::103"), INVALID, id="cf-workers"
    ),
    pytest.param(CF, CF_PEER, hdr("cf-connecting-ip", "240.1.2.3"), INVALID, id="cf-pseudo-v4"),
    pytest.param(
        CF, CF_PEER, hdr("cf-connecting-ip", "255.255.255.255"), INVALID, id="cf-pseudo-top"
    ),
    pytest.param(
        CF, CF_PEER, hdr("cf-connecting-ip", f"6.6.6.6, {C}"), INVALID, id="cf-comma-list"
    ),
    pytest.param(XFF_BEHIND_CF, CF_PEER, xff(f"6.6.6.6, {C}"), C, id="cf-xff-basic"),
    pytest.param(
        XFF_BEHIND_CF, P, xff(f"6.6.6.6, {C}, {CF_PEER}"), C, id="cf-xff-lb-behind-cloudflare"
    ),
    pytest.param(XFF_BEHIND_CF, CF_PEER, xff("6.6.6.6, 240.0.0.1"), INVALID, id="cf-xff-pseudo"),
    pytest.param(
        XFF_BEHIND_CF,
        CF_PEER,
        xff("6.6.6.6, 2a06:98c0:3600::103"),
        INVALID,
        id="cf-xff-workers-not-skipped-as-cloudflare",
    ),
    pytest.param(XFF, P, xff("240.0.0.1"), "240.0.0.1", id="non-cf-deployment-240-is-an-address"),
]


@pytest.mark.parametrize(("config", "peer", "headers", "expected"), CASES)
def test_resolve(
    config: ClientIPConfig,
    peer: str | None,
    headers: dict[str, list[str]],
    expected: str | None,
) -> None:
    resolver = ClientIPResolver(config)
    if expected is INVALID:
        with pytest.raises(ProxyHeadersInvalid) as info:
            resolver.resolve(peer, headers)
        assert info.value.detail
        assert str(info.value) == info.value.detail
        assert len(info.value.detail) < 400  # hostile input is truncated, never echoed whole
    else:
        assert resolver.resolve(peer, headers) == expected


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def test_resolve_address_returns_ip_objects() -> None:
    resolver = ClientIPResolver(XFF)
    addr = resolver.resolve_address(P, xff(f"::ffff:{C}"))
    assert addr == ipaddress.IPv4Address(C)
    assert resolver.resolve_address(None, {}) is None


@pytest.mark.parametrize(
    ("config", "headers", "detail_part"),
    [
        pytest.param(XFF, xff(f"6.6.6.6, 010.1.1.1, {C}, 10.0.0.2"), None, id="client-found"),
        pytest.param(XFF, xff(f"{C}, 010.1.1.1, 10.0.0.2"), "element 2 of 3", id="position"),
        pytest.param(XFF, xff("010.1.1.1"), "dotted-quad", id="ambiguous-v4"),
        pytest.param(XFF, xff(f"{C}:0"), "port", id="port"),
        pytest.param(XFF, xff("10.0.0.5"), "every hop is a trusted proxy", id="all-trusted"),
        pytest.param(XFF, xff(", ".join([C] * 21)), "21 elements", id="too-many"),
        pytest.param(FWD, fwd("for=_x"), "obfuscated", id="obfuscated"),
        pytest.param(FWD, fwd("for=unknown"), "unknown", id="unknown"),
        pytest.param(FWD, fwd('for="1'), "unterminated", id="unterminated"),
        pytest.param(FWD, fwd('for="2001:db8::1"'), "bracketed", id="unbracketed-v6"),
        pytest.param(XRI, {}, "missing", id="missing"),
        pytest.param(CF, hdr("cf-connecting-ip", "240.0.0.9"), "placeholder", id="cf-pseudo"),
    ],
)
def test_detail_explains(
    config: ClientIPConfig, headers: dict[str, list[str]], detail_part: str | None
) -> None:
    peer = CF_PEER if config is CF else P
    resolver = ClientIPResolver(config)
    if detail_part is None:
        assert resolver.resolve(peer, headers) == C
        return
    with pytest.raises(ProxyHeadersInvalid, match=detail_part):
        resolver.resolve(peer, headers)


def test_peer_detail_names_the_peer() -> None:
    with pytest.raises(ProxyHeadersInvalid, match="socket peer 'testclient'"):
        ClientIPResolver(XFF).resolve("testclient", {})


def test_oversized_detail_is_truncated() -> None:
    with pytest.raises(ProxyHeadersInvalid) as info:
        ClientIPResolver(XRI).resolve(P, hdr("x-real-ip", "a" * 3000))
    assert len(info.value.detail) < 200


# --- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"source": "X-Forwarded-For"}, ValueError, "unknown source", id="case"),
        pytest.param({"source": "true-client-ip"}, ValueError, "header:<name>", id="bare-name"),
        pytest.param({"source": "header:"}, ValueError, "valid header name", id="empty-header"),
        pytest.param({"source": "header:x y"}, ValueError, "valid header name", id="space"),
        pytest.param({"source": "header:forwarded"}, ValueError, "use 'forwarded'", id="fwd"),
        pytest.param({"all_hops_trusted": "first"}, ValueError, "all_hops_trusted", id="policy"),
        pytest.param(
            {"trusted_proxies": ["10.0.0.0/8"]}, TypeError, "must be an IPSet", id="list-proxies"
        ),
        pytest.param({"source": None}, TypeError, "client_ip: expected str", id="source-none"),
        pytest.param({"trust_unix_socket": "yes"}, TypeError, "expected bool", id="unix-str"),
        pytest.param({"all_hops_trusted": 1}, TypeError, "expected str", id="policy-int"),
    ],
)
def test_config_validation(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ClientIPConfig(**kwargs)


@pytest.mark.parametrize(
    "source",
    [
        "peer",
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "cf-connecting-ip",
        "header:True-Client-IP",
        "header:x-forwarded-for",
    ],
)
def test_config_accepts_every_documented_source(source: str) -> None:
    ClientIPResolver(ClientIPConfig(source=source))


def test_config_defaults() -> None:
    config = ClientIPConfig()
    assert config.source == "x-forwarded-for"
    assert not config.trusted_proxies
    assert config.all_hops_trusted == "reject"
    assert config.trust_unix_socket is False


def test_header_source_is_case_insensitive() -> None:
    resolver = ClientIPResolver(
        ClientIPConfig(source="header:True-Client-IP", trusted_proxies=TRUSTED)
    )
    assert resolver.resolve(P, hdr("true-client-ip", C)) == C


# --- fuzzing: hostile input never raises anything but ProxyHeadersInvalid -------------

# Pieces that recombine into near-valid headers, so the fuzzer reaches deep parser states.
_PIECES = [
    *string.hexdigits,
    *'.:[]%,;="\\ \t_-xX',
    "for=",
    "FOR=",
    "unknown",
    "::ffff:",
    "10.0.0.1",
    C,
    "\u0660",
    "\uff11",
    "\x00",
    "\u00e9",
]
_HOSTILE = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@pytest.mark.parametrize(
    "config",
    [XFF, XFF_LEFTMOST, FWD, XRI, CF, XFF_BEHIND_CF],
    ids=["xff", "xff-leftmost", "forwarded", "x-real-ip", "cf", "xff-behind-cf"],
)
@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_HOSTILE, max_size=4), peer=st.sampled_from([P, CF_PEER, "::1", None]))
def test_hostile_headers_only_raise_proxy_headers_invalid(
    config: ClientIPConfig, lines: list[str], peer: str | None
) -> None:
    config = ClientIPConfig(
        source=config.source,
        trusted_proxies=config.trusted_proxies,
        all_hops_trusted=config.all_hops_trusted,
        trust_unix_socket=True,
    )
    name = "x-forwarded-for" if config.source.startswith("x-forwarded") else config.source
    try:
        result = ClientIPResolver(config).resolve(peer, {name: lines})
    except ProxyHeadersInvalid:
        return
    if result is not None:
        # Whatever comes out is a canonical address string.
        assert str(ipaddress.ip_address(result)) == result


@settings(max_examples=300, deadline=None)
@given(peer=st.text(max_size=50))
def test_hostile_peer_only_raises_proxy_headers_invalid(peer: str) -> None:
    try:
        result = ClientIPResolver(XFF).resolve(peer, {})
    except ProxyHeadersInvalid:
        return
    assert result is not None
    assert str(ipaddress.ip_address(result)) == result


# -- a peer some server took from X-Forwarded-For / Forwarded ---------------------------------


@pytest.mark.parametrize("config", [XFF, XRI, FWD, PEER_ONLY], ids=["xff", "xri", "fwd", "peer"])
@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        # uvicorn's proxy_headers: the client becomes an element of X-Forwarded-For.
        (C, xff(C)),
        (C, xff(f"6.6.6.6, {C}")),
        (C, xff(f"{C}:4711")),  # uvicorn keeps the host and the port apart
        (C, xff("6.6.6.6", C)),  # a second header line
        ("2001:db8::9", xff("[2001:DB8:0::9]:80")),  # another spelling of the same address
        ("::ffff:203.0.113.9", xff(C)),  # mapped IPv6 peer: unmapped first
        # Any server reading RFC 7239 Forwarded.
        (C, fwd(f"for={C};proto=https")),
        ("2001:db8::9", fwd('for="[2001:db8::9]:443"')),
        # Whitespace uvicorn and ProxyFix strip (str.strip()) and this module's parser
        # does not: a header value is latin-1, and "\xa0" (NBSP) is valid obs-text.
        (C, xff(f"\xa0{C}")),
        (C, xff(f"\x85{C}\x0c")),
        (C, xff(f" {C}:80\x1f")),
        (C, fwd(f'for="\xa0{C}"')),
        (C, fwd(f"FOR = {C}")),
        # Garbage elsewhere in the header does not hide the match.
        (C, xff(f"unknown, 010.1.1.1, {C}")),
        (C, {**fwd('for="unterminated'), **xff(C)}),
    ],
)
def test_untrusted_peer_named_in_a_forwarding_header_is_refused(
    config: ClientIPConfig, peer: str, headers: dict[str, list[str]]
) -> None:
    with pytest.raises(ProxyHeadersInvalid, match="--no-proxy-headers") as info:
        ClientIPResolver(config).resolve(peer, headers)
    assert "client can write" in info.value.detail


@pytest.mark.parametrize("config", [XFF, XRI, FWD, PEER_ONLY], ids=["xff", "xri", "fwd", "peer"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        xff("6.6.6.6"),
        xff("1.203.0.113.99"),  # the peer's text inside another element: no match
        xff(f"{C}0"),
        xff(f"x{C}"),
        fwd(f"for=6.6.6.6;by={C}"),  # by= is the proxy, not a client claim
        {"x-real-ip": [C]},  # not a header servers rewrite the peer from
    ],
)
def test_untrusted_peer_not_named_is_the_client(
    config: ClientIPConfig, headers: dict[str, list[str]]
) -> None:
    assert ClientIPResolver(config).resolve(C, headers) == C


def test_trusted_peer_named_in_x_forwarded_for_is_not_refused() -> None:
    # Two proxies on one host (nginx -> varnish, both loopback): the inner one's address
    # is in the chain and it is also the peer. Trusted peers are never checked this way.
    assert ClientIPResolver(XFF).resolve("127.0.0.1", xff(f"{C}, 127.0.0.1")) == C


def test_oversized_forwarding_header_from_an_untrusted_peer_is_refused() -> None:
    # Padding the header must not hide the element the server took the peer from.
    headers = xff("1.1.1.1, " * 500 + C)
    with pytest.raises(ProxyHeadersInvalid, match="more than 4096"):
        ClientIPResolver(XRI).resolve(C, headers)
