"""The admin and data shares over NFS, and the start scripts every server runs
(GROWTH's /home/admin and /nfs)."""

import json
import shlex
import subprocess
import time

import pytest
import requests
from conftest import (
    LOGS,
    SHARES,
    on_the_shorter_chain,
    recap,
    run_playbook,
    script_kept,
)


def nfs_url(ip, path, uid=None, gid=None):
    url = f"nfs://{ip}{SHARES}/{path}?version=4"
    return url + (f"&uid={uid}&gid={gid}" if uid is not None else "")


def as_user(host, user, command):
    """Run `command` in `user`'s container as that user (with their groups)."""
    name = f"jupyter-{user}"
    return host.run(f"docker exec -u {user} {name} sh -c {shlex.quote(command)}")


def log_of(nfs_host, user, kind):
    return nfs_host.file(f"{LOGS}/{user}-as-{kind}.log")


# --- the exports, over NFSv4 -------------------------------------------------


def test_exports_answer_the_hub_host_over_nfsv4(host, nfs_ip):
    listing = host.check_output(f"nfs-ls {shlex.quote(nfs_url(nfs_ip, 'admin'))}")
    assert "start" in listing and "logs" in listing


def test_exports_refuse_other_hosts(host, nfs_ip):
    url = nfs_url(nfs_ip, "admin")
    assert "start" in host.check_output(f"nfs-ls {shlex.quote(url)}")  # the path is right
    # This machine is on the same network but is neither the hub nor a worker:
    # Ganesha hides the export from it, so the mount fails as if there were none.
    done = subprocess.run(["nfs-ls", url], capture_output=True, text=True, timeout=60)
    said = done.stdout + done.stderr
    assert done.returncode != 0 and "Failed to mount nfs share" in said, said
    assert "NFS4ERR_NOENT" in said, said


@on_the_shorter_chain
@pytest.mark.parametrize(
    "clients, said",
    [
        (["0.0.0.0/0"], "nfs_server_clients: 0.0.0.0/0 is not within a private network"),
        (["10.0.0.0/8"], "nfs_server_clients: 10.0.0.0/8 has more than 256 addresses"),
    ],
    ids=["the world", "too wide"],
)
def test_exports_wider_than_the_hosts_are_refused_before_any_change(nfs_host, clients, said):
    """With sec=sys anyone who reaches port 2049 from an exported address can
    write the shares as the admin uid (as-root.sh runs as root in every
    server): site.yml stops in its check play, the exports as they were."""
    exports = "cat /etc/ganesha/*.conf /etc/ganesha/*/*.conf 2>/dev/null | md5sum"
    before = nfs_host.check_output(exports)
    done = run_playbook("site.yml", json.dumps({"nfs_server_clients": clients}), check=False)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and said in output, output[-3000:]
    assert "nfs_server_clients_wide: true" in output
    assert "PLAY [Check the inventory before changing any host]" in done.stdout
    assert all(counts["changed"] == 0 for counts in recap(done.stdout).values())
    assert nfs_host.check_output(exports) == before


# What libnfs says when the server refuses a squashed or foreign uid: anything
# else (no route, a typo in a path: NFS4ERR_NOENT) fails these tests.
REFUSED = "NFS4ERR_ACCESS"


@pytest.mark.parametrize(
    "path, uid, allowed",
    [
        ("admin/start/probe-admin", 1500, True),  # the admin account owns the admin share
        ("data/probe-admin", 1500, True),  # ...and the data share
        ("data/probe-student", 1000, False),  # users' uid may not write the data share
        ("data/probe-root", 0, False),  # root is squashed on the data share
        ("admin/logs/probe-root", 0, False),  # ...and on the admin share: the hook logs as admin
        ("admin/start/probe-root", 0, False),  # no client's root may replace a start script
        # The teams share is the users' uid's (any member's server writes her
        # team's folder): only the hosts reach it (test_isolation's student does not).
        ("teams/probe-student", 1000, True),
        ("teams/probe-root", 0, False),  # root is squashed there too
    ],
)
def test_squash_and_ownership(host, nfs_host, nfs_ip, path, uid, allowed):
    host.check_output("echo probe > /tmp/probe")
    url = nfs_url(nfs_ip, path, uid, uid)
    try:
        done = host.run(f"nfs-cp /tmp/probe {shlex.quote(url)}")
        if allowed:
            assert done.succeeded, done.stderr
        else:
            assert done.failed and REFUSED in done.stdout + done.stderr, done.stdout + done.stderr
    finally:
        nfs_host.run(f"rm -f {SHARES}/{path}")


# --- the start scripts -------------------------------------------------------


def test_a_started_server_ran_both_scripts_with_admin_only_logs(running, nfs_host):
    running("ada")
    for kind in ("root", "user"):
        log = log_of(nfs_host, "ada", kind)
        assert (log.uid, log.gid, log.mode) == (1500, 1500, 0o640)
        assert "# exit status 0" in log.content_string
    assert (
        "as-root: preparing the container of ada" in log_of(nfs_host, "ada", "root").content_string
    )
    assert "as-user: hello ada, home is /home/ada" in log_of(nfs_host, "ada", "user").content_string


def refused(host, user, command, error):
    """Assert that `command` fails in `user`'s server, saying `error`."""
    done = as_user(host, user, command)
    assert done.failed and error in done.stderr, (command, done.stdout, done.stderr)


def test_a_student_cannot_change_scripts_or_data_nor_read_others_logs(running, host):
    running("ada"), running("tina")
    assert as_user(host, "ada", "cat /home/admin/start/as-root.sh").succeeded
    refused(host, "ada", "echo x >> /home/admin/start/as-root.sh", "Permission denied")
    refused(host, "ada", "touch /nfs/x", "Read-only file system")
    refused(host, "ada", "cat /home/admin/logs/tina-as-root.log", "Permission denied")
    refused(host, "ada", "ls /home/admin/logs", "Permission denied")
    # Even `docker exec` into a student's container gets no new privileges.
    refused(host, "ada", "sudo -n true", 'The "no new privileges" flag is set')


def test_a_ta_edits_a_script_and_the_next_start_runs_it(running, host, nfs_host):
    running("tina")
    with script_kept(nfs_host, "as-root.sh"):
        edit = "echo 'echo edited-by-tina' >> /home/admin/start/as-root.sh"
        assert as_user(host, "tina", edit).succeeded
        assert as_user(host, "tina", "echo slides > /nfs/material.txt").succeeded
        assert as_user(host, "tina", "cat /home/admin/logs/ada-as-root.log").succeeded
        assert as_user(host, "tina", "sudo -n true").succeeded
        ada = running("ada")
        ada.stop()
        running("ada")
        assert "edited-by-tina" in log_of(nfs_host, "ada", "root").content_string
        assert as_user(host, "ada", "cat /nfs/material.txt").stdout.strip() == "slides"


def test_a_hanging_script_is_stopped_and_logged_and_the_server_starts(running, nfs_host):
    with script_kept(nfs_host, "as-user.sh") as path:
        nfs_host.check_output(f"echo 'sleep 600' > {path}")
        ada = running("ada")
        ada.stop()
        ada.start()
        ada.wait_ready(seconds=10 + 60)  # the limit (jupyterhub_script_timeout) and a margin
        log = log_of(nfs_host, "ada", "user").content_string
        assert "# stopped: still running after the 10s limit" in log


def test_as_root_runs_in_a_clean_environment_and_windows_line_endings_work(running, nfs_host):
    script = (
        "echo pwd=$(pwd) home=$HOME path=$PATH\r\n"
        "python3 -c 'import site; print(\"user site\", site.ENABLE_USER_SITE)'\r\n"
        "echo done-with-crlf\r\n"
    )
    with script_kept(nfs_host, "as-root.sh") as path:
        nfs_host.check_output(f"printf %b {shlex.quote(script)} > {path}")
        ada = running("ada")
        ada.stop()
        running("ada")
        log = log_of(nfs_host, "ada", "root").content_string
    assert "has Windows line endings (CRLF): run with Unix ones (LF)" in log
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert f"pwd=/ home=/root path={path}\n" in log
    assert "user site False" in log
    assert "done-with-crlf\n# exit status 0" in log


def test_a_missing_script_is_logged_and_the_server_starts(running, nfs_host):
    with script_kept(nfs_host, "as-user.sh") as path:
        nfs_host.check_output(f"rm {path}")
        ada = running("ada")
        ada.stop()
        running("ada")
        assert "# no /home/admin/start/as-user.sh: nothing to run" in (
            log_of(nfs_host, "ada", "user").content_string
        )


def test_without_the_shares_a_server_starts_says_why_and_the_hub_answers(running, host, hub_url):
    """The NFS server was down when the hub host mounted the shares (or the
    mounts went away): a server starts all the same, its log says the start
    scripts were skipped, and the hub answers all along. (A share whose
    server dies while mounted makes the hook wait at most the script limit.)"""
    shares = ["/mnt/schoolhub/admin", "/mnt/schoolhub/data"]
    host.check_output(f"umount {' '.join(shares)}")
    try:
        alan = running("alan")
        alan.stop()
        alan.start()
        deadline = time.monotonic() + 120
        while not alan.server_ready():
            assert time.monotonic() < deadline, "alan's server did not start"
            assert requests.get(f"{hub_url}/hub/api", timeout=5).status_code == 200
            time.sleep(1)
        said = host.check_output("docker logs jupyter-alan 2>&1")
        assert "start-scripts: the admin share (/home/admin/logs) is missing" in said, said
        assert "start scripts skipped" in said
    finally:
        host.run_expect([0], " && ".join(f"mount {share}" for share in shares))  # from fstab
    alan.stop()


def test_the_shared_folder_is_in_jupyterlab_read_only_for_students(running, host):
    """The data share, linked at ~/shared where JupyterLab's file browser shows it."""
    ada = running("ada")
    contents = f"{ada.server}/api/contents/shared"
    listing = requests.get(contents, headers=ada.headers, timeout=30)
    assert listing.status_code == 200 and listing.json()["type"] == "directory", listing.text
    assert as_user(host, "ada", "readlink ~/shared").stdout == "/nfs\n"
    refused(host, "ada", "touch ~/shared/x", "Read-only file system")


# --- team folders (molecule.yml's jupyterhub_team_folders) -------------------------


def teams_of(host, user) -> list[str]:
    return as_user(host, user, "ls ~/teams 2>/dev/null").stdout.split()


def test_a_team_folder_is_its_members_alone(running, host, nfs_host):
    """Group-A: ada and grace; Group-B: alan (inventory/test-hosts.yml)."""
    for login in ("ada", "grace", "alan", "katherine"):
        running(login)
    assert as_user(host, "ada", "echo our plan > ~/teams/Group-A/plan.txt").succeeded
    assert as_user(host, "grace", "cat ~/teams/Group-A/plan.txt").stdout == "our plan\n"
    assert (teams_of(host, "ada"), teams_of(host, "alan"), teams_of(host, "katherine")) == (
        ["Group-A"], ["Group-B"], []
    )  # fmt: skip
    refused(host, "alan", "cat ~/teams/Group-A/plan.txt", "No such file or directory")
    # On the share: one directory per team, the users' uid's, not in anyone's home.
    folder = nfs_host.file(f"{SHARES}/teams/group-a/plan.txt")
    assert (folder.content_string, folder.uid) == ("our plan\n", 1000)


@on_the_shorter_chain
def test_joining_or_leaving_a_team_on_github_gives_or_takes_its_folder_at_the_next_start(
    running, host, set_team
):
    """katherine joins Group-B on GitHub, then leaves it."""
    running("katherine")
    try:
        for member, expected in ((True, ["Group-B"]), (False, [])):
            set_team("katherine", "group-b", member)
            running("katherine").stop()
            time.sleep(16)  # (the hub reads her teams again after 15 s here)
            running("katherine")
            assert teams_of(host, "katherine") == expected
    finally:
        set_team("katherine", "group-b", False)
