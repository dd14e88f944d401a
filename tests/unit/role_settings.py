"""The hub's settings as the jupyterhub role writes them with its own defaults
(roles/jupyterhub/vars/main.yml `_jupyterhub_settings`, rendered from
defaults/main.yml, the only place a default is written): the base of every
unit test's settings document. Settings made of facts, other hosts or built
images get a test host's value (FILLED)."""

import copy
import re
from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles/jupyterhub"

# What the role makes of facts and other hosts: a one-host site's values.
FILLED = {
    "hub.connect_host": "jupyterhub",
    "spawner.kind": "docker",
    "shares.admin": "",
    "shares.data": "",
}


def role_variables() -> dict:
    """The role's defaults and its plain internal variables."""
    found = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    found.update(yaml.safe_load((ROLE / "vars/main.yml").read_text()))
    return found


def leaves(tree: dict, path: str = "", whole: tuple[str, ...] = ()):
    """(dotted path, value) of each leaf of a nested dict; an empty dict, and
    the dicts under the keys `whole`, are leaves."""
    for key, value in tree.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict) and value and key not in whole:
            yield from leaves(value, where, whole)
        else:
            yield where, value


def rendered(**given) -> dict[str, object]:
    """Each setting the role renders, as rendered with its defaults and the
    inventory's variables `given` (those it cannot render here, made of
    facts, hosts or images, are left out)."""
    variables = {**role_variables(), **given}
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
    # (the servers' environment is one setting, a dict)
    for where, value in leaves(variables["_jupyterhub_settings"], whole=("environment",)):
        try:
            value = render(value)
        except (jinja2.UndefinedError, TypeError, KeyError):
            continue
        found.update(leaves(value, where) if isinstance(value, dict) and value else {where: value})
    return found


def nested(flat: dict[str, object]) -> dict:
    doc: dict = {}
    for path, value in flat.items():
        *sections, key = path.split(".")
        node = doc
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = value
    return doc


def role_settings(**given) -> dict:
    """The whole document the role writes for an inventory with `given`."""
    return nested({**rendered(**given), **FILLED})


ROLE_SETTINGS = role_settings()


def settings_with(*updates: dict) -> dict:
    """ROLE_SETTINGS with each update merged in, section by section (a
    mapping within a section, e.g. auth.github, is merged too; any other
    value replaces the role's)."""
    doc = copy.deepcopy(ROLE_SETTINGS)

    def merge(into: dict, update: dict) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict) and key != "environment":
                merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    for update in updates:
        merge(doc, update)
    return doc
