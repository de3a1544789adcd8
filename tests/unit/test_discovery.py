"""What mDNS discovery lists and advertises (caja_tui/peers/discovery.py), without a network: the TXT filter, the
choice of a peer's address, the addresses a till advertises, its names. tests/e2e/test_peers_mdns.py runs it for
real, in network namespaces."""

from ipaddress import IPv4Interface, IPv4Network

import pytest

from caja_tui.peers.discovery import SERVICE, advertised, peer_of, pick_address, service_names


def txt(**values: str) -> dict[bytes, bytes | None]:
    return {k.encode(): v.encode() for k, v in values.items()}


def test_a_till_of_the_same_store_is_listed_by_its_device():
    assert peer_of(txt(v="2", store="demo", device="T2"), "demo", "T1") == "T2"


@pytest.mark.parametrize(
    "properties",
    [
        txt(v="2", store="other", device="T2"),  # another shop's till on the same LAN
        txt(v="2", store="demo", device="T1"),  # this till itself (its own service comes back to it)
        txt(v="3", store="demo", device="T2"),  # another peer protocol
        txt(store="demo", device="T2"),  # no version: not a Caja till of this protocol
        txt(v="2", device="T2"),
        txt(v="2", store="demo"),
        txt(v="2", store="demo", device=""),
        {b"v": b"2", b"store": b"demo", b"device": None},  # a key without a value
        {},
    ],
)
def test_other_stores_this_till_and_malformed_services_are_not_listed(properties):
    assert peer_of(properties, "demo", "T1") is None


def test_a_store_id_is_compared_whole_not_as_a_prefix():
    assert peer_of(txt(v="2", store="demo2", device="T2"), "demo", "T1") is None
    assert peer_of(txt(v="2", store="dem", device="T2"), "demo", "T1") is None


def test_a_peer_is_reached_at_its_address_on_this_tills_network():
    lan = [IPv4Network("192.168.1.0/24")]
    assert pick_address(["172.17.0.1", "192.168.1.21"], lan) == "192.168.1.21"
    assert pick_address(["172.17.0.1", "10.0.0.5"], lan) == "172.17.0.1"  # none on ours: the first


def test_loopback_ipv6_and_garbage_addresses_are_never_picked():
    assert pick_address(["127.0.0.1", "::1", "fe80::1", "not an ip", "0.0.0.0", "224.0.0.251"], []) is None
    assert pick_address(["127.0.1.1", "10.0.0.5"], [IPv4Network("127.0.0.0/8")]) == "10.0.0.5"


def test_a_till_advertises_the_lan_addresses_its_peer_server_listens_on():
    lan = [IPv4Interface("192.168.1.21/24"), IPv4Interface("10.8.0.3/24")]
    assert advertised("0.0.0.0", lan) == ["192.168.1.21", "10.8.0.3"]
    assert advertised("192.168.1.21", lan) == ["192.168.1.21"]
    assert advertised("127.0.0.1", lan) == []  # the others could not reach it
    assert advertised("192.168.9.9", lan) == []  # not (yet) an address of this machine
    assert advertised("0.0.0.0", []) == []


def test_service_names_differ_between_stores_and_fit_a_dns_label():
    name, host = service_names("demo", "T1")
    other, other_host = service_names("other", "T1")
    assert name.endswith("." + SERVICE) and host.endswith(".local.")
    assert name != other and host != other_host
    longest, _ = service_names("s" * 64, "d" * 64)
    assert len(longest.removesuffix("." + SERVICE).encode()) <= 63
