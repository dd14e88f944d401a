import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)


@pytest.fixture
def dump_commands():
    return [*SWARM_DUMP, "docker logs --tail 40 jupyterhub-tls 2>&1"]  # noqa: F405 (scenario's)
