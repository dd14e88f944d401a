"""A student attacks from their server: molecule/shared/isolation.py. And the
hub's API port, published on the hub host for the workers, refuses others."""

import socket

import pytest
from isolation import *  # noqa: F403 (the shared tests)


def test_the_hubs_api_port_answers_the_workers_only(ip):
    # This machine reaches the proxy's port of the hub host, but it is not a
    # worker: the hub's API port resets it (the workers' servers reach it:
    # see the probe test).
    socket.create_connection((ip, 8000), timeout=10).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, 8081), timeout=10).close()
