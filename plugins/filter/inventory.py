"""Filters of the inventory checks (tasks/check.yml)."""

from __future__ import annotations

import difflib
from pathlib import Path

import jinja2
import yaml


def role_variables(roles_dir: str) -> dict[str, dict]:
    """Every role's variables, from its meta/argument_specs.yml: role -> options."""
    return {
        path.parents[1].name: yaml.safe_load(path.read_text())["argument_specs"]["main"]["options"]
        for path in sorted(Path(roles_dir).glob("*/meta/argument_specs.yml"))
    }


def roles_with(roles_dir: str, file: str) -> list[str]:
    """The roles that have `file` (e.g. tasks/preflight.yml)."""
    return sorted(path.name for path in Path(roles_dir).iterdir() if (path / file).is_file())


def unknown_variables(unknown: list[str], known: list[str]) -> list[str]:
    """One message per variable that looks like a role's but is none of them."""
    messages = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f" Did you mean {close[0]}?" if close else ""
        messages.append(f"{name}: no role has this variable.{hint}")
    return messages


def same_machines(hosts: list[str], addresses: list[str]) -> list[str]:
    """Inventory names that share an address, as "a and b" per address."""
    names: dict[str, list[str]] = {}
    for host, address in zip(hosts, addresses, strict=True):
        names.setdefault(address, []).append(host)
    return [" and ".join(group) for group in names.values() if len(group) > 1]


def _plays(playbook: Path):
    """The plays of a playbook, those of the playbooks it imports in place."""
    for play in yaml.safe_load(playbook.read_text()) or []:
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            yield from _plays(playbook.parent / imported)
        else:
            yield play


def _in_pattern(pattern: str, group_names: list[str]) -> bool:
    """Whether a host of these groups is in a play's hosts (groups joined by `:`)."""
    if not set(pattern) <= set("abcdefghijklmnopqrstuvwxyz0123456789_:"):
        raise ValueError(f"site.yml: hosts pattern {pattern!r} is not groups joined by ':'")
    return any(name == "all" or name in group_names for name in pattern.split(":"))


def site_roles(site: str, group_names: list[str], groups: dict) -> list[str]:
    """The roles a host of these groups plays in site.yml (its plays' `roles`,
    with their `when`), in order: what the check play checks on it."""
    played = []
    environment = jinja2.Environment()  # noqa: S701 (conditions, not HTML)
    for play in _plays(Path(site)):
        if not _in_pattern(str(play.get("hosts", "")), group_names):
            continue
        for entry in play.get("roles", []):
            role = entry["role"] if isinstance(entry, dict) else entry
            when = entry.get("when", "true") if isinstance(entry, dict) else "true"
            if environment.compile_expression(str(when))(groups=groups) and role not in played:
                played.append(role)
    return played


class FilterModule:
    def filters(self):
        return {
            "role_variables": role_variables,
            "roles_with": roles_with,
            "unknown_variables": unknown_variables,
            "same_machines": same_machines,
            "site_roles": site_roles,
        }
