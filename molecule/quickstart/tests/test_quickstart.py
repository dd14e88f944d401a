"""docs/quickstart.md, followed as written: its commands, taken from its code
blocks (schoolhub_lab.quickstart), run in a terminal that types the vault
password at each prompt, against three test hosts that carry the example's
names (inventory/example: a hub that is also the NFS server, two workers).
Then a student and a TA sign in over HTTPS. A change to the page's commands
or to the example that breaks the road turns this red.

The test changes only what a test must, and all of it in the admin's own
step ("$EDITOR", which it plays): how Ansible reaches the test hosts and what
they lack as stand-ins of VMs (the values of inventory/test-hosts.yml, named
below), the fake GitHub with the example's organisation and teams, pebble for
Let's Encrypt, and the vault's secret. The clone is this checkout's files."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ARTIFACTS, EPHEMERAL, ROOT, recap, served

from schoolhub_lab import client, quickstart
from schoolhub_lab.browser import sign_in_to_jupyterlab

PAGE = ROOT / "docs/quickstart.md"
EXAMPLE = ROOT / "inventory/example"
CLONE = "git clone https://github.com/<your-fork>/schoolhub"
HOST_OS = os.environ.get("HOST_OS", "debian13")
HUB = "hub.school.example"  # the example's hub (its hosts.yml), and its public URL's name
HOSTS = [HUB, "worker1.school.example", "worker2.school.example"]
STUDENT, TA = "ada", "tina"
# What the test hosts (containers) need that a school's VMs have, as
# inventory/test-hosts.yml gives it to every scenario: how Ansible is root
# there, the inner Docker's needs, NFS-Ganesha for the kernel's NFS, images
# without a registry (the base as an archive, the controller's image cache),
# the machine's CA certificates, no DNS, a fake GitHub and its address.
FROM_TEST_HOSTS = [
    "ansible_become",
    "docker_service_environment",
    "common_extra_ca_certificates",
    "nfs_server_implementation",
    "nfs_server_ganesha_core_params",
    "nfs_client_stand_in",
    "docker_image_archives",
    "jupyterhub_base_image",
    "jupyterhub_singleuser_base_image",
    "jupyterhub_image_cache",
    "jupyterhub_image_cache_mode",
    "jupyterhub_image_cache_keep",
    "jupyterhub_dns_check",
    "jupyterhub_fake_github",
    "jupyterhub_github_browser_url",
]


def hosts_settings() -> dict:
    """The variables the admin's edit adds beside the example's main.yml."""
    shared = yaml.safe_load((ROOT / "inventory/test-hosts.yml").read_text())["all"]["vars"]
    lab = yaml.safe_load((EPHEMERAL / "inventory/lab.yml").read_text())["all"]["vars"]
    example = yaml.safe_load((EXAMPLE / "group_vars/all/main.yml").read_text())
    return {
        # molecule's containers, <name>-<release>, reached with docker exec.
        "ansible_connection": "community.docker.docker",
        "ansible_host": f"{{{{ inventory_hostname }}}}-{HOST_OS}",
        "ansible_user": "root",
        **{name: shared[name] for name in FROM_TEST_HOSTS},
        **lab,
        # The example's organisation and teams, with one student and one TA.
        "jupyterhub_fake_github_data": {
            "users": [{"login": STUDENT, "name": "Ada Lovelace"}, {"login": TA, "name": "Tina TA"}],
            "orgs": {
                example["jupyterhub_github_org"]: {
                    "teams": {
                        example["jupyterhub_github_user_teams"][0]: [STUDENT],
                        example["jupyterhub_github_admin_teams"][0]: [TA],
                    }
                }
            },
        },
        # pebble on the hub host (molecule/shared/pebble.yml).
        "jupyterhub_acme_directory": "https://localhost:14000/dir",
        "jupyterhub_acme_ca_root": str(EPHEMERAL / "pebble.crt"),
    }


EDITOR = """\
#!{python}
# The admin's edits of docs/quickstart.md's step 5, as the quickstart test makes them.
import pathlib, sys

for name in sys.argv[1:]:
    path = pathlib.Path(name)
    if path.name == "main.yml":  # the school's choices stay; the test hosts' beside them
        (path.parent / "test-hosts.yml").write_text({settings!r})
    elif path.name == "vault.yml":
        path.write_text({vault!r})
    elif path.name != "hosts.yml":  # (the test hosts carry the example's names)
        sys.exit(f"the test does not know how to edit {{name}}")
"""


def checkout_copy(to: Path) -> None:
    """This checkout's files as git sees them (tracked and new, not ignored),
    edits included: what a clone of it would hold once committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    to.mkdir(parents=True)
    packed = subprocess.run(
        ["tar", "--null", "--ignore-failed-read", "-T", "-", "-cf", "-"],
        input=listed, cwd=ROOT, capture_output=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-xf", "-"], input=packed, cwd=to, check=True, timeout=300)


@pytest.fixture(scope="module")
def followed():
    """The page's commands, run as written from an empty directory; their output."""
    work = EPHEMERAL / "quickstart"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    checkout_copy(work / "checkout")
    editor = work / "editor"
    vault = f"vault_github_client_secret: {secrets.token_urlsafe(24)}\n"
    settings = "# The quickstart test's hosts\n" + yaml.safe_dump(hosts_settings())
    editor.write_text(EDITOR.format(python=sys.executable, settings=settings, vault=vault))
    editor.chmod(0o755)
    # The admin's own environment: nothing of molecule's or of this checkout's venv.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "MOLECULE_", "VIRTUAL_ENV", "PYTEST", "PYTHON"))
    }
    env |= {"EDITOR": str(editor), "TERM": "dumb", "ANSIBLE_NOCOLOR": "1"}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    commands = quickstart.script(PAGE.read_text(), {CLONE: f"cp -a {work / 'checkout'} schoolhub"})
    log = ARTIFACTS / "quickstart.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    status = quickstart.run_in_terminal(
        commands, work, env, secrets.token_urlsafe(12), log, timeout=3600
    )
    output = log.read_text(errors="replace").replace("\r\n", "\n")
    assert status == 0, (
        f"the quick start stopped ({status}); its end (all: {log}):\n{output[-6000:]}"
    )
    return output


def test_the_quick_start_deploys_the_example_as_written(followed):
    runs = followed.split("PLAY RECAP")
    # check.yml, site.yml (which runs the check first) and users.yml, each
    # without a failure on any host.
    assert len(runs) - 1 == 3, followed[-3000:]
    for run in runs[1:]:
        counts = recap(run[: run.find("\n\n", 1)])
        assert set(HOSTS) <= set(counts), run[:2000]
        assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts
    # The school's vault: encrypted as the page says.
    vault = EPHEMERAL / "quickstart/schoolhub/inventory/my-school/group_vars/all/vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")


def test_the_hosts_are_one_swarm_with_the_example_s_names(host, followed):
    nodes = host.check_output("docker node ls --format '{{.Hostname}} {{.Status}}'")
    assert sorted(nodes.splitlines()) == sorted(f"{h} Ready" for h in HOSTS)


@pytest.fixture(scope="module")
def address(host, followed):
    ip = host.interface("eth0").addresses[0]
    client.resolve(HUB, ip)
    return ip


def test_the_hub_has_its_certificate_from_the_acme_server(address, acme_root):
    certificate = served(address, acme_root, HUB)
    assert ("DNS", HUB) in certificate["subjectAltName"]


def test_a_student_signs_in_over_https_and_gets_jupyterlab_on_a_worker(host, address):
    landing = sign_in_to_jupyterlab(
        f"https://{HUB}", STUDENT, ARTIFACTS / "quickstart-student.png", resolve={HUB: address},
        then=lambda page: page.goto(f"https://{HUB}/hub/admin").status,
    )  # fmt: skip
    assert "JupyterLab" in landing.title
    assert landing.headers["strict-transport-security"].startswith("max-age=")
    assert landing.then == 403  # a student has no admin page
    running = f"docker service ps jupyter-{STUDENT} --filter desired-state=running"
    assert host.check_output(f"{running} --format '{{{{.Node}}}}'") in HOSTS[1:]


def test_a_ta_signs_in_over_https_and_has_the_admin_page(address):
    landing = sign_in_to_jupyterlab(
        f"https://{HUB}", TA, ARTIFACTS / "quickstart-ta.png", resolve={HUB: address},
        then=lambda page: page.goto(f"https://{HUB}/hub/admin").status,
    )  # fmt: skip
    assert "JupyterLab" in landing.title
    assert landing.then == 200
