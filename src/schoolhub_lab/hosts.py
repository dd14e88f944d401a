"""Container test hosts on this machine: the lab's and every molecule scenario's.

    python -m schoolhub_lab.hosts up     # lab: hosts + inventory + site.yml, then the hub's URL
    python -m schoolhub_lab.hosts down   # removes every container, volume and network it made
    python -m schoolhub_lab.hosts create NAME...  # molecule's create step (delegated driver)

Hosts are systemd + Docker-in-Docker containers from the test-host image (see
images.py), made by one recipe (`run_host`). Everything a lab or a scenario
makes carries the label `org.schoolhub.lab=<name>` and sits on its own network
(a free /24 of NETWORKS), and `down` removes exactly what carries the label, so
several labs and scenarios live side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from schoolhub_lab import client, images

LABEL = "org.schoolhub.lab"
# Every capability but SYS_RESOURCE (missing from these kernels' bounding set)
# and those Docker 20.10 does not know: --privileged fails here.
CAPABILITIES = [
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
]
ROOT = Path(__file__).resolve().parents[2]
# Each worker is a whole Docker host on this machine.
MAX_WORKERS = 8
# Settings every container test host needs (the lab's and molecule's inventories use it).
TEST_HOSTS_VARS = ROOT / "inventory/test-hosts.yml"
# Images the roles built, kept by content hash for every later lab and scenario.
IMAGE_CACHE = ROOT / "build/image-cache"
# Scenarios' networks: a free /24 of this range each. It must stay clear of the
# hosts' inner address pools (inventory/test-hosts.yml) and of the labs' subnets.
NETWORKS = ipaddress.ip_network("10.203.0.0/16")
# Held while a scenario picks its subnet and makes its network (any checkout's).
NETWORKS_LOCK = Path(tempfile.gettempdir()) / "schoolhub-networks.lock"


# What a lab command reports as one line (no traceback): a build, a command or a wait failed.
FAILURES = (
    images.BuildError,
    subprocess.CalledProcessError,
    subprocess.TimeoutExpired,
    TimeoutError,
)


@dataclass(frozen=True)
class Lab:
    name: str = "schoolhub-lab"
    subnet: str = "10.204.0.0/24"  # "" = a free /24 of NETWORKS
    port: int = 8000  # 0 = publish nothing (molecule's hosts are reached on their network)
    github_port: int = 8080
    settings: str = ""  # a YAML file of inventory variables: a site's own choices

    @property
    def label(self) -> str:
        return f"{LABEL}={self.name}"

    @property
    def shares(self) -> str:
        return f"{self.name}-shares"

    @property
    def state(self) -> Path:
        return ROOT / "build" / self.name

    @property
    def inventory(self) -> Path:
        return self.state / "hosts.yml"

    @property
    def url(self) -> str:
        # Browsers find every name under localhost on the loopback (users'
        # servers at <user>.hub.localhost: per-user subdomains, as on a real
        # site; a dot in the hub's name, or its cookies for the names under it
        # are refused).
        return f"http://hub.localhost:{self.port}"

    @classmethod
    def from_environment(cls) -> Lab:
        """The lab named by LAB_NAME, LAB_SUBNET, LAB_PORT, LAB_GITHUB_PORT,
        LAB_SETTINGS (or the defaults)."""
        env = os.environ.get
        return cls(
            env("LAB_NAME", cls.name),
            env("LAB_SUBNET", cls.subnet),
            int(env("LAB_PORT", cls.port)),
            int(env("LAB_GITHUB_PORT", cls.github_port)),
            env("LAB_SETTINGS", cls.settings),
        )


def say(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def docker(*args: str, check: bool = True) -> str:
    return images.run("docker", *args, check=check)


def host_names(lab: Lab, workers: int) -> dict[str, list[str]]:
    """Inventory groups -> lab host names (the hub host also serves NFS)."""
    return {
        "hub": [f"{lab.name}-hub"],
        "nfs": [f"{lab.name}-hub"],
        "workers": [f"{lab.name}-worker{n}" for n in range(1, workers + 1)],
    }


def free_subnet(taken: list[str]) -> str:
    """The first /24 of NETWORKS that overlaps none of the `taken` subnets."""
    used = [ipaddress.ip_network(t) for t in taken if t]
    for subnet in NETWORKS.subnets(new_prefix=24):
        if not any(subnet.overlaps(u) for u in used if u.version == 4):
            return str(subnet)
    raise images.BuildError(f"no free /24 left in {NETWORKS}: remove old labs (make lab-down)")


def taken_subnets() -> list[str]:
    ids = docker("network", "ls", "--quiet").split()
    template = "{{range .IPAM.Config}}{{.Subnet}} {{end}}"
    # A network removed meanwhile (another scenario's clean-up) is left out.
    return docker("network", "inspect", "--format", template, *ids, check=False).split()


def create_network(lab: Lab) -> None:
    """The lab's own network: its subnet, or a free /24 of NETWORKS. Scenarios
    made side by side choose one at a time (Docker refuses a second network on
    a subnet another got meanwhile: 'Pool overlaps'; four at once lost so)."""
    if docker("network", "ls", "--quiet", "--filter", f"name=^{lab.name}$"):
        return
    with one_at_a_time(NETWORKS_LOCK, "a free subnet"):
        subnet = lab.subnet or free_subnet(taken_subnets())
        made = subprocess.run(
            ["docker", "network", "create", "--label", lab.label, "--subnet", subnet, lab.name],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if made.returncode != 0:
        raise images.BuildError(f"could not create the network {lab.name}: {made.stderr.strip()}")


@contextlib.contextmanager
def one_at_a_time(path: Path, what: str, seconds: float = 120):
    """Hold an exclusive lock on `path` (every checkout on this machine shares
    it), waiting at most `seconds` for whoever holds it."""
    with path.open("a") as lock:
        client.wait(lambda: take_lock(lock), seconds, f"the lock on {what} ({path})", every=0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def take_lock(lock) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def run_host(lab: Lab, name: str, image: str, ports: list[str], hostname: str = "") -> None:
    """The one recipe for a container test host (a VM's stand-in)."""
    state = docker("inspect", "--format", "{{.State.Running}}", name, check=False)
    if state == "true":
        say(f"{name} is running")
        return
    if state == "false":
        docker("start", name)
        return
    say(f"starting host {name}")
    args = ["run", "--detach", "--name", name, "--hostname", hostname or name]
    args += ["--label", lab.label]
    args += [f"--cap-add={cap}" for cap in CAPABILITIES]
    args += ["--security-opt", "seccomp=unconfined", "--cgroupns=host"]
    # Loop devices for the homes' quotas (schoolhub-homes makes the nodes it uses).
    args += ["--device", "/dev/loop-control", "--device-cgroup-rule", "b 7:* rwm"]
    args += [
        "--volume",
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
    ]
    # The inner engine's storage must be a volume, not overlay. The NFS server's
    # directories are one volume that every host mounts: the workers' stand-in
    # for the NFS mounts (these kernels have no NFS).
    for volume, path in ((f"{name}-docker", "/var/lib/docker"), (lab.shares, "/srv/schoolhub")):
        docker("volume", "create", "--label", lab.label, volume)
        args += ["--volume", f"{volume}:{path}"]
    args += ["--network", lab.name]
    for port in ports:
        args += ["--publish", port]
    docker(*args, image)


def wait_for_systemd(name: str, seconds: int = 300) -> None:
    """Until the host has booted (a loaded machine boots several at once);
    past `seconds`, the error names the units it still waits for."""

    def booted() -> bool:
        state = docker("exec", name, "systemctl", "is-system-running", check=False)
        return state in ("running", "degraded")

    try:
        client.wait(booted, seconds, f"systemd to finish booting in {name}")
    except TimeoutError as error:
        jobs = docker("exec", name, "systemctl", "list-jobs", "--no-legend", check=False)
        raise TimeoutError(f"{error}; still waiting: {' | '.join(jobs.splitlines()[:5])}") from None


def lab_vars(base_image: str, base_archive: Path, state: Path) -> dict:
    """What the test hosts' settings (inventory/test-hosts.yml) need from the controller."""
    return {
        "lab_base_image": base_image,
        "lab_base_archive": str(base_archive.resolve()),
        "lab_state_dir": str(state),
        "lab_image_cache": str(IMAGE_CACHE),
    }


def write_inventory(
    lab: Lab, groups: dict[str, list[str]], base_image: str, base_archive: Path
) -> Path:
    lab.state.mkdir(parents=True, exist_ok=True)
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "community.docker.docker",
                **lab_vars(base_image, base_archive, lab.state),
                "lab_url": lab.url,
                "lab_github_url": f"http://127.0.0.1:{lab.github_port}",
                **(yaml.safe_load(Path(lab.settings).read_text()) if lab.settings else {}),
            },
            "children": {
                group: {"hosts": {h: {} for h in hosts}} for group, hosts in groups.items()
            },
        }
    }
    path = lab.inventory
    path.write_text(
        "# Written by `make lab`; the settings are in inventory/lab/.\n"
        + json.dumps(inventory, indent=2)
    )
    return path


def playbook_command(
    inventories: list[Path], playbook: str, *extra_vars: str, diff=False, verbosity=0, root=ROOT
) -> list[str]:
    """The command that runs one of the real playbooks (of the checkout `root`)
    with these inventories (the lab's, or a molecule scenario's)."""
    # The venv's own ansible-playbook, whether or not the venv is activated.
    beside = Path(sys.executable).parent / "ansible-playbook"
    command = [str(beside) if beside.exists() else "ansible-playbook"]
    command += [arg for inventory in inventories for arg in ("-i", str(inventory))]
    command.append(str(root / "playbooks" / playbook))
    command += ["--diff"] if diff else []
    command += ["-" + "v" * verbosity] if verbosity else []
    return command + [arg for extra in extra_vars for arg in ("-e", extra)]


def run_playbook(lab: Lab, playbook: str = "site.yml", *extra_vars: str, log=None) -> None:
    """Run one of the real playbooks against the lab's hosts (its output into
    the open file `log` if given)."""
    say(f"running playbooks/{playbook} (a first site.yml builds images: several minutes)...")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    inventories = [TEST_HOSTS_VARS, ROOT / "inventory/lab", lab.inventory]
    command = playbook_command(inventories, playbook, *extra_vars)
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=log, timeout=3600)


def wait_for_hub(url: str, seconds: int = 180) -> None:
    def answers() -> bool:
        return requests.get(f"{url}/hub/api", timeout=5).status_code == 200

    client.wait(answers, seconds, f"the hub to answer at {url}", every=2)


def start_hosts(
    lab: Lab,
    host_os: str,
    hosts: dict[str, tuple[str, list[str]]],
    releases: dict[str, str] | None = None,
):
    """Start the hosts {container name: (host name, published ports)} on the lab's
    network, each on host_os or the release `releases` gives it, and wait until
    they have booted; return the base image and its archive."""
    mirror = images.debian_mirror()
    releases = releases or {}
    host_images = {
        release: images.build_host(images.HOST_OSES[release], mirror, images.DEFAULT_CA_DIR)
        for release in {host_os, *releases.values()}
    }
    base = images.build_base(images.IMAGES_SUITE, mirror)
    archive = images.save_archive(base, ROOT / "build/images")
    create_network(lab)
    for name, (hostname, ports) in hosts.items():
        run_host(lab, name, host_images[releases.get(name, host_os)], ports, hostname)
    for name in hosts:
        wait_for_systemd(name)
    return base, archive


def up(lab: Lab, host_os: str, workers: int) -> None:
    groups = host_names(lab, workers)
    names = sorted({h for hosts in groups.values() for h in hosts})
    published = {
        groups["hub"][0]: [f"127.0.0.1:{lab.port}:8000", f"127.0.0.1:{lab.github_port}:8080"]
    }
    base, archive = start_hosts(lab, host_os, {n: (n, published.get(n, [])) for n in names})
    write_inventory(lab, groups, base, archive)
    run_playbook(lab)
    wait_for_hub(lab.url)
    where = (
        f"Servers run on {workers} worker(s) ({', '.join(groups['workers'])}), a Docker Swarm."
        if workers
        else "Servers run on the hub host (WORKERS=0)."
    )
    print(
        f"""
The lab's hub is ready: {lab.url}

  Sign in with GitHub: the lab's fake GitHub lets you pick who you are.
    students (team Participants): ada, grace, alan, katherine, linus, Bob-Smith2
    TAs, hub admins (team TAs):   tina, tom (dave is in both teams, eve in neither)
  {where}
  Re-run `make lab` to apply changes (it changes nothing otherwise).
  `make lab-down` removes the lab's containers, volumes and network.
"""
    )


def down(lab: Lab) -> None:
    containers = docker("ps", "--all", "--quiet", "--filter", f"label={lab.label}").split()
    if containers:
        say(f"removing {len(containers)} host(s)")
        docker("rm", "--force", "--volumes", *containers)
    volumes = docker("volume", "ls", "--quiet", "--filter", f"label={lab.label}").split()
    if volumes:
        docker("volume", "rm", *volumes)
    networks = docker("network", "ls", "--quiet", "--filter", f"label={lab.label}").split()
    if networks:
        docker("network", "rm", *networks)
    say(f"the lab {lab.name} is gone")


def molecule_lab(host_os: str) -> Lab:
    """A molecule scenario's lab: its own name, label and network, nothing published."""
    scenario = os.environ["MOLECULE_SCENARIO_NAME"]
    return Lab(name=f"schoolhub-{scenario}-{host_os}", subnet="", port=0)


def molecule_create(host_os: str, platforms: list[str]) -> None:
    """molecule's create step: one host per platform (container `<platform>-<os>`,
    host name `<platform>`; `<platform>@<release>` is a host on another
    release than host_os), their connection in the instance config, and the
    test hosts' settings in the scenario's inventory."""
    lab = molecule_lab(host_os)
    named = dict(platform.partition("@")[::2] for platform in platforms)
    containers = {p: f"{p}-{host_os}" for p in named}
    releases = {containers[p]: release for p, release in named.items() if release}
    base, archive = start_hosts(lab, host_os, {c: (p, []) for p, c in containers.items()}, releases)
    instances = [
        {"instance": p, "address": c, "connection": "community.docker.docker"}
        for p, c in containers.items()
    ]
    Path(os.environ["MOLECULE_INSTANCE_CONFIG"]).write_text(yaml.safe_dump(instances))
    ephemeral = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    inventory = ephemeral / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    settings = {"all": {"vars": lab_vars(base, archive, ephemeral)}}
    (inventory / "lab.yml").write_text(yaml.safe_dump(settings))
    link = inventory / "test-hosts.yml"
    if not link.is_symlink():
        link.symlink_to(TEST_HOSTS_VARS)


def molecule_destroy(host_os: str) -> None:
    down(molecule_lab(host_os))
    Path(os.environ["MOLECULE_INSTANCE_CONFIG"]).write_text("[]\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "create", "destroy"])
    parser.add_argument("platforms", nargs="*", help="create: molecule's platform names")
    parser.add_argument(
        "--os", default=os.environ.get("HOST_OS", "debian13"), choices=sorted(images.HOST_OSES)
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WORKERS") or 2),
        help="WORKERS: hosts that run users' servers (0: the hub host runs them)",
    )
    lab = Lab.from_environment()
    parser.add_argument("--name", default=lab.name, help="LAB_NAME")
    parser.add_argument("--subnet", default=lab.subnet, help="LAB_SUBNET")
    parser.add_argument("--port", type=int, default=lab.port, help="LAB_PORT")
    parser.add_argument("--github-port", type=int, default=lab.github_port, help="LAB_GITHUB_PORT")
    parser.add_argument("--settings", default=lab.settings, help="LAB_SETTINGS")
    args = parser.parse_args(argv)
    if not 0 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers (WORKERS): from 0 to {MAX_WORKERS}, got {args.workers}")
    lab = Lab(args.name, args.subnet, args.port, args.github_port, args.settings)
    actions = {
        "up": lambda: up(lab, args.os, args.workers),
        "down": lambda: down(lab),
        "create": lambda: molecule_create(args.os, args.platforms),
        "destroy": lambda: molecule_destroy(args.os),
    }
    return images.exit_code(actions[args.action], FAILURES, say)


if __name__ == "__main__":
    sys.exit(main())
