"""Users' servers on a Docker Swarm: spread over the workers, pinned to the
node holding their home, kept through hub restarts; a worker added by re-running
site.yml, a worker drained by drain-worker.yml; homes on NFS follow users; a
profile's image on every worker before students may choose it.

The tests run in this order and build on each other (one Swarm per run). The
added, drained worker and the homes on NFS are the playbooks' logic on engines
and shares the converge already made on each release: Debian 13 only."""

import ipaddress
import json
import os
import re
import subprocess
import time

import requests
from conftest import (
    EPHEMERAL,
    PROFILE_IMAGE,
    PROFILES_WITH_ITS_OWN_IMAGE,
    W1,
    W2,
    changed_tasks,
    changes,
    container,
    node_of,
    run_playbook,
    same_on_every_release,
    site_image,
)
from isolation import users_network_address

from schoolhub_lab import client

W3 = "schoolhub-swarm-w3"
PROFILES = json.dumps({"jupyterhub_profiles": PROFILES_WITH_ITS_OWN_IMAGE})
STUDENTS = ["ada", "grace", "alan", "katherine"]


def service(host, user) -> dict:
    return json.loads(host.check_output(f"docker service inspect jupyter-{user}"))[0]


def tasks(host) -> dict:
    """Running task id of every user's service."""
    lines = host.check_output(
        "docker service ps --filter desired-state=running --format '{{.Name}} {{.ID}}' "
        "$(docker service ls --quiet --filter name=jupyter-)"
    )
    return dict(line.split() for line in lines.splitlines())


def write(hub, name: str, text: str) -> None:
    """Write a file in the user's home through their server's contents API."""
    answer = requests.put(
        f"{hub.server}/api/contents/{name}",
        json={"type": "file", "format": "text", "content": text},
        headers=hub.headers,
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text


def read(hub, name: str) -> str:
    answer = requests.get(f"{hub.server}/api/contents/{name}", headers=hub.headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["content"]


def with_third_worker():
    """An inventory that adds the spare host to the workers (an admin's edit)."""
    path = EPHEMERAL / "third-worker.yml"
    path.write_text(f"all:\n  children:\n    workers:\n      hosts:\n        {W3}: {{}}\n")
    return [path]


def test_four_students_are_spread_over_both_workers(running, host):
    for login in STUDENTS:
        running(login)
    nodes = [node_of(host, login) for login in STUDENTS]
    assert sorted(nodes) == [W1, W1, W2, W2]


def test_servers_on_workers_read_the_announcements_and_pull_the_course_from_the_cache(
    running, host, server_of
):
    """Both services reached from a worker, through the proxy, over the overlay."""
    ada = running("ada")
    news = requests.get(f"{ada.server}/lab/api/news", headers=ada.headers, timeout=60)
    assert [item["message"] for item in news.json()["news"]] == [
        "Servers on workers hear this too."  # (molecule.yml)
    ]
    node, container = server_of("ada")
    course = "http://jupyterhub-fakegithub:8080/summer-school/course"
    as_ada = f"docker exec -u 1000 -w /home/ada {container} timeout 120"
    assert node.run(f"{as_ada} gitpuller {course} main course").rc == 0
    readme = node.check_output(f"docker exec {container} cat /home/ada/course/README.md")
    assert readme == "# Summer school"
    assert f"fetched {course}" in host.check_output("docker logs jupyterhub 2>&1")


def test_the_hub_and_proxy_reach_servers_over_the_overlay_network(running, host, server_of):
    """At fixed addresses of jupyterhub_network_subnet (the role's default),
    which every server's own firewall lets in; servers in its second half."""
    network = json.loads(host.check_output("docker network inspect schoolhub"))[0]
    assert (network["Driver"], network["Attachable"]) == ("overlay", True)
    assert network["IPAM"]["Config"][0]["Subnet"] == "10.222.0.0/20"
    assert network["IPAM"]["Config"][0]["IPRange"] == "10.222.8.0/21"
    fixed = {
        name: json.loads(host.check_output(f"docker inspect {name}"))[0]["NetworkSettings"][
            "Networks"
        ]["schoolhub"]["IPAddress"]
        for name in ("jupyterhub-proxy", "jupyterhub")
    }
    assert fixed == {"jupyterhub-proxy": "10.222.0.10", "jupyterhub": "10.222.0.11"}
    running("ada")
    node, container = server_of("ada")
    address = users_network_address(node, container)
    assert ipaddress.ip_address(address) in ipaddress.ip_network("10.222.8.0/21"), address
    assert service(host, "ada")["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"


def test_a_second_start_lands_on_the_same_node_and_finds_the_files(running, host):
    ada = running("ada")
    first = node_of(host, "ada")
    write(ada, "kept.txt", "mine")
    ada.stop()
    ada = running("ada")
    assert node_of(host, "ada") == first
    constraints = service(host, "ada")["Spec"]["TaskTemplate"]["Placement"]["Constraints"]
    assert f"node.hostname == {first}" in constraints
    assert read(ada, "kept.txt") == "mine"


def test_restarting_the_hub_keeps_every_server_running_and_reachable(running, host):
    hubs = [running(login) for login in STUDENTS]
    before = tasks(host)
    host.check_output("docker restart jupyterhub")
    client.wait(lambda: hubs[0].user()["name"] == "ada", 120, "the hub to answer again")
    # Servers check each request's token with the hub, at the hub host's
    # address (by the hub's name, a worker resolved its old address for minutes).
    started = time.monotonic()
    for hub in hubs:
        client.wait(lambda h=hub: h.server_status().status_code == 200, 180, f"{hub.name}'s server")
    print(f"every server answered {time.monotonic() - started:.1f}s after the hub did")
    assert tasks(host) == before


def test_the_hub_comes_back_by_itself_after_docker_restarts_on_its_host(running, host):
    """A reboot, a crash, a package upgrade: on the Swarm's manager Docker
    starts containers before the overlay network is back and leaves the hub
    stopped ("network schoolhub not found"); schoolhub-start-containers
    starts it once the network is there. Servers on the workers run on."""
    hubs = [running(login) for login in STUDENTS]
    host.check_output("systemctl restart docker")
    client.wait(lambda: hubs[0].user()["name"] == "ada", 300, "the hub after Docker's restart")
    assert {"jupyterhub", "jupyterhub-proxy"} <= set(
        host.check_output("docker ps --format '{{.Names}}'").split()
    )
    for hub in hubs:
        client.wait(lambda h=hub: h.server_status().status_code == 200, 180, f"{hub.name}'s server")


def test_an_engine_restart_that_would_stop_servers_waits_for_the_admins_word(running, host):
    """Live-restore is off on Swarm members: a new daemon.json would stop every
    server on the worker. The run stops first and says where and why."""
    hubs = [running(login) for login in STUDENTS]
    done = run_playbook("site.yml", "docker_log_max_size=20m", check=False)
    assert done.returncode == 2, done.stdout[-3000:]
    said = " ".join((done.stdout + done.stderr).split())
    for worker in (W1, W2):
        expected = f"{worker}: the new daemon.json needs a restart of the Docker engine"
        assert expected in said, done.stdout[-3000:] + done.stderr[-3000:]
    assert "-e docker_allow_engine_restart=true" in said
    plays = [line.rstrip(" *") for line in done.stdout.splitlines() if line.startswith("PLAY [")]
    assert plays == ["PLAY [Check the inventory before changing any host]"]
    assert all(hub.server_status().status_code == 200 for hub in hubs)


def test_a_stopped_worker_spares_the_others_and_its_users_are_told_why(running, host):
    """A worker's machine goes down with servers on it: users on the other
    worker go on working; a user whose home is on the lost node gets a clear
    message, not a spinner; their files are there when the node returns."""
    hubs = {login: running(login) for login in STUDENTS}
    lost = next(hubs[login] for login in STUDENTS if node_of(host, login) == W1)
    spared = next(hubs[login] for login in STUDENTS if node_of(host, login) == W2)
    write(lost, "before.txt", "kept on w1")
    machine = f"{W1}-{os.environ.get('HOST_OS', 'debian13')}"
    subprocess.run(["docker", "stop", "-t", "5", machine], check=True, timeout=120)
    state = f"docker node inspect -f '{{{{.Status.State}}}}' {W1}"
    try:
        client.wait(lambda: host.check_output(state) == "down", 120, f"the Swarm to see {W1} down")
        write(spared, "during.txt", "still working")
        assert read(spared, "during.txt") == "still working"
        # The lost user stops their server (or a TA does) and starts again:
        # the hub says why it cannot (its spawn page shows the same message).
        lost.stop(seconds=180)
        answer = lost.api("POST", f"/users/{lost.name}/server")
        expected = f"{lost.name}'s home is on node {W1}, which is not available (down or drained)"
        assert (answer.status_code, expected) == (503, answer.json()["message"][: len(expected)])
        assert not lost.user()["servers"]
    finally:
        subprocess.run(["docker", "start", machine], check=True, timeout=120)
    client.wait(lambda: host.check_output(state) == "ready", 180, f"{W1} back in the Swarm")
    lost = running(lost.name)
    assert node_of(host, lost.name) == W1
    assert read(lost, "before.txt") == "kept on w1"
    assert spared.server_status().status_code == 200


# What a new worker changes on the hosts already there (the scenario's
# idempotence check: nothing else may change; there is no separate run):
# every host's firewall knows every host's address, and the NFS server
# exports the shares to it.
FIREWALL = {
    "user_servers : Write the firewall rules",
    "user_servers : Apply them now, at every boot and whenever Docker restarts",
}
A_NEW_WORKER_CHANGES = {
    # The NFS server (Ganesha here) reloads its exports: no restart, whose
    # grace period would stall every mount.
    "schoolhub-swarm-hub": FIREWALL
    | {"nfs_server : Write the Ganesha exports", "nfs_server : Reload the Ganesha exports"},
    W1: FIREWALL,
    W2: FIREWALL,
}


def test_rerunning_site_yml_adds_a_worker_without_touching_anything_running(
    running, host, worker, ip
):
    before = tasks(host)
    hub_started = host.check_output("docker inspect -f '{{.State.StartedAt}}' jupyterhub")
    ganesha = host.check_output("systemctl show -p MainPID --value nfs-ganesha")
    admin_share = f"timeout 60 nfs-ls nfs://{ip}/srv/schoolhub/admin?version=4"
    hidden = worker(W3).run(admin_share)  # not a client yet: Ganesha hides the export
    assert hidden.failed and "NFS4ERR_NOENT" in hidden.stdout + hidden.stderr, hidden.stderr
    # With -vvv (every task's arguments and results): the join token it uses is never shown.
    joined = run_playbook("site.yml", inventories=with_third_worker(), verbosity=3)
    assert "TASK [swarm : Join the workers to the Swarm]" in joined.stdout
    changed = changes(joined.stdout)
    print("changed:", {h: sorted(t) for h, t in changed.items()})
    assert W3 in changed
    del changed[W3]
    assert changed == A_NEW_WORKER_CHANGES, changed_tasks(joined.stdout)[-6000:]
    tokens = [
        host.check_output(f"docker swarm join-token -q {role}") for role in ("worker", "manager")
    ]
    printed = joined.stdout + joined.stderr
    assert [token for token in tokens if token in printed] == []
    assert tasks(host) == before
    assert host.check_output("docker inspect -f '{{.State.StartedAt}}' jupyterhub") == hub_started
    # The new worker is a client of the NFS server at once, which kept running.
    assert host.check_output("systemctl show -p MainPID --value nfs-ganesha") == ganesha
    listed = worker(W3).run(admin_share)
    assert listed.succeeded and "start" in listed.stdout, listed.stdout + listed.stderr
    # The least busy node takes the next new user.
    running("linus")
    assert node_of(host, "linus") == W3


@same_on_every_release
def test_draining_a_worker_moves_its_homes_and_keeps_the_files(running, host):
    linus = running("linus")
    write(linus, "notes.txt", "moved with me")
    result = run_playbook("drain-worker.yml", f"worker={W3}", inventories=with_third_worker())
    assert "1 home(s) moved: linus" in result.stdout
    availability = host.check_output(f"docker node inspect -f '{{{{.Spec.Availability}}}}' {W3}")
    assert availability == "drain"
    linus = running("linus")
    assert node_of(host, "linus") in (W1, W2)
    assert read(linus, "notes.txt") == "moved with me"


def tag_profile_image(host, worker, names) -> None:
    """The profile's image on these workers, and on no other."""
    image = site_image(host)
    for name in (W1, W2, W3):
        node = worker(name)
        node.run(f"docker image rm {PROFILE_IMAGE}")
        if name in names:
            node.check_output(f"docker tag {image} {PROFILE_IMAGE}")


@same_on_every_release
def test_a_profile_whose_image_a_worker_lacks_stops_site_yml_naming_each_one(host, worker):
    tag_profile_image(host, worker, [W1])
    hub = container(host, "jupyterhub")
    done = run_playbook("site.yml", PROFILES, inventories=with_third_worker(), check=False)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, output[-3000:]
    # (Ansible prints the message twice: the task's error, and its result.)
    lacking = set(re.findall(r"image (\S+) is not on (\S+) and could not be pulled", output))
    assert lacking == {(PROFILE_IMAGE, W2), (PROFILE_IMAGE, W3)}, output[-3000:]
    assert "The hub is unchanged" in output
    assert container(host, "jupyterhub")["Id"] == hub["Id"]
    assert not host.file("/etc/schoolhub/schoolhub.yaml").contains(PROFILE_IMAGE)


@same_on_every_release
def test_with_homes_on_nfs_files_follow_a_user_to_another_node(running, host, worker):
    # (No quota there: the NFS server would have to keep it.) Every worker has
    # the profile's image now: the same run offers it (the next test).
    homes_on_nfs = ("jupyterhub_homes_on_nfs=true", "jupyterhub_home_quota=")
    tag_profile_image(host, worker, [W1, W2, W3])
    run_playbook("site.yml", *homes_on_nfs, PROFILES, inventories=with_third_worker())
    running("grace").stop()  # her server still had her volume; the next start gets the share
    grace = running("grace")
    placement = service(host, "grace")["Spec"]["TaskTemplate"]["Placement"]
    assert not any("node.hostname" in c for c in placement["Constraints"])  # not pinned
    first = node_of(host, "grace")
    write(grace, "anywhere.txt", "on the share")
    assert host.file("/srv/schoolhub/homes/grace/anywhere.txt").exists
    grace.stop()
    host.check_output(f"docker node update --availability drain {first}")
    try:
        grace = running("grace")
        assert node_of(host, "grace") not in (first, "")
        assert read(grace, "anywhere.txt") == "on the share"
    finally:
        host.check_output(f"docker node update --availability active {first}")


@same_on_every_release
def test_a_student_chooses_the_profile_and_gets_its_image_on_a_worker(running, host):
    alan = running("alan")  # the default profile, the school's image
    alan.stop()
    assert alan.api("POST", "/users/alan/server", json={"profile": "r"}).status_code in (201, 202)
    alan.wait_ready()
    spec = service(host, "alan")["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"].split("@")[0] == PROFILE_IMAGE
    assert node_of(host, "alan") in (W1, W2)  # (W3 is drained)
    alan.stop()


def test_the_firewall_stays_exactly_once_through_a_docker_restart_and_a_reboot(host, worker):
    # The third worker, drained above (no server runs there); where it never
    # joined (the tests above run on one release), the second one.
    joined = host.check_output("docker node ls --format '{{.Hostname}}'").split()
    name = W3 if W3 in joined else W2
    node = worker(name)

    def ours() -> tuple[list[str], str]:
        """Our jumps in DOCKER-USER and INPUT (in order), and our egress chain."""
        said = node.check_output("iptables -w -S DOCKER-USER; iptables -w -S INPUT")
        jumps = [line for line in said.splitlines() if "SCHOOLHUB" in line]
        return jumps, node.check_output("iptables -w -S SCHOOLHUB-EGRESS")

    jumps, egress = ours()
    assert jumps == ["-A DOCKER-USER -j SCHOOLHUB-FORWARD", "-A INPUT -j SCHOOLHUB-INPUT"]
    assert "-d 169.254.0.0/16 -j REJECT" in egress
    node.check_output("systemctl restart docker")
    assert ours() == (jumps, egress)
    # A reboot: the host's container restarts, systemd boots it again.
    machine = f"{name}-{os.environ.get('HOST_OS', 'debian13')}"
    subprocess.run(["docker", "restart", machine], check=True, capture_output=True, timeout=180)
    docker_up = lambda: node.run("systemctl is-active docker").stdout.strip() == "active"  # noqa: E731
    client.wait(docker_up, 180, "Docker")
    assert ours() == (jumps, egress)
    state = f"docker node inspect -f '{{{{.Status.State}}}}' {name}"
    client.wait(lambda: host.check_output(state) == "ready", 180, f"{name} back in the Swarm")
