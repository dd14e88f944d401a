"""The inventory checks' filters (playbooks/check.yml): the hub's own check of
its settings, named by inventory variable, and names that are almost ours."""

import importlib.util
from pathlib import Path

import pytest

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

GOOD = {
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


def test_settings_the_hub_accepts_pass():
    assert settings.settings_error(GOOD) == ""


def test_an_error_is_named_by_the_inventory_variable():
    bad = {**GOOD, "culler": {"every": "10"}}
    assert (
        settings.settings_error(bad)
        == "jupyterhub_cull_every (culler.every: expected int, got '10')"
    )


def test_github_settings_are_named_too():
    bad = {
        "hub": GOOD["hub"],
        "auth": {"github": {**GOOD["auth"]["github"], "org": "summer school"}},
        "spawner": GOOD["spawner"],
    }
    assert settings.settings_error(bad).startswith("jupyterhub_github_org (auth.github.org:")


def test_every_mistake_is_named_at_once_each_by_its_variable():
    bad = {
        "hub": GOOD["hub"],
        "auth": {"github": {**GOOD["auth"]["github"], "org": "summer school"}},
        "spawner": {**GOOD["spawner"], "mem_limit": "2X", "pids_limit": 0},
        "culler": {"timeout": 0},
    }
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
