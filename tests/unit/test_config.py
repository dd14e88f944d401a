"""The YAML document -> JupyterHub configuration, one behaviour per test."""

import copy
from types import SimpleNamespace

import pytest
import yaml
from role_settings import settings_with
from traitlets import TraitError
from traitlets.config import Config

from schoolhub import config, settings
from schoolhub.spawner import SchoolDockerSpawner, SchoolSwarmSpawner

ADA = SimpleNamespace(name="ada", id=1, admin=False)

GITHUB = {
    "hub": {"public_url": "https://hub.example"},
    "auth": {
        "kind": "github",
        "github": {
            "org": "growth-school",
            "user_teams": ["Participants"],
            "admin_teams": ["TAs"],
            "client_id": "abc",
            "callback_url": "https://hub.example/hub/oauth_callback",
        },
    },
    "spawner": {"image": "school/notebook:2026"},
}


@pytest.fixture
def secrets(tmp_path):
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name, value in {
        "cookie_secret": "00" * 32,
        "crypt_key": "11" * 32,
        "proxy_auth_token": "proxy-token",
        "github_client_secret": "gh-secret",
        "ops_api_token": "ops-token",
    }.items():
        (directory / name).write_text(value + "\n")
    return directory


@pytest.fixture
def make(tmp_path, secrets):
    """Write a document (the role's, with GITHUB and the update) and return its
    applied Config."""

    def make(update=None, base=GITHUB):
        doc = settings_with(base, {"hub": {"secrets_dir": str(secrets)}}, update or {})
        path = tmp_path / "schoolhub.yaml"
        path.write_text(yaml.safe_dump(doc))
        c = Config()
        config.configure(c, path)
        return c

    return make


def error_of(make, update) -> str:
    with pytest.raises(settings.ConfigError) as raised:
        make(update)
    return str(raised.value)


# --- hub and proxy ---------------------------------------------------------


def test_restarting_the_hub_keeps_servers(make):
    c = make()
    assert c.JupyterHub.cleanup_servers is False
    assert c.ConfigurableHTTPProxy.should_start is False


def test_secrets_come_from_files(make):
    c = make()
    assert c.JupyterHub.cookie_secret == bytes(32)
    assert c.CryptKeeper["keys"] == [bytes.fromhex("11" * 32)]
    assert c.ConfigurableHTTPProxy.auth_token == "proxy-token"
    assert c.GitHubOAuthenticator.client_secret == "gh-secret"


def test_missing_secret_is_named(make, secrets):
    (secrets / "crypt_key").unlink()
    assert "secret crypt_key" in error_of(make, {})


def test_empty_secret_is_named(make, secrets):
    (secrets / "proxy_auth_token").write_text("\n")
    assert "proxy_auth_token" in error_of(make, {})


def test_database_is_on_the_local_data_dir_and_upgraded_by_a_newer_hub(make):
    c = make()
    assert c.JupyterHub.db_url == "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
    assert c.JupyterHub.upgrade_db is True


def test_hub_urls(make):
    c = make({"hub": {"connect_host": "hub", "port": 8081}})
    assert c.JupyterHub.hub_bind_url == "http://0.0.0.0:8081"
    assert c.JupyterHub.hub_connect_url == "http://hub:8081"


# --- GitHub teams ----------------------------------------------------------


def test_routes_come_back_within_a_minute_of_a_proxy_restart(make):
    assert make().JupyterHub.last_activity_interval == 60


def test_cookies_are_secure_behind_https(make):
    c = make({"hub": {"public_url": "https://hub.example"}})
    assert c.JupyterHub.tornado_settings == {"cookie_options": {"secure": True}}
    assert "--ServerApp.tornado_settings={'xsrf_cookie_kwargs': {'secure': True}}" in (
        c.Spawner.args
    )


def test_servers_know_the_sites_address_for_their_links(make):
    c = make({"hub": {"public_url": "https://hub.example"}})
    assert c.DockerSpawner.environment["SCHOOLHUB_PUBLIC_URL"] == "https://hub.example"
    c = make({"hub": {"public_url": "", "subdomains": False}})
    assert "SCHOOLHUB_PUBLIC_URL" not in c.DockerSpawner.environment


def test_plain_http_leaves_cookies_to_the_request(make):
    c = make({"hub": {"public_url": "http://localhost:8000"}})
    assert "tornado_settings" not in c.JupyterHub
    assert not [a for a in c.Spawner.args if "xsrf" in a]


def test_public_url_with_a_path_is_named(make):
    with pytest.raises(settings.ConfigError, match=r"hub.public_url: 'https://hub.example/hub'"):
        make({"hub": {"public_url": "https://hub.example/hub"}})


def test_team_names_become_slug_groups(make):
    c = make()
    assert c.GitHubOAuthenticator.allowed_groups == {
        "growth-school:participants",
        "growth-school:tas",
    }
    assert c.GitHubOAuthenticator.admin_groups == {"growth-school:tas"}


def test_tas_narrowed_to_students_servers_are_not_admins(make):
    c = make({"hub": {"ta_role": "server-admin"}})
    assert "admin_groups" not in c.GitHubOAuthenticator
    # (and TAs made admins when they were full admins are not any more)
    assert c.SchoolGitHubOAuthenticator.admins_are_admin_users is True
    assert c.GitHubOAuthenticator.allowed_groups == {
        "growth-school:participants",
        "growth-school:tas",
    }
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "schoolhub-ta")
    assert role["groups"] == ["growth-school:tas"]
    assert role["scopes"] == [
        "admin-ui",
        "list:users",
        "read:users",
        "read:servers",
        "servers!group=growth-school:participants",
        "access:servers!group=growth-school:participants",
        "access:services!service=announcements",  # (admins have it as admins)
    ]
    # The spawner knows them as TAs (their limits, shares, profiles).
    assert c.SchoolSpawner.ta_groups == ["growth-school:tas"]


def test_full_admin_tas_have_no_role_of_their_own(make):
    c = make()
    assert "schoolhub-ta" not in [r["name"] for r in c.JupyterHub.load_roles]


@pytest.mark.parametrize(
    "update, message",
    [
        ({"hub": {"ta_role": "viewer"}}, "hub.ta_role: must be one of full-admin, server-admin"),
        (
            {
                "hub": {"ta_role": "server-admin"},
                "auth": {"kind": "native", "native": {"admin_users": ["ada"]}},
            },
            "hub.ta_role: only full-admin with native sign-in",
        ),
    ],
)
def test_a_wrong_ta_role_is_named(make, update, message):
    with pytest.raises(settings.ConfigError, match=message):
        make(update)


def test_users_may_share_their_servers_and_a_revoked_share_ends_within_a_minute(make):
    c = make()
    assert {"name": "user", "scopes": ["self", "shares!user"]} in c.JupyterHub.load_roles
    assert c.Spawner.server_token_scopes == [
        "users:activity!user",
        "access:servers!server",
        "shares!server",
    ]
    assert "--HubOAuth.cache_max_age=60" in c.Spawner.args


def test_sharing_can_be_off(make):
    c = make({"hub": {"sharing": False, "public_url": "http://localhost:8000"}})
    assert "user" not in [r["name"] for r in c.JupyterHub.load_roles]
    assert "server_token_scopes" not in c.Spawner
    assert c.Spawner.args == []


def test_team_changes_apply_at_refresh(make):
    c = make()
    assert c.GitHubOAuthenticator.enable_auth_state is True
    assert c.GitHubOAuthenticator.populate_teams_in_auth_state is True
    assert c.GitHubOAuthenticator.manage_groups is True
    assert c.GitHubOAuthenticator.refresh_pre_spawn is True
    assert "read:org" in c.GitHubOAuthenticator.scope
    # Its subclass that trusts a check just made (schoolhub.auth).
    assert c.JupyterHub.authenticator_class == "schoolhub.auth.SchoolGitHubOAuthenticator"


def test_groups_come_only_from_the_configured_org(make):
    groups = make().GitHubOAuthenticator.auth_state_groups_key
    teams = [
        {"slug": "tas", "organization": {"login": "Growth-School"}},
        {"slug": "tas", "organization": {"login": "other-org"}},
    ]
    assert groups({"teams": teams}) == ["growth-school:tas"]
    assert groups({}) == []


def test_slugs_follow_github():
    assert settings.slugify("TAs") == "tas"
    assert settings.slugify("Summer School 2026") == "summer-school-2026"


def test_browser_url_only_changes_the_authorize_page(make):
    c = make(
        {
            "auth": {
                "kind": "github",
                "github": {
                    **GITHUB["auth"]["github"],
                    "url": "http://fakegithub:8080",
                    "browser_url": "http://127.0.0.1:8080",
                },
            }
        }
    )
    assert c.GitHubOAuthenticator.github_url == "http://fakegithub:8080"
    assert c.GitHubOAuthenticator.authorize_url == "http://127.0.0.1:8080/login/oauth/authorize"


def test_real_github_is_the_default(make):
    c = make()
    assert c.GitHubOAuthenticator.github_url == "https://github.com"
    assert "authorize_url" not in c.GitHubOAuthenticator


@pytest.mark.parametrize("key", ["org", "client_id", "callback_url"])
def test_github_requires(make, key):
    github = {**GITHUB["auth"]["github"], key: ""}
    assert f"auth.github.{key}" in error_of(make, {"auth": {"kind": "github", "github": github}})


def test_github_needs_a_team(make):
    github = {**GITHUB["auth"]["github"], "user_teams": [], "admin_teams": []}
    assert "user_teams" in error_of(make, {"auth": {"kind": "github", "github": github}})


def test_bad_team_name_is_named(make):
    github = {**GITHUB["auth"]["github"], "admin_teams": ["org:TAs"]}
    assert "auth.github.admin_teams" in error_of(make, {"auth": {"github": github}})


# --- NativeAuthenticator ---------------------------------------------------


def test_native_needs_its_first_admin(make):
    assert "auth.native.admin_users" in error_of(make, {"auth": {"kind": "native"}})


def test_native_signup_waits_for_approval(make):
    c = make({"auth": {"kind": "native", "native": {"admin_users": ["ada"]}}})
    assert c.JupyterHub.authenticator_class == "schoolhub.auth.SchoolNativeAuthenticator"
    assert c.NativeAuthenticator.open_signup is False
    assert c.Authenticator.admin_users == {"ada"}
    assert c.JupyterHub.template_paths[0].endswith("nativeauthenticator/templates")


# --- spawner ---------------------------------------------------------------


def test_one_home_volume_per_user_at_their_name(make):
    c = make()
    assert c.DockerSpawner.volumes == {"schoolhub-home-{username}": "/home/{raw_username}"}
    assert c.DockerSpawner.notebook_dir == "/home/{raw_username}"


def test_home_volume_must_be_per_user(make):
    assert "spawner.home_volume" in error_of(make, {"spawner": {"home_volume": "homes"}})


def test_timeouts_are_sized_for_pulls(make):
    c = make()
    assert c.Spawner.start_timeout >= 300
    assert c.Spawner.http_timeout >= 120


def test_servers_open_where_the_site_says(make):
    assert make().DockerSpawner.default_url == "/lab"  # (the role's default)
    page = "/lab/tree/course/welcome.ipynb"
    assert make({"spawner": {"default_url": page}}).DockerSpawner.default_url == page


@pytest.mark.parametrize(
    "url", ["lab", "https://evil.example/lab", "//evil.example", "/lab tree", ""]
)
def test_a_default_url_that_is_no_path_of_the_server_is_named(make, url):
    assert f"spawner.default_url: {url!r} is not a path" in error_of(
        make, {"spawner": {"default_url": url}}
    )


def test_limits(make):
    c = make({"spawner": {"mem_limit": "1G", "cpu_limit": 0.5, "admin_mem_limit": "4G"}})
    assert (c.DockerSpawner.mem_limit, c.DockerSpawner.cpu_limit) == ("1G", 0.5)
    assert c.SchoolSpawner.admin_mem_limit == "4G"


def test_bad_memory_size_is_named(make):
    assert "spawner.mem_limit" in error_of(make, {"spawner": {"mem_limit": "lots"}})


def test_image_is_required(make):
    assert "spawner.image" in error_of(make, {"spawner": {"image": ""}})


STANDARD = {"name": "standard", "display_name": "Standard", "description": "1 CPU, 2 GB"}
BIG = {"name": "big-data", "display_name": "Big data day", "cpu_limit": 2, "mem_limit": "4G"}
TA_TOOLS = {"name": "ta-tools", "admin_only": True, "image": "school/ta:1"}


def test_no_profiles_no_spawn_page(make):
    assert make().SchoolSpawner.profiles == []


def test_profiles_are_complete_and_the_first_for_students_is_the_default(make):
    c = make({"spawner": {"profiles": [TA_TOOLS, STANDARD, BIG]}})
    ta_tools, standard, big = c.SchoolSpawner.profiles
    assert standard == {**settings.PROFILE, **STANDARD, "default": True}
    assert big["default"] is False and big["image"] == "" and big["cpu_limit"] == 2
    assert ta_tools["display_name"] == "ta-tools" and ta_tools["default"] is False


def test_a_profile_can_be_the_default(make):
    c = make({"spawner": {"profiles": [STANDARD, {**BIG, "default": True}]}})
    assert [p["default"] for p in c.SchoolSpawner.profiles] == [False, True]


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        ("standard", "spawner.profiles: expected list, got 'standard'"),
        (["standard"], "spawner.profiles: profile 1: must be a mapping"),
        ([{"display_name": "Standard"}], "profile 1: name '' must be lower-case letters"),
        ([{"name": "Big Data"}], "profile 1 (Big Data): name 'Big Data' must be lower-case"),
        ([STANDARD, {"name": "standard"}], "profile 2 (standard): the name 'standard' is used"),
        ([{**BIG, "mem_limit": "lots"}], "profile 1 (big-data): mem_limit 'lots' is not a size"),
        ([{**BIG, "cpu_limit": -1}], "profile 1 (big-data): cpu_limit must be 0 (the user's)"),
        ([{**BIG, "cpu": 2}], "profile 1 (big-data): cpu: unknown setting (known here: admin_only"),
        ([{**BIG, "cpu_limit": "two"}], "profile 1 (big-data): cpu_limit: expected a number"),
        ([STANDARD, {**TA_TOOLS, "default": True}], "profile 2 (ta-tools): the default cannot be"),
        ([{**STANDARD, "default": True}, {**BIG, "default": True}], "only one default, got stan"),
        ([TA_TOOLS], "spawner.profiles: every profile is for TAs only: students need one"),
    ],
)
def test_a_wrong_profile_is_named(make, profiles, message):
    assert message in error_of(make, {"spawner": {"profiles": profiles}})


# What an admin may write as a memory limit. JupyterHub's ByteSpecification
# (DockerSpawner.mem_limit) reads the number and an upper-case unit: "1g" passed
# the check and the hub crash-looped on it (TraitError).
MEMORY_SIZES = ["1g", "1G", "1.5G", "512M", "64K", "4T", "0G", "2X", "0", "512", "2GB", "lots"]
# Forms the trait reads too but the check refuses: nobody means them.
ODD_SIZES = ["1e3G", "-1G", " 1G", "2 G", ".5G"]


def spawner_takes(size: str) -> bool:
    try:
        SchoolDockerSpawner(user=ADA).mem_limit = size
    except TraitError:
        return False
    return True


def limits_with(size: str) -> list[tuple[dict, bool]]:
    """The spawner settings that give `size` to a start, and whether the user is a TA."""
    return [
        ({"mem_limit": size}, False),
        ({"admin_mem_limit": size}, True),
        ({"profiles": [{**BIG, "mem_limit": size}]}, False),
    ]


@pytest.mark.parametrize("size", MEMORY_SIZES + ODD_SIZES)
def test_every_memory_limit_the_check_accepts_the_spawner_takes(make, size):
    for given, ta in limits_with(size):
        try:
            c = make({"spawner": given})
        except settings.ConfigError:
            continue
        # The hub reads DockerSpawner.mem_limit here; each start sets the user's.
        spawner = SchoolDockerSpawner(config=c, user=ADA)
        spawner.mem_limit = spawner.limits(ta, (spawner.profiles or [None])[0])[0]


@pytest.mark.parametrize("size", MEMORY_SIZES)
def test_the_check_takes_the_memory_limits_the_spawner_takes(make, size):
    for given, _ in limits_with(size):
        try:
            make({"spawner": given})
        except settings.ConfigError:
            assert not spawner_takes(size), given
        else:
            assert spawner_takes(size), given


@pytest.mark.parametrize("size", ODD_SIZES)
def test_odd_memory_limits_are_refused(make, size):
    assert "is not a size like 2G or 512M" in error_of(make, {"spawner": {"mem_limit": size}})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"mem_limit": "1g"},
            "spawner.mem_limit: '1g' is not a size like 2G or 512M (K, M, G or T, upper case)",
        ),
        (
            {"admin_mem_limit": "1g"},
            "spawner.admin_mem_limit: '1g' is not a size like 2G or 512M (K, M, G or T, upper",
        ),
        (
            {"profiles": [{**BIG, "mem_limit": "1g"}]},
            "profile 1 (big-data): mem_limit '1g' is not a size like 8G or 512M (K, M, G or T, up",
        ),
    ],
)
def test_a_lower_case_memory_limit_is_refused_with_its_form(make, given, message):
    assert message in error_of(make, {"spawner": given})


def test_containers_start_as_root_then_switch(make):
    c = make({"spawner": {"uid": 1000}})
    assert SchoolDockerSpawner(user=ADA).extra_create_kwargs == {"user": "root"}
    assert c.DockerSpawner.environment["NB_UID"] == "1000"


def test_swarm_runs_services_that_start_as_root_behind_dns_round_robin(make):
    c = make({"spawner": {"kind": "swarm"}})
    assert c.JupyterHub.spawner_class == "schoolhub.spawner.SchoolSwarmSpawner"
    spawner = SchoolSwarmSpawner(user=ADA)
    assert spawner.extra_container_spec == {"user": "root"}
    assert spawner.extra_endpoint_spec == {"mode": "dnsrr"}
    assert spawner.extra_task_spec == {"restart_policy": {"Condition": "none"}}
    # A site's own settings still win (extra_config).
    own = {"restart_policy": {"Condition": "on-failure"}}
    site = Config({"SwarmSpawner": {"extra_task_spec": own}})
    assert SchoolSwarmSpawner(config=site, user=ADA).extra_task_spec == own
    assert c.DockerSpawner.volumes == {"schoolhub-home-{username}": "/home/{raw_username}"}


def test_with_swarm_the_hub_never_looks_for_images_on_its_own_host(make):
    """A profile's image is on every worker, not on the manager: its start
    failed with 500 (the hub tried to pull it there, then to read its CMD)."""
    swarm = make({"spawner": {"kind": "swarm"}})
    spawner = SchoolSwarmSpawner(config=swarm, user=ADA)
    # (No image's CMD either: it would be read from the hub's engine.)
    assert (spawner.pull_policy, spawner.cmd) == ("skip", ["jupyterhub-singleuser"])
    one_host = make({"spawner": {"kind": "docker"}})
    assert SchoolDockerSpawner(config=one_host, user=ADA).pull_policy == "ifnotpresent"


def test_homes_on_nfs_are_directories_of_the_share(make):
    c = make({"spawner": {"kind": "swarm", "homes_share": "/mnt/schoolhub/homes"}})
    assert c.DockerSpawner.volumes == {"/mnt/schoolhub/homes/{username}": "/home/{raw_username}"}
    assert c.SchoolSwarmSpawner.homes_share == "/mnt/schoolhub/homes"


@pytest.mark.parametrize(
    "spawner, named",
    [
        ({"kind": "kubernetes"}, "spawner.kind"),
        ({"kind": "docker", "homes_share": "/mnt/homes"}, "only with spawner.kind swarm"),
        ({"kind": "swarm", "homes_share": "homes"}, "spawner.homes_share: must be an absolute"),
    ],
)
def test_bad_spawner_kind_or_homes_are_named(make, spawner, named):
    assert named in error_of(make, {"spawner": spawner})


def test_a_home_quota_makes_homes_with_its_volume_plugin(make):
    quota = {"home_quota": "5G", "home_driver": "schoolhub-homes"}
    docker = make({"spawner": quota})
    assert docker.DockerSpawner.extra_host_config == {"volume_driver": "schoolhub-homes"}
    swarm = make({"spawner": {**quota, "kind": "swarm"}})
    spawner = SchoolSwarmSpawner(config=swarm, user=ADA)
    [home] = [m for m in spawner.mounts if m["Target"] == "/home/ada"]
    assert home["VolumeOptions"]["DriverConfig"] == {"Name": "schoolhub-homes"}
    assert "extra_host_config" not in make().DockerSpawner  # no quota: Docker's own volumes


@pytest.mark.parametrize(
    "spawner, named",
    [
        ({"home_quota": "5 GB"}, "spawner.home_quota: '5 GB' is not a size like 5G or 512M"),
        ({"home_quota": "10M"}, "spawner.home_quota: 10M is too small (64M at least"),
        (
            {"home_quota": "5G", "kind": "swarm", "homes_share": "/mnt/schoolhub/homes"},
            "spawner.home_quota: homes on NFS (spawner.homes_share) get no quota here",
        ),
        ({"home_quota": "5G"}, "spawner.home_driver: a quota needs the homes' volume plugin"),
    ],
)
def test_a_bad_home_quota_is_named(make, spawner, named):
    driver = {"home_driver": "schoolhub-homes"} if "home_driver" not in named else {}
    assert named in error_of(make, {"spawner": {**driver, **spawner}})


def test_the_servers_tmp_size_reaches_the_spawner(make):
    assert make({"spawner": {"tmp_size": "1G"}}).SchoolSpawner.tmp_size == "1G"
    assert make().SchoolSpawner.tmp_size == "512M"


@pytest.mark.parametrize("size", ["", "0", "lots", "512 MB"])
def test_a_tmp_that_is_not_a_size_is_named(make, size):
    """0 would be a tmpfs without a limit; none would be the host's disk."""
    named = f"spawner.tmp_size: {size!r} is not a size of 1M or more like 512M"
    assert named in error_of(make, {"spawner": {"tmp_size": size}})


@pytest.mark.parametrize("size, expected", [("64M", 64 << 20), ("1.5G", 3 << 29), ("2048", 2048)])
def test_sizes_are_binary(size, expected):
    assert settings.size_bytes(size) == expected


def test_extra_environment_is_passed(make):
    c = make({"spawner": {"environment": {"SCHOOL": "growth"}}})
    assert c.DockerSpawner.environment["SCHOOL"] == "growth"


# --- culler ----------------------------------------------------------------


def test_culler_is_on_by_default(make):
    c = make()
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert "--timeout=3600" in services["idle-culler"]["command"]
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert role["services"] == ["idle-culler"] and "delete:servers" in role["scopes"]


def test_culler_can_be_off(make):
    services = make({"culler": {"enabled": False}}).JupyterHub.services
    assert [s["name"] for s in services] == ["schoolhub-ops", "announcements"]


def test_operations_token_comes_from_its_secret(make):
    c = make()
    ops = next(s for s in c.JupyterHub.services if s["name"] == "schoolhub-ops")
    assert ops["api_token"] == "ops-token"
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "schoolhub-ops")
    assert "admin:servers" in role["scopes"] and role["services"] == ["schoolhub-ops"]


# --- the document itself ---------------------------------------------------


def test_unknown_key_is_named(make):
    assert "spawner.imag: unknown setting" in error_of(make, {"spawner": {"imag": "x"}})


def test_wrong_type_is_named(make):
    assert "hub.port: expected int" in error_of(make, {"hub": {"port": "8081"}})


def test_bool_is_not_an_int(make):
    assert "hub.port" in error_of(make, {"hub": {"port": True}})


def test_the_schema_is_never_mutated(make):
    before = copy.deepcopy(settings.SCHEMA)
    make({"spawner": {"environment": {"A": "1"}}, "hub": {"admin_users": ["x"]}})
    assert settings.SCHEMA == before


def test_a_missing_setting_is_named(tmp_path):
    doc = settings_with(GITHUB)
    del doc["spawner"]["tmp_size"], doc["culler"]
    with pytest.raises(settings.ConfigError) as raised:
        settings.load_document(doc)
    assert str(raised.value).splitlines() == [
        "spawner.tmp_size: missing (the jupyterhub role writes every setting)",
        "culler.enabled: missing (the jupyterhub role writes every setting)",
        "culler.timeout: missing (the jupyterhub role writes every setting)",
        "culler.every: missing (the jupyterhub role writes every setting)",
    ]


def test_unreadable_document_is_named(tmp_path):
    with pytest.raises(settings.ConfigError, match="nothing.yaml"):
        settings.load(tmp_path / "nothing.yaml")


# --- shares and start scripts -----------------------------------------------

SHARES = {
    "shares": {
        "admin": "/mnt/schoolhub/admin",
        "data": "/mnt/schoolhub/data",
        "start_hook": "/usr/local/share/schoolhub/start-scripts.sh",
    }
}


def test_students_read_the_shares(make):
    student = make(SHARES).SchoolSpawner.student_volumes
    assert student["/mnt/schoolhub/admin"] == {"bind": "/home/admin", "mode": "ro"}
    assert student["/mnt/schoolhub/data"] == {"bind": "/nfs", "mode": "ro"}
    # Root in every container writes the logs; the directory's mode keeps students out.
    assert student["/mnt/schoolhub/admin/logs"]["mode"] == "rw"


def test_admins_write_the_shares(make):
    admin = make(SHARES).SchoolSpawner.admin_volumes
    assert admin["/mnt/schoolhub/admin"] == {"bind": "/home/admin", "mode": "rw"}
    assert admin["/mnt/schoolhub/data"] == {"bind": "/nfs", "mode": "rw"}


def test_start_hook_is_mounted_read_only_for_everyone(make):
    c = make(SHARES)
    for volumes in (c.SchoolSpawner.student_volumes, c.SchoolSpawner.admin_volumes):
        hook = volumes["/usr/local/share/schoolhub/start-scripts.sh"]
        assert hook["bind"].startswith("/usr/local/bin/before-notebook.d/")
        assert hook["mode"] == "ro"


def test_hook_gets_the_admin_ids_and_time_limit(make):
    env = make({"shares": {**SHARES["shares"], "script_timeout": 30}}).DockerSpawner.environment
    assert (env["SCHOOL_ADMIN_UID"], env["SCHOOL_ADMIN_GID"]) == ("1500", "1500")
    assert env["SCHOOL_SCRIPT_TIMEOUT"] == "30"


def test_no_shares_no_mounts(make):
    c = make({"shares": {"start_hook": ""}})
    assert c.SchoolSpawner.student_volumes == {} == c.SchoolSpawner.admin_volumes


def test_share_paths_must_be_absolute(make):
    assert "shares.data" in error_of(make, {"shares": {"data": "mnt/data"}})


def test_the_hubs_sqlite_database_uses_a_write_ahead_log(make, tmp_path):
    from sqlalchemy import create_engine, event, text
    from sqlalchemy.engine import Engine

    from schoolhub import config

    if event.contains(Engine, "connect", config.wal_mode):  # an earlier test's
        event.remove(Engine, "connect", config.wal_mode)
    make()  # configuring the hub registers it for every engine of the process
    engine = create_engine(f"sqlite:///{tmp_path}/jupyterhub.sqlite")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()


def test_team_folders_go_to_their_teams_groups(make):
    c = make({"shares": {"teams": "/mnt/schoolhub/teams", "team_folders": ["Group A", "B-Team"]}})
    assert c.SchoolSpawner.teams_share == "/mnt/schoolhub/teams"
    assert c.SchoolSpawner.team_folders == {
        "growth-school:group-a": "Group A",
        "growth-school:b-team": "B-Team",
    }


@pytest.mark.parametrize(
    "update, message",
    [
        ({"shares": {"team_folders": ["Group-A"]}}, "shares.teams: the teams share's path"),
        (
            {"shares": {"teams": "/t", "team_folders": ["Group/A"]}},
            "shares.team_folders: 'Group/A' is not a team name",
        ),
        (
            {
                "shares": {"teams": "/t", "team_folders": ["Group-A"]},
                "auth": {"kind": "native", "native": {"admin_users": ["ada"]}},
            },
            "shares.team_folders: needs GitHub sign-in",
        ),
        (
            {
                "shares": {"teams": "/t", "team_folders": ["Group-A"]},
                "spawner": {"kind": "swarm", "homes_share": "/mnt/schoolhub/homes"},
            },
            "shares.team_folders: not with homes on NFS",
        ),
    ],
)
def test_wrong_team_folders_are_named(make, update, message):
    with pytest.raises(settings.ConfigError, match=message):
        make(update)


@pytest.mark.parametrize(
    "repos, message",
    [
        (["github.com/school/course"], "git.repos: 'github.com/school/course' is not a rep"),
        (["https://x:ghp_secret@github.com/s/c"], "git.repos: repository 1 has a user or token"),
        (["https://github.com/s/c", "https://github.com/s/c.git"], "is there twice"),
    ],
)
def test_wrong_course_repositories_are_named_and_a_token_never_repeated(make, repos, message):
    with pytest.raises(settings.ConfigError, match=message) as raised:
        make({"git": {"repos": repos}})
    assert "ghp_secret" not in str(raised.value)


def test_servers_and_their_tokens_may_use_the_repositories_cache(make):
    c = make({"git": {"repos": ["https://github.com/s/c"]}})
    assert "access:services!service=gitcache" in c.Spawner.server_token_scopes
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "access:services!service=gitcache" in user["scopes"]
    assert c.SchoolSpawner.git_cache_url == "http://jupyterhub-proxy:8000/services/gitcache"
    assert "gitcache" in [s["name"] for s in c.JupyterHub.services]
    assert "gitcache" not in [s["name"] for s in make().JupyterHub.services]


# --- each user's server on a name of its own ---------------------------------

HTTPS = {"hub": {"public_url": "https://hub.school.example", "subdomains": True}}


def test_users_servers_are_on_names_of_their_own(make):
    c = make(HTTPS)
    assert c.JupyterHub.subdomain_host == "https://hub.school.example"
    # (a user's server cannot toss a cookie the hub's name receives)
    assert c.JupyterHub.cookie_host_prefix_enabled is True


def test_plain_http_subdomains_keep_cookies_without_the_host_prefix(make):
    """__Host- cookies must be Secure, which plain HTTP (the lab) cannot send."""
    c = make({"hub": {"public_url": "http://localhost:8000", "subdomains": True}})
    assert c.JupyterHub.subdomain_host == "http://localhost:8000"
    assert c.JupyterHub.cookie_host_prefix_enabled is False


def test_one_origin_is_an_explicit_choice(make):
    c = make({"hub": {"public_url": "https://hub.school.example", "subdomains": False}})
    assert "subdomain_host" not in c.JupyterHub
    assert "extra_routes" not in c.Proxy


def test_servers_reach_the_services_at_the_proxys_name(make):
    """The proxy routes by name: the services' feed and cache stay at
    jupyterhub-proxy, where servers find them (SCHOOLHUB_NEWS_URL, git's)."""
    c = make({**HTTPS, "git": {"repos": ["https://github.com/school/course"]}})
    assert c.Proxy.extra_routes == {
        "jupyterhub-proxy/services/announcements/": "http://jupyterhub:10101",
        "jupyterhub-proxy/services/gitcache/": "http://jupyterhub:10102",
    }
    news = c.DockerSpawner.environment["SCHOOLHUB_NEWS_URL"]
    assert news == "http://jupyterhub-proxy:8000/services/announcements/feed.atom"


@pytest.mark.parametrize(
    "public_url, message",
    [
        ("", "hub.public_url: required with hub.subdomains"),
        ("http://10.0.0.5:8000", "hub.public_url: 'http://10.0.0.5:8000' is an address;"),
        ("https://[2001:db8::1]", "is an address; hub.subdomains needs a DNS name"),
    ],
)
def test_subdomains_need_a_name(make, public_url, message):
    assert message in error_of(make, {"hub": {"public_url": public_url, "subdomains": True}})


def test_the_server_ignores_the_users_own_settings_and_python_site(make):
    c = make()
    assert c.Spawner.disable_user_config is True
    assert c.DockerSpawner.environment["PYTHONNOUSERSITE"] == "1"


def test_the_site_cannot_give_the_server_back_the_users_python_site(make):
    c = make(
        {"spawner": {"image": "school/notebook:2026", "environment": {"PYTHONNOUSERSITE": ""}}}
    )
    assert c.DockerSpawner.environment["PYTHONNOUSERSITE"] == "1"


def test_names_of_their_own_are_the_default():
    assert settings_with()["hub"]["subdomains"] is True


def test_only_the_proxy_and_the_hub_open_connections_to_servers(make):
    c = make({"spawner": {"image": "x", "network_subnet": "10.222.0.0/20"}})
    peers = c.DockerSpawner.environment["SCHOOLHUB_SERVER_PEERS"]
    assert peers == "10.222.0.10, 10.222.0.11"
    assert (
        "SCHOOLHUB_SERVER_PEERS"
        not in make({"spawner": {"network_subnet": ""}}).DockerSpawner.environment
    )


def test_the_proxy_and_the_hub_have_fixed_addresses_outside_the_servers_half():
    assert settings.users_network("10.222.0.0/20") == {
        "proxy": "10.222.0.10",
        "hub": "10.222.0.11",
        "servers": "10.222.8.0/21",
    }


@pytest.mark.parametrize("subnet", ["10.222.0.5/20", "banana", "10.0.0.0/25", "fd00::/64"])
def test_a_users_network_that_is_not_one_or_too_small_is_named(make, subnet):
    assert settings.users_network(subnet) == {}
    message = error_of(make, {"spawner": {"image": "x", "network_subnet": subnet}})
    assert f"spawner.network_subnet: {subnet!r} is not an IPv4 network of /24 or larger" in message


def test_the_tls_front_asks_the_certificates_service(make):
    c = make({"hub": {**HTTPS["hub"], "tls_ask_port": 10103}})
    service = next(s for s in c.JupyterHub.services if s["name"] == "certificates")
    assert service["command"] == [
        "python3", "-m", "schoolhub.certificates", "--port=10103", "--service=announcements"
    ]  # fmt: skip
    assert "url" not in service  # no route: the hub host's loopback only (the role publishes it)
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "certificates")
    assert role["scopes"] == ["list:users", "read:users:name"]
    assert "certificates" not in [s["name"] for s in make(HTTPS).JupyterHub.services]


def test_certificates_for_users_names_need_their_names(make):
    update = {"hub": {"public_url": "https://hub.example", "subdomains": False, "tls_ask_port": 1}}
    assert "hub.tls_ask_port: only with hub.subdomains" in error_of(make, update)
