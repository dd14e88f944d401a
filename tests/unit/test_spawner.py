"""What the school spawner decides from whether the user is an admin now."""

import asyncio
import os
from collections import Counter
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from schoolhub.spawner import SchoolDockerSpawner


@pytest.fixture
def spawner():
    c = Config()
    c.DockerSpawner.volumes = {"home-{username}": "/home/{raw_username}"}
    c.DockerSpawner.mem_limit = "1G"
    c.DockerSpawner.cpu_limit = 1.0
    c.SchoolSpawner.admin_mem_limit = "2G"
    c.SchoolSpawner.student_volumes = {"/mnt/data": {"bind": "/nfs", "mode": "ro"}}
    c.SchoolSpawner.admin_volumes = {"/mnt/data": {"bind": "/nfs", "mode": "rw"}}
    return SchoolDockerSpawner(config=c)


def test_a_removed_container_is_gone_before_a_restart_can_create_it(spawner, monkeypatch):
    """Docker may still be removing it (auto_remove): a restart would conflict."""
    from docker.errors import NotFound

    spawner.object_id = "c1"
    calls, states = [], iter([{"State": "removing"}, {"State": "removing"}])

    async def docker(method, *args, **kwargs):
        calls.append(method)
        if method == "inspect_container":
            try:
                return next(states)
            except StopIteration:
                raise NotFound("gone") from None
        return None

    monkeypatch.setattr(spawner, "docker", docker)
    real_sleep = asyncio.sleep
    monkeypatch.setattr(asyncio, "sleep", lambda _: real_sleep(0))
    asyncio.run(spawner.remove_object())
    assert calls == ["remove_container", *["inspect_container"] * 3]


def test_students_get_read_only_shares_and_keep_their_home(spawner):
    volumes = spawner.volumes_for(admin=False)
    assert volumes["/mnt/data"]["mode"] == "ro"
    assert volumes["home-{username}"] == "/home/{raw_username}"


def test_admins_get_writable_shares(spawner):
    assert spawner.volumes_for(admin=True)["/mnt/data"]["mode"] == "rw"


def test_admin_limits_fall_back_to_users_limits(spawner):
    assert spawner.limits(admin=True) == ("2G", 1.0)
    assert spawner.limits(admin=False) == (1024**3, 1.0)


def test_losing_admin_goes_back_to_student_settings(spawner):
    spawner.volumes = spawner.volumes_for(admin=True)
    spawner.mem_limit, spawner.cpu_limit = spawner.limits(admin=True)
    assert spawner.volumes_for(admin=False)["/mnt/data"]["mode"] == "ro"
    assert spawner.limits(admin=False)[0] == 1024**3


# --- Swarm: each user stays on the node holding their home -------------------

from schoolhub.spawner import (  # noqa: E402
    NodeGone,
    SchoolSwarmSpawner,
    count_by_node,
    home_node,
    mount,
    node_summary,
    pick_node,
    task_address,
)


def node(name, ready=True, active=True, labels=None):
    return {
        "hostname": name,
        "ready": ready,
        "active": active,
        "role": "worker",
        "labels": labels or {},
    }


def test_new_users_go_to_the_least_busy_ready_node():
    nodes = [node("w1"), node("w2"), node("w3", ready=False)]
    assert pick_node(nodes, {"w1": 3, "w2": 1}) == "w2"
    assert pick_node(nodes, {}) == "w1"  # ties: by name


def test_a_class_starting_at_once_is_spread_over_the_nodes(monkeypatch):
    """Their tasks are not running yet when the next student is placed: the
    starts in flight count, so the nodes' counts differ by one at most."""
    from dockerspawner import SwarmSpawner

    async def no_running_servers(self):
        await asyncio.sleep(0)
        return count_by_node([], set(), {})

    async def nodes(self):
        return [node("w1"), node("w2")]

    async def started(self):
        await asyncio.sleep(0.01)  # the service's task starts meanwhile
        return ("10.0.0.1", 8888)

    monkeypatch.setattr(SchoolSwarmSpawner, "servers_per_node", no_running_servers)
    monkeypatch.setattr(SchoolSwarmSpawner, "nodes", nodes)
    monkeypatch.setattr(SwarmSpawner, "start", started)
    spawners = [
        SchoolSwarmSpawner(user=SimpleNamespace(name=f"s{n}", id=n, admin=False, groups=[]))
        for n in range(7)
    ]

    async def storm():
        await asyncio.gather(*(spawner.start() for spawner in spawners))

    asyncio.run(storm())
    placed = [spawner.node for spawner in spawners]
    assert sorted((placed.count("w1"), placed.count("w2"))) == [3, 4]
    assert not +SchoolSwarmSpawner.starting  # nothing left in flight


def test_new_users_placed_at_once_share_one_count_of_the_running_servers(monkeypatch):
    """Each count lists every task of the Swarm: a class asking at once makes
    one at a time, not one each."""
    calls = []

    async def docker(self, method, *args, **kwargs):
        calls.append(method)
        await asyncio.sleep(0.05)
        if method == "tasks":
            return [{"ServiceID": "s1", "NodeID": "n1"}]
        if method == "nodes":
            return [{"ID": "n1", "Description": {"Hostname": "w1"}}]
        return [{"ID": "s1"}]

    monkeypatch.setattr(SchoolSwarmSpawner, "docker", docker)
    spawners = [
        SchoolSwarmSpawner(user=SimpleNamespace(name=f"s{n}", id=n, admin=False, groups=[]))
        for n in range(50)
    ]

    async def storm():
        first = await asyncio.gather(*(s.servers_per_node() for s in spawners[:25]))
        await asyncio.sleep(0.01)
        return first + await asyncio.gather(*(s.servers_per_node() for s in spawners[25:]))

    counts = asyncio.run(storm())
    assert counts == [{"w1": 1}] * 50
    assert calls.count("tasks") == 2  # one per wave of askers
    counts[0]["w1"] += 1  # each asker's own copy
    assert counts[1] == {"w1": 1}


def test_drained_or_down_nodes_get_nobody():
    with pytest.raises(NodeGone):
        pick_node([node("w1", active=False), node("w2", ready=False)], {})


def test_docker_node_inspect_is_summarised():
    inspected = {
        "Description": {"Hostname": "w1"},
        "Status": {"State": "ready"},
        "Spec": {"Availability": "drain", "Role": "worker", "Labels": {"zone": "a"}},
    }
    assert node_summary(inspected) == {
        "hostname": "w1",
        "ready": True,
        "active": False,
        "role": "worker",
        "labels": {"zone": "a"},
    }


def test_a_pinned_user_stays_on_their_node():
    nodes = [node("w1"), node("w2", labels={"home.ada": "moved"})]
    assert home_node(nodes, "ada", "w1", "home.ada") == "w1"


def test_a_drained_users_home_is_found_where_it_moved():
    nodes = [node("w1", active=False), node("w2"), node("w3", labels={"home.ada": "moved"})]
    assert home_node(nodes, "ada", "w1", "home.ada") == "w3"


@pytest.mark.parametrize(
    "nodes, state",
    [([node("w2")], "gone"), ([node("w1", ready=False)], "not available")],
)
def test_a_lost_home_node_gives_a_clear_message(nodes, state):
    with pytest.raises(
        NodeGone, match=f"ada's home is on node w1, which is {state}.*drain-worker.yml"
    ):
        home_node(nodes, "ada", "w1", "home.ada")


def test_volumes_are_labelled_with_their_user_and_paths_are_binds():
    volume = mount("schoolhub-home-ada", {"bind": "/home/ada", "mode": "rw"}, {"u": "ada"})
    assert (volume["Type"], volume["VolumeOptions"]["Labels"]) == ("volume", {"u": "ada"})
    share = mount("/mnt/schoolhub/data", {"bind": "/nfs", "mode": "ro"}, {"u": "ada"})
    assert (share["Type"], share["ReadOnly"], "VolumeOptions" in share) == ("bind", True, False)
    assert "DriverConfig" not in volume["VolumeOptions"]


def test_only_our_services_count():
    tasks = [
        {"ServiceID": "s1", "NodeID": "n1"},
        {"ServiceID": "s2", "NodeID": "n1"},
        {"ServiceID": "other", "NodeID": "n2"},
    ]
    assert count_by_node(tasks, {"s1", "s2"}, {"n1": "w1", "n2": "w2"}) == {"w1": 2}


def test_the_node_survives_in_the_spawner_state():
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada)
    spawner.node = "w2"
    state = spawner.get_state()
    assert state["node"] == "w2"
    again = SchoolSwarmSpawner(user=ada)
    again.load_state(state)
    again.clear_state()  # what the hub does after a stop
    assert again.get_state()["node"] == "w2"


def test_a_stop_waits_for_the_old_server_to_exit_before_removing_the_service(monkeypatch):
    """Otherwise the old server answers a quick restart's readiness check."""
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada)
    spawner.object_id = "svc1"
    calls, states = [], iter(["running", "running", "shutdown"])

    async def docker(method, *args, **kwargs):
        calls.append(method)
        if method == "inspect_service":
            return {"Version": {"Index": 7}}
        if method == "tasks":
            return [{"Status": {"State": next(states)}}]
        return None

    monkeypatch.setattr(spawner, "docker", docker)
    real_sleep = asyncio.sleep
    monkeypatch.setattr(asyncio, "sleep", lambda _: real_sleep(0))
    asyncio.run(spawner.remove_object())
    assert calls == [
        "inspect_service",
        "update_service",
        "tasks",
        "tasks",
        "tasks",
        "remove_service",
    ]


def test_a_server_is_reached_at_its_task_address_on_the_hub_network():
    task = {
        "NetworksAttachments": [
            {"Network": {"Spec": {"Name": "ingress"}}, "Addresses": ["10.0.0.5/24"]},
            {"Network": {"Spec": {"Name": "schoolhub"}}, "Addresses": ["10.212.1.18/24"]},
        ]
    }
    assert task_address(task, "schoolhub") == "10.212.1.18"
    assert task_address({"NetworksAttachments": []}, "schoolhub") == ""
    assert task_address(None, "schoolhub") == ""


# --- What a server may do as root ---------------------------------------------

from schoolhub.spawner import SERVER_CAPS, SUDO_CAPS  # noqa: E402


@pytest.mark.parametrize(
    "admin, admin_sudo, sudo", [(False, True, False), (True, False, False), (True, True, True)]
)
def test_only_admins_get_sudo_and_only_when_the_site_allows(admin, admin_sudo, sudo):
    user = SimpleNamespace(name="tina", id=1, admin=admin, groups=[])
    spawner = SchoolSwarmSpawner(user=user, admin_sudo=admin_sudo)
    assert spawner.sudo() is sudo
    hardening = spawner.hardening(spawner.sudo())
    assert hardening["cap_drop"] == ["ALL"]
    assert hardening["cap_add"] == (SUDO_CAPS if sudo else SERVER_CAPS)
    # Binding ports below 1024 needs root again, whoever the user is.
    assert hardening["sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "1024"}


@pytest.mark.parametrize(
    "groups, ta", [(["school:tas"], True), (["school:students"], False), ([], False)]
)
def test_a_ta_teams_member_is_a_ta_without_being_an_admin(groups, ta):
    """hub.ta_role server-admin: the TA's group, not the admin flag, says it."""
    group = [SimpleNamespace(name=name) for name in groups]
    user = SimpleNamespace(name="tom", id=1, admin=False, groups=group)
    spawner = SchoolSwarmSpawner(user=user, admin_sudo=True, ta_groups=["school:tas"])
    assert spawner.is_ta() is ta and spawner.sudo() is ta


def test_servers_keep_only_what_start_sh_needs_as_root():
    assert set(SERVER_CAPS) == {
        "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "NET_ADMIN",  # the server's own firewall; start.sh drops it for everyone
    }  # fmt: skip
    assert not {"NET_RAW", "MKNOD", "SYS_CHROOT", "SETFCAP"} & set(SERVER_CAPS)


def created_service(monkeypatch, spawner, task_template) -> dict:
    """The task template that reaches Docker's create_service."""
    seen = {}

    class Client:
        def create_service(self, **kwargs):
            seen.update(kwargs)

    monkeypatch.setattr(SchoolSwarmSpawner, "client", Client())
    spawner._docker("create_service", task_template=task_template)
    return seen["task_template"]


def test_services_get_the_pids_limit(monkeypatch):
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada, pids_limit=64)
    template = created_service(monkeypatch, spawner, {"Resources": {"Limits": {"MemoryBytes": 1}}})
    assert template["Resources"]["Limits"] == {"MemoryBytes": 1, "Pids": 64}


def test_a_sites_own_constraints_stay_beside_ours(monkeypatch):
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    site = ["node.labels.room == lab-2"]
    spawner = SchoolSwarmSpawner(user=ada, extra_placement_spec={"constraints": site})
    spawner.node = "w2"
    for _ in range(2):  # a second start adds nothing twice
        template = {"Resources": {}, "Placement": {"Constraints": list(site)}}
        template = created_service(monkeypatch, spawner, template)
        assert template["Placement"]["Constraints"] == [
            "node.labels.room == lab-2",
            "node.role == worker",
            "node.hostname == w2",
        ]
    assert spawner.extra_placement_spec == {"constraints": site}


# --- Profiles: the spawn page's choices ----------------------------------------

from dockerspawner import DockerSpawner  # noqa: E402

from schoolhub.settings import profiles as complete  # noqa: E402
from schoolhub.spawner import Refused  # noqa: E402

PROFILES = complete(
    [
        {"name": "standard", "display_name": "Standard", "description": "<1 CPU>"},
        {"name": "big-data", "display_name": "Big data day", "cpu_limit": 2, "mem_limit": "4G"},
        {"name": "ta-tools", "admin_only": True, "image": "school/ta:1"},
    ]
)


def profiled(admin=False, profiles=PROFILES, **options):
    user = SimpleNamespace(name="ada", id=1, admin=admin, groups=[])
    spawner = SchoolDockerSpawner(
        user=user, profiles=profiles, image="school/notebook:1", mem_limit="1G", cpu_limit=1.0
    )
    spawner.user_options = options
    return spawner


def started(monkeypatch, spawner) -> tuple:
    """(image, mem_limit, cpu_limit) that reach DockerSpawner.start."""
    seen = []

    async def start(self):
        seen.append((self.image, self.mem_limit, self.cpu_limit))

    monkeypatch.setattr(DockerSpawner, "start", start)
    asyncio.run(spawner.start())
    return seen[0]


def test_students_see_their_profiles_with_the_default_checked():
    form = asyncio.run(profiled().get_options_form())
    assert form.count('type="radio"') == 2
    assert 'value="standard" checked>' in form and 'value="big-data">' in form
    assert "ta-tools" not in form
    assert "Standard <small>&lt;1 CPU&gt;</small>" in form


def test_tas_also_see_theirs():
    assert 'value="ta-tools">' in asyncio.run(profiled(admin=True).get_options_form())


def test_nothing_to_choose_no_page():
    assert asyncio.run(profiled(profiles=PROFILES[::2]).get_options_form()) == ""
    assert asyncio.run(profiled(profiles=[]).get_options_form()) == ""


def test_the_form_and_a_link_choose_a_profile():
    spawner = profiled()
    assert spawner.run_options_from_form({"profile": ["big-data"]}) == {"profile": "big-data"}
    assert spawner.options_from_query({"profile": ["ta-tools"]}) == {"profile": "ta-tools"}


def test_the_chosen_profile_sets_the_image_and_limits(monkeypatch):
    assert started(monkeypatch, profiled(profile="big-data")) == ("school/notebook:1", 4 << 30, 2)
    assert started(monkeypatch, profiled(True, profile="ta-tools"))[0] == "school/ta:1"


def test_no_choice_starts_the_default(monkeypatch):
    assert started(monkeypatch, profiled()) == ("school/notebook:1", 1 << 30, 1.0)
    assert started(monkeypatch, profiled(profile="")) == ("school/notebook:1", 1 << 30, 1.0)


def test_a_profile_back_to_the_default_gets_the_sites_image_again(monkeypatch):
    spawner = profiled(True, profile="ta-tools")
    started(monkeypatch, spawner)
    spawner.user_options = {"profile": "standard"}
    assert started(monkeypatch, spawner)[0] == "school/notebook:1"


@pytest.mark.parametrize(
    "admin, profiles, name, status, message",
    [
        (False, PROFILES, "ta-tools", 403, "The profile 'ta-tools' is for TAs only."),
        (False, PROFILES, "gpu", 400, "No profile 'gpu'; choose one of: standard, big-data."),
        (True, [], "big-data", 400, "This hub has no profiles (asked for 'big-data')."),
    ],
)
def test_a_profile_the_user_may_not_have_is_refused(
    monkeypatch, admin, profiles, name, status, message
):
    with pytest.raises(Refused) as refused:
        started(monkeypatch, profiled(admin, profiles, profile=name))
    assert (refused.value.status_code, str(refused.value)) == (status, message)


# --- team folders ---------------------------------------------------------------


def test_members_get_their_teams_folders_and_nobody_elses(monkeypatch):
    made = []

    async def make_directory(self, path):
        made.append(path)

    monkeypatch.setattr(SchoolSwarmSpawner, "make_directory", make_directory)
    groups = [SimpleNamespace(name=n) for n in ("school:participants", "school:group-a")]
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=groups)
    spawner = SchoolSwarmSpawner(
        user=ada,
        teams_share="/mnt/schoolhub/teams",
        team_folders={"school:group-a": "Group-A", "school:group-b": "Group-B"},
    )
    volumes = asyncio.run(spawner.team_volumes())
    assert volumes == {
        "/mnt/schoolhub/teams/group-a": {"bind": "/home/{raw_username}/teams/Group-A", "mode": "rw"}
    }
    assert made == ["/mnt/schoolhub/teams/group-a"]  # (made on the share at the first start)


def test_a_team_folder_that_cannot_be_made_stops_the_start_with_the_reason(tmp_path):
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada)
    spawner.environment = {"NB_UID": str(os.getuid()), "NB_GID": str(os.getgid())}
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeError, match=f"could not make {tmp_path}/file/x: mkdir: "):
        asyncio.run(spawner.make_directory(f"{tmp_path}/file/x"))


# --- A start that Docker or a share refuses ----------------------------------------

# What Docker (20.10) answers when the homes' plugin has no room for a new home.
NO_ROOM = (
    "create schoolhub-home-ada: no room for a new 256.0M home on vm: 2.0G free, "
    "and 1.0G stays free for the host"
)


def test_a_start_docker_refuses_tells_the_user_why_not_internal_server_error(monkeypatch, caplog):
    from docker.errors import APIError

    async def refused(self):
        raise APIError("500 Server Error: Internal Server Error", explanation=NO_ROOM)

    monkeypatch.setattr(DockerSpawner, "start", refused)
    with pytest.raises(Refused) as told, caplog.at_level("ERROR"):
        asyncio.run(profiled().start())
    expected = f"ada's server could not start ({NO_ROOM}). Ask a TA: the hub's log has more."
    assert (told.value.status_code, str(told.value)) == (503, expected)
    assert told.value.jupyterhub_message == expected  # (the page of a user who comes back)
    # The hub's log has the whole error, with Docker's call and its traceback.
    assert caplog.records[-1].message == "ada's server could not start"
    assert "500 Server Error: Internal Server Error" in caplog.text


def test_a_home_the_nfs_share_refuses_tells_the_user_why(monkeypatch):
    async def make_home(self):
        raise RuntimeError("could not make /mnt/schoolhub/homes/ada: mkdir: Permission denied")

    monkeypatch.setattr(SchoolSwarmSpawner, "make_home", make_home)
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada, homes_share="/mnt/schoolhub/homes")
    with pytest.raises(Refused) as told:
        asyncio.run(spawner.start())
    assert str(told.value).startswith(
        "ada's server could not start (could not make /mnt/schoolhub/homes/ada: mkdir: "
        "Permission denied). Ask a TA"
    )
    assert SchoolSwarmSpawner.starting[""] == 0  # its place is given back


def test_a_refusal_of_our_own_reaches_the_user_unchanged(monkeypatch):
    none_ready, no_servers = asyncio.sleep(0, []), asyncio.sleep(0, Counter())
    monkeypatch.setattr(SchoolSwarmSpawner, "nodes", lambda self: none_ready)
    monkeypatch.setattr(SchoolSwarmSpawner, "servers_per_node", lambda self: no_servers)
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    with pytest.raises(Refused) as told:
        asyncio.run(SchoolSwarmSpawner(user=ada).start())
    assert str(told.value) == "no Swarm node is ready to run servers"


def test_a_class_calls_docker_side_by_side_up_to_the_limit(monkeypatch):
    """DockerSpawner calls Docker from one thread: each start of a storm
    waited for every other user's calls. Ours: DOCKER_CALLS at a time."""
    import threading
    import time

    from schoolhub import spawner as module

    lock, now, most = threading.Lock(), [0], [0]

    def slow_call(self, method, *args, **kwargs):
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.05)
        with lock:
            now[0] -= 1
        return method

    monkeypatch.setattr(SchoolSwarmSpawner, "_docker", slow_call)
    users = [SimpleNamespace(name=f"s{n}", id=n, admin=False, groups=[]) for n in range(20)]
    spawners = [SchoolSwarmSpawner(user=user) for user in users]

    async def storm():
        return await asyncio.gather(*(s.docker("tasks") for s in spawners for _ in range(2)))

    assert asyncio.run(storm()) == ["tasks"] * 40
    assert most[0] == module.DOCKER_CALLS > 1
    assert spawners[0].client_kwargs == {"max_pool_size": module.DOCKER_CALLS}


# --- Nothing a student writes outside the home reaches the host's disk ----------


def test_a_servers_tmp_dirs_are_memory_filesystems_of_the_sites_size(monkeypatch):
    spawner = profiled(profiles=[])
    spawner.tmp_size = "64M"
    started(monkeypatch, spawner)
    options = "rw,noexec,nosuid,nodev,size=67108864,mode=1777"
    assert spawner.extra_host_config["tmpfs"] == {"/tmp": options, "/var/tmp": options}


def test_a_services_tmp_dirs_are_memory_filesystems_of_the_sites_size():
    ada = SimpleNamespace(name="ada", id=1, admin=False, groups=[])
    spawner = SchoolSwarmSpawner(user=ada, tmp_size="64M")
    found = {m["Target"]: m for m in spawner.mounts if m["Type"] == "tmpfs"}
    assert set(found) == {"/tmp", "/var/tmp"}
    assert found["/tmp"]["TmpfsOptions"] == {"SizeBytes": 64 << 20, "Mode": 0o1777}
