"""Spawners for a school: the container's user is the hub user; admins (TAs)
get their own limits, write access to the shares, and sudo.

SchoolDockerSpawner runs servers on the hub host (no workers);
SchoolSwarmSpawner runs them on a Docker Swarm and pins each user to the node
that holds their home volume.
"""

from __future__ import annotations

from dockerspawner import DockerSpawner, SwarmSpawner
from traitlets import Bool, Dict, Float, Unicode
from traitlets.config import Configurable


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

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._user_limits = (self.mem_limit, self.cpu_limit)
        self._home_volumes = dict(self.volumes)

    def limits(self, admin: bool) -> tuple:
        """(mem_limit, cpu_limit) for a user who is, or is not, an admin now."""
        mem, cpu = self._user_limits
        if admin:
            mem, cpu = self.admin_mem_limit or mem, self.admin_cpu_limit or cpu
        return mem, cpu

    def volumes_for(self, admin: bool) -> dict:
        return {**self._home_volumes, **(self.admin_volumes if admin else self.student_volumes)}

    async def start(self):
        # Admin status can change at every sign-in (team membership): read it at each start.
        self.mem_limit, self.cpu_limit = self.limits(self.user.admin)
        self.volumes = self.volumes_for(self.user.admin)
        return await super().start()

    def get_env(self):
        env = super().get_env()
        # docker-stacks convention: start.sh (as root) renames its user to
        # NB_USER and moves the home there.
        env["NB_USER"] = self.user.name
        admin = "yes" if self.user.admin else "no"
        # The start hook puts admins in the admin group; docker-stacks' start.sh grants sudo.
        env["SCHOOL_ADMIN"] = env["GRANT_SUDO"] = admin
        return env


class SchoolDockerSpawner(SchoolSpawner, DockerSpawner):
    """Servers on the hub host's own engine."""


class NodeGone(RuntimeError):
    """The node holding a user's home cannot run their server."""


def pick_node(nodes: list[dict], servers_per_node: dict[str, int]) -> str:
    """The ready, active node running the fewest users' servers (ties: by name)."""
    usable = [n["hostname"] for n in nodes if n["ready"] and n["active"]]
    if not usable:
        raise NodeGone("no Swarm node is ready to run servers")
    return min(usable, key=lambda name: (servers_per_node.get(name, 0), name))


def count_by_node(tasks: list[dict], services: set[str], hostnames: dict[str, str]) -> dict:
    """Running tasks of `services` per node hostname."""
    counts: dict[str, int] = {}
    for task in tasks:
        if task.get("ServiceID") in services:
            name = hostnames.get(task.get("NodeID", ""), "")
            counts[name] = counts.get(name, 0) + 1
    return counts


def node_summary(node: dict) -> dict:
    """The parts of `docker node inspect` that placement needs."""
    return {
        "hostname": node["Description"]["Hostname"],
        "ready": node["Status"]["State"] == "ready",
        "active": node["Spec"]["Availability"] == "active",
        "role": node["Spec"]["Role"],
    }


class SchoolSwarmSpawner(SchoolSpawner, SwarmSpawner):
    """Servers as Swarm services. Home volumes are local to a node, so each
    user is pinned to the node of their first start (kept in the spawner's
    state); with homes_on_nfs, homes follow users anywhere."""

    homes_on_nfs = Bool(
        False,
        config=True,
        help="Homes live on NFS: no pinning, any node may run any user's server.",
    )
    server_nodes_role = Unicode(
        "worker",
        config=True,
        help="Swarm role of the nodes that run users' servers (worker, or manager too).",
    )
    node = Unicode("", help="The node holding this user's home volume (spawner state).")

    def load_state(self, state):
        super().load_state(state)
        self.node = state.get("node", "")

    def get_state(self):
        state = super().get_state()
        if self.node:
            state["node"] = self.node  # kept after a stop: clear_state leaves it
        return state

    async def nodes(self) -> list[dict]:
        found = await self.docker("nodes", filters={"role": self.server_nodes_role})
        return [node_summary(n) for n in found]

    async def servers_per_node(self) -> dict[str, int]:
        """How many users' servers each node runs now (the running tasks of our services)."""
        prefix = self.name_template.split("{", 1)[0]
        services = {s["ID"] for s in await self.docker("services", filters={"name": prefix})}
        tasks = await self.docker("tasks", filters={"desired-state": "running"})
        hostnames = {n["ID"]: n["Description"]["Hostname"] for n in await self.docker("nodes")}
        return count_by_node(tasks, services, hostnames)

    async def place(self) -> str:
        nodes = await self.nodes()
        if self.homes_on_nfs:
            return ""
        if self.node:
            node = next((n for n in nodes if n["hostname"] == self.node), None)
            if node is None or not (node["ready"] and node["active"]):
                state = "gone" if node is None else "not available (down or drained)"
                raise NodeGone(
                    f"{self.user.name}'s home is on node {self.node}, which is {state}. "
                    "Ask a TA: the node must come back, or the home be moved "
                    "(playbooks/drain-worker.yml)."
                )
            return self.node
        return pick_node(nodes, await self.servers_per_node())

    async def start(self):
        self.node = await self.place()
        constraints = [f"node.role == {self.server_nodes_role}"]
        if self.node:
            constraints.append(f"node.hostname == {self.node}")
        self.extra_placement_spec = {**self.extra_placement_spec, "constraints": constraints}
        return await super().start()
