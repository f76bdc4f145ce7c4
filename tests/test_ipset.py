"""Tests for webhook_guard.ipset: merging, lookups, named sets, and a brute-force oracle."""

from __future__ import annotations

import ipaddress
import pickle
import random

import pytest

from webhook_guard.ipset import NAMED_SETS, IPSet, resolve_named

# --- construction and merging ----------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "expected_networks"),
    [
        pytest.param([], [], id="empty"),
        pytest.param(["10.0.0.0/8"], ["10.0.0.0/8"], id="single"),
        pytest.param(["10.0.0.0/8", "10.1.0.0/16"], ["10.0.0.0/8"], id="nested"),
        pytest.param(["10.0.0.0/9", "10.128.0.0/9"], ["10.0.0.0/8"], id="adjacent-halves"),
        pytest.param(["10.0.0.0/8", "11.0.0.0/8"], ["10.0.0.0/7"], id="adjacent-blocks"),
        pytest.param(
            ["192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/26"], ["192.0.2.0/24"], id="dupes"
        ),
        pytest.param(["192.0.2.7"], ["192.0.2.7/32"], id="bare-v4-address"),
        pytest.param(["2001:db8::1"], ["2001:db8::1/128"], id="bare-v6-address"),
        pytest.param(["2001:db8::/33", "2001:db8:8000::/33"], ["2001:db8::/32"], id="v6-adjacent"),
        pytest.param(
            ["2001:db8::/32", "10.0.0.0/8"], ["10.0.0.0/8", "2001:db8::/32"], id="both-families"
        ),
        pytest.param(["::ffff:10.0.0.0/104"], ["10.0.0.0/8"], id="mapped-entry-stored-as-v4"),
        pytest.param(["0.0.0.0/0", "10.0.0.0/8"], ["0.0.0.0/0"], id="everything-v4"),
        pytest.param(["2001:DB8::/32"], ["2001:db8::/32"], id="upper-case-hex"),
    ],
)
def test_construction_merges(entries: list[str], expected_networks: list[str]) -> None:
    ipset = IPSet(entries)
    assert [str(n) for n in ipset.networks()] == expected_networks


def test_len_counts_merged_ranges_not_entries() -> None:
    # 10/8 + 11/8 merge into one range; 192.0.2.0/24 and 2001:db8::/32 stay separate.
    ipset = IPSet(["10.0.0.0/8", "11.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"])
    assert len(ipset) == 3
    assert bool(ipset)
    assert not IPSet()
    assert len(IPSet()) == 0


def test_len_of_non_power_of_two_merge_is_one_range() -> None:
    # 10.0.0.0 - 12.255.255.255 is a single range even though it needs two CIDRs.
    ipset = IPSet(["10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/8"])
    assert len(ipset) == 1
    assert [str(n) for n in ipset.networks()] == ["10.0.0.0/7", "12.0.0.0/8"]


@pytest.mark.parametrize(
    ("entry", "message_part"),
    [
        pytest.param("10.0.0.1/8", "host bits set (did you mean '10.0.0.0/8'?)", id="host-bits"),
        pytest.param("2001:db8::1/32", "host bits set", id="host-bits-v6"),
        pytest.param("10.0.0.0/33", "'10.0.0.0/33'", id="prefix-too-long"),
        pytest.param("10.0.0.0/08", "leading zeros", id="prefix-leading-zero"),
        pytest.param("010.0.0.0/8", "'010.0.0.0/8'", id="octet-leading-zero"),
        pytest.param("10.0.0/8", "'10.0.0/8'", id="short-v4"),
        pytest.param("", "''", id="empty"),
        pytest.param(" 10.0.0.0/8", "' 10.0.0.0/8'", id="leading-space"),
        pytest.param("10.0.0.0/8 ", "'10.0.0.0/8 '", id="trailing-space"),
        pytest.param("fe80::%eth0/64", "zone ids", id="zone-id"),
        pytest.param("\uff110.0.0.0/8", "'\uff110.0.0.0/8'", id="fullwidth-digit"),
        pytest.param("example.com", "'example.com'", id="hostname"),
        pytest.param("10.0.0.0/8,11.0.0.0/8", "'10.0.0.0/8,11.0.0.0/8'", id="comma-list"),
        pytest.param("2001:db8:::/32", "'2001:db8:::/32'", id="bad-v6"),
        pytest.param("10.0.0.0/", "'10.0.0.0/'", id="empty-prefix"),
    ],
)
def test_malformed_entry_names_the_entry(entry: str, message_part: str) -> None:
    with pytest.raises(ValueError, match="invalid CIDR") as info:
        IPSet(["192.0.2.0/24", entry])
    assert message_part in str(info.value)
    assert repr(entry) in str(info.value)


def test_non_string_entry_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        IPSet([ipaddress.ip_network("10.0.0.0/8")])  # type: ignore[list-item]


def test_single_string_instead_of_iterable_is_rejected() -> None:
    with pytest.raises(TypeError, match="iterable"):
        IPSet("10.0.0.0/8")


# --- membership ------------------------------------------------------------------------

_MIXED = IPSet(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32", "::1/128"])


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        pytest.param("10.0.0.0", True, id="v4-first"),
        pytest.param("10.255.255.255", True, id="v4-last"),
        pytest.param("9.255.255.255", False, id="v4-just-below"),
        pytest.param("11.0.0.0", False, id="v4-just-above"),
        pytest.param("192.0.2.77", True, id="v4-second-range"),
        pytest.param("192.0.3.0", False, id="v4-after-second-range"),
        pytest.param("0.0.0.0", False, id="v4-zero"),  # noqa: S104
        pytest.param("255.255.255.255", False, id="v4-max"),
        pytest.param("2001:db8::", True, id="v6-first"),
        pytest.param("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", True, id="v6-last"),
        pytest.param("2001:db9::", False, id="v6-just-above"),
        pytest.param("2001:DB8::1", True, id="v6-upper-case"),
        pytest.param("::1", True, id="v6-loopback"),
        pytest.param("::2", False, id="v6-next-to-loopback"),
        pytest.param("::ffff:10.1.2.3", True, id="mapped-v4-in"),
        pytest.param("::ffff:11.1.2.3", False, id="mapped-v4-out"),
        pytest.param("::ffff:a01:203", True, id="mapped-hex-form"),
        pytest.param("::10.1.2.3", False, id="compat-form-is-not-mapped"),
        pytest.param("2001:db8::1%eth0", True, id="zone-id-ignored"),
        pytest.param("not an address", False, id="garbage"),
        pytest.param("", False, id="empty"),
        pytest.param("010.0.0.1", False, id="leading-zero"),
        pytest.param("\uff110.0.0.1", False, id="fullwidth-digit"),
        pytest.param("10.0.0.1 ", False, id="trailing-space"),
        pytest.param("10.0.0.0/8", False, id="cidr-is-not-an-address"),
        pytest.param("167772161", False, id="integer-form"),
        pytest.param("1" * 10_000, False, id="huge-string"),
    ],
)
def test_contains_strings(addr: str, expected: bool) -> None:
    assert (addr in _MIXED) is expected
    assert _MIXED.contains(addr) is expected


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        pytest.param(ipaddress.IPv4Address("10.9.8.7"), True, id="v4-object"),
        pytest.param(ipaddress.IPv4Address("11.9.8.7"), False, id="v4-object-out"),
        pytest.param(ipaddress.IPv6Address("2001:db8::5"), True, id="v6-object"),
        pytest.param(ipaddress.IPv6Address("::ffff:10.0.0.1"), True, id="mapped-object"),
        pytest.param(ipaddress.IPv6Address("::ffff:192.0.3.1"), False, id="mapped-object-out"),
    ],
)
def test_contains_address_objects(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address, expected: bool
) -> None:
    assert (addr in _MIXED) is expected


@pytest.mark.parametrize(
    "value",
    [None, 167772161, b"10.0.0.1", ipaddress.ip_network("10.0.0.0/8"), 10.5, object()],
    ids=["none", "int", "bytes", "network", "float", "object"],
)
def test_contains_other_types_is_false_never_raises(value: object) -> None:
    assert (value in _MIXED) is False


def test_mapped_entry_matches_plain_v4_lookup() -> None:
    ipset = IPSet(["::ffff:192.0.2.0/120"])
    assert "192.0.2.9" in ipset
    assert "::ffff:192.0.2.9" in ipset
    assert "192.0.3.9" not in ipset


def test_v4_entries_do_not_match_v6_addresses_with_the_same_integer() -> None:
    ipset = IPSet(["0.0.0.0/8"])
    assert "::1" not in ipset  # integer 1 in the other family
    assert "0.0.0.1" in ipset


# --- overlaps, union, equality ---------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(["10.0.0.0/8"], ["10.1.2.3"], True, id="contains-address"),
        pytest.param(["10.0.0.0/8"], ["11.0.0.0/8"], False, id="adjacent-v4"),
        pytest.param(["10.0.0.0/8"], ["0.0.0.0/0"], True, id="everything"),
        pytest.param(["10.0.0.0/8"], ["2001:db8::/32"], False, id="different-families"),
        pytest.param(["10.0.0.0/8"], ["::ffff:10.0.0.0/120"], True, id="mapped-overlap"),
        pytest.param(["2001:db8::/32"], ["2001:db8:1::/48"], True, id="v6-nested"),
        pytest.param(["2001:db8::/32"], ["2001:db9::/32"], False, id="v6-adjacent"),
        pytest.param([], ["10.0.0.0/8"], False, id="empty-left"),
        pytest.param([], [], False, id="both-empty"),
        pytest.param(
            ["1.0.0.0/8", "3.0.0.0/8", "5.0.0.0/8"],
            ["2.0.0.0/8", "4.0.0.0/8", "5.255.255.255"],
            True,
            id="interleaved-last-hits",
        ),
        pytest.param(
            ["1.0.0.0/8", "3.0.0.0/8", "5.0.0.0/8"],
            ["2.0.0.0/8", "4.0.0.0/8", "6.0.0.0/8"],
            False,
            id="interleaved-miss",
        ),
    ],
)
def test_overlaps(left: list[str], right: list[str], expected: bool) -> None:
    a, b = IPSet(left), IPSet(right)
    assert a.overlaps(b) is expected
    assert b.overlaps(a) is expected


def test_union_merges_and_leaves_operands_alone() -> None:
    a = IPSet(["10.0.0.0/9"])
    b = IPSet(["10.128.0.0/9", "2001:db8::/32"])
    c = IPSet(["192.0.2.0/24"])
    merged = a.union(b, c)
    assert [str(n) for n in merged.networks()] == ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]
    assert a | b == IPSet(["10.0.0.0/8", "2001:db8::/32"])
    assert [str(n) for n in a.networks()] == ["10.0.0.0/9"]
    assert a.union() == a


def test_equality_and_hash_follow_content_not_spelling() -> None:
    a = IPSet(["10.0.0.0/9", "10.128.0.0/9"])
    b = IPSet(["10.0.0.0/8"])
    assert a == b
    assert hash(a) == hash(b)
    assert a != IPSet(["10.0.0.0/9"])
    assert a != "10.0.0.0/8"
    assert len({a, b}) == 1


def test_immutable() -> None:
    ipset = IPSet(["10.0.0.0/8"])
    with pytest.raises(AttributeError, match="immutable"):
        ipset._v4_starts = ()
    with pytest.raises(AttributeError, match="immutable"):
        ipset.anything = 1
    with pytest.raises(AttributeError, match="immutable"):
        del ipset._v4_starts


def test_pickle_round_trip() -> None:
    ipset = IPSet(["10.0.0.0/8", "2001:db8::/32"])
    assert pickle.loads(pickle.dumps(ipset)) == ipset  # noqa: S301 - our own data


def test_repr_shows_counts_not_prefixes() -> None:
    ipset = IPSet([f"10.{i}.0.0/16" for i in range(0, 256, 2)] + ["2001:db8::/32"])
    assert repr(ipset) == "IPSet(<128 IPv4, 1 IPv6 ranges>)"
    assert repr(IPSet()) == "IPSet(<0 IPv4, 0 IPv6 ranges>)"


# --- named sets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        pytest.param("loopback", ["127.0.0.1", "127.255.255.254", "::1"], ["::2", "10.0.0.1"]),
        pytest.param(
            "private",
            [
                "10.1.1.1",
                "172.16.0.1",
                "172.31.255.255",
                "192.168.1.1",
                "100.64.0.1",
                "100.127.255.255",
                "169.254.169.254",
                "fd00::1",
                "fc00::1",
                "fe80::1",
                "::ffff:192.168.1.1",
            ],
            ["172.32.0.1", "100.128.0.1", "8.8.8.8", "127.0.0.1", "::1", "2001:db8::1"],
        ),
        pytest.param(
            "cloudflare",
            ["173.245.48.1", "104.16.0.1", "104.27.255.255", "162.159.1.1", "2606:4700::1"],
            ["104.28.0.1", "8.8.8.8", "10.0.0.1", "2001:db8::1"],
        ),
    ],
)
def test_named_sets(name: str, inside: list[str], outside: list[str]) -> None:
    ipset = resolve_named(name)
    assert ipset is NAMED_SETS[name]
    for addr in inside:
        assert addr in ipset, addr
    for addr in outside:
        assert addr not in ipset, addr


def test_cloudflare_published_list_snapshot() -> None:
    # 15 IPv4 and 7 IPv6 prefixes at https://www.cloudflare.com/ips-v4 and /ips-v6; the v4
    # ones 104.16.0.0/13 and 104.24.0.0/14 merge into one range.
    cloudflare = NAMED_SETS["cloudflare"]
    assert len(list(cloudflare.networks())) == 22
    assert len(cloudflare) == 21


def test_named_sets_do_not_overlap_each_other() -> None:
    names = sorted(NAMED_SETS)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not NAMED_SETS[a].overlaps(NAMED_SETS[b]), (a, b)


@pytest.mark.parametrize("name", ["Loopback", "public", "", "cloudflare "])
def test_resolve_named_unknown(name: str) -> None:
    with pytest.raises(ValueError, match="known: cloudflare, loopback, private"):
        resolve_named(name)


def test_named_sets_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        NAMED_SETS["mine"] = IPSet()  # type: ignore[index]


# --- property test against a brute-force oracle ----------------------------------------


def _random_network(
    rng: random.Random,
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if rng.random() < 0.5:
        # Short prefixes in a small space so that ranges overlap and nest often.
        return ipaddress.IPv4Network((rng.getrandbits(8) << 24, rng.randint(4, 32)), strict=False)
    return ipaddress.IPv6Network(
        ((0x2001 << 112) | (rng.getrandbits(16) << 96), rng.randint(8, 128)), strict=False
    )


def _random_probe(
    rng: random.Random, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    choice = rng.random()
    if nets and choice < 0.4:
        # Boundary addresses, where off-by-one errors live.
        net = rng.choice(nets)
        edge = rng.choice([int(net.network_address), int(net.broadcast_address)]) + rng.choice(
            [-1, 0, 1]
        )
        bits = 32 if net.version == 4 else 128
        edge %= 1 << bits
        return ipaddress.IPv4Address(edge) if bits == 32 else ipaddress.IPv6Address(edge)
    if choice < 0.7:
        return ipaddress.IPv4Address(rng.getrandbits(8) << 24 | rng.getrandbits(24))
    return ipaddress.IPv6Address(
        (0x2001 << 112) | (rng.getrandbits(16) << 96) | rng.getrandbits(96)
    )


@pytest.mark.parametrize("seed", range(20))
def test_membership_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    nets = [_random_network(rng) for _ in range(rng.randint(0, 60))]
    ipset = IPSet([str(n) for n in nets])
    for _ in range(400):
        probe = _random_probe(rng, nets)
        expected = any(probe in n for n in nets if n.version == probe.version)
        assert (probe in ipset) is expected, (probe, nets)
        assert (str(probe) in ipset) is expected, (probe, nets)
        if probe.version == 4:
            mapped = ipaddress.IPv6Address(f"::ffff:{probe}")
            assert (mapped in ipset) is expected
            assert (str(mapped) in ipset) is expected


@pytest.mark.parametrize("seed", range(10))
def test_overlaps_and_union_match_brute_force(seed: int) -> None:
    rng = random.Random(1000 + seed)  # noqa: S311 - reproducible test data
    left = [_random_network(rng) for _ in range(rng.randint(0, 15))]
    right = [_random_network(rng) for _ in range(rng.randint(0, 15))]
    a, b = IPSet([str(n) for n in left]), IPSet([str(n) for n in right])
    expected = any(x.overlaps(y) for x in left for y in right if x.version == y.version)
    assert a.overlaps(b) is expected
    union = a | b
    for _ in range(200):
        probe = _random_probe(rng, left + right)
        assert (probe in union) is (probe in a or probe in b)
    # networks() is an exact, minimal description: rebuilding from it is the same set.
    assert IPSet([str(n) for n in union.networks()]) == union
