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
    "192.0.0.0/29",  # IETF protocol assignments (the rest of 192.0.0.0/24: issue 29)
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
