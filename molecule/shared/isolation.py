"""A student attacks from their own server (the hub scenario's one-host layout
and the swarm scenario's workers import these tests; see docs/security.md).
Everything runs in a JupyterLab terminal of the student's server, as the
student types it; their container gets the tools a student could
download (libnfs's client, small Python scripts).

Each scenario's conftest gives: `attacker` (fixture below, through
`server_of(login) -> (testinfra host, container)`), `targets` (what the probe
must find, per layout), `server_hosts` (the hosts running users' servers) and
`nfs_host`/`nfs_ip` (the NFS server, also standing in for the world outside)."""

import base64
import json
import re
import shlex
from pathlib import Path

import pytest
from scenario import run_playbook

from schoolhub_lab import client

ATTACK = Path(__file__).parent / "attack"
# Stand-ins on the NFS host, routed to from the hosts running servers: a
# cloud's metadata service, an address on the public internet, and a data
# server on a private network that the site allows (port 80 only:
# jupyterhub_egress_allow in the scenarios' molecule.yml).
METADATA, PUBLIC, DATA = "169.254.169.254", "198.51.100.7", "192.168.77.7"
STAND_INS = (METADATA, PUBLIC, DATA)
WEB = "schoolhub-test-web"
PIDS_LIMIT = 200  # jupyterhub_pids_limit in inventory/test-hosts.yml
HOMES_DIR = "/var/lib/schoolhub/homes"  # jupyterhub_homes_dir (the role's default)
TMP_MIB = 64  # jupyterhub_tmp_size in inventory/test-hosts.yml


@pytest.fixture(scope="module")
def outside(nfs_host, nfs_ip, server_hosts):
    """A web server on the NFS host at its own address and the stand-ins'."""
    for address in STAND_INS:
        nfs_host.check_output(f"ip address replace {address}/32 dev lo")
        for server_host in server_hosts:
            server_host.check_output(f"ip route replace {address}/32 via {nfs_ip}")
    nfs_host.run(f"systemctl stop {WEB}")
    nfs_host.check_output(f"systemd-run --unit {WEB} --collect python3 -m http.server 80")
    listening = "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 80), 5)'"
    client.wait(lambda: nfs_host.run(listening).succeeded, 60, "the stand-in web server")
    yield
    nfs_host.run(f"systemctl stop {WEB}")
    for address in STAND_INS:
        nfs_host.run(f"ip address del {address}/32 dev lo")
        for server_host in server_hosts:
            server_host.run(f"ip route del {address}/32")


def arm(server_host, container: str) -> None:
    """Put libnfs's client (with its libraries) and the scripts in the
    container's ~/attack (where she may run programs), owned by the student
    (uid 1000)."""
    tools = "/tmp/attack-tools"
    server_host.check_output(f"rm -rf {tools} && mkdir -p {tools}")
    nfs_ls = server_host.check_output("command -v nfs-ls")
    libraries = server_host.check_output(f"ldd {nfs_ls} | awk '/=> \\//{{print $3}}'").split()
    glibc = re.compile(r"/(libc|libm|ld-linux[^/]*|libpthread|libdl|librt|libresolv)\.so")
    for path in [nfs_ls, nfs_ls.replace("nfs-ls", "nfs-cp")] + libraries:
        if not glibc.search(path):
            server_host.check_output(f"cp -L {path} {tools}/")
    for script in ATTACK.glob("*.py"):
        text = base64.b64encode(script.read_bytes()).decode()
        server_host.check_output(f"echo {text} | base64 -d > {tools}/{script.name}")
    server_host.check_output(
        f"tar -C {tools} -cf - . | docker exec -i -u 1000:100 {container} "
        "sh -c 'mkdir -p ~/attack && tar -xf - -C ~/attack'"
    )


@pytest.fixture(scope="module")
def attacker(running, server_of):
    ada = running("ada")
    arm(*server_of("ada"))
    return ada


def typed(hub, command: str) -> tuple[int, str]:
    status, output = hub.terminal(command)
    print(f"$ {command}\n{output}[exit {status}]")
    return status, output


def probe(hub, targets) -> dict[str, str]:
    _, output = typed(hub, "python3 ~/attack/probe.py " + " ".join(targets))
    return dict(re.findall(r"^probe (\S+) (\S+)$", output, re.M))


def nfs_url(nfs_ip, path, uid):
    return shlex.quote(f"nfs://{nfs_ip}/srv/schoolhub/{path}?version=4&uid={uid}&gid={uid}")


def test_a_students_container_reaches_the_hub_and_the_internet_only(
    attacker, outside, targets, server_of, nfs_ip
):
    # The same places answer from the host itself: the firewall, not the
    # set-up, keeps the student out.
    host_side = {f"{nfs_ip}:2049", f"{METADATA}:80", f"{PUBLIC}:80", f"{DATA}:80"}
    server_host, _ = server_of("ada")
    said = server_host.check_output(f"python3 /tmp/attack-tools/probe.py {' '.join(host_side)}")
    assert dict(re.findall(r"^probe (\S+) (\S+)$", said, re.M)) == dict.fromkeys(
        host_side, "open"
    ), said
    assert probe(attacker, targets) == targets


@pytest.mark.parametrize(
    "what, uid",
    [
        ("nfs-ls {admin}", 0),
        ("nfs-ls {admin}", 1500),
        ("nfs-cp ~/attack/probe.py {start}", 1500),
        ("nfs-cp ~/attack/probe.py {logs}", 0),
        # As the users' uid, which owns the teams share: a team folder not hers.
        ("nfs-cp ~/attack/probe.py {teams}", 1000),
    ],
)
def test_a_userspace_nfs_client_in_a_students_container_gets_nothing(
    attacker, server_of, nfs_ip, what, uid
):
    urls = {
        "admin": nfs_url(nfs_ip, "admin", uid),
        "start": nfs_url(nfs_ip, "admin/start/evil.sh", uid),
        "logs": nfs_url(nfs_ip, "admin/logs/stolen", uid),
        "teams": nfs_url(nfs_ip, "teams/group-b/evil", uid),
    }
    command = what.format(**urls)
    # From the host running the server, the same client lists the share.
    # (Retried: a restarted NFS server may refuse mounts for its grace period.)
    server_host, _ = server_of("ada")
    lists = lambda: "start" in server_host.run(f"nfs-ls {urls['admin']}").stdout  # noqa: E731
    client.wait(lists, 120, "the NFS server to list the admin share to the host")
    status, output = typed(attacker, f"LD_LIBRARY_PATH=~/attack ~/attack/{command}")
    # libnfs's words when it cannot reach the server (the probe test shows why).
    assert status != 0 and "Failed to mount nfs share : nfs_service failed" in output, output


def test_a_student_cannot_become_root(attacker):
    status, output = typed(attacker, "grep -E '^(NoNewPrivs|CapBnd|CapEff)' /proc/self/status")
    assert re.search(r"^NoNewPrivs:\s+1$", output, re.M), output
    assert re.search(r"^CapBnd:\s+0{16}$", output, re.M), output
    assert re.search(r"^CapEff:\s+0{16}$", output, re.M), output
    # sudo is setuid root: with no new privileges it cannot become root.
    status, output = typed(attacker, "sudo -n true")
    assert status != 0 and re.search(r"no new privileges|effective uid is not 0", output), output
    status, output = typed(attacker, "echo x >> /home/admin/start/as-root.sh")
    assert status != 0 and "Permission denied" in output, output


def test_a_servers_token_opens_its_own_user_only(attacker):
    _, output = typed(attacker, "python3 ~/attack/hubapi.py /users /users/ada /users/tina")
    statuses = dict(re.findall(r"^hubapi (\S+) (\d+)$", output, re.M))
    assert statuses == {"/users": "403", "/users/ada": "200", "/users/tina": "404"}, output


def test_a_fork_bomb_stops_at_the_pids_limit_and_the_neighbour_works(attacker, running):
    grace = running("grace")
    status, output = typed(attacker, "python3 ~/attack/forkbomb.py")
    found = re.search(r"forkbomb: stopped after (\d+) processes: (.*)$", output, re.M)
    assert found and found.group(2).strip() == "Resource temporarily unavailable", output
    assert 0 < int(found.group(1)) < PIDS_LIMIT
    # While ada's processes sleep, grace's server answers and runs commands.
    assert grace.server_status().status_code == 200
    assert typed(grace, "echo neighbour-ok") == (0, "neighbour-ok\n")
    # The next tests get ada a fresh server.
    attacker.stop()


def test_a_student_who_fills_their_home_stops_at_the_quota_alone(running, server_of):
    """jupyterhub_home_quota (the scenarios' molecule.yml): ada's home is a
    filesystem of its own; filling it fails for her only, the host's disk
    gives nothing more, the admins' report flags her, and deleting frees it."""
    ada, grace = running("ada"), running("grace")
    server_host, _ = server_of("ada")
    status = json.loads(
        server_host.check_output("docker volume inspect -f '{{json .Status}}' schoolhub-home-ada")
    )
    image = f"{HOMES_DIR}/schoolhub-home-ada.img"
    blocks = lambda: server_host.check_output(f"stat -c '%b %B' {image}").split()  # noqa: E731
    held = lambda: int(blocks()[0]) * int(blocks()[1])  # noqa: E731
    reserved = held()  # when it was made (and some of ext4's metadata): never over-committed
    assert status["quota"] <= reserved < status["quota"] + 2**20
    # What she sees: the quota (less ext4's own tables), not the host's disk.
    _, output = typed(ada, "df -B1 --output=size ~ | tail -1")
    assert int(output) == status["size"] and 0.85 * status["quota"] < int(output), output
    mib = status["quota"] // 2**20
    code, output = typed(ada, f"dd if=/dev/zero of=~/filler bs=1M count={mib + 32}")
    assert code != 0 and "No space left on device" in output, output
    assert held() == reserved
    # Her neighbour (on this host, or another) starts and writes; her server still answers.
    grace.stop()
    grace = running("grace")
    assert typed(grace, "echo fine > ~/after-the-flood && cat ~/after-the-flood") == (0, "fine\n")
    assert ada.server_status().status_code == 200
    listed = run_playbook("users.yml").stdout
    assert re.search(r'"ada: \d+M of \d+M \((9\d|100)%\) NEAR THE LIMIT"', listed), listed
    assert re.search(r'"grace: \d+M of \d+M \(\d%\)"', listed), listed
    assert typed(ada, "rm ~/filler && echo room > ~/again && cat ~/again") == (0, "room\n")


def test_nothing_a_student_writes_outside_her_home_reaches_the_hosts_disk(running, server_of):
    """The container's own filesystem is the host's disk (Docker's writable
    layer, no quota): she may write nowhere on it; /tmp and /var/tmp are memory
    filesystems of jupyterhub_tmp_size (inventory/test-hosts.yml), full at that,
    where no program runs (as Docker mounts a service's tmpfs)."""
    ada = running("ada")
    server_host, container = server_of("ada")
    arm(server_host, container)
    _, output = typed(ada, "python3 ~/attack/writable.py")
    assert re.search(r"^writable: \d{4,} paths looked at$", output, re.M), output
    assert re.findall(r"^writable (/\S*)$", output, re.M) == [], output
    _, output = typed(ada, "df --output=fstype,size -B1M /tmp /var/tmp | tail -2")
    assert output.split() == ["tmpfs", str(TMP_MIB)] * 2, output
    code, output = typed(ada, "cp /bin/echo /var/tmp/echo && /var/tmp/echo runs")
    assert code != 0 and "Permission denied" in output, output
    layer = f"docker inspect --size -f '{{{{.SizeRw}}}}' {container}"
    before = int(server_host.check_output(layer))
    code, output = typed(ada, f"dd if=/dev/zero of=/tmp/filler bs=1M count={TMP_MIB + 16}")
    assert code != 0 and "No space left on device" in output, output
    assert int(server_host.check_output(layer)) - before < 2**20
    assert typed(ada, "rm /tmp/filler && echo freed") == (0, "freed\n")


def users_network_address(server_host, container: str) -> str:
    """A server's address on the users' network (jupyterhub_network)."""
    template = '{{(index .NetworkSettings.Networks "schoolhub").IPAddress}}'
    return server_host.check_output(f"docker inspect -f '{template}' {container}")


def test_a_students_container_reaches_no_port_of_a_classmates(
    running, server_of, server_hosts, host
):
    """Each server's own firewall (start.sh): no port of a classmate's
    container answers a student, neither her server's nor a listener she
    started, on the same host or another; the proxy and the hub still reach
    every server, on its port only."""
    ada = running("ada")  # (again: a test before may have stopped her server)
    arm(*server_of("ada"))
    ada_node = server_of("ada")[0].backend.get_hostname()
    # With workers, enough for one on ada's host and one on another (the hub
    # places each new server on the least busy worker).
    classmates = ["grace", "alan", "katherine"] if len(server_hosts) > 1 else ["grace"]
    where, targets = {}, {}
    for login in classmates:
        running(login)
        node, container = server_of(login)
        where[login] = "same host" if node.backend.get_hostname() == ada_node else "another host"
        # A listener of her own (her notes, a Dask dashboard, a database).
        node.check_output(
            f"docker exec -d -u 1000:100 {container} timeout 900 python3 -m http.server 9001"
        )
        address = users_network_address(node, container)
        targets.update({f"{address}:8888": login, f"{address}:9001": login})
    print(f"classmates seen from ada's host: {where}")
    # (With workers the hub places each new server on the least busy one.)
    layouts = {"same host", "another host"} if len(server_hosts) > 1 else {"same host"}
    assert set(where.values()) == layouts, where
    found = probe(ada, targets)
    assert found == dict.fromkeys(targets, "ECONNREFUSED"), (found, where)
    # The proxy and the hub open each server's port, and no other.
    for target in targets:
        address, port = target.split(":")
        reach = f"import socket; socket.create_connection(('{address}', {port}), 5); print('open')"
        from_hub = host.run(f'docker exec jupyterhub python3 -c "{reach}"')
        from_proxy = host.run(
            "docker exec jupyterhub-proxy node -e \"require('net').connect("
            f"{port}, '{address}').on('connect', () => {{ console.log('open'); process.exit(0) }})"
            ".on('error', e => { console.log(e.code); process.exit(1) })\""
        )
        expected = "open" if port == "8888" else "ECONNREFUSED"
        assert from_proxy.stdout.strip() == expected, (target, from_proxy.stdout, from_proxy.stderr)
        if port == "8888":
            assert from_hub.stdout.strip() == "open", (target, from_hub.stderr)
        else:
            assert "ConnectionRefusedError" in from_hub.stderr, (target, from_hub.stderr)
