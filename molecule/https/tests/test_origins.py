"""A student's page opened by a classmate and by a TA over HTTPS, each user's
server at her own name with its own certificate (molecule/shared/origins.py)."""

import pytest
from origins import *  # noqa: F403 (the shared tests)
from test_course import running as started


@pytest.fixture(scope="module")
def running(host):
    """Start a user's server with the operations' token (this site's proxy
    port is the hub host's alone)."""
    return lambda login: started(host, login)
