"""Every role documents exactly the variables it defines, and production
defaults carry no setting that only container test hosts need."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults/main.yml").exists())
PY_TYPES = {
    "str": str,
    "int": int,
    "bool": bool,
    "list": list,
    "dict": dict,
    "path": str,
    "float": float,
}

# Settings that exist only because test hosts are containers (docs/maintainers.md).
CONTAINER_ONLY = ["DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE", "allow_set_io_flusher_fail"]


def load(path: Path):
    return yaml.safe_load(path.read_text()) or {}


def spec_options(role: str) -> dict:
    specs = load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]
    return specs["main"]["options"]


def test_there_are_roles():
    assert {"common", "docker"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults = load(ROOT / "roles" / role / "defaults/main.yml")
    assert sorted(spec_options(role)) == sorted(defaults)


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described_and_typed(role):
    for name, option in spec_options(role).items():
        assert name.startswith(f"{role}_"), f"{name} lacks the role prefix {role}_"
        assert option.get("description"), f"{role}: {name} has no description"
        assert option.get("type") in PY_TYPES, f"{role}: {name} has no known type"


@pytest.mark.parametrize("role", ROLES)
def test_the_defaults_file_alone_has_the_defaults_and_they_fit_the_spec(role):
    defaults = load(ROOT / "roles" / role / "defaults/main.yml")
    for name, option in spec_options(role).items():
        value = defaults[name]
        assert "default" not in option, f"{role}: {name}'s default is written twice"
        if isinstance(value, str) and "{{" in value:
            continue  # computed from the inventory: checked by the role's own validation
        assert isinstance(value, PY_TYPES[option["type"]]), f"{role}: {name} has wrong type"
        if "choices" in option:
            assert value in option["choices"]


@pytest.mark.parametrize("role", ROLES)
def test_production_defaults_carry_no_container_only_setting(role):
    for path in (ROOT / "roles" / role).rglob("*.yml"):
        text = path.read_text()
        for setting in CONTAINER_ONLY:
            assert setting not in text, f"{path.relative_to(ROOT)} carries {setting}"


def test_container_only_settings_live_in_the_test_inventory():
    """The other half of the rule: the test hosts' settings (lab and molecule) set them."""
    settings = load(ROOT / "inventory/test-hosts.yml")["all"]["vars"]
    assert settings["docker_service_environment"] == {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1"}
    assert settings["nfs_client_stand_in"] is True


def test_test_hosts_set_only_known_variables():
    """The test hosts' settings and every scenario's own name role variables (or
    the lab's, which schoolhub_lab.hosts writes, or Ansible's own connection
    settings): a typo fails here."""
    known = {"ansible_become"}
    for role in ROLES:
        known |= set(load(ROOT / "roles" / role / "defaults/main.yml"))
    names = set(load(ROOT / "inventory/test-hosts.yml")["all"]["vars"])
    for scenario in (ROOT / "molecule").glob("*/molecule.yml"):
        inventory = load(scenario).get("provisioner", {}).get("inventory", {})
        for group in [
            *inventory.get("group_vars", {}).values(),
            *inventory.get("host_vars", {}).values(),
        ]:
            names |= set(group)
    assert names - known == set()


def test_docker_service_environment_is_empty_by_default():
    defaults = load(ROOT / "roles/docker/defaults/main.yml")
    assert defaults["docker_service_environment"] == {}
    assert defaults["docker_default_address_pools"] == []


@pytest.mark.parametrize("release", ["Debian-12", "Debian-13", "Ubuntu"])
def test_docker_role_knows_each_release(release):
    packages = load(ROOT / f"roles/docker/vars/{release}.yml")["_docker_distribution_packages"]
    assert "docker.io" in packages
    # Debian 13 split the CLI out of docker.io.
    assert ("docker-cli" in packages) == (release == "Debian-13")


@pytest.mark.parametrize("example", ["example", "one-host"])
def test_example_inventory_sets_only_known_variables(example):
    """Every variable the examples set is one a role defines (typos fail here)."""
    known = set()
    for role in ROLES:
        known |= set(load(ROOT / "roles" / role / "defaults/main.yml"))
    settings = load(ROOT / "inventory" / example / "group_vars/all/main.yml")
    assert set(settings) - known == set()


def test_the_variable_reference_is_current():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "tools/docs.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def included_operations():
    """(role, entry point) of every include_role with tasks_from in the playbooks and roles."""
    for path in sorted((ROOT / "playbooks").glob("*.yml")) + sorted(
        ROOT.glob("roles/*/tasks/*.yml")
    ):
        for match in re.finditer(r"name: (\w+)\n\s+tasks_from: ([\w-]+)", path.read_text()):
            yield path.relative_to(ROOT), match.group(1), match.group(2)


# Task files of a role included by the project's other roles only: by the
# common role's checks, or with private inputs (an image's archive).
INTERNAL = {("docker", "images"), ("jupyterhub", "preflight"), ("common", "preflight"),
            ("nfs_server", "preflight"), ("docker", "preflight"),
            ("jupyterhub", "load_image")}  # fmt: skip


def test_every_operation_a_playbook_uses_is_declared_with_its_inputs():
    """A role's operations are entry points of its meta/argument_specs.yml:
    Ansible checks their inputs at each include, as it checks main's."""
    found = list(included_operations())
    assert len(found) > 15
    for path, role, entry in found:
        if (role, entry) in INTERNAL:
            continue
        specs = load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"]
        assert entry in specs, f"{path}: {role}'s {entry} is no entry point of its argument specs"
        assert (ROOT / "roles" / role / "tasks" / f"{entry}.yml").is_file()
        for name in specs[entry].get("options", {}):
            assert name.startswith(f"{role}_"), f"{role}'s {entry}: {name} lacks the role prefix"
