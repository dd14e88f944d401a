"""The roles as an Ansible collection (galaxy.yml), for a site's own
playbooks: built, installed into a temporary path, and a site's playbook that
imports the collection's check play passes on the scenario's hosts, its roles
the collection's (schoolhub.deploy.<role>), not this checkout's."""

import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import EPHEMERAL, ROOT, on_the_shorter_chain

BIN = Path(sys.executable).parent


@on_the_shorter_chain  # (nothing here depends on the host's release)
def test_a_sites_playbook_checks_its_inventory_with_the_collections_roles(tmp_path):
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    # Nothing of this checkout: not its roles, not its ansible.cfg, nor the
    # checkout seen as the collection (which galaxy would find installed).
    mine = ("ANSIBLE_ROLES_PATH", "ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH")
    env = {k: v for k, v in os.environ.items() if k not in mine}
    env |= {"ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"), "ANSIBLE_NOCOLOR": "1"}
    galaxy = [str(BIN / "ansible-galaxy"), "collection"]
    built = subprocess.run(
        [*galaxy, "build", "--output-path", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    archive = tmp_path / f"schoolhub-deploy-{version}.tar.gz"
    installed = subprocess.run(
        [*galaxy, "install", "-p", str(tmp_path / "collections"), str(archive)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    collection = tmp_path / "collections/ansible_collections/schoolhub/deploy"
    assert (collection / "playbooks/check.yml").is_file(), installed.stdout
    site = tmp_path / "site" / "check.yml"
    site.parent.mkdir()
    play = {"name": "The site's check", "ansible.builtin.import_playbook": "schoolhub.deploy.check"}
    site.write_text(yaml.safe_dump([play]))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(EPHEMERAL / "inventory"), str(site)],
        capture_output=True, text=True, env=env, cwd=site.parent, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "TASK [schoolhub.deploy.common : Check the inventory's shape]" in done.stdout
    assert "TASK [schoolhub.deploy.jupyterhub : Check the hub's settings" in done.stdout
    assert str(ROOT / "roles") not in done.stdout + done.stderr
