"""Faults a school hub meets, with what users see: the hub process dies, the
proxy restarts, the hub host reboots. Each comes back by itself; running
servers (but a rebooted host's), their files and routes survive, and a
signed-in student goes on working. Before the tests that change settings."""

import html
import os
import re
import subprocess
import time

import pytest
import requests
from conftest import (
    container,
    run_playbook,
    same_on_every_release,
    script_kept,
    secrets,
    unchanged,
)

from schoolhub_lab import bench, client, hosts

HOST = f"schoolhub-hub-host-{os.environ.get('HOST_OS', 'debian13')}"


def started(host, name: str) -> str:
    return container(host, name)["State"]["StartedAt"]


def test_a_crashed_hub_comes_back_by_itself_and_servers_keep_running(running, host):
    ada = running("ada")
    server, hub_started = container(host, "jupyter-ada")["Id"], started(host, "jupyterhub")
    host.run_expect([0], f"kill -9 {container(host, 'jupyterhub')['State']['Pid']}")
    client.wait(lambda: started(host, "jupyterhub") != hub_started, 60, "Docker to restart the hub")
    client.wait(lambda: ada.user()["name"] == "ada", 120, "the hub to answer again")
    # The same server, never restarted, still answering through the proxy.
    assert container(host, "jupyter-ada")["Id"] == server
    assert ada.server_status().status_code == 200
    # ...and ada can stop and start it as before.
    ada.stop()
    ada.start()
    ada.wait_ready()


@same_on_every_release
def test_routes_come_back_by_themselves_after_a_proxy_restart(running, host):
    grace = running("grace")
    host.run_expect([0], "timeout 60 docker restart jupyterhub-proxy")
    restarted = time.monotonic()
    # The proxy forgot every route; the hub puts them back at its next round
    # (hub.last_activity_interval), with nobody acting.
    client.wait(lambda: grace.server_status().status_code == 200, 150, "grace's route to come back")
    print(f"grace's server answered again {time.monotonic() - restarted:.0f}s after the restart")
    answer = requests.get(f"{grace.server}/api/contents", headers=grace.headers, timeout=30)
    assert answer.status_code == 200


# The homes' plugin as systemd runs it, for a while with another reserve.
HOMES_PLUGIN = "schoolhub-homes"
FOR_A_WHILE = f"/run/systemd/system/{HOMES_PLUGIN}.service.d/test.conf"


@same_on_every_release
def test_a_start_docker_refuses_tells_the_student_why_and_the_next_one_works(hub_url, host):
    """The host's disk is too full for a new home (the homes' plugin keeps a
    reserve free for the host): a new student is told why, on the page the
    sign-in lands on, when they come back, and through the API; not "500:
    Internal Server Error". Once there is room, the same student starts."""
    pid = host.check_output(f"systemctl show -P MainPID {HOMES_PLUGIN}")
    command = host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline").strip()
    full = re.sub(r"--reserve \d+", f"--reserve {1 << 60}", command)
    assert full != command, command
    restart = f"systemctl daemon-reload && systemctl restart {HOMES_PLUGIN}"
    host.run_expect([0], f"mkdir -p {os.path.dirname(FOR_A_WHILE)}")
    host.run_expect([0], f"printf '[Service]\\nExecStart=\\nExecStart={full}\\n' > {FOR_A_WHILE}")
    host.run_expect([0], restart)
    why = "linus's server could not start (create schoolhub-home-linus: "
    full_disk = "no room for a new 256.0M home on "  # (the plugin's words, through Docker)
    try:
        # A first sign-in starts the server and lands on its progress page,
        # whose stream ends with the failure (or on the error page, when the
        # start failed before the hub answered).
        signin = client.sign_in(hub_url, "linus")
        landed = html.unescape(signin.page.text)
        if signin.page.status_code != 503:
            assert "/hub/spawn-pending/linus" in signin.page.url, signin.page.url
            with pytest.raises(client.HubError) as failed:
                bench.browser_progress(signin.session, hub_url, "linus", time.monotonic() + 60)
            landed = str(failed.value)
        assert why in landed and full_disk in landed, landed[-2000:]
        back = signin.session.get(f"{hub_url}/user/linus/", timeout=30)
        assert (back.status_code, why in html.unescape(back.text)) == (503, True)
        linus = client.Hub(hub_url, signin, "linus")
        answer = linus.api("POST", "/users/linus/server")
        message = answer.json()["message"]
        assert (answer.status_code, message[: len(why)], full_disk in message) == (503, why, True)
        assert not linus.user()["servers"]
        assert host.run("docker volume inspect schoolhub-home-linus").rc == 1
    finally:
        host.run_expect([0], f"rm -f {FOR_A_WHILE} && {restart}")
    linus.start()
    linus.wait_ready()
    assert container(host, "jupyter-linus")["State"]["Running"]


def test_a_rebooted_hub_host_comes_back_in_order_and_the_next_run_changes_nothing(
    running, host, hub_url, nfs_host
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
    # Everything came back as the playbooks left it: the next run changes
    # nothing, not even a TA's edit of a start script (examples go only where
    # none is); and with -vvv (every task's arguments and results) no secret
    # value is printed.
    started = container(host, "jupyter-ada")["State"]["StartedAt"]
    with script_kept(nfs_host, "as-root.sh") as script:
        nfs_host.check_output(f"echo 'echo edited-by-a-ta' >> {script}")
        result = run_playbook("site.yml", verbosity=3)
        assert "edited-by-a-ta" in nfs_host.file(script).content_string
    unchanged(result.stdout, {"schoolhub-hub-host", "schoolhub-hub-nfs"})
    assert container(host, "jupyter-ada")["State"]["StartedAt"] == started
    printed = result.stdout + result.stderr
    leaked = [name for name, value in secrets(host).items() if value in printed]
    assert leaked == [], f"printed by site.yml -vvv: {leaked}"
