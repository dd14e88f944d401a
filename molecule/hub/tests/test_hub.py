"""A one-host hub: GitHub team sign-in through the fake GitHub, per-user home
volumes, admin teams, and servers that outlive hub restarts."""

import re

import requests
from conftest import container, run_playbook

from schoolhub.lab import client


def test_student_signs_in_and_gets_jupyterlab(running, hub_url):
    alice = running("alice")
    lab = requests.get(f"{hub_url}/user/alice/lab", headers=alice.headers, timeout=30)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    assert alice.user()["admin"] is False


def test_non_member_is_refused_with_a_clear_page(hub_url):
    mallory = client.sign_in(hub_url, "mallory")
    assert mallory.refused
    assert "not currently authorized to use this hub" in mallory.page.text


def test_admin_team_member_is_admin(running):
    assert running("carol").user()["admin"] is True


def test_leaving_the_admin_team_drops_admin_at_next_sign_in(hub_url, fake_url, owner_token):
    membership = f"{fake_url}/api/v3/orgs/growth-school/teams/tas/memberships/dave"
    owner = {"Authorization": f"token {owner_token}"}
    first = client.Hub(hub_url, client.sign_in(hub_url, "dave"), "dave")
    assert first.user()["admin"] is True
    assert requests.delete(membership, headers=owner, timeout=10).status_code == 204
    try:
        again = client.sign_in(hub_url, "dave")
        assert not again.refused  # still in Participants
        assert first.user()["admin"] is False
    finally:
        assert requests.put(membership, headers=owner, timeout=10).status_code == 200


def test_home_volume_is_per_user_and_named_safely(running, host):
    running("Bob-Smith2")
    bob = container(host, "jupyter-bob-2dsmith2")
    (home,) = [m for m in bob["Mounts"] if m["Destination"] == "/home/bob-smith2"]
    assert (home["Type"], home["Name"]) == ("volume", "schoolhub-home-bob-2dsmith2")
    # The server runs as the user, with the fixed uid, not as root.
    processes = host.check_output("docker top jupyter-bob-2dsmith2 -eo pid,uid,args")
    (server,) = [
        line
        for line in processes.splitlines()
        if "jupyterhub-singleuser" in line and "tini" not in line
    ]
    assert server.split()[1] == "1000"
    assert host.check_output("docker exec jupyter-bob-2dsmith2 id -nu 1000") == "bob-smith2"


def test_admins_get_their_own_limits(running, host):
    running("alice"), running("carol")
    memory = {
        name: container(host, f"jupyter-{name}")["HostConfig"]["Memory"]
        for name in ("alice", "carol")
    }
    assert memory == {"alice": 1024**3, "carol": 1536 * 1024**2}


def test_files_survive_stop_start_and_container_removal(running, host):
    alice = running("alice")
    write = "docker exec -u 1000 jupyter-alice sh -c 'echo kept > /home/alice/kept.txt'"
    host.check_output(write)
    alice.stop()
    assert not host.run("docker inspect jupyter-alice").succeeded  # the container is gone
    alice = running("alice")
    assert host.check_output("docker exec jupyter-alice cat /home/alice/kept.txt") == "kept"


def test_restarting_the_hub_keeps_servers_running_and_reachable(running, host):
    alice = running("alice")
    started = container(host, "jupyter-alice")["State"]["StartedAt"]
    host.check_output("docker restart jupyterhub")
    client.wait(lambda: alice.user()["name"] == "alice", 120, "the hub to answer again")
    assert alice.server_status().status_code == 200
    assert container(host, "jupyter-alice")["State"]["StartedAt"] == started


def test_rerunning_site_yml_changes_nothing_and_keeps_servers(running, host):
    alice = running("alice")
    started = container(host, "jupyter-alice")["State"]["StartedAt"]
    result = run_playbook("site.yml")
    assert re.search(r"changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout[-3000:]
    assert container(host, "jupyter-alice")["State"]["StartedAt"] == started
    assert alice.server_status().status_code == 200


def test_secrets_are_not_world_readable(host):
    secrets = host.file("/etc/schoolhub/secrets")
    assert (secrets.user, secrets.mode) == ("root", 0o700)
    for name in ("cookie_secret", "crypt_key", "proxy_auth_token", "github_client_secret"):
        assert host.file(f"/etc/schoolhub/secrets/{name}").mode == 0o600
