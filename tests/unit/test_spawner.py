"""What the school spawner decides from whether the user is an admin now."""

import pytest
from traitlets.config import Config

from schoolhub.spawner import SchoolDockerSpawner


@pytest.fixture
def spawner():
    c = Config()
    c.DockerSpawner.volumes = {"home-{username}": "/home/{raw_username}"}
    c.DockerSpawner.mem_limit = "1G"
    c.DockerSpawner.cpu_limit = 1.0
    c.SchoolDockerSpawner.admin_mem_limit = "2G"
    c.SchoolDockerSpawner.student_volumes = {"/mnt/data": {"bind": "/nfs", "mode": "ro"}}
    c.SchoolDockerSpawner.admin_volumes = {"/mnt/data": {"bind": "/nfs", "mode": "rw"}}
    return SchoolDockerSpawner(config=c)


def test_students_get_read_only_shares_and_keep_their_home(spawner):
    volumes = spawner.volumes_for(admin=False)
    assert volumes["/mnt/data"]["mode"] == "ro"
    assert volumes["home-{username}"] == "/home/{raw_username}"


def test_admins_get_writable_shares(spawner):
    assert spawner.volumes_for(admin=True)["/mnt/data"]["mode"] == "rw"


def test_admin_limits_fall_back_to_users_limits(spawner):
    assert spawner.limits(admin=True) == ("2G", 1.0)
    assert spawner.limits(admin=False) == (1024**3, 1.0)


def test_losing_admin_goes_back_to_student_settings(spawner):
    spawner.volumes = spawner.volumes_for(admin=True)
    spawner.mem_limit, spawner.cpu_limit = spawner.limits(admin=True)
    assert spawner.volumes_for(admin=False)["/mnt/data"]["mode"] == "ro"
    assert spawner.limits(admin=False)[0] == 1024**3
