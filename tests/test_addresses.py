"""IP addresses, allow-lists and the client address behind trusted proxies (extapi.addresses)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extapi.addresses import (
    MAX_ENTRIES,
    address_list,
    client_address,
    parse_address,
    stored_address_list,
)
from extapi.errors import ValidationError


def _scope(peer: str | None, *forwarded: str) -> dict:
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded]
    return {"client": None if peer is None else (peer, 50000), "headers": headers}


@pytest.mark.parametrize(
    ("entries", "address", "allowed"),
    [
        ("192.0.2.7", "192.0.2.7", True),
        ("192.0.2.7", "192.0.2.8", False),
        ("10.0.0.0/8", "10.255.1.2", True),
        ("10.0.0.0/8", "11.0.0.1", False),
        ("2001:db8::1", "2001:db8::1", True),
        ("2001:db8::1", "2001:db8::2", False),
        ("2001:db8::/32", "2001:db8:ffff::9", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("10.0.0.0/8", "::ffff:10.0.0.1", True),  # an IPv4-mapped IPv6 peer
        ("::ffff:10.0.0.0/104", "10.1.2.3", True),  # a mapped range reads as IPv4
        ("0.0.0.0/0", "2001:db8::1", False),  # versions never match each other
        ("::/0", "192.0.2.1", False),
        ("10.0.0.0/8, 2001:db8::/32", "2001:db8::5", True),
    ],
)
def test_allow_list_matches_addresses_and_ranges(entries, address, allowed):
    # given an allow-list, when an address is looked up, then it matches exactly its ranges
    assert (parse_address(address) in address_list(entries)) is allowed


def test_entries_are_normalised_deduplicated_and_kept_in_order():
    # given entries in several spellings and separators
    parsed = address_list(
        "10.0.0.0/8,\n 2001:DB8:0::/32  192.0.2.1/32\t10.0.0.0/8, ::FFFF:192.0.2.9"
    )
    # then they are stored in canonical form, once each, single addresses without a prefix
    assert parsed.entries == ("10.0.0.0/8", "2001:db8::/32", "192.0.2.1", "192.0.2.9")


def test_a_list_given_as_items_reads_as_the_same_text():
    assert address_list(["10.0.0.0/8", " 192.0.2.1 "]).entries == ("10.0.0.0/8", "192.0.2.1")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set: write the range as 10.0.0.0/8."),
        (
            "2001:db8::1/32",
            "'2001:db8::1/32' has host bits set: write the range as 2001:db8::/32.",
        ),
        ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or a CIDR range."),
        ("256.1.1.1", "'256.1.1.1' is not an IP address or a CIDR range."),
        ("example.com", "'example.com' is not an IP address or a CIDR range."),
        ("fe80::1%eth0", "'fe80::1%eth0' is not an IP address or a CIDR range."),
        ("10.0.0.0/8/8", "'10.0.0.0/8/8' is not an IP address or a CIDR range."),
    ],
)
def test_bad_entries_are_refused_by_name(entry, message):
    with pytest.raises(ValidationError) as refused:
        address_list(f"192.0.2.1, {entry}")
    assert refused.value.message == message


def test_a_long_bad_entry_is_named_shortened():
    with pytest.raises(ValidationError) as refused:
        address_list("x" * 5000)
    assert len(refused.value.message) < 120


def test_too_many_entries_are_refused():
    many = ", ".join(f"10.0.{i // 256}.{i % 256}" for i in range(MAX_ENTRIES + 1))
    with pytest.raises(ValidationError, match=f"at most {MAX_ENTRIES} entries"):
        address_list(many)


def test_an_empty_list_reads_as_no_list():
    assert not address_list(" , \n")
    assert stored_address_list("") is None


def test_stored_lists_are_parsed_once():
    # given the same stored text twice, then the same parsed list comes back
    assert stored_address_list("10.0.0.0/8") is stored_address_list("10.0.0.0/8")


@pytest.mark.parametrize("text", ["", "unknown", "1.2.3", "10.0.0.0/8", " 1.2.3.4", "[::1]"])
def test_unparseable_addresses_read_as_none(text):
    assert parse_address(text) is None


def test_mapped_ipv6_addresses_read_as_ipv4():
    assert parse_address("::ffff:192.0.2.1") == ip_address("192.0.2.1")


NO_PROXIES = address_list("")
PROXIES = address_list("10.0.0.0/8, 2001:db8:a::/48")


def test_without_trusted_proxies_the_peer_is_the_client():
    # given a spoofed header from a direct client, then the header is never read
    assert client_address(_scope("192.0.2.1", "198.51.100.7"), NO_PROXIES) == ip_address(
        "192.0.2.1"
    )


def test_a_header_from_an_untrusted_peer_is_ignored():
    assert client_address(_scope("192.0.2.1", "10.0.0.1"), PROXIES) == ip_address("192.0.2.1")


def test_a_trusted_proxy_names_the_client():
    assert client_address(_scope("10.0.0.2", "198.51.100.7"), PROXIES) == ip_address("198.51.100.7")


def test_the_right_most_untrusted_hop_is_the_client():
    # given a client that spoofs a first entry, then two proxies that each append
    scope = _scope("10.0.0.3", "203.0.113.66, 198.51.100.7, 10.0.0.2")
    # then the address the first trusted proxy saw is the client's
    assert client_address(scope, PROXIES) == ip_address("198.51.100.7")


def test_several_header_lines_read_as_one_list():
    scope = _scope("2001:db8:a::1", "203.0.113.66", "198.51.100.7, 2001:db8:a::9")
    assert client_address(scope, PROXIES) == ip_address("198.51.100.7")


def test_a_chain_of_trusted_proxies_only_gives_the_farthest_one():
    assert client_address(_scope("10.0.0.3", "10.0.0.1, 10.0.0.2"), PROXIES) == ip_address(
        "10.0.0.1"
    )


@pytest.mark.parametrize(
    "header", ["", "unknown", "198.51.100.7, ", "198.51.100.7,,10.0.0.2", "1.2.3.4:80", "x" * 9000]
)
def test_a_malformed_header_gives_the_peer(header):
    assert client_address(_scope("10.0.0.2", header), PROXIES) == ip_address("10.0.0.2")


def test_garbage_left_of_the_client_is_never_read():
    scope = _scope("10.0.0.2", "not an address, 198.51.100.7")
    assert client_address(scope, PROXIES) == ip_address("198.51.100.7")


def test_a_trusted_peer_without_a_header_is_the_client():
    assert client_address(_scope("10.0.0.2"), PROXIES) == ip_address("10.0.0.2")


def test_a_mapped_peer_counts_as_the_trusted_proxy_it_maps_to():
    scope = _scope("::ffff:10.0.0.2", "198.51.100.7")
    assert client_address(scope, PROXIES) == ip_address("198.51.100.7")


@pytest.mark.parametrize("peer", [None, "testclient", ""])
def test_a_peer_without_an_ip_address_has_none(peer):
    assert client_address(_scope(peer, "198.51.100.7"), PROXIES) is None


def test_a_very_long_chain_of_trusted_hops_is_cut():
    hops = ", ".join(["198.51.100.7", *(["10.0.0.1"] * 500)])
    found = client_address(_scope("10.0.0.2", hops), PROXIES)
    # then only the nearest hops are read, so the answer is a trusted hop, never a crash
    assert found == ip_address("10.0.0.1")


_V4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
_V6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))
_NETWORKS = st.one_of(
    st.tuples(_V4, st.integers(0, 32)).map(lambda p: ip_network(p, strict=False)),
    st.tuples(_V6, st.integers(0, 128)).map(lambda p: ip_network(p, strict=False)),
)


@given(st.lists(_NETWORKS, max_size=20), st.lists(st.one_of(_V4, _V6), max_size=20))
def test_matching_agrees_with_the_standard_library(networks, addresses):
    # given any networks, read back from their stored text
    parsed = address_list(str(n) for n in networks)
    # then an address matches exactly when ipaddress says one of them holds it
    for address in addresses:
        unmapped = parse_address(str(address))
        expected = any(
            unmapped in _as_ipv4(n) for n in networks if _as_ipv4(n).version == unmapped.version
        )
        assert (unmapped in parsed) is expected, (address, networks)


def _as_ipv4(network):
    """A range inside ::ffff:0:0/96 as the IPv4 range it maps."""
    mapped = network.version == 6 and network.subnet_of(ip_network("::ffff:0:0/96"))
    if not mapped:
        return network
    return ip_network((network.network_address.ipv4_mapped, network.prefixlen - 96))
