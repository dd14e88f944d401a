"""The lab `make lab-test` made (tools/test.py): its hosts are containers on
this machine, and a user's server runs on whichever host Swarm chose."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from schoolhub_lab import hosts

# The scenarios' shared tests (molecule/shared): the lab runs some of them too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "molecule/shared"))

LAB = hosts.Lab.from_environment()
WORKERS = int(os.environ.get("WORKERS") or 2)
HUB_HOST = f"{LAB.name}-hub"


def on_host(host: str, command: str) -> str:
    done = subprocess.run(
        ["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def on_hub_host(command: str) -> str:
    return on_host(HUB_HOST, command)


def server_container(user: str) -> tuple[str, str]:
    """The host that runs the user's server, and its container there."""
    if not WORKERS:
        return HUB_HOST, f"jupyter-{user}"
    node = on_hub_host(
        f"docker service ps jupyter-{user} --filter desired-state=running --format '{{{{.Node}}}}'"
    )
    task = on_host(
        node, f"docker ps -q --filter label=com.docker.swarm.service.name=jupyter-{user}"
    )
    return node, task


def in_server(user: str, command: str, as_user: str | None = None, detach: bool = False) -> str:
    """Run `command` in the user's server (as the user, or `as_user`), on
    whichever host runs it."""
    node, name = server_container(user)
    options = f"{'-d ' if detach else ''}-u {as_user or user}"
    return on_host(node, f"docker exec {options} {name} sh -c {shlex.quote(command)}")


def server_address(user: str, network: str = "schoolhub") -> str:
    """The user's server's address on the users' network."""
    node, name = server_container(user)
    inspected = json.loads(on_host(node, f"docker inspect {name}"))[0]
    return inspected["NetworkSettings"]["Networks"][network]["IPAddress"]
