"""The inventory checks' filters (playbooks/check.yml): the hub's own check of
its settings, named by inventory variable, and names that are almost ours."""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from role_settings import leaves, role_settings, settings_with

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"


def plugin(name: str):
    spec = importlib.util.spec_from_file_location(Path(name).stem, ROOT / "plugins/filter" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


settings = plugin("settings.py")


@pytest.fixture(autouse=True)
def rehearsals(tmp_path, monkeypatch):
    """The settings filter's markers of rehearsed settings: this test's own."""
    monkeypatch.setattr(settings, "REHEARSED", tmp_path / "rehearsed")


inventory = plugin("inventory.py")
homes = plugin("homes.py")
USER, MOVED = "org.schoolhub.user", "org.schoolhub.home."

GOOD = settings_with(
    {
        "hub": {"public_url": "https://hub.example"},
        "auth": {
            "github": {
                "org": "summer-school",
                "user_teams": ["Participants"],
                "client_id": "id",
                "callback_url": "https://hub.example/hub/oauth_callback",
            }
        },
        "spawner": {"image": "school/notebook:1"},
    }
)


def test_settings_the_hub_accepts_pass():
    assert settings.settings_error(GOOD) == ""


def test_an_error_is_named_by_the_inventory_variable():
    bad = settings_with(GOOD, {"culler": {"every": "10"}})
    assert (
        settings.settings_error(bad)
        == "jupyterhub_cull_every (culler.every: expected int, got '10')"
    )


def test_github_settings_are_named_too():
    bad = settings_with(GOOD, {"auth": {"github": {"org": "summer school"}}})
    assert settings.settings_error(bad).startswith("jupyterhub_github_org (auth.github.org:")


def test_every_mistake_is_named_at_once_each_by_its_variable():
    bad = settings_with(
        GOOD,
        {
            "auth": {"github": {"org": "summer school"}},
            "spawner": {"mem_limit": "2X", "pids_limit": 0},
            "culler": {"timeout": 0},
        },
    )
    assert settings.settings_error(bad).splitlines() == [
        "jupyterhub_github_org (auth.github.org: 'summer school' is not a GitHub organisation"
        " name)",
        "jupyterhub_mem_limit (spawner.mem_limit: '2X' is not a size like 2G or 512M"
        " (K, M, G or T, upper case))",
        "jupyterhub_pids_limit (spawner.pids_limit: must be positive, got 0)",
        "jupyterhub_cull_timeout (culler.timeout: must be positive, got 0)",
    ]


def test_a_close_name_is_suggested():
    known = ["jupyterhub_mem_limit", "jupyterhub_github_org"]
    assert inventory.unknown_variables(["jupyterhub_memlimit", "jupyterhub_colour"], known) == [
        "jupyterhub_memlimit: no role has this variable. Did you mean jupyterhub_mem_limit?",
        "jupyterhub_colour: no role has this variable.",
    ]


def test_every_role_s_variables_are_found():
    found = inventory.role_variables(str(ROLES))
    assert {"common", "docker", "jupyterhub"} <= set(found)
    assert "jupyterhub_mem_limit" in found["jupyterhub"]
    assert "jupyterhub" in inventory.roles_with(str(ROLES), "tasks/preflight.yml")
    assert "swarm" not in inventory.roles_with(str(ROLES), "tasks/preflight.yml")


def test_two_names_for_one_machine():
    assert inventory.same_machines(["a", "b", "c"], ["10.0.0.1", "10.0.0.2", "10.0.0.1"]) == [
        "a and c"
    ]


def test_a_home_volume_names_its_user():
    names = r"^course\-(.+)\-home$"  # jupyterhub_home_volume: course-{username}-home
    labelled = {
        "Name": "course-bob-2esmith-home",
        "Driver": "local",
        "Mountpoint": "/v/1",
        "Labels": {USER: "Bob.Smith"},
    }
    assert homes.home(labelled, names, USER, MOVED) == {
        "volume": "course-bob-2esmith-home",
        "driver": "local",
        "path": "/v/1",
        "escaped": "bob-2esmith",
        "user": "Bob.Smith",
        "labels": {USER: "Bob.Smith"},
        "moved_label": "org.schoolhub.home.bob-2esmith",
    }
    unlabelled = {"Name": "course-ada-home", "Driver": "local", "Mountpoint": "/v/2"}
    assert homes.home(unlabelled, names, USER, MOVED)["user"] == "ada"


def test_homes_are_listed_fullest_first_and_the_full_ones_flagged():
    def result(user, used, size=256 << 20):
        return {"item": {"user": user}, "volume": {"Status": {"used": used, "size": size}}}

    results = [result("grace", 3 << 20), result("ada", 240 << 20), result("alan", 0, 0)]
    results[2]["volume"]["Status"] = {"state": "not mounted"}
    assert homes.usage(results, 90) == [
        "ada: 240M of 256M (94%) NEAR THE LIMIT",
        "grace: 3M of 256M (1%)",
        "alan: not mounted",
    ]


def test_the_check_play_names_the_names_the_dns_does_not_know():
    network = plugin("network.py")
    assert network.unresolved(["localhost", "schoolhub.invalid", "a..b"]) == [
        "schoolhub.invalid",
        "a..b",
    ]


def test_wrong_types_and_wrong_values_are_named_together():
    bad = settings_with(
        GOOD,
        {
            "hub": {"admin_users": "tina"},
            "auth": {"github": {"user_teams": "Participants", "admin_teams": []}},
            "spawner": {"mem_limit": "1g"},
        },
    )
    assert settings.settings_error(bad).splitlines() == [
        "jupyterhub_admin_users (hub.admin_users: expected list, got 'tina')",
        "jupyterhub_github_user_teams (auth.github.user_teams: expected list, got 'Participants')",
        "jupyterhub_mem_limit (spawner.mem_limit: '1g' is not a size like 2G or 512M"
        " (K, M, G or T, upper case))",
    ]  # (and not "name at least one team": she named one, wrongly)


def test_every_setting_made_of_an_inventory_variable_names_it_in_the_table():
    role_vars = yaml.safe_load((ROLES / "jupyterhub/vars/main.yml").read_text())
    made = role_vars["_jupyterhub_settings"]
    made["auth"]["github"] = role_vars["_jupyterhub_github"]
    public = set(inventory.role_variables(str(ROLES))["jupyterhub"])
    for path, template in leaves(made):
        named = set(re.findall(r"\bjupyterhub_\w+", str(template))) & public
        if named:
            assert settings.VARIABLES.get(path) in named, (path, template)
    assert set(settings.VARIABLES.values()) <= public
    assert set(settings.VARIABLES) <= {path for path, _ in leaves(made)}


rules = plugin("rules.py")
# The role's own values of a good inventory (vars/main.yml, _jupyterhub_rule_values).
VALUES = {
    "jupyterhub_tls_front": True,
    "jupyterhub_public_url": "https://hub.example",
    "jupyterhub_tls_certificate": "",
    "jupyterhub_tls_certificate_key": "",
    "jupyterhub_hsts_max_age": 31536000,
    "jupyterhub_image_cache_keep": 2,
    "jupyterhub_singleuser_build": True,
    "jupyterhub_singleuser_image": "",
    "jupyterhub_auth": "github",
    "jupyterhub_github_client_secret": True,
    "jupyterhub_fake_github": False,
    "jupyterhub_fake_github_data": {},
    "jupyterhub_team_folders": [],
    "nfs_server": {"nfs_server_teams": False},
    "nfs_client_shares": ["admin", "data"],
    "jupyterhub_egress_allow": [{"to": "10.1.2.3", "port": 3128}, {"to": "10.9.0.0/16"}],
    "jupyterhub_egress_blocked": ["10.0.0.0/8"],
    "jupyterhub_network_encrypted": False,
    "jupyterhub_spawner": "docker",
}


def test_the_role_s_good_values_pass():
    assert rules.role_errors(VALUES) == []
    plain = {"jupyterhub_tls_front": False, "jupyterhub_public_url": "http://10.1.2.3:8000"}
    assert rules.role_errors({**VALUES, **plain, "jupyterhub_hsts_max_age": -1}) == []


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        ({"jupyterhub_public_url": "http://hub.example"}, "The TLS front needs an https://"),
        ({"jupyterhub_public_url": "https://10.1.2.3"}, "an ACME CA issues no certificate"),
        ({"jupyterhub_tls_certificate": "site.crt"}, 'or both jupyterhub_tls_certificate and'),
        ({"jupyterhub_hsts_max_age": "-1"}, "jupyterhub_hsts_max_age: -1 is not a number"),
        ({"jupyterhub_image_cache_keep": 0}, "jupyterhub_image_cache_keep: 0 is not a number"),
        ({"jupyterhub_singleuser_build": False, "jupyterhub_singleuser_image": "school/nb"},
         "jupyterhub_singleuser_image (school/nb) must name a tag other than `latest`"),
        ({"jupyterhub_singleuser_build": False, "jupyterhub_singleuser_image": "r:5000/nb:latest"},
         "must name a tag other than `latest`"),
        ({"jupyterhub_github_client_secret": False}, "jupyterhub_github_client_secret (in Ansible"),
        ({"jupyterhub_fake_github": True}, "jupyterhub_fake_github_data needs `users`"),
        ({"jupyterhub_team_folders": ["Group-A"]}, "jupyterhub_team_folders needs the NFS teams"),
        ({"jupyterhub_team_folders": ["Group-A"], "nfs_server": None}, "needs the NFS teams"),
        ({"jupyterhub_egress_allow": [{"to": "10.1.2.300"}]}, "jupyterhub_egress_allow: {'to'"),
        ({"jupyterhub_egress_allow": [{"to": "10.1.2.3", "port": 70000}]}, "is not a rule like"),
        ({"jupyterhub_egress_allow": [{"to": "10.1.2.3", "proto": "icmp"}]}, "is not a rule"),
        ({"jupyterhub_egress_allow": ["10.1.2.3"]}, "jupyterhub_egress_allow: 10.1.2.3 is not"),
        ({"jupyterhub_egress_blocked": ["everything"]}, "jupyterhub_egress_blocked: everything"),
        ({"jupyterhub_network_encrypted": True}, "jupyterhub_network_encrypted encrypts"),
    ],
)  # fmt: skip
def test_each_wrong_value_of_the_role_is_named(changed, said):
    errors = rules.role_errors({**VALUES, **changed})
    assert len(errors) == 1 and said in errors[0], errors


def test_the_role_s_every_mistake_shows_at_once():
    wrong = {"jupyterhub_image_cache_keep": 0, "jupyterhub_egress_blocked": ["x", "y"],
             "jupyterhub_network_encrypted": True}  # fmt: skip
    assert len(rules.role_errors({**VALUES, **wrong})) == 4


def test_no_preflight_asserts_a_rule_of_the_python_checks():
    """One place per rule: a preflight's asserts look at what the controller and
    the hosts hold (files, names in the DNS, the engine's networks, homes, the
    hub that runs), or at the inventory's shape; a value's rule is Python's."""
    for preflight in sorted(ROLES.glob("*/tasks/preflight.yml")):
        for task in yaml.safe_load(preflight.read_text()):
            if "ansible.builtin.assert" not in task:
                continue
            that = task["ansible.builtin.assert"]["that"]
            text = " ".join(that if isinstance(that, list) else [that])
            looked_at = re.findall(r"\b(__\w+|ansible_facts|item is file|is file)\b", text)
            assert looked_at or "nfs_server_clients" in text, (preflight.name, task["name"])


@pytest.mark.parametrize(
    "pool",
    [{"base": "10.0.0.0/8"}, {"base": "10.0.0.0", "size": 24}, {"base": "10.0.0.0/24", "size": 16},
     {"base": "10.0.0.300/8", "size": 24}, {"base": "10.0.0.0/8", "size": 31}, "10.0.0.0/8"],
)  # fmt: skip
def test_an_address_pool_without_a_base_and_a_longer_size_is_named(pool):
    assert rules.address_pool_errors([{"base": "10.210.0.0/16", "size": 24}, pool]) == [
        f"docker_default_address_pools: {pool} needs a network `base` (e.g. 10.210.0.0/16) and a"
        " `size` (prefix length of each network, e.g. 24) longer than the base's."
    ]


@pytest.mark.parametrize(
    ("group_names", "groups", "played"),
    [
        (["hub"], {"hub": ["h"]}, ["common", "docker", "user_servers", "jupyterhub"]),
        (["hub"], {"hub": ["h"], "nfs": ["n"]},
         ["common", "docker", "nfs_client", "user_servers", "jupyterhub"]),
        (["hub", "nfs"], {"hub": ["h"], "nfs": ["h"]},
         ["common", "docker", "nfs_server", "nfs_client", "user_servers", "jupyterhub"]),
        (["nfs"], {"hub": ["h"], "nfs": ["n"], "workers": ["w"]},
         ["common", "docker", "nfs_server"]),
        (["workers"], {"hub": ["h"], "nfs": ["n"], "workers": ["w"]},
         ["common", "docker", "nfs_client", "swarm", "user_servers"]),
        (["hub"], {"hub": ["h"], "workers": ["w"]},
         ["common", "docker", "swarm", "user_servers", "jupyterhub"]),
        (["spare"], {"hub": ["h"], "spare": ["s"]}, ["common", "docker"]),
    ],
)  # fmt: skip
def test_the_check_plays_on_each_host_the_roles_site_yml_plays_there(group_names, groups, played):
    site = str(ROOT / "playbooks/site.yml")
    assert inventory.site_roles(site, group_names, groups) == played


@pytest.mark.parametrize(
    "inventory",
    [
        {"jupyterhub_auth": "github", "jupyterhub_github_org": "school",
         "jupyterhub_github_client_id": "id"},
        {"jupyterhub_auth": "native", "jupyterhub_native_admin_users": ["nadia"]},
        {"jupyterhub_auth": "github", "jupyterhub_github_org": "school",
         "jupyterhub_github_client_id": "id", "jupyterhub_fake_github": True},
    ],
)  # fmt: skip
def test_the_document_the_role_writes_is_whole_for_every_sign_in(inventory):
    """Every setting, whatever the inventory chooses (no section left out)."""
    doc = role_settings(jupyterhub_public_url="https://hub.example", **inventory)
    assert settings.settings_error(doc) == ""
