"""Turn the hub's settings (schoolhub.settings) into the JupyterHub configuration.

The hub image's `jupyterhub_config.py` is only::

    from schoolhub.config import configure
    configure(c, "/srv/jupyterhub/schoolhub.yaml")
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from schoolhub.announcements import banner
from schoolhub.settings import (
    SCHEMA,
    SETTINGS,
    SHARE_CHECK_EVERY,
    TA_SCOPES,
    TA_SERVER_SCOPES,
    ConfigError,
    group_name,
    groups_of,
    load,
    profiles,
    read_secret,
    server_peers,
    slugify,
    team_groups,
)

# A settings dict with this key set is a rehearsal's (rehearse): its secrets,
# which live on the hub host alone, are stand-ins.
REHEARSAL = "_rehearsal"


def secret(cfg: dict, name: str) -> str:
    """A secret of the hub's (hex text, as the role makes them), or a stand-in."""
    return "ab" * 32 if cfg.get(REHEARSAL) else read_secret(cfg, name)


# JupyterHub's settings that no inventory changes (c.JupyterHub.<name>).
HUB_CONSTANTS = {
    # Never stop users' servers when the hub stops: restarting the hub keeps them.
    "cleanup_servers": False,
    # Seconds between the hub's rounds of activity updates, which also put
    # back the proxy's routes after a proxy restart (JupyterHub's 300 s
    # would leave users on "redirect loop" pages for minutes).
    "last_activity_interval": 60,
}
# Where the hub listens in its container (behind the proxy, on its networks).
HUB_IP = "0.0.0.0"  # noqa: S104
# The password a NativeAuthenticator user chooses (no open sign-up: an admin approves).
NATIVE_PASSWORD_LENGTH = 10
# Settings that are JupyterHub's (c.JupyterHub.<name>) and SchoolSpawner's as they are.
HUB_AS_IS = ("concurrent_spawn_limit",)
SPAWNER_AS_IS = ("admin_mem_limit", "admin_cpu_limit", "admin_sudo", "pids_limit", "tmp_size")


def apply_hub(c, cfg: dict) -> None:
    hub = cfg["hub"]
    c.JupyterHub.hub_bind_url = f"http://{HUB_IP}:{hub['port']}"
    c.JupyterHub.hub_connect_url = f"http://{hub['connect_host']}:{hub['port']}"
    c.JupyterHub.db_url = f"sqlite:///{hub['data_dir']}/{hub['database']}"
    sqlite_in_wal_mode()
    # A newer JupyterHub brings the database up to date at its start (site.yml
    # copies the database before it starts a new hub image).
    c.JupyterHub.upgrade_db = True
    c.JupyterHub.cookie_secret = bytes.fromhex(secret(cfg, "cookie_secret"))
    c.CryptKeeper.keys = [bytes.fromhex(secret(cfg, "crypt_key"))]
    for same_name in HUB_AS_IS:
        setattr(c.JupyterHub, same_name, hub[same_name])
    for name, value in HUB_CONSTANTS.items():
        setattr(c.JupyterHub, name, value)
    c.Authenticator.admin_users = set(hub["admin_users"])
    if hub["subdomains"]:
        c.JupyterHub.subdomain_host = hub["public_url"]
        # __Host- cookies: a user's server cannot set (toss) a cookie that the
        # hub's name would receive. They must be Secure: HTTPS sites only.
        c.JupyterHub.cookie_host_prefix_enabled = hub["public_url"].startswith("https://")
    args = []
    if hub["public_url"].startswith("https://"):
        # Behind the TLS front the hub sees plain HTTP from the proxy; browsers
        # must still never send its cookies (or the servers') over HTTP.
        c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
        # Servers get cookie_options from the hub, but not for their _xsrf cookie.
        args.append("--ServerApp.tornado_settings={'xsrf_cookie_kwargs': {'secure': True}}")
    default_scopes = server_token_scopes()
    scopes = list(default_scopes)
    if hub["sharing"]:
        # A server's own token may share that server (the image's share-server
        # command). A revoked share stops opening the server within
        # SHARE_CHECK_EVERY seconds: servers ask the hub again after that long
        # (JupyterHub's 300 s would leave it open for five minutes).
        scopes.append("shares!server")
        args.append(f"--HubOAuth.cache_max_age={SHARE_CHECK_EVERY}")
    if cfg["git"]["repos"]:
        # ... and pull the course's repositories from the cache (its git sends it).
        scopes.append(f"access:services!service={GITCACHE}")
    if scopes != default_scopes:
        c.Spawner.server_token_scopes = scopes
    c.Spawner.args = args


def server_token_scopes() -> list[str]:
    """What a server's own token may do by default: JupyterHub's `server` role."""
    from jupyterhub.roles import get_default_roles

    return list(next(r["scopes"] for r in get_default_roles() if r["name"] == "server"))


def wal_mode(connection, _record=None) -> None:
    """SQLite with a write-ahead log, synced at checkpoints only. The hub
    commits on its event loop; with SQLite's default journal each commit
    waits for the disk, and in the storm benchmark (make bench, N=50) commits
    held the loop for 21 of 100 seconds (py-spy), which delayed every start
    and the admin page. A crash may lose the last commits, never the database;
    backups use SQLite's online backup, which reads through the log."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def sqlite_in_wal_mode() -> None:
    """Every SQLAlchemy engine of this process (the hub's) opens SQLite so."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", wal_mode):
        event.listen(Engine, "connect", wal_mode)


def apply_proxy(c, cfg: dict) -> None:
    # The proxy is its own container: the hub neither starts nor stops it.
    c.ConfigurableHTTPProxy.should_start = False
    c.ConfigurableHTTPProxy.api_url = cfg["proxy"]["api_url"]
    c.ConfigurableHTTPProxy.auth_token = secret(cfg, "proxy_auth_token")


def apply_github(c, cfg: dict) -> None:
    gh = cfg["auth"]["github"]
    org = gh["org"]
    c.JupyterHub.authenticator_class = "schoolhub.auth.SchoolGitHubOAuthenticator"
    c.GitHubOAuthenticator.github_url = gh["url"]
    if gh["browser_url"]:
        c.GitHubOAuthenticator.authorize_url = f"{gh['browser_url']}/login/oauth/authorize"
    c.GitHubOAuthenticator.client_id = gh["client_id"]
    c.GitHubOAuthenticator.client_secret = secret(cfg, "github_client_secret")
    c.GitHubOAuthenticator.oauth_callback_url = gh["callback_url"]
    c.GitHubOAuthenticator.scope = ["read:org"]
    # Teams come from GitHub at every sign-in and every auth refresh, so a team
    # change applies without anyone touching the hub.
    c.GitHubOAuthenticator.enable_auth_state = True
    c.GitHubOAuthenticator.populate_teams_in_auth_state = True
    c.GitHubOAuthenticator.manage_groups = True
    c.GitHubOAuthenticator.auth_state_groups_key = team_groups(org)
    tas = groups_of(cfg, "admin_teams")
    c.GitHubOAuthenticator.allowed_groups = groups_of(cfg, "user_teams") | tas
    if cfg["hub"]["ta_role"] == "full-admin":
        c.GitHubOAuthenticator.admin_groups = tas
    else:
        c.SchoolGitHubOAuthenticator.admins_are_admin_users = True
    c.GitHubOAuthenticator.auth_refresh_age = gh["refresh_age"]
    c.GitHubOAuthenticator.refresh_pre_spawn = True


def apply_native(c, cfg: dict) -> None:
    native = cfg["auth"]["native"]
    c.JupyterHub.authenticator_class = "schoolhub.auth.SchoolNativeAuthenticator"
    c.JupyterHub.template_paths = [native_templates()]
    # The first admin signs up without approval; everyone else waits for an admin.
    c.Authenticator.admin_users = set(cfg["hub"]["admin_users"]) | set(native["admin_users"])
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = NATIVE_PASSWORD_LENGTH
    c.NativeAuthenticator.check_common_password = True
    c.Authenticator.allow_all = True


def native_templates() -> str:
    import nativeauthenticator

    return str(Path(nativeauthenticator.__file__).parent / "templates")


def apply_spawner(c, cfg: dict) -> None:
    sp = cfg["spawner"]
    c.DockerSpawner.image = sp["image"]
    # JupyterHub's own command (as z2jh's), not each image's CMD: reading that
    # needs the image on the hub's engine: with Swarm a profile's is on the workers only.
    c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
    c.DockerSpawner.network_name = sp["network"]
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.name_template = "jupyter-{username}"
    # One home per user ({username} is escaped for Docker), mounted at the
    # user's real name: a named volume, or a directory of the NFS homes share.
    home = f"{sp['homes_share']}/{{username}}" if sp["homes_share"] else sp["home_volume"]
    c.DockerSpawner.volumes = {home: "/home/{raw_username}"}
    c.DockerSpawner.notebook_dir = "/home/{raw_username}"
    c.DockerSpawner.default_url = sp["default_url"]
    if sp["home_driver"] != "local":
        # Named volumes (the home) of a server are made by this plugin.
        c.SwarmSpawner.volume_driver = sp["home_driver"]
        c.DockerSpawner.extra_host_config = {"volume_driver": sp["home_driver"]}
    if sp["kind"] == "swarm":
        c.JupyterHub.spawner_class = "schoolhub.spawner.SchoolSwarmSpawner"
        c.SchoolSwarmSpawner.homes_share = sp["homes_share"]
    else:
        c.JupyterHub.spawner_class = "schoolhub.spawner.SchoolDockerSpawner"
        # (Swarm services are always removed at a stop.)
        c.DockerSpawner.remove = True
    c.DockerSpawner.environment = {
        "NB_UID": str(sp["uid"]),
        "NB_GID": str(sp["gid"]),
        "CHOWN_HOME": "yes",
        # The site's address as users type it (share-server's links).
        **({"SCHOOLHUB_PUBLIC_URL": cfg["hub"]["public_url"]} if cfg["hub"]["public_url"] else {}),
        # JupyterLab's news (the image's LabApp.news_url): the announcements.
        "SCHOOLHUB_NEWS_URL": f"{cfg['proxy']['url']}/services/{ANNOUNCEMENTS}/feed.atom",
        **sp["environment"],
        **server_peers(sp["network_subnet"]),
        # The server runs what the image says: no module of the user's own
        # Python site (nor its .pth files) in its process. The image's server
        # settings take it out again for her kernels and terminals.
        "PYTHONNOUSERSITE": "1",
    }
    # ...and no Jupyter settings or extensions from her home (~/.jupyter,
    # ~/.local/share/jupyter): nothing she configures changes what it serves.
    c.Spawner.disable_user_config = True
    c.DockerSpawner.mem_limit = sp["mem_limit"] or None
    c.DockerSpawner.cpu_limit = sp["cpu_limit"] or None
    for same_name in SPAWNER_AS_IS:
        setattr(c.SchoolSpawner, same_name, sp[same_name])
    c.Spawner.start_timeout = sp["start_timeout"]
    c.Spawner.http_timeout = sp["http_timeout"]
    c.SchoolSpawner.profiles = profiles(sp["profiles"])
    c.SchoolSpawner.ta_groups = sorted(groups_of(cfg, "admin_teams"))
    apply_shares(c, cfg)


# Where the shares and the hook appear inside every user's container.
ADMIN_MOUNT, DATA_MOUNT = "/home/admin", "/nfs"
HOOK_MOUNT = "/usr/local/bin/before-notebook.d/50-schoolhub-start-scripts.sh"


def apply_shares(c, cfg: dict) -> None:
    """Students read the admin and data shares; TAs (admins) may write them.

    Everyone's container runs as the same uid, so the difference is the mount
    mode and, for admins, the admin group (joined by the start hook). The logs
    directory is writable for root in every container (the hook writes there)
    but its mode keeps students out.
    """
    shares = cfg["shares"]
    student, admin = {}, {}
    if shares["admin"]:
        student[shares["admin"]] = {"bind": ADMIN_MOUNT, "mode": "ro"}
        student[f"{shares['admin']}/logs"] = {"bind": f"{ADMIN_MOUNT}/logs", "mode": "rw"}
        admin[shares["admin"]] = {"bind": ADMIN_MOUNT, "mode": "rw"}
    if shares["data"]:
        student[shares["data"]] = {"bind": DATA_MOUNT, "mode": "ro"}
        admin[shares["data"]] = {"bind": DATA_MOUNT, "mode": "rw"}
        # (start.sh links it at ~/shared, for JupyterLab's file browser)
        c.DockerSpawner.environment["SCHOOLHUB_SHARED"] = DATA_MOUNT
    if shares["start_hook"]:
        for volumes in (student, admin):
            volumes[shares["start_hook"]] = {"bind": HOOK_MOUNT, "mode": "ro"}
    c.SchoolSpawner.student_volumes = student
    c.SchoolSpawner.admin_volumes = admin
    if shares["team_folders"]:
        org = cfg["auth"]["github"]["org"]
        c.SchoolSpawner.teams_share = shares["teams"]
        c.SchoolSpawner.team_folders = {
            group_name(org, slugify(team)): team for team in shares["team_folders"]
        }
    c.DockerSpawner.environment.update(
        {
            "SCHOOL_ADMIN_UID": str(shares["admin_uid"]),
            "SCHOOL_ADMIN_GID": str(shares["admin_gid"]),
            "SCHOOL_SCRIPT_TIMEOUT": str(shares["script_timeout"]),
        }
    )


# The announcements service (schoolhub.announcements), in the hub container.
ANNOUNCEMENTS, ANNOUNCEMENTS_PORT = "announcements", 10101


def apply_announcements(c, cfg: dict) -> dict:
    """The hub's pages show the announcements; the service sets them and
    serves JupyterLab's feed. Admins may open it, and TAs (user_roles)."""

    c.JupyterHub.template_vars = {"announcement": banner(cfg)}
    return {
        "name": ANNOUNCEMENTS,
        "url": f"http://{cfg['hub']['container']}:{ANNOUNCEMENTS_PORT}",
        "command": ["python3", "-m", "schoolhub.announcements"],
        "display": True,
        "oauth_no_confirm": True,
    }


# The course repositories' cache (schoolhub.gitcache), in the hub container.
GITCACHE, GITCACHE_PORT = "gitcache", 10102


def apply_gitcache(c, cfg: dict) -> dict:
    """Servers' git fetches the site's repositories from the cache, through
    the proxy (SchoolSpawner.get_env adds the server's token)."""
    if cfg["git"]["private"]:
        secret(cfg, "git_token")  # (missing: named now, not at the first pull)
    c.SchoolSpawner.git_repos = cfg["git"]["repos"]
    c.SchoolSpawner.git_cache_url = f"{cfg['proxy']['url']}/services/{GITCACHE}"
    return {
        "name": GITCACHE,
        "url": f"http://{cfg['hub']['container']}:{GITCACHE_PORT}",
        "command": ["python3", "-m", "schoolhub.gitcache"],
    }


# The TLS front's question: may this name have a certificate (schoolhub.certificates).
CERTIFICATES = "certificates"


# users.yml's actions: list, stop and cull servers, remove users (end of course).
OPS_SCOPES = ["list:users", "read:users", "read:servers", "servers", "admin:servers", "admin:users"]


def apply_services(c, cfg: dict) -> None:
    """The operations playbooks' token (secret `ops_api_token`) and the idle culler."""
    roles = [{"name": "schoolhub-ops", "scopes": OPS_SCOPES, "services": ["schoolhub-ops"]}]
    roles += user_roles(cfg)
    services = [
        {"name": "schoolhub-ops", "api_token": secret(cfg, "ops_api_token")},
        apply_announcements(c, cfg),
    ]
    if cfg["git"]["repos"]:
        services.append(apply_gitcache(c, cfg))
    if port := cfg["hub"]["tls_ask_port"]:
        roles.append(
            {
                "name": CERTIFICATES,
                "scopes": ["list:users", "read:users:name"],
                "services": [CERTIFICATES],
            }
        )
        routed = [f"--service={s['name']}" for s in services if "url" in s]
        command = ["python3", "-m", "schoolhub.certificates", f"--port={port}", *routed]
        services.append({"name": CERTIFICATES, "command": command})
    culler = cfg["culler"]
    if culler["enabled"]:
        roles.append(
            {
                "name": "idle-culler",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"],
            }
        )
        services.append({"name": "idle-culler", "command": culler_command(culler)})
    c.JupyterHub.load_roles = roles
    c.JupyterHub.services = services
    if cfg["hub"]["subdomains"]:
        c.Proxy.extra_routes = servers_routes(cfg, services)


def servers_routes(cfg: dict, services: list[dict]) -> dict[str, str]:
    """With subdomains the proxy routes by name, and each service lives at a
    name of its own (<service>--service.<host>). Servers reach the services
    (the announcements' feed, the course's repositories) at the proxy's
    container name, which these routes keep working."""
    proxy = urlsplit(cfg["proxy"]["url"]).hostname
    return {f"{proxy}/services/{s['name']}/": s["url"] for s in services if "url" in s}


def user_roles(cfg: dict) -> list[dict]:
    """Every user's role (sharing their own servers, the course's repositories),
    and the TAs' narrowed one (it sets the announcements, as admins do)."""
    roles = []
    scopes = ["self"]
    if cfg["hub"]["sharing"]:
        scopes.append("shares!user")
    if cfg["git"]["repos"]:
        # (what their servers' tokens get; the tokens are what the cache checks)
        scopes.append(f"access:services!service={GITCACHE}")
    if scopes != ["self"]:
        roles.append({"name": "user", "scopes": scopes})
    if cfg["hub"]["ta_role"] == "server-admin":
        students = sorted(groups_of(cfg, "user_teams"))
        servers = [f"{s}!group={g}" for s in TA_SERVER_SCOPES for g in students]
        roles.append(
            {
                "name": "schoolhub-ta",
                "scopes": [*TA_SCOPES, *servers, f"access:services!service={ANNOUNCEMENTS}"],
                "groups": sorted(groups_of(cfg, "admin_teams")),
            }
        )
    return roles


def culler_command(culler: dict) -> list[str]:
    command = [
        "python3",
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={culler['timeout']}",
        f"--cull-every={culler['every']}",
    ]
    return command


def configure(c, path: str | Path = SETTINGS) -> dict:
    """Apply the YAML document at `path` to the traitlets config `c`."""
    return apply(c, load(path))


def apply(c, cfg: dict) -> dict:
    """Apply checked settings (schoolhub.settings.load's) to the traitlets config `c`."""
    apply_hub(c, cfg)
    apply_proxy(c, cfg)
    (apply_github if cfg["auth"]["kind"] == "github" else apply_native)(c, cfg)
    apply_spawner(c, cfg)
    apply_services(c, cfg)
    return cfg


def setting_of(section: str, trait: str) -> str:
    """Where a trait of a part the hub makes takes its value from: the
    setting of the same name in `section` (spawner.mem_limit ->
    DockerSpawner.mem_limit), else the section."""
    return f"{section}.{trait}" if trait in SCHEMA.get(section, {}) else section


def rehearse(cfg: dict) -> None:
    """What the hub does at its start with checked settings (schoolhub.settings.load's),
    done here: its configuration built by the same code as its jupyterhub_config.py,
    then the parts it makes from it, each with its traits: the JupyterHub
    application, the proxy, the authenticator, and a student's and a TA's spawner,
    to whom every profile is applied as at their servers' starts. Raises
    ConfigError with every value one of them refuses, a line each, led by its
    setting. Secrets are stand-ins (they live on the hub host)."""
    from types import SimpleNamespace

    from jupyterhub.app import JupyterHub
    from jupyterhub.proxy import ConfigurableHTTPProxy
    from traitlets import TraitError
    from traitlets.config import Config, Configurable
    from traitlets.utils.importstring import import_item

    c = Config()
    apply(c, {**cfg, REHEARSAL: True})
    authenticator = import_item(c.JupyterHub.authenticator_class)
    errors: list[str] = []

    def build(cls, config, **kwargs):
        if cls is authenticator:  # its traits alone: NativeAuthenticator opens the database
            made = cls.__new__(cls)
            Configurable.__init__(made, config=config, **kwargs)
            return made
        return cls(config=config, **kwargs)

    def make(section: str, cls, **kwargs):
        """cls made with `c`; on a refusal, with each of its traits' values
        alone, to name every one refused, then with the others."""
        try:
            return build(cls, c, **kwargs)
        except (TraitError, ValueError):
            pass
        good = Config()
        for name in cls.section_names():
            for trait, value in dict(c[name]).items() if name in c else ():
                try:
                    build(cls, Config({name: {trait: value}}), **kwargs)
                    good[name][trait] = value
                except (TraitError, ValueError) as error:
                    errors.append(f"{setting_of(section, trait)}: {error}")
        try:
            return build(cls, good, **kwargs)
        except (TraitError, ValueError) as error:  # (values refused together)
            errors.append(f"{section}: {error}")
            return None

    app = make("hub", JupyterHub)
    if app is not None:  # (the proxy's routes are checked against the hub's names)
        make("proxy", ConfigurableHTTPProxy, app=app)
    make("auth", authenticator)
    spawner_class = import_item(c.JupyterHub.spawner_class)
    for ta in (False, True):
        user = SimpleNamespace(name="a-student" if not ta else "a-ta", admin=ta, groups=[])
        spawner = make("spawner", spawner_class, user=user)
        if spawner is None:
            break
        for number, profile in enumerate([{}, *spawner.profiles]):
            try:
                spawner.apply_profile(ta, profile)
            except (TraitError, ValueError) as error:
                trait = (re.findall(r"The '(\w+)' trait", str(error)) or ["image"])[0]
                where = (
                    f"spawner.profiles: profile {number} ({profile['name']})"
                    if profile
                    else setting_of("spawner", f"admin_{trait}")
                    if ta and getattr(spawner, f"admin_{trait}", None)
                    else setting_of("spawner", trait)
                )
                errors.append(f"{where}: {error}")
    if errors:
        raise ConfigError("\n".join(dict.fromkeys(errors)))
