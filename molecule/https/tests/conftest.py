import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))
from scenario import *  # noqa: E402, F403 (fixtures and helpers of every scenario)

# Last, in this order: a test that leaves other profiles in place, then the one
# whose site.yml (the site's own certificate) sets the inventory's again. Each
# spares a site.yml run that would only undo a change.
LAST = (
    "test_a_profile_starts_its_own_image_and_the_run_changes_nothing_else",
    "test_a_certificate_of_the_sites_own_replaces_acme",
)


def pytest_collection_modifyitems(items):
    names = {name: rank for rank, name in enumerate(LAST, 1)}
    items.sort(key=lambda item: names.get(item.originalname, 0))


@pytest.fixture
def dump_commands():
    return [
        "docker ps -a",
        "docker logs --tail 60 jupyterhub-tls 2>&1",
        "journalctl -u pebble -n 40",
    ]
