"""The operations playbooks against the running hub (after test_hub.py: they
stop servers)."""

import os
import re
import shlex
import time

import requests
from conftest import container, on_the_shorter_chain, run_playbook, same_on_every_release, secrets

from schoolhub import ops
from schoolhub_lab import client


def image_of(host, name) -> str:
    return container(host, name)["Config"]["Image"]


@same_on_every_release
def test_users_playbook_lists_users_admins_and_servers(running):
    running("ada")
    running("tina")  # a TA (the hub's admin)
    listed = run_playbook("users.yml").stdout
    assert "ada" in listed and "ready" in listed
    assert re.search(r"tina\s+yes\s+(ready|stopped)", listed), listed


@same_on_every_release
def test_new_image_reaches_a_user_at_next_start_and_spares_running_servers(running, host, tmp_path):
    ada, bob = running("ada"), running("Bob-Smith2")
    before, started = (
        image_of(host, "jupyter-ada"),
        container(host, "jupyter-ada")["State"]["StartedAt"],
    )
    # A site's own rebuild, with an image cache of its own (not the tests'):
    # the hub's and proxy's archives already there (empty stand-ins, so not
    # saved again), three older single-user archives.
    for name in ("jupyterhub", "jupyterhub-proxy"):
        (tmp_path / f"{image_of(host, name).replace(':', '-')}.tar").write_text("")
    for age in (3, 2, 1):
        older = tmp_path / f"schoolhub-singleuser-{age}daysold.tar"
        older.write_text("")
        os.utime(older, (time.time() - age * 86400,) * 2)
    kept = {p.name for p in tmp_path.iterdir()} - {"schoolhub-singleuser-3daysold.tar"}
    run_playbook(
        "update-image.yml",
        "jupyterhub_singleuser_revision=2",
        f"jupyterhub_image_cache={tmp_path}",
        "jupyterhub_image_cache_mode=save",
        "jupyterhub_image_cache_keep=3",
    )
    # Ada's running server is untouched...
    assert container(host, "jupyter-ada")["State"]["StartedAt"] == started
    assert image_of(host, "jupyter-ada") == before
    assert ada.server_status().status_code == 200
    # ...Bob gets the new image at his next start.
    bob.stop()
    bob = running("Bob-Smith2")
    after = image_of(host, "jupyter-bob-2dsmith2")
    assert after != before
    label = '{{index .Config.Labels "org.schoolhub.revision"}}'
    assert host.check_output(f"docker image inspect --format '{label}' {after}") == "2"
    # The cache keeps the three newest single-user archives (the new one made
    # last), and the other images' archives.
    new = f"{after.replace(':', '-')}.tar"
    assert {p.name for p in tmp_path.iterdir()} == kept | {new}
    assert (tmp_path / new).stat().st_size > 100 * 2**20


@same_on_every_release
def test_users_playbook_lists_a_class_larger_than_the_hubs_first_page(host, hub_url):
    """A hub answers a plain GET /users with its first 50 users."""
    hub = ops.Hub(f"{hub_url}/hub/api", secrets(host)["ops_api_token"])
    crowd = [f"crowd-{n:02}" for n in range(60)]
    hub.create(crowd)
    try:
        listed = set(re.findall(r"\bcrowd-\d\d\b", run_playbook("users.yml").stdout))
        assert set(crowd) <= listed, sorted(set(crowd) - listed)
    finally:
        hub.remove(crowd)


def test_users_playbook_stops_every_server(running, host):
    running("ada")
    assert "stopped" in run_playbook("users.yml", "users_action=stop-all").stdout
    assert host.check_output("docker ps --filter name=jupyter- --format '{{.Names}}'") == ""


@on_the_shorter_chain  # (the hub and the plugin; the quota itself: test_isolation.py, on both)
def test_a_larger_quota_reaches_a_home_at_its_next_start(running, host):
    """The quota is left at 320M: the next site.yml (the killed run's) puts
    the scenario's 256M back; alan's home stays larger (a home never shrinks)."""
    size = "docker exec jupyter-alan df -B1 --output=size /home/alan | tail -1"
    alan = running("alan")
    host.check_output("docker exec -u 1000 jupyter-alan sh -c 'echo mine > /home/alan/mine.txt'")
    before = int(host.check_output(size))
    run_playbook("site.yml", "jupyterhub_home_quota=320M")
    assert int(host.check_output(size)) == before  # never grown under a running server
    alan.stop()
    alan = running("alan")
    after = int(host.check_output(size))
    assert after > before + 50 * 2**20 and 0.85 * 320 * 2**20 < after <= 320 * 2**20
    assert host.check_output("docker exec jupyter-alan cat /home/alan/mine.txt") == "mine"


@same_on_every_release
def test_an_idle_server_is_culled_and_its_home_kept(running, host, hub_url):
    """With a short idle timeout (the hub restarts, servers are kept), a server
    nobody uses is stopped by the idle culler; the user's home volume stays.
    The timeout is set in the hub's settings file, and the hub restarted, as
    site.yml would (the killed run's test, on Debian 12, shows a culler's
    setting going through site.yml); then the file and the hub are as before."""
    ada = running("ada")
    host.check_output("docker exec -u 1000 jupyter-ada sh -c 'echo kept > /home/ada/culled.txt'")
    short = "/^culler:/,/^[a-z]/{s/^  every: .*/  every: 10/; s/^  timeout: .*/  timeout: 30/}"
    file = "/etc/schoolhub/schoolhub.yaml"  # (rewritten in place: the hub mounts the file)
    restart = "timeout 120 docker restart jupyterhub"
    host.check_output(f"cp {file} {file}.was && sed {shlex.quote(short)} {file}.was > {file}.new")
    try:
        host.check_output(f"cat {file}.new > {file} && {restart}")
        processes = "docker exec jupyterhub sh -c 'cat /proc/[0-9]*/cmdline' | tr '\\0' ' '"
        culler = lambda: "--timeout=30 " in host.run(processes).stdout  # noqa: E731
        client.wait(culler, 180, "the culler at 30 s")
        client.wait(lambda: not ada.user().get("servers"), 180, "the culler to stop ada's server")
        assert host.run("docker inspect jupyter-ada").rc != 0  # the container is gone
    finally:
        host.check_output(f"cat {file}.was > {file} && rm {file}.was {file}.new && {restart}")
        client.wait(
            lambda: requests.get(f"{hub_url}/hub/api", timeout=5).status_code == 200,
            180,
            "the hub to start again",
        )
    ada = running("ada")
    assert host.check_output("docker exec jupyter-ada cat /home/ada/culled.txt") == "kept"
