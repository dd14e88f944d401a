"""The hub's own check of its settings, run on the controller before any host
changes (tasks/preflight.yml): the same code the hub runs at its start, its
settings' checks (schoolhub.settings) and then its whole start with them
(schoolhub.config.rehearse: JupyterHub, the spawner and the authenticator
with their traits), with errors named by the inventory variable they come from."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This project's package: the source the hub image is built from.
sys.path.insert(0, str(ROOT / "src"))

from schoolhub import config  # noqa: E402
from schoolhub import settings as schema  # noqa: E402

# The inventory variable each setting comes from (roles/jupyterhub/vars/main.yml
# makes the settings of them), which leads the check's messages about it. A
# setting made from the role's own values only is not here.
VARIABLES = {
    "hub.connect_host": "jupyterhub_hub_address",
    "hub.admin_users": "jupyterhub_admin_users",
    "hub.concurrent_spawn_limit": "jupyterhub_concurrent_spawn_limit",
    "hub.public_url": "jupyterhub_public_url",
    "hub.subdomains": "jupyterhub_subdomains",
    "hub.ta_role": "jupyterhub_ta_role",
    "hub.sharing": "jupyterhub_sharing",
    "announcements.message": "jupyterhub_announcement",
    "announcements.expires": "jupyterhub_announcement_expires",
    "auth.kind": "jupyterhub_auth",
    "auth.github.org": "jupyterhub_github_org",
    "auth.github.user_teams": "jupyterhub_github_user_teams",
    "auth.github.admin_teams": "jupyterhub_github_admin_teams",
    "auth.github.client_id": "jupyterhub_github_client_id",
    "auth.github.callback_url": "jupyterhub_public_url",
    "auth.github.url": "jupyterhub_github_url",
    "auth.github.browser_url": "jupyterhub_github_browser_url",
    "auth.github.refresh_age": "jupyterhub_github_refresh_age",
    "auth.native.admin_users": "jupyterhub_native_admin_users",
    "spawner.kind": "jupyterhub_spawner",
    "spawner.image": "jupyterhub_singleuser_image",
    "spawner.network": "jupyterhub_network",
    "spawner.home_volume": "jupyterhub_home_volume",
    "spawner.homes_share": "jupyterhub_homes_on_nfs",
    "spawner.home_quota": "jupyterhub_home_quota",
    "spawner.uid": "jupyterhub_notebook_uid",
    "spawner.gid": "jupyterhub_notebook_gid",
    "spawner.mem_limit": "jupyterhub_mem_limit",
    "spawner.cpu_limit": "jupyterhub_cpu_limit",
    "spawner.admin_mem_limit": "jupyterhub_admin_mem_limit",
    "spawner.admin_cpu_limit": "jupyterhub_admin_cpu_limit",
    "spawner.admin_sudo": "jupyterhub_admin_sudo",
    "spawner.pids_limit": "jupyterhub_pids_limit",
    "spawner.tmp_size": "jupyterhub_tmp_size",
    "spawner.start_timeout": "jupyterhub_start_timeout",
    "spawner.http_timeout": "jupyterhub_http_timeout",
    "spawner.environment": "jupyterhub_singleuser_environment",
    "spawner.network_subnet": "jupyterhub_network_subnet",
    "spawner.profiles": "jupyterhub_profiles",
    "shares.admin": "jupyterhub_admin_share",
    "shares.data": "jupyterhub_data_share",
    "shares.admin_uid": "jupyterhub_admin_uid",
    "shares.admin_gid": "jupyterhub_admin_gid",
    "shares.teams": "jupyterhub_teams_share",
    "shares.team_folders": "jupyterhub_team_folders",
    "shares.script_timeout": "jupyterhub_script_timeout",
    "git.repos": "jupyterhub_git_repos",
    "git.refresh_every": "jupyterhub_git_refresh_every",
    "git.private": "jupyterhub_git_token",
    "culler.enabled": "jupyterhub_cull_enabled",
    "culler.timeout": "jupyterhub_cull_timeout",
    "culler.every": "jupyterhub_cull_every",
}


# What the rehearsal of the hub's start depends on besides the settings: the
# package's code and these libraries. A start rehearsed without an error is
# remembered (a marker named by a hash of all of it): the next run with the
# same settings, code and libraries need not import JupyterHub again.
REHEARSED = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "schoolhub/rehearsed"
LIBRARIES = (
    "jupyterhub",
    "dockerspawner",
    "oauthenticator",
    "jupyterhub-nativeauthenticator",
    "traitlets",
)


def rehearsal_key(cfg: dict) -> str:
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode())
    for module in sorted((ROOT / "src/schoolhub").glob("*.py")):
        digest.update(module.read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library} {metadata.version(library)}".encode())
    return digest.hexdigest()


def settings_error(settings: dict) -> str:
    """ "" when the hub accepts `settings`; else the hub's messages (every
    mistake, one a line), each led by the inventory variable to fix."""
    try:
        cfg = schema.load_document(settings)
        marker = REHEARSED / rehearsal_key(cfg)
        if not marker.exists():
            config.rehearse(cfg)
            with contextlib.suppress(OSError):
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
    except metadata.PackageNotFoundError as error:
        return (
            f"The controller lacks the Python package {error.name}, which the check of the hub's"
            " settings runs (JupyterHub and its spawner and authenticators, as in the hub):"
            " install the project's requirements where Ansible runs (pip install -e . in a"
            " checkout, or the `dependencies` of its pyproject.toml)."
        )
    except schema.ConfigError as error:

        def named(message: str) -> str:
            variable = VARIABLES.get(message.split(":", 1)[0].strip())
            return f"{variable} ({message})" if variable else message

        return "\n".join(named(message) for message in str(error).splitlines())
    return ""


class FilterModule:
    def filters(self):
        return {"settings_error": settings_error}
