"""The hub's settings: one YAML document (`schoolhub.yaml`, which the
`jupyterhub` role renders from inventory variables), its schema, its checks,
and what the hub's parts read from it (who is a TA, the users' network, the
secrets). The bottom of the package: it imports none of schoolhub's modules;
schoolhub.config turns the settings into JupyterHub's configuration.

The role writes every setting (its defaults are the only ones); an unknown,
missing or mistyped key, or a bad value, is an error naming the key. Secrets
are never in the YAML: they are read from files in `hub.secrets_dir`.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import yaml

# Where the role mounts the document in the hub container.
SETTINGS = Path("/srv/jupyterhub/schoolhub.yaml")

# A setting that is a number: an int or a float.
NUMBER = (int, float)


class Setting(NamedTuple):
    """A setting of the hub: its type, and the inventory variable of the
    jupyterhub role it comes from ("": the role's own value), which leads
    the messages about it."""

    kind: type | tuple
    variable: str = ""


# Every setting of the hub. The jupyterhub role writes each one
# (roles/jupyterhub/vars/main.yml) from its defaults (defaults/main.yml, the
# one place where a default is written); a document without one is refused,
# naming it. What no inventory changes is a constant of schoolhub.config.
SCHEMA: dict[str, Any] = {
    "hub": {
        # The hub's port in its container, and the name other containers reach it by.
        "port": Setting(int),
        "connect_host": Setting(str, "jupyterhub_hub_address"),
        # The hub container's name on the users' network (where the proxy reaches its services).
        "container": Setting(str),
        # As users type it; https:// makes every cookie Secure (hub's and servers').
        "public_url": Setting(str, "jupyterhub_public_url"),
        # Each user's server on a name of its own, <user>.<the public URL's
        # host>: what a student's server serves never runs with a visitor's
        # hub session (JupyterHub's subdomain_host). False: one origin for all.
        "subdomains": Setting(bool, "jupyterhub_subdomains"),
        # The certificates service's port in the hub container, which the TLS
        # front asks before it gets a certificate for a user's name (0: none).
        "tls_ask_port": Setting(int),
        "data_dir": Setting(str),
        # The SQLite database in it (the role backs it up by this name).
        "database": Setting(str),
        "secrets_dir": Setting(str),
        "admin_users": Setting(list, "jupyterhub_admin_users"),
        "concurrent_spawn_limit": Setting(int, "jupyterhub_concurrent_spawn_limit"),
        # What the GitHub TA teams may do (TA_ROLES): everything, or students' servers only.
        "ta_role": Setting(str, "jupyterhub_ta_role"),
        # Users may share their running server with a user or by a link (JupyterHub's sharing).
        "sharing": Setting(bool, "jupyterhub_sharing"),
    },
    "proxy": {
        # Its API, on the network of the hub and the proxy alone.
        "api_url": Setting(str),
        # As containers on the users' network reach it (servers read the announcements there).
        "url": Setting(str),
    },
    # Shown on the hub's pages and in JupyterLab (schoolhub.announcements);
    # admins and TAs add one of their own on the service's page.
    "announcements": {
        "message": Setting(str, "jupyterhub_announcement"),
        # ISO 8601 date or time, UTC unless it names an offset; "" never.
        "expires": Setting(str, "jupyterhub_announcement_expires"),
    },
    "auth": {
        "kind": Setting(str, "jupyterhub_auth"),
        "github": {
            "org": Setting(str, "jupyterhub_github_org"),
            "user_teams": Setting(list, "jupyterhub_github_user_teams"),
            "admin_teams": Setting(list, "jupyterhub_github_admin_teams"),
            "client_id": Setting(str, "jupyterhub_github_client_id"),
            "callback_url": Setting(str, "jupyterhub_public_url"),
            "url": Setting(str, "jupyterhub_github_url"),
            # Where browsers are sent to sign in, when it differs from `url`.
            "browser_url": Setting(str, "jupyterhub_github_browser_url"),
            # Seconds before a user's teams are fetched again (on the next request or spawn).
            "refresh_age": Setting(int, "jupyterhub_github_refresh_age"),
        },
        "native": {
            "admin_users": Setting(list, "jupyterhub_native_admin_users"),
        },
    },
    "spawner": {
        # docker: servers on the hub host; swarm: servers on the Swarm's workers.
        "kind": Setting(str, "jupyterhub_spawner"),
        "image": Setting(str, "jupyterhub_singleuser_image"),
        "network": Setting(str, "jupyterhub_network"),
        "home_volume": Setting(str, "jupyterhub_home_volume"),
        # swarm only: the NFS homes share as mounted on every host ("" = homes are
        # volumes, and each user stays on the node of their first start).
        "homes_share": Setting(str, "jupyterhub_homes_on_nfs"),
        # Each home's size limit ("" = none), kept by the home volumes' driver:
        # a Docker volume plugin on every host that runs servers (the role's
        # schoolhub-homes), or Docker's own "local" (no quota).
        "home_quota": Setting(str, "jupyterhub_home_quota"),
        "home_driver": Setting(str),
        "uid": Setting(int, "jupyterhub_notebook_uid"),
        "gid": Setting(int, "jupyterhub_notebook_gid"),
        "mem_limit": Setting(str, "jupyterhub_mem_limit"),
        "cpu_limit": Setting(NUMBER, "jupyterhub_cpu_limit"),
        "admin_mem_limit": Setting(str, "jupyterhub_admin_mem_limit"),
        "admin_cpu_limit": Setting(NUMBER, "jupyterhub_admin_cpu_limit"),
        # Admins (TAs) may sudo in their servers; students never can.
        "admin_sudo": Setting(bool, "jupyterhub_admin_sudo"),
        # Most processes and threads in one server (stops a fork bomb there).
        "pids_limit": Setting(int, "jupyterhub_pids_limit"),
        # /tmp and /var/tmp of every server: memory filesystems of this size
        # (within its memory limit), never the host's disk.
        "tmp_size": Setting(str, "jupyterhub_tmp_size"),
        "start_timeout": Setting(int, "jupyterhub_start_timeout"),
        "http_timeout": Setting(int, "jupyterhub_http_timeout"),
        # Where each server opens (a path of the server: /lab, /tree, a notebook).
        "default_url": Setting(str, "jupyterhub_default_url"),
        "environment": Setting(dict, "jupyterhub_singleuser_environment"),
        # The users' network's addresses (users_network): the proxy's and the
        # hub's fixed ones are the only ones that open connections to a server
        # (its own firewall, set by the image's start.sh before the user's
        # processes start). "": no fixed addresses, no such firewall.
        "network_subnet": Setting(str, "jupyterhub_network_subnet"),
        # Choices on the spawn page (PROFILE below); none: no page, every
        # server as above.
        "profiles": Setting(list, "jupyterhub_profiles"),
    },
    # The NFS shares as mounted on the hosts that run users' servers ("" = none).
    "shares": {
        "admin": Setting(str, "jupyterhub_admin_share"),
        "data": Setting(str, "jupyterhub_data_share"),
        "admin_uid": Setting(int, "jupyterhub_admin_uid"),
        "admin_gid": Setting(int, "jupyterhub_admin_gid"),
        # The start-scripts hook on those hosts, mounted into every server.
        "start_hook": Setting(str),
        # The NFS teams share as mounted on every host (the hub's too), and
        # the GitHub teams that get a folder there: ~/teams/<team> for members.
        "teams": Setting(str, "jupyterhub_teams_share"),
        "team_folders": Setting(list, "jupyterhub_team_folders"),
        "script_timeout": Setting(int, "jupyterhub_script_timeout"),
    },
    # Repositories that students pull (nbgitpuller's links) through the hub's
    # cache (schoolhub.gitcache), which asks their host once a refresh_every
    # seconds at most; private: the host gets the secret git_token.
    "git": {
        "repos": Setting(list, "jupyterhub_git_repos"),
        "refresh_every": Setting(int, "jupyterhub_git_refresh_every"),
        "private": Setting(bool, "jupyterhub_git_token"),
    },
    "culler": {
        "enabled": Setting(bool, "jupyterhub_cull_enabled"),
        "timeout": Setting(int, "jupyterhub_cull_timeout"),
        "every": Setting(int, "jupyterhub_cull_every"),
    },
}

# Our own sizes (spawner.tmp_size, home_quota): read by size_bytes and by
# Ansible's human_to_bytes, never by a trait; both take "1g" and plain bytes.
SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$")
# Memory limits (spawner.mem_limit, admin_mem_limit, a profile's): what
# JupyterHub's ByteSpecification reads (DockerSpawner.mem_limit). Its unit is
# upper case and never left out: "1g" or "512" stops the hub (TraitError) or
# every start that uses it. (It would also read " 1G", "1e3G" or "-1G".)
MEMORY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[KMGT]$")
MEMORY_FORM = "(K, M, G or T, upper case)"
# A path in a user's server (spawner.default_url): no scheme, host or spaces.
DEFAULT_URL_RE = re.compile(r"^/(?!/)[^\s?#]*$")
# The smallest home quota (ext4's own tables take a few MiB of it).
MINIMUM_QUOTA = 64 << 20


def size_bytes(size: str) -> int:
    """Bytes in a size that SIZE_RE matches (binary units, as Docker's and Ansible's)."""
    text = str(size)
    unit = text[-1].upper() if text[-1].isalpha() else ""
    number = text[:-1] if unit else text
    return int(float(number) * 1024 ** " KMGT".index(unit or " "))


# GitHub team names as admins see them; slugs are computed.
TEAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")
ORG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


# full-admin: JupyterHub admins. server-admin: the admin page, every user's
# name and activity, and students' servers (open, start, stop; TA_SCOPES);
# not: adding, removing or promoting users, nor other TAs' servers.
TA_ROLES = ("full-admin", "server-admin")
TA_SCOPES = ("admin-ui", "list:users", "read:users", "read:servers")
TA_SERVER_SCOPES = ("servers", "access:servers")


# How long a server trusts the hub's answer about who may open it (hub.sharing).
SHARE_CHECK_EVERY = 60


class ConfigError(ValueError):
    """The YAML is wrong; the message names the key."""


# One choice on the spawn page ("Standard", "Big data day", "R"): empty or 0
# means the server's usual value (spawner.image, the user's limits).
PROFILE: dict[str, Any] = {
    "name": "",  # in links and the API: /hub/spawn?profile=big-data
    "display_name": "",  # as students read it (default: the name)
    "description": "",
    "image": "",
    "cpu_limit": 0.0,
    "mem_limit": "",
    "admin_only": False,  # TAs only: students neither see nor start it
    "default": False,  # pre-selected (default: the first one students may use)
}
PROFILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def merge(defaults: dict, given: dict, path: str = "") -> dict:
    """Deep-merge `given` over a copy of `defaults` (a Setting is required);
    unknown keys, missing ones and wrong types are errors."""
    errors: list[str] = []
    result = _merge(defaults, given, path, errors)
    if errors:
        raise ConfigError("\n".join(errors))
    return result


def _required(default) -> bool:
    return isinstance(default, Setting)


def _merge(defaults: dict, given, path: str, errors: list[str]) -> dict:
    """merge, with every unknown key, missing one and wrong type in `errors`
    (each such setting gets its default, or an empty value of its type)."""
    result = {
        key: copy.deepcopy(NEUTRAL[default.kind] if _required(default) else default)
        for key, default in defaults.items()
    }
    if not isinstance(given, dict):
        errors.append(f"{path or 'the document'} must be a mapping, got {given!r}")
        return result
    for key, value in given.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            errors.append(f"{where}: unknown setting (known here: {known})")
            continue
        default = defaults[key]
        if isinstance(default, dict):
            result[key] = _merge(default, value or {}, where, errors)
            continue
        expected = default.kind if _required(default) else type(default)
        expected = NUMBER if expected is float else expected
        listed = value if isinstance(value, list) and where not in LISTS_OF_MAPPINGS else []
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            errors.append(
                f"{where}: expected {getattr(expected, '__name__', 'a number')}, got {value!r}"
            )
        elif not all(isinstance(item, str) for item in listed):
            errors.append(f"{where}: expected a list of text, got {value!r}")
        else:
            result[key] = copy.deepcopy(value)
    for key, default in defaults.items():
        if _required(default) and key not in given:
            where = f"{path}.{key}" if path else key
            errors.append(f"{where}: missing (the jupyterhub role writes every setting)")
        elif isinstance(default, dict) and key not in given:
            result[key] = _merge(default, {}, f"{path}.{key}" if path else key, errors)
    return result


# An empty value of each kind of Setting (a missing one's, to check the others).
NEUTRAL = {str: "", int: 0, NUMBER: 0.0, bool: False, list: [], dict: {}}


# The one list setting whose items are mappings (checked by `profiles`); the
# others are lists of names, addresses or teams.
LISTS_OF_MAPPINGS = ("spawner.profiles",)


def slugify(team_name: str) -> str:
    """GitHub's team slug, as used in its API and in `org:slug` group names."""
    return re.sub(r"[^a-z0-9_]+", "-", team_name.lower()).strip("-")


PUBLIC_URL_RE = re.compile(r"^https?://[^/]+$")


def profiles(given: list) -> list[dict]:
    """The spawn page's choices, every key filled in and exactly one default;
    a wrong one is an error naming it."""
    result = []
    for index, entry in enumerate(given, start=1):
        where = f"spawner.profiles: profile {index}"
        if isinstance(entry, dict) and entry.get("name"):
            where += f" ({entry['name']})"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping (name: ..., description: ...)")
        try:
            profile = merge(PROFILE, entry)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        if not PROFILE_NAME_RE.match(profile["name"]):
            raise ConfigError(
                f"{where}: name {profile['name']!r} must be lower-case letters, digits and -"
            )
        if profile["name"] in {p["name"] for p in result}:
            raise ConfigError(f"{where}: the name {profile['name']!r} is used twice")
        if profile["mem_limit"] and not MEMORY_RE.match(profile["mem_limit"]):
            raise ConfigError(
                f"{where}: mem_limit {profile['mem_limit']!r} is not a size like 8G or 512M"
                f" {MEMORY_FORM}"
            )
        if profile["cpu_limit"] < 0:
            raise ConfigError(f"{where}: cpu_limit must be 0 (the user's) or more")
        if profile["default"] and profile["admin_only"]:
            raise ConfigError(f"{where}: the default cannot be for TAs only")
        profile["display_name"] = profile["display_name"] or profile["name"]
        result.append(profile)
    if result:
        defaults = [p["name"] for p in result if p["default"]]
        if len(defaults) > 1:
            raise ConfigError(f"spawner.profiles: only one default, got {', '.join(defaults)}")
        students = [p for p in result if not p["admin_only"]]
        if not students:
            raise ConfigError("spawner.profiles: every profile is for TAs only: students need one")
        if not defaults:
            students[0]["default"] = True
    return result


def parse_expiry(text: str) -> datetime | None:
    """An announcement's expiry (announcements.expires); "" is never."""
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _hub(cfg: dict):
    hub = cfg["hub"]
    if hub["public_url"] and not PUBLIC_URL_RE.match(hub["public_url"]):
        yield f"hub.public_url: {hub['public_url']!r} is not like https://hub.school.example"
    elif hub["subdomains"]:
        yield from _subdomain_host(hub["public_url"])
    if hub["ta_role"] not in TA_ROLES:
        yield f"hub.ta_role: must be one of {', '.join(TA_ROLES)}, got {hub['ta_role']!r}"
    elif hub["ta_role"] != "full-admin" and cfg["auth"]["kind"] == "native":
        yield (
            "hub.ta_role: only full-admin with native sign-in (its TAs are the admins who"
            " approve sign-ups); server-admin narrows the GitHub TA teams"
        )
    if hub["tls_ask_port"] and not hub["subdomains"]:
        yield "hub.tls_ask_port: only with hub.subdomains (certificates for users' names)"
    if hub["concurrent_spawn_limit"] < 0:
        yield "hub.concurrent_spawn_limit: must be 0 (no limit) or more"


def _subdomain_host(public_url: str):
    """Users' servers live at <user>.<host>: the host must be a name."""
    if not public_url:
        yield (
            "hub.public_url: required with hub.subdomains (each user's server is at"
            " <user>.<the hub's name>)"
        )
        return
    host = urlsplit(public_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    yield (
        f"hub.public_url: {public_url!r} is an address; hub.subdomains needs a DNS name"
        " (users' servers are at <user>.<name>, a wildcard record)"
    )


def _auth(cfg: dict):
    auth = cfg["auth"]
    if auth["kind"] == "native" and not auth["native"]["admin_users"]:
        yield "auth.native.admin_users: name the first admin, who signs up first"
    if auth["kind"] not in ("github", "native"):
        yield f"auth.kind: must be github or native, got {auth['kind']!r}"
    if auth["kind"] != "github":
        return
    gh = auth["github"]
    for key in ("org", "client_id", "callback_url"):
        if not gh[key]:
            yield f"auth.github.{key}: required when auth.kind is github"
    if gh["org"] and not ORG_RE.match(gh["org"]):
        yield f"auth.github.org: {gh['org']!r} is not a GitHub organisation name"
    if not gh["user_teams"] and not gh["admin_teams"]:
        yield "auth.github.user_teams: name at least one team, here or in auth.github.admin_teams"
    for key in ("user_teams", "admin_teams"):
        for team in gh[key]:
            if not isinstance(team, str) or not TEAM_RE.match(team):
                yield f"auth.github.{key}: {team!r} is not a team name"


def _spawner(cfg: dict):
    spawner = cfg["spawner"]
    if spawner["kind"] not in ("docker", "swarm"):
        yield f"spawner.kind: must be docker or swarm, got {spawner['kind']!r}"
    if spawner["homes_share"] and spawner["kind"] == "docker":
        yield "spawner.homes_share: only with spawner.kind swarm (workers)"
    if spawner["homes_share"] and not spawner["homes_share"].startswith("/"):
        yield f"spawner.homes_share: must be an absolute path, got {spawner['homes_share']!r}"
    if quota := spawner["home_quota"]:
        if not SIZE_RE.match(str(quota)):
            yield f"spawner.home_quota: {quota!r} is not a size like 5G or 512M"
        elif size_bytes(quota) < MINIMUM_QUOTA:
            yield (
                f"spawner.home_quota: {quota} is too small (64M at least:"
                " the home's filesystem takes a few MiB)"
            )
        if spawner["homes_share"]:
            yield (
                "spawner.home_quota: homes on NFS (spawner.homes_share) get no quota here;"
                " keep homes in volumes, or limit them on the NFS server"
            )
        if spawner["home_driver"] == "local":
            yield "spawner.home_driver: a quota needs the homes' volume plugin"
    if not spawner["image"]:
        yield "spawner.image: required (the single-user image)"
    for key in ("mem_limit", "admin_mem_limit"):
        if spawner[key] and not MEMORY_RE.match(spawner[key]):
            yield f"spawner.{key}: {spawner[key]!r} is not a size like 2G or 512M {MEMORY_FORM}"
    if not SIZE_RE.match(str(spawner["tmp_size"])) or size_bytes(spawner["tmp_size"]) < 2**20:
        yield (
            f"spawner.tmp_size: {spawner['tmp_size']!r} is not a size of 1M or more like 512M "
            "(/tmp is always a memory filesystem of its own: files there never reach the host's "
            "disk)"
        )
    if (subnet := spawner["network_subnet"]) and not users_network(subnet):
        yield (
            f"spawner.network_subnet: {subnet!r} is not an IPv4 network of /24 or larger like"
            " 10.222.0.0/20 (the proxy and the hub take its 10th and 11th address, servers its"
            " second half)"
        )
    if not DEFAULT_URL_RE.match(spawner["default_url"]):
        yield (
            f"spawner.default_url: {spawner['default_url']!r} is not a path of the server like"
            " /lab or /lab/tree/course/welcome.ipynb"
        )
    if "{username}" not in spawner["home_volume"]:
        yield "spawner.home_volume: must contain {username} (one volume per user)"
    for key in ("start_timeout", "http_timeout", "pids_limit", "cpu_limit"):
        if spawner[key] <= 0:
            yield f"spawner.{key}: must be positive, got {spawner[key]!r}"
    if (admin_cpu := spawner["admin_cpu_limit"]) < 0:
        yield f"spawner.admin_cpu_limit: 0 (as users') or more, got {admin_cpu!r}"
    yield from _raised(profiles, spawner["profiles"])


def _shares(cfg: dict):
    shares = cfg["shares"]
    for key in ("admin", "data", "start_hook"):
        if shares[key] and not shares[key].startswith("/"):
            yield f"shares.{key}: must be an absolute path on the host, got {shares[key]!r}"
    if shares["team_folders"]:
        if cfg["auth"]["kind"] != "github":
            yield "shares.team_folders: needs GitHub sign-in (its teams)"
        if not shares["teams"].startswith("/"):
            yield (
                "shares.teams: the teams share's path on the hosts is needed for"
                f" team folders, got {shares['teams']!r}"
            )
        if cfg["spawner"]["homes_share"]:
            # Docker would make the folders' mount points in the NFS home as
            # root, which the share squashes: every member's start would fail.
            yield (
                "shares.team_folders: not with homes on NFS (spawner.homes_share) yet;"
                " keep homes in volumes on the workers to use team folders"
            )
        for team in shares["team_folders"]:
            if not isinstance(team, str) or not TEAM_RE.match(team):
                yield f"shares.team_folders: {team!r} is not a team name"
    if shares["script_timeout"] <= 0:
        yield f"shares.script_timeout: must be positive, got {shares['script_timeout']!r}"


def _announcements(cfg: dict):
    try:
        parse_expiry(cfg["announcements"]["expires"])
    except ValueError:
        yield (
            f"announcements.expires: {cfg['announcements']['expires']!r} is not a date or time"
            " like 2026-07-01 or 2026-07-01T17:00+02:00"
        )


def _git(cfg: dict):
    yield from _raised(git_repos, cfg["git"])


def _raised(check, *args):
    """A check that raises (its first error), as one that yields."""
    try:
        check(*args)
    except ConfigError as error:
        yield str(error)


def _culler(cfg: dict):
    culler = cfg["culler"]
    for key in ("timeout", "every"):
        if culler["enabled"] and culler[key] <= 0:
            yield f"culler.{key}: must be positive, got {culler[key]!r}"


CHECKS = (_hub, _auth, _spawner, _shares, _announcements, _git, _culler)


GIT_URL_RE = re.compile(r"^https?://[^/@\s]+/[^?#@\s]+$")


def repo_address(url: str) -> str:
    """A repository's address as git compares them: no trailing / nor .git."""
    return url.rstrip("/").removesuffix(".git")


def git_repos(git: dict) -> None:
    """The cache's repositories: http(s) URLs without credentials (the token
    is a secret of its own), each once."""
    seen = set()
    for number, url in enumerate(git["repos"], start=1):
        if isinstance(url, str) and "@" in url.partition("://")[2].partition("/")[0]:
            raise ConfigError(
                f"git.repos: repository {number} has a user or token in its address (not"
                " repeated here): give the address alone and the token as jupyterhub_git_token"
            )
        if not isinstance(url, str) or not GIT_URL_RE.match(url):
            raise ConfigError(
                f"git.repos: {url!r} is not a repository's address like"
                " https://github.com/school/course"
            )
        key = repo_address(url)
        if key in seen:
            raise ConfigError(f"git.repos: {url!r} is there twice")
        seen.add(key)
    if git["refresh_every"] <= 0:
        raise ConfigError(f"git.refresh_every: must be positive, got {git['refresh_every']!r}")


def log_like_the_hub() -> None:
    """A hub-managed service's lines in the hub's log (its stderr), alike."""
    import logging

    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"
    )


def load(path: str | Path) -> dict:
    """Read, merge and check the YAML document."""
    try:
        given = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: {error}") from error
    return load_document(given)


def load_document(given: dict) -> dict:
    """The settings `given`, checked against SCHEMA: every mistake at once (a
    setting missing or of the wrong type, and the rules of the others)."""
    errors: list[str] = []
    cfg = _merge(SCHEMA, given, "", errors)
    wrong = [error.split(":", 1)[0].split(" ", 1)[0] for error in errors]

    def about_wrong(message: str) -> bool:
        key = message.split(":", 1)[0]
        return any(key == w or key.startswith(w + ".") or w.startswith(key + ".") for w in wrong)

    errors += [message for check in CHECKS for message in check(cfg) if not about_wrong(message)]
    if errors:
        raise ConfigError("\n".join(errors))
    return cfg


def read_secret(cfg: dict, name: str) -> str:
    path = Path(cfg["hub"]["secrets_dir"]) / name
    try:
        value = path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"secret {name}: cannot read {path}: {error.strerror}") from error
    if not value:
        raise ConfigError(f"secret {name}: {path} is empty")
    return value


def group_name(org: str, slug: str) -> str:
    """The hub's group of a GitHub team (what allowed_groups and roles name)."""
    return f"{org}:{slug}"


def team_groups(org: str) -> Callable[[dict], list[str]]:
    """auth_state -> the user's teams in `org`, as `org:slug` group names."""

    def groups(auth_state: dict) -> list[str]:
        return [
            group_name(org, team["slug"])
            for team in auth_state.get("teams") or []
            if team.get("organization", {}).get("login", "").lower() == org.lower()
        ]

    return groups


def groups_of(cfg: dict, teams: str) -> set[str]:
    """The hub's groups of the GitHub teams under auth.github.`teams`
    (user_teams: students, admin_teams: TAs); none with native sign-in."""
    if cfg["auth"]["kind"] != "github":
        return set()
    gh = cfg["auth"]["github"]
    return {group_name(gh["org"], slugify(team)) for team in gh[teams]}


def is_ta(tas, admin: bool, groups) -> bool:
    """A TA: a hub admin, or a member of a TA team's group `tas` (hub.ta_role server-admin)."""
    return admin or bool(set(tas).intersection(groups))


def users_network(subnet: str) -> dict[str, str]:
    """The users' network (spawner.network_subnet): {proxy, hub}, their fixed
    addresses (its 10th and 11th), and {servers}, its second half, where
    Docker places every other container; {} for what is not an IPv4 network of
    /24 or larger. The role gives the network and the containers these."""
    try:
        network = ipaddress.IPv4Network(subnet)
    except ValueError:
        return {}
    if network.prefixlen > 24:
        return {}
    servers = list(network.subnets(prefixlen_diff=1))[1]
    return {"proxy": str(network[10]), "hub": str(network[11]), "servers": str(servers)}


def server_peers(subnet: str) -> dict[str, str]:
    """The servers' environment that sets their own firewall (start.sh)."""
    if not subnet:
        return {}
    network = users_network(subnet)
    return {"SCHOOLHUB_SERVER_PEERS": f"{network['proxy']}, {network['hub']}"}
