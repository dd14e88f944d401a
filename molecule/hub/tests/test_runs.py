"""An admin's runs: one killed halfway converges when run again; none shows a
secret, nor does any file another user may read or any image. Runs late: the
killed run leaves a setting changed."""

import os
import shlex
import signal
import subprocess

from conftest import SECRETS, container, on_the_shorter_chain, playbook, run_playbook, secrets


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
