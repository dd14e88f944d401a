"""The roles' own value rules, on the controller: the jupyterhub role's
variables that are no setting of the hub (HTTPS, the image cache, the egress
firewall, the users' network, secrets), checked with the hub's settings in one
task of its tasks/preflight.yml so that an inventory's every mistake shows in
one run; and the docker role's address pools. Each message is led by the
variable to fix. Types and choices are the argument specs'; the hub's
settings' rules are schoolhub.settings' (filter settings_error); what the
controller and the hosts hold is the preflights'."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _truth(value) -> bool:
    return str(value).strip().lower() in ("true", "yes", "on", "1")


def _address(value) -> bool:
    """An IPv4 address or network, as the firewall's rules take it."""
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_network(value, strict=False).version == 4
    except ValueError:
        return False


def _tls(v: dict):
    if not _truth(v["jupyterhub_tls_front"]):
        return
    url, certificate, key = (
        v["jupyterhub_public_url"],
        v["jupyterhub_tls_certificate"],
        v["jupyterhub_tls_certificate_key"],
    )
    host = urlsplit(str(url)).hostname or ""
    if (
        not str(url).startswith("https://")
        or bool(certificate) != bool(key)
        or (not certificate and _address(host))
    ):
        yield (
            f'The TLS front needs an https:// jupyterhub_public_url (got "{url}") with a DNS'
            " name (an ACME CA issues no certificate for an address), or both"
            " jupyterhub_tls_certificate and jupyterhub_tls_certificate_key (got"
            f' "{certificate}" and "{key}"). Plain HTTP: an http:// public URL.'
        )
    if (_number(v["jupyterhub_hsts_max_age"]) or 0) < 0:
        yield (
            f"jupyterhub_hsts_max_age: {v['jupyterhub_hsts_max_age']} is not a number of"
            " seconds (0 or more)."
        )


def _images(v: dict):
    # The newest archive may be the one on its way to the workers.
    if (_number(v["jupyterhub_image_cache_keep"]) or 0) < 1:
        yield (
            f"jupyterhub_image_cache_keep: {v['jupyterhub_image_cache_keep']} is not a number"
            " of archives (1 or more)."
        )
    image = str(v["jupyterhub_singleuser_image"])
    if not _truth(v["jupyterhub_singleuser_build"]) and (
        ":" not in image.rpartition("/")[2] or image.endswith(":latest")
    ):
        yield (
            f"jupyterhub_singleuser_image ({image}) must name a tag other than `latest`: a"
            " moving tag gives users different images depending on the node and the day."
        )


def _sign_in(v: dict):
    if v["jupyterhub_auth"] == "github" and not v["jupyterhub_github_client_secret"]:
        yield (
            "jupyterhub_github_client_secret (in Ansible Vault): with jupyterhub_auth=github,"
            " the secret of your GitHub OAuth app."
        )
    if _truth(v["jupyterhub_fake_github"]) and "users" not in (
        v["jupyterhub_fake_github_data"] or {}
    ):
        yield (
            "jupyterhub_fake_github is on, so jupyterhub_fake_github_data needs `users`"
            " (and `orgs`)."
        )


def _shares(v: dict):
    nfs = v["nfs_server"]  # the NFS host's variables, or none
    if v["jupyterhub_team_folders"] and not (
        nfs is not None
        and _truth(nfs.get("nfs_server_teams", False))
        and "teams" in v["nfs_client_shares"]
    ):
        yield (
            "jupyterhub_team_folders needs the NFS teams share: an NFS server in the `nfs`"
            " group with nfs_server_teams: true, and teams in nfs_client_shares (e.g. [admin,"
            " data, teams])."
        )


def _network(v: dict):
    for rule in v["jupyterhub_egress_allow"]:
        port = rule.get("port", 1) if isinstance(rule, dict) else None
        if not (
            isinstance(rule, dict)
            and _address(rule.get("to"))
            and _number(port) in range(1, 65536)
            and rule.get("proto", "tcp") in ("tcp", "udp")
            and set(rule) <= {"to", "port", "proto"}
        ):
            yield (
                f"jupyterhub_egress_allow: {rule} is not a rule like {{to: 10.1.2.3 (an address"
                " or network), port: 3128 (optional), proto: tcp (or udp)}."
            )
    for network in v["jupyterhub_egress_blocked"]:
        if not _address(network):
            yield (
                f"jupyterhub_egress_blocked: {network} is not an address or network like"
                " 10.0.0.0/8."
            )
    if _truth(v["jupyterhub_network_encrypted"]) and v["jupyterhub_spawner"] != "swarm":
        yield (
            "jupyterhub_network_encrypted encrypts the overlay network between hosts: it needs"
            " workers (jupyterhub_spawner=swarm). A one-host hub's traffic never leaves the host."
        )


RULES = (_tls, _images, _sign_in, _shares, _network)


def address_pool_errors(pools: list) -> list[str]:
    """The docker role's docker_default_address_pools: each a network `base`
    and the prefix length `size` of the networks cut from it."""
    errors = []
    for pool in pools:
        base = pool.get("base") if isinstance(pool, dict) else None
        try:
            prefix = ipaddress.IPv4Network(base, strict=False).prefixlen if base else None
        except ValueError:
            prefix = None
        size = _number(pool.get("size")) if isinstance(pool, dict) else None
        if prefix is None or "/" not in str(base) or size is None or not prefix < size <= 30:
            errors.append(
                f"docker_default_address_pools: {pool} needs a network `base` (e.g."
                " 10.210.0.0/16) and a `size` (prefix length of each network, e.g. 24) longer"
                " than the base's."
            )
    return errors


def role_errors(values: dict) -> list[str]:
    """Every mistake in the role's own variables, one message each."""
    return [message for rule in RULES for message in rule(values)]


class FilterModule:
    def filters(self):
        return {"role_errors": role_errors, "address_pool_errors": address_pool_errors}
