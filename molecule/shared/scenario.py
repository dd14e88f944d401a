"""Fixtures and helpers shared by the scenarios' tests (each conftest.py
imports them all). Tests act from the hub host; the hub answers on its port 8000."""

import json
import os
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from schoolhub_lab import client
from schoolhub_lab.hosts import playbook_command

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
# Tests of what the host's release does not change (sign-in flows, the browser,
# the culler: the same JupyterHub and packages on every release) run on the
# default release only; everything that touches the engine, NFS or the
# host's packages runs on every one.
same_on_every_release = pytest.mark.skipif(
    os.environ.get("HOST_OS", "debian13") != "debian13",
    reason="does not depend on the host's release: run on Debian 13",
)
# ...and the longest ones of that kind on Debian 12, whose chains are shorter.
on_the_shorter_chain = pytest.mark.skipif(
    os.environ.get("HOST_OS", "debian13") != "debian12",
    reason="does not depend on the host's release: run on Debian 12 (the shorter chain)",
)
ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."))
ARTIFACTS = ROOT / "build/artifacts"


@pytest.fixture(scope="module")
def ip(host):
    return host.interface("eth0").addresses[0]


@pytest.fixture(scope="module")
def hub_url(host, ip):
    """The hub's address by the name in its settings (the proxy's plain port),
    which this process, and its browsers, find with every name under it at
    the hub host's address (users' servers with subdomains)."""
    name = urlsplit(settings(host)["hub"]["public_url"]).hostname
    client.resolve(name, ip)
    return f"http://{name}:8000"


@pytest.fixture(scope="module")
def fake_url(ip):
    return f"http://{ip}:8080"


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


@pytest.fixture
def dump_commands():
    """What a failed test prints from the hub host."""
    return ["docker ps -a", "docker logs --tail 60 jupyterhub 2>&1"]


# What a Swarm's hub host shows when a test fails (the swarm and quickstart scenarios).
SWARM_DUMP = [
    "docker node ls",
    "docker service ls",
    "docker service ps --no-trunc $(docker service ls -q) 2>&1 | tail -40",
    "docker logs --tail 80 jupyterhub 2>&1",
]


@pytest.fixture(autouse=True)
def dump_on_failure(request, host, dump_commands):
    """When a test fails, show what the hub and the containers said."""
    yield
    reports = [getattr(request.node, f"rep_{when}", None) for when in ("setup", "call")]
    if any(report is not None and report.failed for report in reports):
        for command in dump_commands:
            print(f"$ {command}\n{host.run(command).stdout}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


def container(host, name) -> dict:
    """docker inspect of one container on the host."""
    return json.loads(host.check_output(f"docker inspect {name}"))[0]


def settings(host) -> dict:
    """The hub's settings (schoolhub.yaml) as the role wrote them."""
    return yaml.safe_load(host.file("/etc/schoolhub/schoolhub.yaml").content_string)


def site_image(host) -> str:
    """The school's single-user image, as the hub's settings name it."""
    return settings(host)["spawner"]["image"]


# A profile with an image of its own (https and swarm scenarios): the school's
# image under a second name, which no registry has, so a host has it only where
# a test tags it.
PROFILE_IMAGE = "schoolhub-test/r-notebook:1"
PROFILES_WITH_ITS_OWN_IMAGE = [{"name": "standard"}, {"name": "r", "image": PROFILE_IMAGE}]


def playbook(name: str, *extra_vars: str, inventories=(), diff=False, verbosity=0):
    """The command and environment that run one of the real playbooks with the
    scenario's own inventory (and `inventories` added to it)."""
    inventories = [EPHEMERAL / "inventory", *inventories]
    command = playbook_command(
        inventories, name, *extra_vars, diff=diff, verbosity=verbosity, root=ROOT
    )
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_NOCOLOR": "1",
    }
    return command, env


def run_playbook(
    name: str, *extra_vars: str, check=True, timeout=1800, **options
) -> subprocess.CompletedProcess:
    """Run one of the real playbooks (see `playbook`); fail loudly unless `check` is off."""
    command, env = playbook(name, *extra_vars, **options)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.monotonic() - started
    print(f"{name} {' '.join(extra_vars)}: rc={done.returncode} in {seconds:.0f}s")
    assert done.returncode == 0 or not check, done.stdout[-4000:] + done.stderr[-2000:]
    return done


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of a playbook's output: host -> {"ok": n, "changed": n, ...}."""
    found = re.findall(r"^(\S+)\s+:\s+(ok=\d+.*)$", output, re.MULTILINE)
    return {
        host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)} for host, counts in found
    }


def unchanged(output: str, hosts: set[str]) -> None:
    """Assert that the playbook ran on exactly `hosts` and changed and failed nothing on any."""
    counts = recap(output)
    assert set(counts) == hosts, output[-3000:]
    changes = {h: (c["changed"], c["failed"], c["unreachable"]) for h, c in counts.items()}
    assert changes == dict.fromkeys(hosts, (0, 0, 0)), changed_tasks(output) + output[-3000:]


def changes(output: str) -> dict[str, set[str]]:
    """host -> the names of the tasks (and handlers) that changed something
    there (a delegated task's change is its delegate's: `[hub -> w3]` is w3's)."""
    found: dict[str, set[str]] = {}
    blocks = re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", output, flags=re.MULTILINE)
    for block in blocks:
        name = re.match(r"(?:TASK|RUNNING HANDLER) \[(.*?)\]", block)
        # ([hub -> w3(address)] with -vvv)
        pattern = r"^changed: \[([^\]\s]+)(?: -> ([^\]\s(]+)(?:\([^)]*\))?)?\]"
        for host, delegate in re.findall(pattern, block, re.MULTILINE):
            found.setdefault(delegate or host, set()).add(name.group(1) if name else "?")
    return found


def changed_tasks(output: str) -> str:
    """The tasks that changed something, each with its hosts (and diff, if asked for)."""
    tasks = re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", output, flags=re.MULTILINE)
    return "".join(task for task in tasks if re.search(r"^changed: ", task, re.MULTILINE))


# HTTPS by ACME (the https and quickstart scenarios).
@pytest.fixture(scope="module")
def acme_root(host):
    """pebble's root CA (molecule/shared/pebble.yml): made at its start, published
    on its management port."""
    fetch = (
        "import ssl, urllib.request as u;"
        " c = ssl.create_default_context(cafile='/etc/pebble/pebble.crt');"
        " print(u.urlopen('https://localhost:15000/roots/0', context=c).read().decode())"
    )
    return host.check_output(f'timeout 30 python3 -c "{fetch}"')


def served(ip: str, cadata: str, name: str, seconds: float = 180) -> dict:
    """The certificate on port 443 for `name`, once it verifies against `cadata`."""
    context = ssl.create_default_context(cadata=cadata)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with (
                socket.create_connection((ip, 443), timeout=10) as sock,
                context.wrap_socket(sock, server_hostname=name) as tls,
            ):
                return tls.getpeercert()
        except (OSError, ssl.SSLError) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"no certificate for {name} that verifies: {error}") from error
            time.sleep(2)
