import sys
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from isolation import DATA, METADATA, PUBLIC  # noqa: E402 (the attacker's stand-ins)
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)


@pytest.fixture
def dump_commands():
    return SWARM_DUMP  # noqa: F405 (scenario's)


W1, W2 = "schoolhub-swarm-w1", "schoolhub-swarm-w2"


def node_of(host, user) -> str:
    """The node running the user's server."""
    return host.check_output(
        f"docker service ps jupyter-{user} --filter desired-state=running --format '{{{{.Node}}}}'"
    )


@pytest.fixture(scope="module")
def worker(request):
    inventory = request.config.option.ansible_inventory
    return lambda name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)


@pytest.fixture(scope="module")
def server_hosts(worker):
    return [worker(W1), worker(W2)]


@pytest.fixture(scope="module")
def server_of(host, worker):
    """Where a user's server runs: the worker, and its task's container there."""

    def server_of(login):
        node = worker(node_of(host, login))
        label = f"com.docker.swarm.service.name=jupyter-{login}"
        return node, node.check_output(f"docker ps --quiet --filter label={label}")

    return server_of


# The hub host is the NFS server too, and stands in for the world outside.
@pytest.fixture(scope="module")
def nfs_host(host):
    return host


@pytest.fixture(scope="module")
def nfs_ip(ip):
    return ip


@pytest.fixture(scope="module")
def targets(ip, server_hosts):
    """What a student's terminal on a worker finds (test_isolation): only the
    hub's API, the internet and what the site allows."""
    workers = [h.interface("eth0").addresses[0] for h in server_hosts]
    blocked = [f"{ip}:{port}" for port in (2049, 111, 22, 2377, 7946)]
    blocked += [f"{address}:22" for address in workers]
    return {
        **dict.fromkeys(blocked, "EHOSTUNREACH"),
        f"{METADATA}:80": "EHOSTUNREACH",
        f"{PUBLIC}:80": "open",  # the internet
        f"{DATA}:80": "open",  # jupyterhub_egress_allow
        f"{DATA}:22": "EHOSTUNREACH",  # ...that port only
        f"{ip}:8081": "open",  # the hub's API, published for the workers
        "jupyterhub-proxy:8001": "ECONNREFUSED",  # the proxy's API is on another network
        "proxy-api:8001": "unresolved",
    }
