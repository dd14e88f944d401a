import os
import subprocess
from pathlib import Path

import pytest
import testinfra

from schoolhub.lab import client

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
ARTIFACTS = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / "build/artifacts"


@pytest.fixture(scope="module")
def ip(host):
    return host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def hub_url(ip):
    return f"http://{ip}:8000"


@pytest.fixture(scope="module")
def fake_url(ip):
    return f"http://{ip}:8080"


@pytest.fixture(scope="module")
def nfs_host(request):
    inventory = request.config.option.ansible_inventory
    return testinfra.get_host("ansible://schoolhub-hub-nfs", ansible_inventory=inventory)


@pytest.fixture(scope="module")
def nfs_ip(nfs_host):
    return nfs_host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def owner_token():
    return (EPHEMERAL / "owner_token").read_text().split()[0]


@pytest.fixture(scope="module")
def running(hub_url):
    """Sign in as `login`; return the user's Hub once their server is ready."""
    hubs = {}

    def running(login):
        if login not in hubs:
            signin = client.sign_in(hub_url, login)
            assert not signin.refused, signin.page.text
            hubs[login] = client.Hub(hub_url, signin, client.hub_name(login))
        hubs[login].start()
        hubs[login].wait_ready()
        return hubs[login]

    return running


@pytest.fixture(autouse=True)
def dump_on_failure(request, host):
    """When a test fails, show what the hub and the containers said."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for command in ("docker ps -a", "docker logs --tail 60 jupyterhub 2>&1"):
            print(f"$ {command}\n{host.run(command).stdout}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


def container(host, name) -> dict:
    """docker inspect of one container on the host."""
    import json

    return json.loads(host.check_output(f"docker inspect {name}"))[0]


def run_playbook(name: str, *extra_vars: str) -> subprocess.CompletedProcess:
    """Run one of the real playbooks with the scenario's own inventory; fail loudly."""
    root = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    command = [
        "ansible-playbook",
        "-i",
        str(EPHEMERAL / "inventory"),
        str(root / "playbooks" / name),
    ]
    for extra in extra_vars:
        command += ["-e", extra]
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(root / "roles"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done
