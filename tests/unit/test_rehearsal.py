"""The check runs what the hub runs (schoolhub.config.rehearse, run by the
check play's filter): every setting, given values the hub refuses at its start
or at a server's, is refused by the check, named by its inventory variable;
and no value the check lets through stops the hub's parts from being made."""

import copy
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from role_settings import leaves, settings_with
from traitlets.config import Config, Configurable
from traitlets.utils.importstring import import_item

from schoolhub import config, settings

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/settings.py"
spec = importlib.util.spec_from_file_location("settings_filter", PLUGIN)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


@pytest.fixture(autouse=True)
def rehearsals(tmp_path, monkeypatch):
    """The filter's markers of rehearsed settings: this test's own."""
    monkeypatch.setattr(check, "REHEARSED", tmp_path / "rehearsed")
    return tmp_path / "rehearsed"


# A site's settings as the role renders them (GitHub sign-in, profiles, shares).
GOOD = settings_with(
    {
        "hub": {"public_url": "https://hub.example", "admin_users": ["tina"]},
        "auth": {
            "github": {
                "org": "summer-school",
                "user_teams": ["Participants"],
                "admin_teams": ["TAs"],
                "client_id": "id",
                "callback_url": "https://hub.example/hub/oauth_callback",
            }
        },
        "spawner": {
            "image": "school/notebook:1",
            "admin_mem_limit": "4G",
            "network_subnet": "10.222.0.0/20",
            "profiles": [{"name": "standard", "default": True}, {"name": "big", "mem_limit": "8G"}],
        },
    }
)


# Values of another kind than a setting's, and odd ones of its kind.
WRONG = {
    bool: ["yes", 2],
    int: ["10", -1, 1.5, "x"],
    settings.NUMBER: ["half", -1.0, True],
    list: ["x", [1], [{"x": 1}]],
    dict: ["x", {"A": {"b": 1}}],
    str: [5, "1g", "lots", "-1", ""],
}
TABLE = [(path, bad) for path, setting in leaves(settings.SCHEMA) for bad in WRONG[setting.kind]]


def given(path: str, value) -> dict:
    doc = copy.deepcopy(GOOD)
    *sections, key = path.split(".")
    node = doc
    for section in sections:
        node = node.setdefault(section, {})
    node[key] = value
    return doc


def hub_parts_made(doc: dict) -> None:
    """What the hub makes at its start from `doc`, and a student's and a TA's
    server with each profile: raises what JupyterHub or traitlets raise."""
    from jupyterhub.app import JupyterHub
    from jupyterhub.proxy import ConfigurableHTTPProxy

    cfg = settings.load_document(doc)
    c = Config()
    config.apply(c, {**cfg, config.REHEARSAL: True})
    app = JupyterHub(config=c)
    ConfigurableHTTPProxy(config=c, app=app)
    authenticator = import_item(c.JupyterHub.authenticator_class)
    Configurable.__init__(authenticator.__new__(authenticator), config=c)
    spawner_class = import_item(c.JupyterHub.spawner_class)
    for ta in (False, True):
        spawner = spawner_class(config=c, user=SimpleNamespace(name="u", admin=ta, groups=[]))
        for profile in [{}, *spawner.profiles]:
            spawner.apply_profile(ta, profile)


def test_the_good_settings_make_a_hub():
    assert check.settings_error(GOOD) == ""
    hub_parts_made(GOOD)


@pytest.mark.parametrize(("path", "bad"), TABLE, ids=[f"{p}={b!r}" for p, b in TABLE])
def test_a_value_the_check_lets_through_makes_a_hub(path, bad):
    doc = given(path, bad)
    said = check.settings_error(doc)
    if said:
        # Named: the setting (and its variable, where it has one), or for a
        # rule across settings one of the others of its section.
        assert path in said or f"{path.rsplit('.', 1)[0]}." in said, said
    else:
        hub_parts_made(doc)


# Values that the schema's own rules once let through and the hub refused:
# the check names them now, by the hub's own words.
REFUSED_AT_THE_START = [  # fmt: skip
    ("spawner.mem_limit", "1g", "jupyterhub_mem_limit (spawner.mem_limit:"),
    ("spawner.admin_mem_limit", "2g", "jupyterhub_admin_mem_limit (spawner.admin_mem_limit:"),
    (
        "spawner.profiles",
        [{"name": "big", "mem_limit": "4g"}],
        "jupyterhub_profiles (spawner.profiles: profile 1 (big): The 'mem_limit' trait",
    ),
]


@pytest.mark.parametrize(("path", "bad", "expected"), REFUSED_AT_THE_START)
def test_the_hubs_own_refusals_are_the_checks(path, bad, expected, monkeypatch):
    # As if the schema had no rule of its own for it: the rehearsal still refuses it.
    monkeypatch.setattr(settings, "MEMORY_RE", __import__("re").compile(r".*"))
    said = check.settings_error(given(path, bad))
    assert expected in said, said


def test_settings_rehearsed_once_are_not_rehearsed_again_until_they_change(rehearsals, monkeypatch):
    assert check.settings_error(GOOD) == ""
    assert len(list(rehearsals.iterdir())) == 1

    def refuses(cfg):
        raise settings.ConfigError("spawner.mem_limit: rehearsed again")

    monkeypatch.setattr(config, "rehearse", refuses)
    assert check.settings_error(GOOD) == ""  # the same settings, code and libraries
    changed = given("spawner.mem_limit", "3G")
    said = check.settings_error(changed)
    assert said == "jupyterhub_mem_limit (spawner.mem_limit: rehearsed again)"


def test_a_refusal_of_the_settings_together_names_its_part(monkeypatch):
    """A spawner that refuses two values together, each alone accepted: the
    check names the spawner's settings, and does not remember a pass."""
    from traitlets import TraitError

    from schoolhub import spawner

    class Picky(spawner.SchoolDockerSpawner):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if self.cpu_limit and self.cpu_limit > 1 and self.mem_limit and self.mem_limit < 2**31:
                raise TraitError("more than one CPU needs 2G or more")

    monkeypatch.setattr(spawner, "SchoolDockerSpawner", Picky)
    doc = given("spawner.cpu_limit", 2.0)
    doc["spawner"]["mem_limit"] = "1G"
    said = check.settings_error(doc)
    assert said == "spawner: more than one CPU needs 2G or more", said
    assert check.settings_error(doc) == said  # (no marker of a pass was left)


def test_a_library_missing_on_the_controller_is_named(monkeypatch):
    monkeypatch.setattr(check, "LIBRARIES", (*check.LIBRARIES, "no-such-library"))
    said = check.settings_error(GOOD)
    assert said.startswith("The controller lacks the Python package no-such-library, "), said
