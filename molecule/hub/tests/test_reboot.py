"""Faults of the hub host itself, and its secrets: the host reboots (its
container restarts: systemd boots it again) with a student's server running;
an admin's run is killed halfway; no secret shows anywhere it should not (a
file another user may read, an image, a -vvv run's output). Runs last: the
reboot stops every server, the killed run leaves a setting changed."""

import os
import shlex
import signal
import subprocess

import requests
from conftest import container, on_the_shorter_chain, playbook, run_playbook, unchanged

from schoolhub.lab import client, hosts

SECRETS = "/etc/schoolhub/secrets"
HOST = f"schoolhub-hub-host-{os.environ.get('HOST_OS', 'debian13')}"


def secrets(host) -> dict[str, str]:
    """Every secret file's value on the hub host."""
    names = host.check_output(f"ls {SECRETS}").split()
    values = {name: host.check_output(f"cat {SECRETS}/{name}").strip() for name in names}
    assert {"cookie_secret", "crypt_key", "proxy_auth_token", "ops_api_token"} <= set(values)
    assert all(len(value) >= 16 for value in values.values()), values.keys()
    return values


def test_a_rebooted_hub_host_comes_back_in_order_and_the_next_run_changes_nothing(
    running, host, hub_url
):
    ada = running("ada")
    host.check_output("docker exec -u ada jupyter-ada sh -c 'echo before > /home/ada/reboot.txt'")
    subprocess.run(["docker", "restart", HOST], check=True, capture_output=True, timeout=180)
    hosts.wait_for_systemd(HOST)
    # The firewall is back (it comes up before Docker), once.
    jumps = host.check_output("iptables -w -S DOCKER-USER | grep -c SCHOOLHUB-FORWARD")
    assert jumps == "1"

    def hub_answers() -> bool:
        return requests.get(f"{hub_url}/hub/api", timeout=5).status_code == 200

    client.wait(hub_answers, 180, "the hub to answer after the reboot")
    # ada is still signed in (same cookie); her server stopped with the host and
    # the hub knows it (it does not send her to a dead route)...
    client.wait(lambda: not ada.user()["servers"], 120, "the hub to see ada's server stopped")
    # ...she starts it again and finds her files.
    ada.start()
    ada.wait_ready()
    kept = host.check_output("docker exec jupyter-ada cat /home/ada/reboot.txt")
    assert kept == "before"
    # Everything came back as the playbooks left it, and with -vvv (every
    # task's arguments and results) no secret value is printed.
    started = container(host, "jupyter-ada")["State"]["StartedAt"]
    result = run_playbook("site.yml", verbosity=3)
    unchanged(result.stdout, {"schoolhub-hub-host", "schoolhub-hub-nfs"})
    assert container(host, "jupyter-ada")["State"]["StartedAt"] == started
    printed = result.stdout + result.stderr
    leaked = [name for name, value in secrets(host).items() if value in printed]
    assert leaked == [], f"printed by site.yml -vvv: {leaked}"


@on_the_shorter_chain
def test_no_secret_is_readable_by_other_users_or_in_an_image(host):
    values = secrets(host)
    # Every file on the host holding one, images' and containers' layers included.
    quoted = " ".join(shlex.quote(value) for value in values.values())
    found = host.run(
        f"printf '%s\\n' {quoted} | timeout 600 grep -rlsF -f - /"
        " --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev"
    )
    paths = found.stdout.split()  # (status 2: some special files could not be read)
    assert f"{SECRETS}/cookie_secret" in paths, found.stderr[-2000:]  # the search works
    as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups test -r"
    readable = [p for p in paths if host.run(f"{as_nobody} {shlex.quote(p)}").rc == 0]
    assert readable == [], "readable by any user of the host"
    layers = [p for p in paths if p.startswith("/var/lib/docker/overlay2/")]
    assert layers == [], "in an image's or a container's layer"


@on_the_shorter_chain
def test_a_run_killed_halfway_then_run_again_converges_and_loses_nothing(running, host):
    """The admin's run dies (a lost SSH session, a Ctrl-C) right after it wrote
    the hub's new settings, before the hub started with them. The next run
    finishes the change; users, servers and files are all there."""
    ada = running("ada")
    host.check_output("docker exec -u ada jupyter-ada sh -c 'echo mine > /home/ada/killed.txt'")
    hub = container(host, "jupyterhub")["Id"]
    setting = "jupyterhub_cull_timeout=3000"
    command, env = playbook("site.yml", setting)
    run = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    written = False
    try:
        for line in run.stdout:  # bounded by the test's own timeout
            if written and line.startswith("TASK ["):
                break  # the next task: the settings are written, the hub not restarted
            written = written or line.startswith("TASK [jupyterhub : Write the hub configuration]")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    assert written
    assert "timeout: 3000" in host.check_output("cat /etc/schoolhub/schoolhub.yaml")
    assert container(host, "jupyterhub")["Id"] == hub  # the old hub, the old settings
    run_playbook("site.yml", setting)
    processes = host.check_output("docker exec jupyterhub sh -c 'cat /proc/[0-9]*/cmdline'")
    assert "--timeout=3000" in processes.replace("\0", " ")  # the idle culler's new timeout
    assert ada.server_status().status_code == 200
    assert host.check_output("docker exec jupyter-ada cat /home/ada/killed.txt") == "mine"
