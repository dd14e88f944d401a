"""Backup -> everything the hub and its users had is lost -> restore: users'
files, the shares and the hub's users and admins come back (run by `make
lab-test`). The machines stay (restore.yml's other case, fresh machines, only
adds what every converge does: packages, images, the Swarm)."""

import json

from lab import HUB_HOST, LAB, WORKERS, in_server, on_host, on_hub_host

from schoolhub_lab import client, hosts

# Every container removed, whatever else removes some meanwhile (a worker's
# Engine removing the task of a Swarm service that just stopped: "removal of
# container ... is already in progress"), in at most ten rounds; fails if any is left.
NO_CONTAINERS = (
    'for round in 1 2 3 4 5 6 7 8 9 10; do ids=$(docker ps -aq); [ -z "$ids" ] && exit 0;'
    " docker rm -f $ids >/dev/null 2>&1; sleep 1; done; docker ps -a; exit 1"
)


def lose_everything() -> None:
    """What a lost disk takes: on every host its containers and volumes (the
    hub's database, users' homes), on the hub host the site's settings and
    secrets and the shares' contents."""
    for host in [HUB_HOST, *(f"{LAB.name}-worker{n}" for n in range(1, WORKERS + 1))]:
        on_host(host, NO_CONTAINERS)
        on_host(host, "docker volume ls -q | xargs -r docker volume rm")
    on_hub_host("rm -rf /etc/course-hub && find /srv/schoolhub -mindepth 2 -delete")


def users_table() -> list[str]:
    return json.loads(on_hub_host("docker exec jupyterhub python3 -m schoolhub.ops list"))["said"]


def users_and_admins(table: list[str]) -> set[tuple[str, bool]]:
    """(user, is admin) from `ops list`; servers are left out (a fresh lab runs none)."""
    rows = [line.split() for line in table[1:]]
    return {(row[0], row[1] == "yes") for row in rows}


# A program that writes two files, one after the other, with the same count:
# a copy made while it runs has them equal or one apart only if the writes
# were held while the copy was read (backup.yml pauses the server).
WRITER = (
    "nohup sh -c 'i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); cd ~;"
    " echo $i > f.new; mv f.new first; echo $i > s.new; mv s.new second; done'"
    " >/dev/null 2>&1 &"
)


def test_backup_then_restore_after_losing_everything_brings_everything_back(tmp_path):
    """With the lab's own names (tests/lab/settings.yml), a server running and
    writing during the backup."""
    assert not client.sign_in(LAB.url, "tina").refused  # a TA: the hub's admins come back too
    ada = client.Hub(LAB.url, client.sign_in(LAB.url, "ada"), "ada")
    ada.start()
    ada.wait_ready()
    in_server("ada", "head -c 200000 /dev/urandom > ~/work.bin && echo notes > ~/notes.txt")
    homes = in_server("ada", "cd ~ && sha256sum work.bin notes.txt")
    on_hub_host("echo slides > /srv/schoolhub/data/slides.txt")
    before = users_and_admins(users_table())
    assert ("ada", False) in before and ("tina", True) in before
    in_server("ada", WRITER)

    hosts.run_playbook(LAB, "backup.yml", f"backup_root={tmp_path}")
    (backup,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    archives = (backup / "SHA256SUMS").read_text()
    assert "/homes/course-ada-home.tar.gz" in archives, archives  # the site's own names
    # ada's server ran through the backup, and her program goes on writing.
    count = int(in_server("ada", "cat ~/second"))
    client.wait(lambda: int(in_server("ada", "cat ~/second")) > count, 30, "ada's writer")
    ada.stop()  # (and her writer with it)

    lose_everything()
    assert on_hub_host("ls /srv/schoolhub/data") == ""

    hosts.run_playbook(LAB, "restore.yml", f"backup={backup}")
    assert users_and_admins(users_table()) == before
    assert ada.user()["name"] == "ada"  # her token from before the backup still opens the hub
    ada.start()
    ada.wait_ready()
    assert in_server("ada", "cd ~ && sha256sum work.bin notes.txt") == homes
    first, second = (int(in_server("ada", f"cat ~/{name}")) for name in ("first", "second"))
    assert first - second in (0, 1), (first, second)
    assert in_server("ada", "cat /nfs/slides.txt") == "slides"
    assert on_hub_host("ls /etc/course-hub/secrets | wc -l") != "0"
