"""Containers' CPU from their control groups (schoolhub_lab.cpu): the same
answer read here in Python (make test's runner) and by the shell script run
inside a lab host (the storm benchmark)."""

import subprocess

import pytest

from schoolhub_lab import cpu

V1, V2, V2_CGROUPFS, GONE = "a" * 64, "b" * 64, "d" * 64, "c" * 64


@pytest.fixture
def groups(tmp_path):
    """A v1 container, a v2 one (systemd's driver), a v2 one (cgroupfs)."""
    (tmp_path / f"cpuacct/docker/{V1}").mkdir(parents=True)
    (tmp_path / f"cpuacct/docker/{V1}/cpuacct.usage").write_text("2500000000\n")
    v2 = ((f"system.slice/docker-{V2}.scope", 1500000), (f"docker/{V2_CGROUPFS}", 7))
    for folder, used in v2:
        (tmp_path / folder).mkdir(parents=True)
        stat = f"usage_usec {used}\nuser_usec 1000000\nsystem_usec 500000\n"
        (tmp_path / folder / "cpu.stat").write_text(stat)
    return tmp_path


EXPECTED = {V1: 2.5, V2: 1.5, V2_CGROUPFS: 7e-6}  # the gone one has none: left out


def test_a_containers_cpu_is_read_from_its_cgroup_v1_or_v2(groups):
    assert cpu.seconds([V1, V2, V2_CGROUPFS, GONE], root=groups) == pytest.approx(EXPECTED)


def test_the_script_for_a_hosts_engine_reads_the_same(groups):
    script = cpu.script(f"echo {V1} {V2} {V2_CGROUPFS} {GONE}", root=str(groups))
    said = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert said.returncode == 0, said.stderr
    assert cpu.parse(said.stdout) == pytest.approx(EXPECTED)
