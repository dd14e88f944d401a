import json
import subprocess
import threading
import time

import pytest

from schoolhub_lab import hosts


def test_default_lab_and_one_from_the_environment(monkeypatch):
    for name in ("LAB_NAME", "LAB_SUBNET", "LAB_PORT", "LAB_GITHUB_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert hosts.Lab.from_environment().url == "http://hub.localhost:8000"
    monkeypatch.setenv("LAB_NAME", "schoolhub-labtest")
    monkeypatch.setenv("LAB_PORT", "18000")
    lab = hosts.Lab.from_environment()
    assert (lab.name, lab.url, lab.label) == (
        "schoolhub-labtest",
        "http://hub.localhost:18000",
        "org.schoolhub.lab=schoolhub-labtest",
    )
    assert lab.inventory.parts[-2:] == ("schoolhub-labtest", "hosts.yml")


def test_one_host_lab_is_hub_and_nfs():
    groups = hosts.host_names(hosts.Lab(), workers=0)
    assert groups == {"hub": ["schoolhub-lab-hub"], "nfs": ["schoolhub-lab-hub"], "workers": []}


def test_workers_are_their_own_hosts():
    groups = hosts.host_names(hosts.Lab(), workers=2)
    assert groups["workers"] == ["schoolhub-lab-worker1", "schoolhub-lab-worker2"]
    assert groups["hub"] == groups["nfs"] == ["schoolhub-lab-hub"]


def test_a_bad_worker_count_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        hosts.main(["up", "--workers", "20"])
    assert "--workers (WORKERS): from 0 to 8, got 20" in capsys.readouterr().err


def test_capabilities_leave_out_sys_resource():
    assert "SYS_RESOURCE" not in hosts.CAPABILITIES
    assert {"SYS_ADMIN", "NET_ADMIN"} <= set(hosts.CAPABILITIES)


def test_scenarios_get_the_first_free_subnet():
    taken = ["172.17.0.0/16", "10.203.0.0/24", "10.203.1.0/24", "10.204.0.0/24", "fd00::/64"]
    assert hosts.free_subnet(taken) == "10.203.2.0/24"


def test_a_full_range_is_an_error_that_says_what_to_do():
    with pytest.raises(hosts.images.BuildError, match="make lab-down"):
        hosts.free_subnet(["10.203.0.0/16"])


def test_scenarios_made_side_by_side_each_get_a_network(tmp_path, monkeypatch):
    """Six labs make their networks at once, against an engine that refuses a
    subnet another network has (as Docker does: 'Pool overlaps'); each gets one."""
    networks: dict[str, str] = {}  # name -> subnet: the engine's
    engine = threading.Lock()

    def docker(*args, check=True):
        time.sleep(0.01)  # (an engine's round trip: the others run meanwhile)
        return ""  # no network of that name yet

    def taken_subnets():
        time.sleep(0.01)
        with engine:
            return list(networks.values())

    def run(command, **kwargs):
        name, subnet = command[-1], command[command.index("--subnet") + 1]
        time.sleep(0.01)
        with engine:
            if subnet in networks.values():
                return subprocess.CompletedProcess(command, 1, "", "Pool overlaps")
            networks[name] = subnet
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(hosts, "docker", docker)
    monkeypatch.setattr(hosts, "taken_subnets", taken_subnets)
    monkeypatch.setattr(hosts.subprocess, "run", run)
    monkeypatch.setattr(hosts, "NETWORKS_LOCK", tmp_path / "networks.lock")
    failed = []

    def make(n):
        try:
            hosts.create_network(hosts.Lab(name=f"schoolhub-unit{n}", subnet=""))
        except hosts.images.BuildError as error:
            failed.append(str(error))

    labs = [threading.Thread(target=make, args=(n,)) for n in range(6)]
    for lab in labs:
        lab.start()
    for lab in labs:
        lab.join(timeout=30)
    assert failed == []
    assert len(set(networks.values())) == 6


def test_a_labs_own_settings_go_into_its_inventory(tmp_path, monkeypatch):
    monkeypatch.setattr(hosts, "ROOT", tmp_path)
    settings = tmp_path / "settings.yml"
    settings.write_text("---\njupyterhub_config_dir: /etc/course-hub\n")
    lab = hosts.Lab(name="schoolhub-unit", settings=str(settings))
    path = hosts.write_inventory(lab, {"hub": ["h"]}, "base:1", tmp_path / "base.tar")
    written = json.loads(path.read_text().split("\n", 1)[1])
    assert written["all"]["vars"]["jupyterhub_config_dir"] == "/etc/course-hub"
    assert written["all"]["children"] == {"hub": {"hosts": {"h": {}}}}
