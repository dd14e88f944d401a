"""An admin's typo costs nothing: each broken inventory below makes site.yml
stop in its first play (playbooks/check.yml), which changes nothing, with a
message that names the variable; the hosts are the same before and after."""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from conftest import EPHEMERAL, recap, run_playbook

CHECK_PLAY = "PLAY [Check the inventory before changing any host]"
HOST = "schoolhub-https-host"
NAME = f"{HOST}.test"  # the public URL's host
# A site's own certificates, made by `outcomes`: the hub's name only, and both names.
CERTS = EPHEMERAL / "certificates"
HUB_ONLY, BOTH, HUB_ONLY_KEY = (
    f"{CERTS}/{n}" for n in ("hub-only.crt", "both.crt", "hub-only.key")
)

# (name, -e arguments or an extra inventory, what the error says)
BAD = [
    ("size", "jupyterhub_mem_limit=2X",
     "jupyterhub_mem_limit (spawner.mem_limit: '2X' is not a size like 2G or 512M"
     " (K, M, G or T, upper case))"),
    ("lower-case size", {"jupyterhub_mem_limit": "1g"},
     "jupyterhub_mem_limit (spawner.mem_limit: '1g' is not a size like 2G or 512M"
     " (K, M, G or T, upper case))"),
    ("admin size", {"jupyterhub_admin_mem_limit": "lots"},
     "jupyterhub_admin_mem_limit (spawner.admin_mem_limit: 'lots' is not a size"),
    ("negative cpu", {"jupyterhub_cpu_limit": -1},
     "jupyterhub_cpu_limit (spawner.cpu_limit: must be positive, got -1.0)"),
    ("cpu not a number", "jupyterhub_cpu_limit=one",
     "argument 'jupyterhub_cpu_limit' is of type str and we were unable to convert to float"),
    ("zero start timeout", {"jupyterhub_start_timeout": 0},
     "jupyterhub_start_timeout (spawner.start_timeout: must be positive, got 0)"),
    ("negative http timeout", "jupyterhub_http_timeout=-5",
     "jupyterhub_http_timeout (spawner.http_timeout: must be positive, got -5)"),
    ("zero cull timeout", "jupyterhub_cull_timeout=0",
     "jupyterhub_cull_timeout (culler.timeout: must be positive, got 0)"),
    ("cull every not a number", "jupyterhub_cull_every=often",
     "argument 'jupyterhub_cull_every' is of type str and we were unable to convert to int"),
    ("zero pids", {"jupyterhub_pids_limit": 0},
     "jupyterhub_pids_limit (spawner.pids_limit: must be positive, got 0)"),
    ("unlimited tmp", "jupyterhub_tmp_size=0",
     "jupyterhub_tmp_size (spawner.tmp_size: '0' is not a size of 1M or more like 512M"),
    ("zero script timeout", {"jupyterhub_script_timeout": 0},
     "jupyterhub_script_timeout (shares.script_timeout: must be positive, got 0)"),
    ("negative spawn limit", {"jupyterhub_concurrent_spawn_limit": -1},
     "jupyterhub_concurrent_spawn_limit (hub.concurrent_spawn_limit: must be 0 (no limit)"),
    ("unknown TA role", "jupyterhub_ta_role=viewer",
     "value of jupyterhub_ta_role must be one of: full-admin, server-admin, got: viewer"),
    ("announcement expiry", {"jupyterhub_announcement_expires": "next tuesday"},
     "jupyterhub_announcement_expires (announcements.expires: 'next tuesday' is not a date"),
    ("team folders without their share", {"jupyterhub_team_folders": ["Group-A"]},
     "jupyterhub_team_folders needs the NFS teams share: an NFS server in the `nfs` group"),
    ("git repository with a token in it",
     {"jupyterhub_git_repos": ["https://tina:secret@github.com/summer-school/course"]},
     "jupyterhub_git_repos (git.repos: repository 1 has a user or token in its address (not"),
    ("teams as a string", "jupyterhub_github_user_teams=Participants",
     "jupyterhub_github_user_teams (auth.github.user_teams: expected list, got 'Participants')"),
    ("no team", {"jupyterhub_github_user_teams": [], "jupyterhub_github_admin_teams": []},
     "jupyterhub_github_user_teams (auth.github.user_teams: name at least one team, here or in"
     " auth.github.admin_teams)"),
    ("bad team name", {"jupyterhub_github_admin_teams": ["TAs/2026"]},
     "jupyterhub_github_admin_teams (auth.github.admin_teams: 'TAs/2026' is not a team name)"),
    ("bad org", {"jupyterhub_github_org": "summer school"},
     "jupyterhub_github_org (auth.github.org: 'summer school' is not a GitHub organisation name)"),
    ("no client secret", {"jupyterhub_github_client_secret": ""},
     "jupyterhub_github_client_secret (in Ansible Vault)"),
    ("unknown sign-in", "jupyterhub_auth=ldap",
     "value of jupyterhub_auth must be one of: github, native, got: ldap"),
    ("unknown spawner", "jupyterhub_spawner=kubernetes",
     "value of jupyterhub_spawner must be one of: docker, swarm, got: kubernetes"),
    ("url without scheme", "jupyterhub_public_url=hub.school.example",
     "jupyterhub_public_url (hub.public_url: 'hub.school.example' is not like"
     " https://hub.school.example)"),
    ("https to an address", "jupyterhub_public_url=https://10.1.2.3",
     "an ACME CA issues no certificate for an address"),
    ("certificate without key", {"jupyterhub_tls_certificate": "/etc/hostname"},
     "or both jupyterhub_tls_certificate and jupyterhub_tls_certificate_key"),
    ("certificate not on the controller",
     {"jupyterhub_tls_certificate": "/nonexistent/site.crt",
      "jupyterhub_tls_certificate_key": "/nonexistent/site.key"},
     "jupyterhub_tls_certificate: no such file on the controller: /nonexistent/site.crt"),
    ("certificate without the users' names",
     {"jupyterhub_tls_certificate": HUB_ONLY, "jupyterhub_tls_certificate_key": HUB_ONLY_KEY},
     f"jupyterhub_tls_certificate ({HUB_ONLY}) is for {NAME}: it must name {NAME} and *.{NAME}"),
    ("key of another certificate",
     {"jupyterhub_tls_certificate": BOTH, "jupyterhub_tls_certificate_key": HUB_ONLY_KEY},
     f"jupyterhub_tls_certificate_key ({HUB_ONLY_KEY}) is not the key of"
     f" jupyterhub_tls_certificate ({BOTH})"),
    ("subdomains on an address", "jupyterhub_public_url=http://10.1.2.3:8000",
     "jupyterhub_public_url (hub.public_url: 'http://10.1.2.3:8000' is an address;"
     " hub.subdomains needs a DNS name"),
    ("hub's names not in the DNS", {"jupyterhub_dns_check": True},
     "schoolhub-https-host.test and any-user.schoolhub-https-host.test did not resolve on this"
     " machine."),
    ("users' network too small", {"jupyterhub_network_subnet": "10.222.0.0/25"},
     "jupyterhub_network_subnet (spawner.network_subnet: '10.222.0.0/25' is not an IPv4 network"
     " of /24 or larger"),
    ("negative hsts", {"jupyterhub_hsts_max_age": -1},
     "jupyterhub_hsts_max_age: -1 is not a number of seconds"),
    ("no image kept", {"jupyterhub_image_cache_keep": 0},
     "jupyterhub_image_cache_keep: 0 is not a number of archives (1 or more)"),
    ("untagged image",
     {"jupyterhub_singleuser_build": False, "jupyterhub_singleuser_image": "jupyter/notebook"},
     "must name a tag other than `latest`"),
    ("server page not a path", {"jupyterhub_default_url": "lab/tree/welcome.ipynb"},
     "jupyterhub_default_url (spawner.default_url: 'lab/tree/welcome.ipynb' is not a path of the"
     " server"),
    ("one volume for all", {"jupyterhub_home_volume": "home"},
     "jupyterhub_home_volume (spawner.home_volume: must contain {username}"),
    ("homes on nfs without workers", "jupyterhub_homes_on_nfs=true",
     "jupyterhub_homes_on_nfs (spawner.homes_share: only with spawner.kind swarm (workers))"),
    ("home quota", {"jupyterhub_home_quota": "5 GB"},
     "jupyterhub_home_quota (spawner.home_quota: '5 GB' is not a size like 5G or 512M)"),
    ("tiny home quota", "jupyterhub_home_quota=10M",
     "jupyterhub_home_quota (spawner.home_quota: 10M is too small (64M at least"),
    ("bad allowed address", {"jupyterhub_egress_allow": [{"to": "10.1.2.300", "port": 80}]},
     "jupyterhub_egress_allow: {'to': '10.1.2.300', 'port': 80} is not a rule like"),
    ("bad allowed port", {"jupyterhub_egress_allow": [{"to": "10.1.2.3", "port": 70000}]},
     "jupyterhub_egress_allow: {'to': '10.1.2.3', 'port': 70000} is not a rule like"),
    ("bad blocked network", {"jupyterhub_egress_blocked": ["everything"]},
     "jupyterhub_egress_blocked: everything is not an address or network"),
    ("uid not a number", "jupyterhub_notebook_uid=abc",
     "argument 'jupyterhub_notebook_uid' is of type str and we were unable to convert to int"),
    ("admins as a string", {"jupyterhub_admin_users": "tina"},
     "jupyterhub_admin_users (hub.admin_users: expected list, got 'tina')"),
    ("environment as a list", {"jupyterhub_singleuser_environment": ["A=1"]},
     "argument 'jupyterhub_singleuser_environment' is of type list"),
    ("encryption without workers", "jupyterhub_network_encrypted=true",
     "jupyterhub_network_encrypted encrypts the overlay network between hosts: it needs workers"),
    ("one host to swarm with the old network", "jupyterhub_spawner=swarm",
     "Network schoolhub exists with driver bridge and subnet 10.222.0.0/20;"
     " jupyterhub_spawner=swarm, jupyterhub_network_encrypted=false and"
     " jupyterhub_network_subnet=10.222.0.0/20 need driver overlay and that subnet."),
    ("users' network moved", {"jupyterhub_network_subnet": "10.223.0.0/20"},
     "Network schoolhub exists with driver bridge and subnet 10.222.0.0/20;"),
    ("misspelt name", "jupyterhub_github_orgs=summer-school",
     "jupyterhub_github_orgs: no role has this variable. Did you mean jupyterhub_github_org?"),
    ("misspelt name 2", "jupyterhub_memlimit=2G",
     "jupyterhub_memlimit: no role has this variable. Did you mean jupyterhub_mem_limit?"),
    ("address pool without size", {"docker_default_address_pools": [{"base": "10.0.0.0/8"}]},
     "docker_default_address_pools: {'base': '10.0.0.0/8'} needs a network `base`"),
    ("admin uid not a number", "common_admin_uid=x",
     "argument 'common_admin_uid' is of type str and we were unable to convert to int"),
    ("the hub host twice, as a worker", {"workers": ["twin"]},
     "the same machine (the same address): schoolhub-https-host and twin"),
    ("the hub host also a worker", {"workers": [HOST]},
     "the hub host cannot also be a worker (in both: schoolhub-https-host)"),
    ("profile named twice", {"jupyterhub_profiles": [{"name": "standard"}, {"name": "standard"}]},
     "jupyterhub_profiles (spawner.profiles: profile 2 (standard): the name 'standard' is used"),
    ("profile size", {"jupyterhub_profiles": [{"name": "big", "mem_limit": "lots"}]},
     "jupyterhub_profiles (spawner.profiles: profile 1 (big): mem_limit 'lots' is not a size"),
    ("profiles for TAs only", {"jupyterhub_profiles": [{"name": "ta", "admin_only": True}]},
     "jupyterhub_profiles (spawner.profiles: every profile is for TAs only: students need one)"),
    ("two hub hosts", {"hub": ["twin"]},
     "The hub group needs exactly one host (it has 2: schoolhub-https-host, twin)"),
]  # fmt: skip

# Rows that one run can show together: the check of names reports every
# unknown one, the check of types and choices every role's every error, and
# the check of values (the hub's settings and the role's own) every mistake in
# them. A run sets each variable once, and the https:// public URL stays where
# a row needs the TLS front.
TOGETHER = [
    ("misspelt name", "misspelt name 2"),
    ("cpu not a number", "cull every not a number", "unknown TA role", "unknown sign-in",
     "unknown spawner", "uid not a number", "environment as a list", "admin uid not a number"),
    ("size", "admin size", "negative cpu", "zero start timeout", "negative http timeout",
     "zero cull timeout", "zero pids", "unlimited tmp", "zero script timeout",
     "negative spawn limit", "announcement expiry", "git repository with a token in it",
     "bad team name", "bad org", "one volume for all", "home quota", "profile named twice",
     "subdomains on an address", "users' network too small", "no client secret",
     "team folders without their share", "untagged image", "bad allowed address",
     "bad blocked network", "encryption without workers", "no image kept", "admins as a string",
     "teams as a string", "server page not a path"),
    ("lower-case size", "tiny home quota", "profiles for TAs only", "negative hsts",
     "https to an address", "certificate without key", "no team", "homes on nfs without workers",
     "bad allowed port"),
    ("url without scheme", "profile size"),
]  # fmt: skip

# Right, though given as strings by `-e name=value`: the hub gets numbers and booleans.
GOOD = ["jupyterhub_cull_every=10", "jupyterhub_cull_enabled=false", "jupyterhub_admin_sudo=true",
        "jupyterhub_cpu_limit=0.5", "jupyterhub_homes_on_nfs=false"]  # fmt: skip

STATE = (
    "find /etc/schoolhub /etc/docker /etc/systemd/system -type f -printf '%p %s %T@\\n' | sort;"
    " docker ps -aq | xargs docker inspect -f '{{.Name}} {{.Id}} {{.State.StartedAt}}';"
    " docker volume ls -q; docker network ls -q; docker image ls -q --no-trunc"
)


def inventory_of(groups: dict, path) -> str:
    """An extra inventory: `twin` is the scenario's host again, under another name."""
    mine = yaml.safe_load((EPHEMERAL / "inventory/ansible_inventory.yml").read_text())
    connection = mine["all"]["hosts"][HOST]
    children = {
        group: {"hosts": {name: connection if name == "twin" else {} for name in names}}
        for group, names in groups.items()
    }
    path.write_text(yaml.safe_dump({"all": {"children": children}}))
    return str(path)


def certificates():
    """HUB_ONLY and BOTH, each with its key (openssl, as an admin makes one)."""
    CERTS.mkdir(exist_ok=True)
    for name, names in (("hub-only", f"DNS:{NAME}"), ("both", f"DNS:{NAME},DNS:*.{NAME}")):
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={NAME}", "-addext", f"subjectAltName={names}",
             "-keyout", f"{CERTS}/{name}.key", "-out", f"{CERTS}/{name}.crt"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr


def attempt(cases, tmp_path):
    """One site.yml run with the given mistakes (-e arguments, or one extra inventory)."""
    extra, inventories = [], []
    for name, given, _ in cases:
        if isinstance(given, str):
            extra.append(given)
        elif set(given) <= {"hub", "workers"}:
            inventories.append(inventory_of(given, tmp_path / f"{name}.yml"))
        else:
            extra.append(json.dumps(given))
    return run_playbook("site.yml", *extra, inventories=inventories, check=False)


@pytest.fixture(scope="module")
def outcomes(host, tmp_path_factory):
    """Every broken inventory (alone, or with those of its TOGETHER row), four
    runs at a time; each row's run, and the hosts' state before and after."""
    before = host.check_output(STATE)
    tmp_path = tmp_path_factory.mktemp("inventories")
    certificates()
    shared = {name: names for names in TOGETHER for name in names}
    runs = list(dict.fromkeys(shared.get(name, (name,)) for name, _, _ in BAD))
    rows = {case[0]: case for case in BAD}
    with ThreadPoolExecutor(4) as pool:
        done = pool.map(lambda names: attempt([rows[n] for n in names], tmp_path), runs)
        by_run = dict(zip(runs, done, strict=True))
    each = [by_run[shared.get(name, (name,))] for name, _, _ in BAD]
    return each, before, host.check_output(STATE)


@pytest.mark.parametrize("index", range(len(BAD)), ids=[case[0] for case in BAD])
def test_a_broken_inventory_stops_before_any_change_and_names_the_variable(outcomes, index):
    done, (_, _, expected) = outcomes[0][index], BAD[index]
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert " ".join(expected.split()) in " ".join(output.split()), output[-3000:]
    plays = [line.rstrip(" *") for line in output.splitlines() if line.startswith("PLAY [")]
    assert plays == [CHECK_PLAY], plays
    assert all(counts["changed"] == 0 for counts in recap(done.stdout).values()), done.stdout


def test_the_hosts_are_as_before(outcomes):
    _, before, after = outcomes
    assert after == before


def test_numbers_and_booleans_given_as_text_are_accepted():
    done = run_playbook("check.yml", *GOOD, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
