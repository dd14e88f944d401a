import sys
from pathlib import Path

import pytest
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
