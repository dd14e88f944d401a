"""The check of nfs_server_clients (roles/nfs_server/tasks/preflight.yml): the
exports reach the hub and the workers, not a campus nor the world."""

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/clients.py"
spec = importlib.util.spec_from_file_location("clients", PLUGIN)
clients = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clients)

# The hub (an address on a VLAN interface too, and Docker's bridge) and a
# worker whose facts say little.
HUB = {
    "default_ipv4": {"address": "10.0.0.5"},
    "interfaces": ["lo", "eth0", "eth1.20", "docker0", "br-1a2b", "veth9"],
    "lo": {"ipv4": {"address": "127.0.0.1"}},
    "eth0": {"ipv4": {"address": "10.0.0.5"}},
    "eth1_20": {
        "ipv4": {"address": "192.168.20.5"},
        "ipv4_secondaries": [{"address": "192.168.20.9"}],
    },
    "docker0": {"ipv4": {"address": "172.17.0.1"}},
    "br_1a2b": {"ipv4": {"address": "172.18.0.1"}},
}
WORKER = {"default_ipv4": {"address": "10.0.1.6"}}
HOSTS = [HUB, WORKER]


def test_the_hosts_addresses_are_those_of_their_own_interfaces():
    assert clients.host_addresses(HOSTS) == [
        "10.0.0.5",
        "10.0.1.6",
        "192.168.20.5",
        "192.168.20.9",
    ]


@pytest.mark.parametrize(
    "given",
    [
        [],
        ["10.0.0.5", "10.0.1.6"],
        ["192.168.20.9/32"],
        ["10.0.0.0/24", "10.0.1.0/24"],
        ["10.0.1.0/28"],
        # (as exportfs reads it: the network of 10.0.0.5)
        ["10.0.0.5/24"],
    ],
)
def test_the_hosts_and_small_private_networks_that_hold_them_pass(given):
    assert clients.clients_error(given, HOSTS) == ""


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("0.0.0.0/0", "is not within a private network (10.0.0.0/8, 172.16.0.0/12,"),
        ("*", "is not an IPv4 address or network (a name or a wildcard may be any host)"),
        ("*.school.example", "is not an IPv4 address or network"),
        ("@school-hosts", "is not an IPv4 address or network"),
        ("fd00::/64", "is not an IPv4 address or network"),
        ("10.0.0.300", "is not an IPv4 address or network"),
        ("203.0.113.0/24", "is not within a private network"),
        ("10.0.0.0/8", "has more than 256 addresses"),
        ("10.0.0.0/23", "has more than 256 addresses"),
        ("10.9.0.0/24", "holds none of the hub's or workers' addresses"),
        ("8.8.8.8", "is not an address of the hub or a worker"),
        # Docker's bridge on the hub: the hub's containers, not the hub.
        ("172.17.0.1", "is not an address of the hub or a worker"),
        ("172.17.0.0/24", "holds none of the hub's or workers' addresses"),
    ],
)
def test_an_entry_wider_than_the_hosts_is_named_with_why(given, why):
    wrong, rule = clients.clients_error(["10.0.0.5", given], HOSTS).splitlines()
    assert wrong.startswith(f"nfs_server_clients: {given} {why}")
    assert rule.endswith("set nfs_server_clients_wide: true.")


def test_every_wrong_entry_is_named_then_the_rule_and_the_way_out():
    error = clients.clients_error(["0.0.0.0/0", "10.0.0.5", "10.0.0.0/8"], HOSTS)
    assert error.splitlines() == [
        "nfs_server_clients: 0.0.0.0/0 is not within a private network"
        " (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16).",
        "nfs_server_clients: 10.0.0.0/8 has more than 256 addresses.",
        "Each entry must be an address of the hub or a worker (10.0.0.5, 10.0.1.6, 192.168.20.5,"
        " 192.168.20.9), or a private network of 256 addresses at most (/24 or narrower) that"
        " holds one of them: with sec=sys, anyone who can send from an address in the list can"
        " write the shares as any user but root. To export to these anyway, set"
        " nfs_server_clients_wide: true.",
    ]


def test_without_the_hosts_facts_the_message_says_so():
    error = clients.clients_error(["10.0.0.5"], [{}, {}])
    assert "nfs_server_clients: 10.0.0.5 is not an address of the hub or a worker." in error
    assert "(unknown: their facts were not gathered, e.g. with --limit)" in error
