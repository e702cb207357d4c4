"""Which addresses a webhook may be delivered to: only globally routable ones. The first and last
address of every refused range, and the addresses just outside them, which are public."""

from __future__ import annotations

import ipaddress

import pytest

from tickerwatch.webhooks import is_public

REFUSED = [
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared address space (carrier NAT; one cloud's metadata service lives here)
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local: the usual metadata address
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments (Python 3.11 calls all past the /29 global)
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
    "2001:db8::/32",  # documentation
    "::/96",  # IPv4-compatible (deprecated): ::10.0.0.1, and ::8.8.8.8 routes nowhere either
    "::ffff:0:0:0/96",  # IPv4-translated
    "64:ff9b:1::/48",  # NAT64 for local use
]
PUBLIC_NEIGHBOURS = [
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700::1111",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize("network", REFUSED)
def test_the_first_and_last_address_of_each_refused_range_are_refused(network):
    net = ipaddress.ip_network(network)
    for address in {net[0], net[-1]}:
        assert not is_public(str(address)), address
        if address.version == 4:  # and in the IPv4-mapped IPv6 form
            assert not is_public(f"::ffff:{address}"), address


@pytest.mark.parametrize("address", PUBLIC_NEIGHBOURS)
def test_the_addresses_just_outside_them_are_public(address):
    assert is_public(address)


# IPv6 forms that carry an IPv4 address: NAT64 (RFC 6052), 6to4, Teredo (the client, inverted), mapped.
def _v4(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


CARRIERS = {
    "nat64": lambda v4: f"64:ff9b::{v4}",
    "6to4": lambda v4: str(ipaddress.IPv6Address((0x2002 << 112) | (_v4(v4) << 80) | 1)),
    "teredo": lambda v4: str(
        ipaddress.IPv6Address((0x20010000 << 96) | (_v4("8.8.4.4") << 64) | (0xFFFFFFFF ^ _v4(v4)))
    ),
    "mapped": lambda v4: f"::ffff:{v4}",
}


@pytest.mark.parametrize("form", sorted(CARRIERS))
@pytest.mark.parametrize("inside", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "192.168.1.1", "100.64.0.1", "0.0.0.0"])
def test_an_ipv6_form_carrying_a_private_ipv4_address_is_refused(form, inside):
    assert not is_public(CARRIERS[form](inside))


@pytest.mark.parametrize("form", ["nat64", "6to4"])
def test_an_ipv6_form_carrying_a_public_ipv4_address_is_public(form):
    assert is_public(CARRIERS[form]("8.8.8.8"))
