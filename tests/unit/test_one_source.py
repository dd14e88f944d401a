"""One source for each default: the hub's own defaults (schoolhub.settings.DEFAULTS,
used when a setting is absent) agree with what the role renders from its
defaults (roles/jupyterhub/vars/main.yml `_jupyterhub_settings`)."""

import re
from pathlib import Path

import jinja2
import pytest
import yaml

from schoolhub import settings

ROLE = Path(__file__).resolve().parents[2] / "roles/jupyterhub"


def role_variables() -> dict:
    """The role's defaults and its plain internal variables (no lookups, no facts)."""
    found = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    found.update(yaml.safe_load((ROLE / "vars/main.yml").read_text()))
    return found


def leaves(tree: dict, path: str = ""):
    for key, value in tree.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict) and value and key != "environment":
            yield from leaves(value, where)
        else:
            yield where, value


def rendered_defaults() -> dict[str, object]:
    """Each setting the role renders, as rendered with the role's defaults;
    settings that depend on facts, other hosts or built images are left out."""
    variables = role_variables()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701 (YAML, not HTML)
    env.filters.update(int=int, float=float, bool=lambda v: str(v).lower() in ("true", "yes", "1"))
    env.tests["match"] = lambda value, pattern: re.match(pattern, value) is not None

    def render(value, depth=0):
        if isinstance(value, dict):
            return {key: render(item, depth + 1) for key, item in value.items()}
        if not isinstance(value, str) or "{{" not in value:
            return value
        if depth > 5:
            raise jinja2.UndefinedError("too deep")
        context = {k: render(v, depth + 1) for k, v in variables.items() if k in value}
        text = env.from_string(value).render(**context).strip()
        try:  # as Ansible does: a rendered list, number or boolean is one
            return yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            return text

    found = {}
    for where, value in leaves(variables["_jupyterhub_settings"]):
        try:
            value = render(value)
        except (jinja2.UndefinedError, TypeError, KeyError):
            continue
        found.update(leaves(value, where) if isinstance(value, dict) and value else {where: value})
    return found


RENDERED = rendered_defaults()
DEFAULTS = dict(leaves(settings.DEFAULTS))


def test_most_settings_are_compared():
    assert len(RENDERED) >= 30, sorted(RENDERED)


@pytest.mark.parametrize("setting", sorted(RENDERED))
def test_the_hubs_default_is_the_roles(setting):
    assert setting in DEFAULTS, f"{setting}: rendered by the role, unknown to schoolhub.settings"
    # An empty default in the hub is none (a site's own value: its image, teams, shares).
    if DEFAULTS[setting] not in ("", []):
        assert RENDERED[setting] == DEFAULTS[setting], setting


ROLES = ROLE.parent


def role_default(role: str, name: str):
    return yaml.safe_load((ROLES / role / "defaults/main.yml").read_text())[name]


def test_the_admin_account_is_the_same_everywhere():
    """Roles stand alone, so each has a default; they must agree, with the hub's
    and the start hook's fallback."""
    for kind in ("uid", "gid"):
        common = role_default("common", f"common_admin_{kind}")
        assert role_default("nfs_server", f"nfs_server_admin_{kind}") == common
        assert f"default({common})" in role_default("jupyterhub", f"jupyterhub_admin_{kind}")
        assert DEFAULTS[f"shares.admin_{kind}"] == common
        hook = (ROLE / "files/start-scripts.sh").read_text()
        assert f"${{SCHOOL_ADMIN_{kind.upper()}:-{common}}}" in hook


def test_the_shares_are_mounted_where_the_hub_looks_for_them():
    root = role_default("nfs_client", "nfs_client_mount_root")
    assert role_default("jupyterhub", "jupyterhub_homes_share") == f"{root}/homes"
    for share in ("admin", "data"):
        assert f"'{root}/{share}'" in role_default("jupyterhub", f"jupyterhub_{share}_share")


def test_labels_are_the_spawners():
    from schoolhub import spawner

    variables = role_variables()
    assert variables["_jupyterhub_user_label"] == spawner.USER_LABEL
    assert variables["_jupyterhub_home_label"] == spawner.HOME_LABEL.format("")


def test_the_hub_reads_its_settings_where_the_role_puts_them():
    hub_dir = role_variables()["_jupyterhub_hub_dir"]
    assert str(settings.SETTINGS) == f"{hub_dir}/schoolhub.yaml"
    run = (ROLE / "tasks/run.yml").read_text()
    assert "'/schoolhub.yaml:' ~ _jupyterhub_hub_dir ~ '/schoolhub.yaml:ro'" in run
