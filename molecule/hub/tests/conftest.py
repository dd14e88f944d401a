import sys
from pathlib import Path

import pytest
import requests
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)


@pytest.fixture(scope="module")
def nfs_host(request):
    inventory = request.config.option.ansible_inventory
    return testinfra.get_host("ansible://schoolhub-hub-nfs", ansible_inventory=inventory)


@pytest.fixture(scope="module")
def nfs_ip(nfs_host):
    return nfs_host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def set_ta(fake_url, owner_token):
    """Put a login in the TAs team on the fake GitHub, or take it out, as the org's owner."""
    owner = {"Authorization": f"token {owner_token}"}

    def set_ta(login: str, member: bool) -> None:
        url = f"{fake_url}/api/v3/orgs/summer-school/teams/tas/memberships/{login}"
        answer = requests.request("PUT" if member else "DELETE", url, headers=owner, timeout=10)
        assert answer.status_code == (200 if member else 204), answer.text

    return set_ta
