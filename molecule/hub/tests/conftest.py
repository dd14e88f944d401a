import shlex
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from isolation import DATA, METADATA, PUBLIC  # noqa: E402 (the attacker's stand-ins)
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)

# The modules that leave a setting changed run last, in this order (each test
# sets up what it needs; the order only spares site.yml runs that undo a change).
LAST = ("test_ops.py", "test_runs.py", "test_upgrade.py", "test_native.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: LAST.index(item.path.name) + 1 if item.path.name in LAST else 0)


@pytest.fixture(scope="module")
def nfs_host(request):
    inventory = request.config.option.ansible_inventory
    return testinfra.get_host("ansible://schoolhub-hub-nfs", ansible_inventory=inventory)


@pytest.fixture(scope="module")
def nfs_ip(nfs_host):
    return nfs_host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def server_hosts(host):
    return [host]


@pytest.fixture(scope="module")
def server_of(host):
    """Where a user's server runs: this host, in container jupyter-<user>."""
    return lambda login: (host, f"jupyter-{login}")


@pytest.fixture(scope="module")
def targets(ip, nfs_ip):
    """What a student's terminal finds (test_isolation): only the hub, the
    internet and what the site allows."""
    blocked = [f"{nfs_ip}:2049", f"{nfs_ip}:111", f"{nfs_ip}:22", f"{ip}:22", f"{ip}:8000"]
    return {
        **dict.fromkeys(blocked, "EHOSTUNREACH"),
        f"{METADATA}:80": "EHOSTUNREACH",
        f"{PUBLIC}:80": "open",  # the internet
        f"{DATA}:80": "open",  # jupyterhub_egress_allow
        f"{DATA}:22": "EHOSTUNREACH",  # ...that port only
        "jupyterhub:8081": "open",  # the hub's API
        "jupyterhub-proxy:8001": "ECONNREFUSED",  # the proxy's API is on another network
        "proxy-api:8001": "unresolved",
    }


@pytest.fixture(scope="module")
def set_team(fake_url, owner_token):
    """Put a login in a team (its slug) on the fake GitHub, or take it out, as the org's owner."""
    owner = {"Authorization": f"token {owner_token}"}

    def set_team(login: str, team: str, member: bool) -> None:
        url = f"{fake_url}/api/v3/orgs/summer-school/teams/{team}/memberships/{login}"
        answer = requests.request("PUT" if member else "DELETE", url, headers=owner, timeout=10)
        assert answer.status_code == (200 if member else 204), answer.text

    return set_team


@pytest.fixture(scope="module")
def set_ta(set_team):
    """Put a login in the TAs team, or take it out."""
    return lambda login, member: set_team(login, "tas", member)


SECRETS = "/etc/schoolhub/secrets"


def secrets(host) -> dict[str, str]:
    """Every secret file's value on the hub host."""
    names = host.check_output(f"ls {SECRETS}").split()
    values = {name: host.check_output(f"cat {SECRETS}/{name}").strip() for name in names}
    assert {"cookie_secret", "crypt_key", "proxy_auth_token", "ops_api_token"} <= set(values)
    assert all(len(value) >= 16 for value in values.values()), values.keys()
    return values


# The shares on the NFS host, and the start scripts and their logs in them.
SHARES = "/srv/schoolhub"
START, LOGS = f"{SHARES}/admin/start", f"{SHARES}/admin/logs"


@contextmanager
def script_kept(nfs_host, name):
    """Let a test change a start script; put it back as it was afterwards."""
    path = f"{START}/{name}"
    original = nfs_host.file(path).content_string
    try:
        yield path
    finally:
        restore = f"printf %s {shlex.quote(original)} > {path}"
        nfs_host.run(f"{restore}; chown 1500:1500 {path}; chmod 0775 {path}")
