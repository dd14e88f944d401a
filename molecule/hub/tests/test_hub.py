"""A one-host hub: GitHub team sign-in through the fake GitHub, per-user home
volumes, admin teams, and servers that outlive hub restarts."""

import shlex
import time

import requests
from conftest import container, on_the_shorter_chain, run_playbook, same_on_every_release

from schoolhub_lab import client


def test_student_signs_in_and_gets_jupyterlab(running, hub_url):
    ada = running("ada")
    lab = requests.get(f"{ada.server}/lab", headers=ada.headers, timeout=30)
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    assert ada.user()["admin"] is False


@same_on_every_release
def test_jupyterlab_asks_a_student_nothing_at_the_first_start(running):
    """No prompt a class would each dismiss, nothing fetched from the internet:
    JupyterLab's update check is off in the image, its news are on without
    asking (they are the hub's announcements: the https scenario's test), and
    no kernel to choose (its browser test opens a notebook that names none)."""
    ada = running("ada")

    def defaults(plugin: str) -> dict:
        """The image's overrides.json: the schema's defaults, as JupyterLab gets them."""
        setting = f"lab/api/settings/{plugin}"
        answer = requests.get(f"{ada.server}/{setting}", headers=ada.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return {k: v.get("default") for k, v in answer.json()["schema"]["properties"].items()}

    notification = defaults("@jupyterlab/apputils-extension:notification")
    assert (notification["fetchNews"], notification["checkForUpdates"]) == ("true", False)
    # A notebook that names no kernel starts the default one ("Select Kernel" otherwise).
    assert defaults("@jupyterlab/notebook-extension:tracker")["autoStartDefaultKernel"] is True


@same_on_every_release
def test_non_member_is_refused_with_a_clear_page(hub_url):
    eve = client.sign_in(hub_url, "eve")
    assert eve.refused
    assert "not currently authorized to use this hub" in eve.page.text


@same_on_every_release
def test_admin_team_member_is_admin(running):
    assert running("tina").user()["admin"] is True


@same_on_every_release
def test_leaving_the_admin_team_drops_admin_at_next_sign_in(hub_url, set_ta):
    first = client.Hub(hub_url, client.sign_in(hub_url, "dave"), "dave")
    assert first.user()["admin"] is True
    set_ta("dave", False)
    try:
        again = client.sign_in(hub_url, "dave")
        assert not again.refused  # still in Participants
        assert first.user()["admin"] is False
    finally:
        set_ta("dave", True)


@same_on_every_release
def test_joining_the_admin_team_takes_effect_without_signing_in_again(hub_url, set_ta):
    """Teams are read again at the next auth refresh (jupyterhub_github_refresh_age,
    15 s here): a student made TA on GitHub is admin without a new sign-in."""
    grace = client.Hub(hub_url, client.sign_in(hub_url, "grace"), "grace")
    assert grace.user()["admin"] is False
    set_ta("grace", True)
    try:
        client.wait(lambda: grace.user()["admin"], 90, "grace to be admin after a refresh")
    finally:
        set_ta("grace", False)
    client.wait(lambda: not grace.user()["admin"], 90, "grace to be a student again")


# The server's CPU quota ("quota period") and its CPU time so far in microseconds,
# read inside the container: cgroup v2, or v1 as on these test hosts.
CPU_QUOTA = (
    "if [ -f /sys/fs/cgroup/cpu.max ]; then cat /sys/fs/cgroup/cpu.max; "
    "else echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us); fi"
)
CPU_USED = (
    "if [ -f /sys/fs/cgroup/cpu.stat ]; then "
    "awk '/^usage_usec/ {print $2}' /sys/fs/cgroup/cpu.stat; "
    "else echo $(( $(cat /sys/fs/cgroup/cpuacct/cpuacct.usage) / 1000 )); fi"
)


def test_cpu_limit_is_enforced(running, host):
    """Two busy processes in a server limited to half a CPU get half a CPU."""
    running("ada")

    def inside(command):
        return host.check_output(f"docker exec jupyter-ada sh -c {shlex.quote(command)}")

    quota, period = inside(CPU_QUOTA).split()
    assert int(quota) / int(period) == 0.5
    burn = "for i in 1 2; do timeout 10 sh -c 'while :; do :; done' & done; wait"
    host.check_output(f"docker exec -d -u 1000 jupyter-ada sh -c {shlex.quote(burn)}")
    before, started = int(inside(CPU_USED)), time.monotonic()
    time.sleep(6)
    used, elapsed = int(inside(CPU_USED)) - before, time.monotonic() - started
    share = used / 1e6 / elapsed
    assert share <= 0.6, f"the server used {share:.2f} CPUs with a limit of 0.5"


def test_home_volume_is_per_user_and_named_safely(running, host):
    running("Bob-Smith2")
    bob = container(host, "jupyter-bob-2dsmith2")
    (home,) = [m for m in bob["Mounts"] if m["Destination"] == "/home/bob-smith2"]
    assert (home["Type"], home["Name"]) == ("volume", "schoolhub-home-bob-2dsmith2")
    assert home["Driver"] == "schoolhub-homes"  # jupyterhub_home_quota (molecule.yml)
    # The server runs as the user, with the fixed uid, not as root.
    processes = host.check_output("docker top jupyter-bob-2dsmith2 -eo pid,uid,args")
    (server,) = [
        line
        for line in processes.splitlines()
        if "jupyterhub-singleuser" in line and "tini" not in line
    ]
    assert server.split()[1] == "1000"
    assert host.check_output("docker exec jupyter-bob-2dsmith2 id -nu 1000") == "bob-smith2"


def test_homes_made_before_the_quota_stop_the_check_with_their_names(host):
    host.check_output("docker volume create schoolhub-home-zed")  # Docker's own kind
    try:
        done = run_playbook("check.yml", check=False)
    finally:
        host.check_output("docker volume rm schoolhub-home-zed")
    said = "schoolhub-hub-host: these homes were made without jupyterhub_home_quota: "
    output = done.stdout + done.stderr
    assert done.returncode != 0 and said + "schoolhub-home-zed." in output, output


def test_admins_get_their_own_limits(running, host):
    running("ada"), running("tina")
    memory = {
        name: container(host, f"jupyter-{name}")["HostConfig"]["Memory"] for name in ("ada", "tina")
    }
    assert memory == {"ada": 1024**3, "tina": 1536 * 1024**2}


def test_files_survive_stop_start_and_container_removal(running, host):
    ada = running("ada")
    write = "docker exec -u 1000 jupyter-ada sh -c 'echo kept > /home/ada/kept.txt'"
    host.check_output(write)
    ada.stop()
    assert not host.run("docker inspect jupyter-ada").succeeded  # the container is gone
    ada = running("ada")
    assert host.check_output("docker exec jupyter-ada cat /home/ada/kept.txt") == "kept"


def test_restarting_the_hub_keeps_servers_running_and_reachable(running, host):
    ada = running("ada")
    started = container(host, "jupyter-ada")["State"]["StartedAt"]
    host.check_output("docker restart jupyterhub")
    client.wait(lambda: ada.user()["name"] == "ada", 120, "the hub to answer again")
    assert ada.server_status().status_code == 200
    assert container(host, "jupyter-ada")["State"]["StartedAt"] == started


def test_secrets_are_not_world_readable(host):
    secrets = host.file("/etc/schoolhub/secrets")
    assert (secrets.user, secrets.mode) == ("root", 0o700)
    for name in ("cookie_secret", "crypt_key", "proxy_auth_token", "github_client_secret"):
        assert host.file(f"/etc/schoolhub/secrets/{name}").mode == 0o600


@on_the_shorter_chain
def test_no_image_carries_the_packages_apt_downloaded(host):
    """Built on a base that keeps them, each image carried its .deb files
    (100-126 MB, loaded on every host): any layer of any image or container."""
    listed = host.run(
        "timeout 300 find /var/lib/docker/overlay2 -path '*/diff/var/cache/apt/*'"
        " \\( -name '*.deb' -o -name '*.bin' \\) -type f"
    )
    assert listed.rc == 0, listed.stderr
    assert host.run("ls /var/lib/docker/overlay2 | wc -l").stdout.strip() != "0"
    assert listed.stdout.split() == []
