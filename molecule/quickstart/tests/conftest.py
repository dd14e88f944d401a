import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)


@pytest.fixture
def dump_commands():
    return [
        "docker node ls",
        "docker service ls",
        "docker logs --tail 60 jupyterhub 2>&1",
        "docker logs --tail 40 jupyterhub-tls 2>&1",
    ]
