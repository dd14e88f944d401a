"""The check of nfs_server_clients (tasks/preflight.yml). With sec=sys the
server believes the uid a client claims: anyone who can send from an address
the exports allow can write the shares as any user but root (the admin account
too). So the exports reach the hub and the workers, not a campus nor the world."""

from __future__ import annotations

import ipaddress
import re

# A network an entry may be: private, and no wider than this.
PRIVATE = tuple(
    ipaddress.ip_network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
WIDEST = 24
# Interfaces whose addresses are not a host's own: loopback, and Docker's
# bridges and veths (as the jupyterhub role's firewall reads them).
NOT_OWN = re.compile(r"^(lo|docker|br-|veth)")


def host_addresses(facts_of_hosts: list[dict]) -> list[str]:
    """The IPv4 addresses of hosts on their own interfaces, from their facts."""
    found = set()
    for facts in facts_of_hosts:
        address = (facts.get("default_ipv4") or {}).get("address")
        if address:
            found.add(address)
        for name in facts.get("interfaces") or []:
            if NOT_OWN.match(name):
                continue
            interface = facts.get(re.sub(r"[^A-Za-z0-9_]", "_", name)) or {}
            for ipv4 in [interface.get("ipv4") or {}, *(interface.get("ipv4_secondaries") or [])]:
                if ipv4.get("address"):
                    found.add(ipv4["address"])
    return sorted(found, key=ipaddress.ip_address)


def _wrong(entry, hosts: list) -> str:
    """Why `entry` reaches more than the hosts ("" when it does not)."""
    try:
        network = ipaddress.ip_network(str(entry), strict=False)
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network):
        return "is not an IPv4 address or network (a name or a wildcard may be any host)"
    if network.prefixlen == 32:
        if network.network_address not in hosts:
            return "is not an address of the hub or a worker"
        return ""
    if not any(network.subnet_of(private) for private in PRIVATE):
        return "is not within a private network (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"
    if network.prefixlen < WIDEST:
        return f"has more than {2 ** (32 - WIDEST)} addresses"
    if not any(host in network for host in hosts):
        return "holds none of the hub's or workers' addresses"
    return ""


def clients_error(clients: list, facts_of_hosts: list[dict]) -> str:
    """Empty when every entry of nfs_server_clients is one of the hub's and
    workers' addresses (`facts_of_hosts`: their facts), or a private network
    of 256 addresses at most that holds one of them; else what is wrong, one
    line per entry, and the rule."""
    addresses = host_addresses(facts_of_hosts)
    hosts = [ipaddress.ip_address(address) for address in addresses]
    lines = [
        f"nfs_server_clients: {entry} {why}." for entry in clients if (why := _wrong(entry, hosts))
    ]
    if not lines:
        return ""
    known = ", ".join(addresses) or "unknown: their facts were not gathered, e.g. with --limit"
    lines.append(
        f"Each entry must be an address of the hub or a worker ({known}), or a private"
        f" network of {2 ** (32 - WIDEST)} addresses at most (/{WIDEST} or narrower) that holds"
        " one of them: with sec=sys, anyone who can send from an address in the list can"
        " write the shares as any user but root. To export to these anyway, set"
        " nfs_server_clients_wide: true."
    )
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        return {"nfs_clients_error": clients_error}
