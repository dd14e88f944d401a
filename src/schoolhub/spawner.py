"""Spawners for a school: the container's user is the hub user; admins (TAs)
get their own limits, write access to the shares, and sudo if the site allows.
Every server gets a reduced capability set and a process limit; students'
servers also get no way back to root (see start.sh and docs/security.md).

SchoolDockerSpawner runs servers on the hub host (no workers);
SchoolSwarmSpawner runs them on a Docker Swarm and pins each user to the node
that holds their home volume.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from docker.errors import APIError, DockerException, NotFound
from docker.types import Mount, ServiceMode
from dockerspawner import DockerSpawner, SwarmSpawner
from tornado import web
from traitlets import Bool, Dict, Float, Int, List, Unicode, default
from traitlets.config import Configurable

from schoolhub.gitcache import server_git_config
from schoolhub.settings import is_ta, size_bytes

# What start.sh needs as root before it becomes the user (chown the home, add
# the user, setpriv, timeout of the user's start script, the server's own
# firewall) and nothing else: Docker's default set without NET_RAW, MKNOD,
# SETFCAP, SYS_CHROOT, AUDIT_WRITE and NET_BIND_SERVICE, with NET_ADMIN, which
# start.sh drops for everyone once the firewall is set. Students' processes
# then drop all the others too (start.sh).
SERVER_CAPS = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "NET_ADMIN",
]
# Admins with sudo keep Docker's default set (sudo, apt and dpkg need it).
SUDO_CAPS = [
    *SERVER_CAPS,
    "AUDIT_WRITE",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SYS_CHROOT",
]
# Ports below 1024 need root again (Docker opens them to everyone), so an NFS
# server's `secure` check means something.
SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "1024"}
# A server's directories that every user may write outside the home: memory
# filesystems of their own (SchoolSpawner.tmp_size each, counted in the
# server's memory), so nothing a student writes reaches the host's disk.
# Programs there do not run (noexec, as Docker mounts Swarm services' tmpfs and
# as hardened hosts mount /tmp): students run theirs from their home.
TMP_DIRS = ("/tmp", "/var/tmp")  # noqa: S108 (paths in the container, made here)


def tmpfs_options(size: int) -> str:
    """A server's TMP_DIRS as `docker run --tmpfs` mounts them (`size` in
    bytes; 0: the kernel's, half the memory, within the server's limit)."""
    return f"rw,noexec,nosuid,nodev,{f'size={size},' if size else ''}mode=1777"


# Docker API calls the hub makes at once, for all users' starts, stops and polls
# together. DockerSpawner makes one at a time (one thread): with a class
# signing in at once, each start waited for everyone's calls before its own.
DOCKER_CALLS = 8


class Refused(web.HTTPError):
    """A start that cannot happen, as an HTTP error: the hub shows its message
    to the user (on the spawn page and in the API's answer) instead of
    "Internal Server Error", and again on the page of a user who comes back
    (JupyterHub shows a failed start's `jupyterhub_message` there)."""

    def __init__(self, status: int, message: str):
        super().__init__(status, "%s", message)
        self.message = self.jupyterhub_message = message

    def __str__(self) -> str:
        return self.message


class NotStarted(Refused):
    """Docker, or a share, refused a start (a host's disk too full for a new
    home, an image gone, a share that does not answer): the user reads why, as
    JupyterHub shows a start that fails later, instead of "Internal Server Error"."""

    def __init__(self, user: str, error: Exception):
        reason = error.explanation if isinstance(error, APIError) and error.explanation else error
        super().__init__(
            503, f"{user}'s server could not start ({reason}). Ask a TA: the hub's log has more."
        )


@contextlib.contextmanager
def telling_why(spawner):
    """Docker's and the shares' errors inside as NotStarted; the hub's log
    keeps the whole error, with its traceback, as before."""
    try:
        yield
    except (DockerException, RuntimeError) as error:
        spawner.log.exception("%s's server could not start", spawner.user.name)
        raise NotStarted(spawner.user.name, error) from error


class SchoolSpawner(Configurable):
    """What a school's servers get, whichever engine runs them (a mixin; its
    settings, `c.SchoolSpawner.*`, apply to both spawners below)."""

    admin_mem_limit = Unicode(
        "",
        config=True,
        help="Memory limit for admins' servers (e.g. 4G); empty means mem_limit.",
    )
    admin_cpu_limit = Float(
        0.0,
        config=True,
        help="CPU limit for admins' servers; 0 means cpu_limit.",
    )
    student_volumes = Dict(
        config=True,
        help="Volumes (DockerSpawner format) added for non-admins: the shares read-only.",
    )
    admin_volumes = Dict(
        config=True,
        help="Volumes added for admins (TAs): the shares writable.",
    )

    admin_sudo = Bool(
        False,
        config=True,
        help="Admins (TAs) may sudo in their servers (root there: the shares stay "
        "what their mounts allow, the hosts what the firewall allows).",
    )
    # (The role's defaults are the only ones: these are none.)
    pids_limit = Int(
        0,
        config=True,
        help="Most processes and threads in one server (a fork bomb stops there); 0: none.",
    )
    tmp_size = Unicode(
        "",
        config=True,
        help="Size of each of TMP_DIRS (memory filesystems, within the memory limit); "
        "empty: the kernel's.",
    )
    ta_groups = List(
        Unicode(),
        config=True,
        help="The groups of the GitHub TA teams: their members are TAs here even when "
        "they are not hub admins (hub.ta_role server-admin).",
    )
    profiles = List(
        Dict(),
        config=True,
        help="Choices on the spawn page, complete and checked (schoolhub.settings.profiles): "
        "name, display_name, description, image, cpu_limit, mem_limit, admin_only, default.",
    )

    teams_share = Unicode(
        "", config=True, help="The NFS teams share as mounted on every host (the hub's too)."
    )
    team_folders = Dict(
        Unicode(),
        config=True,
        help="A GitHub team's group -> the team's name: its members, and nobody else, "
        "get its folder on the teams share at ~/teams/<name>.",
    )
    git_repos = List(
        Unicode(),
        config=True,
        help="Repositories whose fetches go to the hub's cache (schoolhub.gitcache).",
    )
    git_cache_url = Unicode(
        "", config=True, help="The cache as servers reach it (through the proxy)."
    )

    @property
    def executor(self):
        """The threads every spawner of this class calls Docker from."""
        cls = self.__class__
        if cls._executor is None:
            cls._executor = ThreadPoolExecutor(DOCKER_CALLS, thread_name_prefix="docker")
        return cls._executor

    @default("client_kwargs")
    def _a_connection_per_thread(self):
        return {"max_pool_size": DOCKER_CALLS}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._user_limits = (self.mem_limit, self.cpu_limit)
        self._home_volumes = dict(self.volumes)
        self._image = self.image

    @default("options_form")
    def _profile_choice(self):
        # A callable: which profiles a user sees depends on whether they are a TA now.
        return lambda spawner: spawner.profile_form()

    def is_ta(self) -> bool:
        """Whether the user is a TA now (admin, or in a TA team's group: both
        can change at every sign-in, so this is read at each start)."""
        return is_ta(self.ta_groups, self.user.admin, (g.name for g in self.user.groups))

    def offered(self, admin: bool) -> list[dict]:
        return [p for p in self.profiles if admin or not p["admin_only"]]

    def profile_form(self) -> str:
        """Radio buttons, the default checked: a student who does not care
        only presses Start. No page when there is nothing to choose."""
        offered = self.offered(self.is_ta())
        if len(offered) < 2:
            return ""
        rows = []
        for p in offered:
            name, text = html.escape(p["name"]), html.escape(p["display_name"])
            if p["description"]:
                text += f" <small>{html.escape(p['description'])}</small>"
            checked = " checked" if p["default"] else ""
            rows.append(
                f'<div class="form-check"><input class="form-check-input" type="radio" '
                f'name="profile" id="profile-{name}" value="{name}"{checked}>'
                f'<label class="form-check-label" for="profile-{name}">{text}</label></div>'
            )
        return "<fieldset><legend>Server</legend>" + "".join(rows) + "</fieldset>"

    @default("options_from_form")
    def _profile_from_form(self):
        # Also for links (/hub/spawn?profile=NAME): options_from_query calls it.
        return lambda formdata: {"profile": (formdata.get("profile") or [""])[0]}

    def chosen_profile(self) -> dict:
        """The profile of this start ({} when the site has none); a name that
        is unknown, or for TAs only, is refused with a message for the user."""
        name = (self.user_options or {}).get("profile") or ""
        if not self.profiles:
            if name:
                raise Refused(400, f"This hub has no profiles (asked for {name!r}).")
            return {}
        if not name:
            return next(p for p in self.profiles if p["default"])
        offered = {p["name"]: p for p in self.offered(self.is_ta())}
        if name in offered:
            return offered[name]
        if any(p["name"] == name for p in self.profiles):
            raise Refused(403, f"The profile {name!r} is for TAs only.")
        raise Refused(400, f"No profile {name!r}; choose one of: {', '.join(offered)}.")

    def limits(self, admin: bool, profile: dict | None = None) -> tuple:
        """(mem_limit, cpu_limit) for a user who is, or is not, an admin now,
        with this profile (its limits, where it sets them)."""
        mem, cpu = self._user_limits
        if admin:
            mem, cpu = self.admin_mem_limit or mem, self.admin_cpu_limit or cpu
        profile = profile or {}
        return profile.get("mem_limit") or mem, profile.get("cpu_limit") or cpu

    def volumes_for(self, admin: bool) -> dict:
        return {**self._home_volumes, **(self.admin_volumes if admin else self.student_volumes)}

    async def team_volumes(self) -> dict:
        """The folders of the user's teams as of this start (their groups,
        refreshed from GitHub before it), each made on the share if new."""
        groups = {group.name for group in self.user.groups}
        volumes = {}
        for group, team in sorted(self.team_folders.items()):
            if group in groups:
                folder = f"{self.teams_share}/{group.partition(':')[2]}"
                await self.make_directory(folder)
                volumes[folder] = {"bind": f"/home/{{raw_username}}/teams/{team}", "mode": "rw"}
        return volumes

    async def make_directory(self, path: str) -> None:
        """A directory on an NFS share, made by the users' uid (root is
        squashed there), in a process of its own: a hung share stops this
        start after a minute, never the hub."""
        uid, gid = int(self.environment["NB_UID"]), int(self.environment["NB_GID"])
        made = await asyncio.create_subprocess_exec(
            "mkdir",
            "-p",
            "-m",
            "0755",
            path,
            user=uid,
            group=gid,
            extra_groups=[],
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, error = await asyncio.wait_for(made.communicate(), timeout=60)
        except TimeoutError:
            made.kill()
            raise RuntimeError(f"could not make {path}: the share did not answer in 60 s") from None
        if made.returncode:
            raise RuntimeError(f"could not make {path}: {error.decode().strip()}")

    def sudo(self) -> bool:
        return bool(self.is_ta() and self.admin_sudo)

    def hardening(self, sudo: bool) -> dict:
        """Capabilities and sysctls of a server (docker-py's keyword names)."""
        return {
            "cap_drop": ["ALL"],
            "cap_add": SUDO_CAPS if sudo else SERVER_CAPS,
            "sysctls": SYSCTLS,
        }

    def apply_profile(self, ta: bool, profile: dict) -> None:
        """This start's limits and image: a TA's or a student's, with the profile's."""
        self.mem_limit, self.cpu_limit = self.limits(ta, profile)
        self.image = profile.get("image") or self._image

    async def start(self):
        profile = self.chosen_profile()
        ta = self.is_ta()
        self.apply_profile(ta, profile)
        with telling_why(self):
            self.volumes = {**self.volumes_for(ta), **await self.team_volumes()}
            return await super().start()

    def get_env(self):
        env = super().get_env()
        # docker-stacks convention: start.sh (as root) renames its user to
        # NB_USER and moves the home there.
        env["NB_USER"] = self.user.name
        # The start hook puts admins in the admin group; start.sh grants sudo,
        # and without it locks the user out of root for good.
        env["SCHOOL_ADMIN"] = "yes" if self.is_ta() else "no"
        env["GRANT_SUDO"] = "yes" if self.sudo() else "no"
        if self.git_repos:
            env.update(server_git_config(self.git_cache_url, self.git_repos, self.api_token))
        return env


class SchoolDockerSpawner(SchoolSpawner, DockerSpawner):
    """Servers on the hub host's own engine."""

    @default("extra_create_kwargs")
    def _start_as_root(self):
        return {"user": "root"}  # docker-stacks: start.sh becomes NB_USER (NB_UID)

    async def start(self):
        sudo = self.sudo()
        size = size_bytes(self.tmp_size) if self.tmp_size else 0
        self.extra_host_config = {
            **self.extra_host_config,
            **self.hardening(sudo),
            "pids_limit": self.pids_limit,
            "tmpfs": {d: tmpfs_options(size) for d in TMP_DIRS},
            # Also for `docker exec` and for images whose start.sh is not ours
            # (Swarm services cannot set it before Docker 27: start.sh does).
            "security_opt": [] if sudo else ["no-new-privileges"],
        }
        return await super().start()

    async def remove_object(self):
        """Remove the container and wait (bounded) until it is gone. With
        auto_remove (remove_containers) Docker may still be removing it when
        the call returns ("removal in progress"), and a quick restart then
        fails with a name conflict (HTTP 500 to the user; seen on a busy
        Debian 12 host in make test)."""
        await super().remove_object()
        for _ in range(STOP_WAIT):
            try:
                await self.docker("inspect_container", self.object_id)
            except NotFound:
                return
            await asyncio.sleep(1)
        self.log.warning("%s still not removed after %ss", self.object_name, STOP_WAIT)


class NodeGone(Refused):
    """The node holding a user's home cannot run their server."""

    def __init__(self, message: str):
        super().__init__(503, message)


# Seconds a stop waits for the old server to exit, and the task states that
# mean it has not yet.
STOP_WAIT = 60
LIVE_TASK_STATES = {"new", "pending", "assigned", "accepted", "preparing", "starting", "running"}
# A node label naming a user whose home was moved there (playbooks/drain-worker.yml).
HOME_LABEL = "org.schoolhub.home.{}"
# The label of every home volume: whose it is (drain-worker.yml finds homes by it).
USER_LABEL = "org.schoolhub.user"


def usable(node: dict) -> bool:
    return node["ready"] and node["active"]


def pick_node(nodes: list[dict], servers_per_node: dict[str, int]) -> str:
    """The ready, active node running the fewest users' servers (ties: by name)."""
    names = [n["hostname"] for n in nodes if usable(n)]
    if not names:
        raise NodeGone("no Swarm node is ready to run servers")
    return min(names, key=lambda name: (servers_per_node.get(name, 0), name))


def home_node(nodes: list[dict], user: str, pinned: str, label: str) -> str:
    """The node holding the home of `user`, pinned to `pinned`: that node while
    it is usable, else a usable node whose `label` says the home moved there."""
    node = next((n for n in nodes if n["hostname"] == pinned), None)
    if node is not None and usable(node):
        return pinned
    moved = sorted(n["hostname"] for n in nodes if usable(n) and label in n["labels"])
    if moved:
        return moved[0]
    state = "gone" if node is None else "not available (down or drained)"
    raise NodeGone(
        f"{user}'s home is on node {pinned}, which is {state}. Ask a TA: the node must "
        "come back, or the home be moved (playbooks/drain-worker.yml)."
    )


def count_by_node(tasks: list[dict], services: set[str], hostnames: dict[str, str]) -> Counter:
    """Running tasks of `services` per node hostname."""
    return Counter(
        hostnames.get(task.get("NodeID", ""), "")
        for task in tasks
        if task.get("ServiceID") in services
    )


def node_summary(node: dict) -> dict:
    """The parts of `docker node inspect` that placement needs."""
    return {
        "hostname": node["Description"]["Hostname"],
        "ready": node["Status"]["State"] == "ready",
        "active": node["Spec"]["Availability"] == "active",
        "role": node["Spec"]["Role"],
        "labels": node["Spec"].get("Labels") or {},
    }


def task_address(task: dict | None, network: str) -> str:
    """A Swarm task's IP address on `network` ("" if it has none yet)."""
    for attachment in (task or {}).get("NetworksAttachments") or []:
        if attachment["Network"]["Spec"]["Name"] == network and attachment.get("Addresses"):
            return attachment["Addresses"][0].split("/")[0]
    return ""


def mount(source: str, target: dict, labels: dict, driver=None) -> Mount:
    """A service mount: host paths are binds, other sources named volumes
    (labelled; made by `driver`, a DriverConfig, if given)."""
    read_only = target["mode"] == "ro"
    if source.startswith("/"):
        return Mount(target=target["bind"], source=source, type="bind", read_only=read_only)
    return Mount(
        target=target["bind"],
        source=source,
        type="volume",
        read_only=read_only,
        labels=labels,
        driver_config=driver,
    )


class SchoolSwarmSpawner(SchoolSpawner, SwarmSpawner):
    """Servers as Swarm services. Home volumes are local to a node, so each
    user is pinned to the node of their first start (kept in the spawner's
    state); with homes on the NFS share (homes_share), homes follow users anywhere."""

    homes_share = Unicode(
        "",
        config=True,
        help="The NFS homes share as mounted on every host (the hub's too), e.g. "
        "/mnt/schoolhub/homes: each home is a directory there, any node may run "
        "any user's server. Empty: homes are volumes on the node of the first start.",
    )
    server_nodes_role = Unicode(
        "worker",
        config=True,
        help="Swarm role of the nodes that run users' servers (worker, or manager too).",
    )
    node = Unicode("", help="The node holding this user's home volume (spawner state).")
    # Servers this hub is starting, per node: their tasks are not running yet,
    # so servers_per_node misses them. A class signing in at once saw the same
    # counts and crowded one node (make bench, N=100: 56 and 44).
    starting: ClassVar[Counter] = Counter()
    # The count of running servers under way (servers_per_node), if any.
    counting: ClassVar[asyncio.Future | None] = None

    @default("extra_container_spec")
    def _start_as_root(self):
        return {"user": "root"}  # docker-stacks: start.sh becomes NB_USER (NB_UID)

    @default("extra_endpoint_spec")
    def _no_virtual_ip(self):
        # No IPVS in many kernels: the hub and the proxy reach each server at
        # its task's own address (get_ip_and_port).
        return {"mode": "dnsrr"}

    @default("extra_task_spec")
    def _never_restarted_by_swarm(self):
        # A server that exits is stopped, as with the docker spawner: Swarm must
        # not restart it behind the hub's back (at a new address).
        return {"restart_policy": {"Condition": "none"}}

    def load_state(self, state):
        super().load_state(state)
        self.node = state.get("node", "")

    def get_state(self):
        state = super().get_state()
        if self.node:
            state["node"] = self.node  # kept after a stop: clear_state leaves it
        return state

    @property
    def mounts(self):
        labels = {USER_LABEL: self.user.name}
        driver = self.mount_driver_config
        binds = self.volume_binds.items()
        size = size_bytes(self.tmp_size) if self.tmp_size else None
        return [mount(source, target, labels, driver) for source, target in binds] + [
            Mount(target=d, source=None, type="tmpfs", tmpfs_size=size, tmpfs_mode=0o1777)
            for d in TMP_DIRS
        ]

    async def nodes(self) -> list[dict]:
        found = await self.docker("nodes", filters={"role": self.server_nodes_role})
        return [node_summary(n) for n in found]

    async def servers_per_node(self) -> Counter:
        """How many users' servers each node runs now (the running tasks of our
        services). Starts that ask while a count is under way share it: each
        count lists every task of the Swarm, and a class of new users asking
        one each kept the hub's Docker calls busy (make bench, N=100: the
        service existed 16 s after a new user's click, 4 s after a known one's)."""
        cls = SchoolSwarmSpawner
        if cls.counting is None or cls.counting.done():
            cls.counting = asyncio.ensure_future(self._count_servers())
        return Counter(await asyncio.shield(cls.counting))

    async def _count_servers(self) -> Counter:
        prefix = self.name_template.split("{", 1)[0]
        services = {s["ID"] for s in await self.docker("services", filters={"name": prefix})}
        tasks = await self.docker("tasks", filters={"desired-state": "running"})
        hostnames = {n["ID"]: n["Description"]["Hostname"] for n in await self.docker("nodes")}
        return count_by_node(tasks, services, hostnames)

    async def place(self) -> str:
        """The node this start must use ("" = any)."""
        if self.homes_share:
            return ""
        nodes = await self.nodes()
        if self.node:
            label = HOME_LABEL.format(self.escaped_name)
            node = home_node(nodes, self.user.name, self.node, label)
            if node != self.node:
                self.log.info("%s's home moved from %s to %s", self.user.name, self.node, node)
            return node
        running = await self.servers_per_node()
        return pick_node(nodes, running + SchoolSwarmSpawner.starting)

    async def get_ip_and_port(self):
        """The running task's own address on the network. Not the service's
        name: Swarm's DNS may still answer a re-created service's name with
        the removed task's address (seen after a drain), and the hub would
        wait for a server that is gone."""
        address = task_address(await self.get_task(), self.network_name)
        if address:
            return address, self.port
        return await super().get_ip_and_port()

    async def remove_object(self):
        """Scale the service to zero and wait (bounded) for its task to exit
        before removing it: until then the old server still answers at the
        service's name, and a quick restart would look ready before the new
        server is (the hub then routes users to a server that is gone)."""
        try:
            service = await self.docker("inspect_service", self.object_id)
            await self.docker(
                "update_service",
                self.object_id,
                version=service["Version"]["Index"],
                mode=ServiceMode("replicated", replicas=0),
                fetch_current_spec=True,
            )
            for _ in range(STOP_WAIT):
                tasks = await self.docker("tasks", filters={"service": self.object_id})
                if not any(t["Status"]["State"] in LIVE_TASK_STATES for t in tasks):
                    break
                await asyncio.sleep(1)
            else:
                self.log.warning("%s still running after %ss", self.service_name, STOP_WAIT)
        except APIError as error:
            self.log.warning("could not scale %s to zero: %s", self.service_name, error)
        await super().remove_object()

    async def make_home(self) -> None:
        """An NFS home must exist before a service can bind it."""
        await self.make_directory(str(Path(self.homes_share, self.escaped_name)))

    def constraints(self) -> list[str]:
        """Where this server may run: the server nodes, and the node of the
        user's home when it is pinned to one."""
        ours = [f"node.role == {self.server_nodes_role}"]
        return ours + ([f"node.hostname == {self.node}"] if self.node else [])

    def _docker(self, method, *args, **kwargs):
        if method == "create_service":
            template = kwargs["task_template"]
            # docker-py's Resources has no pids limit; the API has (1.41, Docker 20.10).
            template["Resources"].setdefault("Limits", {})["Pids"] = self.pids_limit
            # Ours added to the site's own (extra_placement_spec), which stay.
            placement = template.setdefault("Placement", {})
            placement["Constraints"] = [*(placement.get("Constraints") or []), *self.constraints()]
        return super()._docker(method, *args, **kwargs)

    async def start(self):
        self.extra_container_spec = {**self.extra_container_spec, **self.hardening(self.sudo())}
        with telling_why(self):  # (SchoolSpawner's start tells why on its own)
            self.node = await self.place()
            SchoolSwarmSpawner.starting[self.node] += 1  # no await since the choice
            try:
                if self.homes_share:
                    await self.make_home()
                return await super().start()
            finally:
                SchoolSwarmSpawner.starting[self.node] -= 1
