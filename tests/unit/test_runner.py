"""The test runner (tools/test.py): every step is reported, and a step that
failed or never ran counts as failed in the closing line."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("runner", ROOT / "tools/test.py")
runner = importlib.util.module_from_spec(spec)
sys.modules["runner"] = runner  # dataclasses look their module up
spec.loader.exec_module(runner)

REPORT = '<testsuites><testsuite tests="5" failures="1" errors="1" skipped="1"/></testsuites>'


def test_counts_are_added_up(tmp_path, capsys):
    (tmp_path / "a.xml").write_text(REPORT)
    (tmp_path / "b.xml").write_text('<testsuite tests="3" failures="0" errors="0" skipped="0"/>')
    assert runner.summary(tmp_path) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "tests: 5 passed, 2 failed, 1 skipped"


def test_failed_tests_are_named_before_the_closing_line(tmp_path, capsys):
    (tmp_path / "hub.xml").write_text(
        '<testsuite tests="3" failures="1" errors="1" skipped="0">'
        '<testcase classname="test_swarm" name="test_ok"/>'
        '<testcase classname="test_swarm" name="test_profile">'
        '<failure message="assert 500 == 201&#10;more">trace</failure></testcase>'
        '<testcase classname="test_nfs" name="test_mount"><error>OSError: boom</error></testcase>'
        "</testsuite>"
    )
    assert runner.summary(tmp_path) == 1
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "  FAILED hub: test_swarm::test_profile: assert 500 == 201",
        "  FAILED hub: test_nfs::test_mount: OSError: boom",
        "tests: 1 passed, 2 failed, 0 skipped",
    ]


def test_no_test_at_all_is_a_failure(tmp_path, capsys):
    assert runner.summary(tmp_path) == 1
    assert "no test ran" in capsys.readouterr().out


def test_all_passed_is_success(tmp_path):
    (tmp_path / "a.xml").write_text('<testsuite tests="2" failures="0" errors="0" skipped="0"/>')
    assert runner.summary(tmp_path) == 0


def chain(name, *commands, after=(), always_last=False):
    steps = [runner.Step(f"s{i}", command, 30) for i, command in enumerate(commands)]
    if always_last:
        steps[-1].always = True
    return runner.Chain(name, steps, after=list(after))


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "LOGS", tmp_path)
    monkeypatch.setattr(runner, "BIN", Path(sys.executable).parent)

    def run(*chains, jobs=2):
        runner.Runner(list(chains), list(chains), jobs).run()
        runner.write_stages(list(chains), tmp_path / "stages.xml")
        return runner.count(tmp_path / "stages.xml")

    return run


def test_a_failed_step_stops_its_chain_but_clean_up_runs(run):
    converge = chain("hub", ["true"], ["false"], ["true"], ["true"], always_last=True)
    assert run(converge) == (2, 2, 0)
    assert [s.status for s in converge.steps] == [
        "passed",
        "failed (exit 1)",
        "not run: hub:s1 failed",
        "passed",
    ]


CREATE_FAILED = (
    "TASK [Start one systemd + Docker host per platform] ***\n"
    "[ERROR]: Task failed: Module failed: non-zero return code\n"
    'fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["python3"], "msg": '
    '"non-zero return code", "rc": 1, "stderr": "lab: starting host h\\nlab: error: could not'
    ' create the network n: Pool overlaps", "stdout": ""}\n'
    "PLAY RECAP ***\n"
    "CRITICAL Ansible return code was 2, command was: [...]\n"
)


def test_a_failed_step_says_why_in_its_own_words(run):
    """What the end of the run prints for a failed step: the failed task's host,
    message and the end of its command's error output; not an earlier step's."""
    say = ["python3", "-c", "import sys; print(sys.argv[1], end='')"]
    earlier = [*say, "ERROR: an earlier step's, which passed"]
    converge = chain("hub", earlier, [*say, CREATE_FAILED], ["false"])
    run(converge)
    assert converge.steps[0].why == []
    assert converge.steps[1].why == []  # (passed: printing is not failing)
    assert converge.steps[2].why == ["$ false"]  # no words of its own: its last lines
    assert runner.why(CREATE_FAILED) == [
        "localhost: non-zero return code",
        "lab: starting host h",
        "lab: error: could not create the network n: Pool overlaps",
    ]


def test_pytests_and_molecules_error_lines_say_why():
    """pytest's lines first (molecule's come with every failed verify); molecule's
    when there are none."""
    pytest_said = "CRITICAL glob failed\ncollected 3 items\nE   assert 200 == 503\nERROR failed"
    assert runner.why(pytest_said) == ["E   assert 200 == 503"]
    said = "PLAY RECAP\nCRITICAL Ansible return code was 2\nok"
    assert runner.why(said) == ["CRITICAL Ansible return code was 2"]


def test_a_chain_after_a_failed_step_never_runs_and_counts_as_failed(run):
    first = chain("hub", ["false"])
    second = chain("swarm", ["true"], ["true"], after=["hub:s0"])
    assert run(first, second) == (0, 3, 0)
    assert second.steps[0].status == "not run: hub:s0 did not pass"


def test_the_steps_before_a_chains_gate_run_while_what_it_waits_for_runs(run, tmp_path):
    """Test hosts are made and boot while the images they need are built."""
    built = tmp_path / "built"
    build = f"import pathlib, time; time.sleep(2); pathlib.Path({str(built)!r}).touch()"
    before = f"import pathlib, sys; sys.exit(pathlib.Path({str(built)!r}).exists())"
    images = chain("hub", [sys.executable, "-c", build])
    hosts = chain("swarm", [sys.executable, "-c", before], ["test", "-e", str(built)])
    hosts.after, hosts.gate = ["hub:s0"], "s1"
    assert run(images, hosts) == (3, 0, 0)


def test_what_a_chain_needs_first_failed_then_only_its_clean_up_runs(run):
    images = chain("images", ["false"])
    hosts = chain("swarm", ["true"], ["true"], always_last=True)
    hosts.needs = ["images:s0"]
    assert run(images, hosts) == (1, 2, 0)
    assert hosts.steps[0].status == "not run: images:s0 did not pass"


def test_a_step_past_its_time_is_stopped_and_failed(run):
    slow = chain("slow", [sys.executable, "-c", "import time; time.sleep(30)"])
    slow.steps[0].timeout = 1
    assert run(slow) == (0, 1, 0)
    assert slow.steps[0].status == "failed (still running after 0m01s)"


def test_every_chain_of_make_test_has_a_known_order():
    chains = {c.name: c for c in runner.chains()}
    for c in chains.values():
        assert not c.gate or c.gate in [s.name for s in c.steps], c.name
        for name in c.after + c.needs:
            other, step = name.split(":")
            assert step in [s.name for s in chains[other].steps], name
    assert {"hub-debian12", "swarm-debian13", "lab-test"} <= set(chains)
    assert "images-debian12:host" in chains["swarm-debian13"].needs  # (its workers' release)


def test_a_step_that_cannot_start_fails_and_frees_those_waiting(run):
    broken = chain("hub", ["/nonexistent/molecule"])
    waiting = chain("swarm", ["true"], after=["hub:s0"])
    assert run(broken, waiting) == (0, 2, 0)
    assert broken.steps[0].status.startswith("failed (")
    assert waiting.steps[0].status == "not run: hub:s0 did not pass"


def test_places_go_to_the_first_chain_waiting():
    places, order = runner.Places(1), []

    def chain_of_rank(rank):
        with places.take(rank):
            order.append(rank)

    threads = [runner.threading.Thread(target=chain_of_rank, args=(r,)) for r in (3, 1, 2)]
    with places.take(0):
        for thread in threads:
            thread.start()
        runner.time.sleep(0.3)  # all three wait for the one place
    for thread in threads:
        thread.join(timeout=5)
    assert order == [1, 2, 3]


def test_a_place_goes_to_the_first_chain_ready_to_start():
    """Not to the first one to ask: chains released by the same step race to
    ask, and the one others wait for must win."""
    places, order, built = runner.Places(1), [], runner.threading.Event()

    def chain(rank, ready, hold=0.0):
        with places.take(rank, ready):
            order.append(rank)
            runner.time.sleep(hold)

    threads = [
        runner.threading.Thread(target=chain, args=args)
        for args in ((1, built.is_set), (3, lambda: True), (2, lambda: True, 0.5))
    ]
    with places.take(0):
        for thread in threads:
            thread.start()
        runner.time.sleep(0.3)
    runner.time.sleep(0.1)  # 1 is not ready yet: 2 goes; then 1 is, before 3
    built.set()
    places.poke()
    for thread in threads:
        thread.join(timeout=5)
    assert order == [2, 1, 3]


def test_old_reports_do_not_count(tmp_path):
    old = tmp_path / "old.xml"
    old.write_text('<testsuite tests="1" failures="1" errors="0" skipped="0"/>')
    runner.os.utime(old, (0, 0))
    (tmp_path / "new.xml").write_text('<testsuite tests="1" failures="0" errors="0" skipped="0"/>')
    assert runner.summary(tmp_path, since=10) == 0


def test_the_machine_line_says_how_busy_the_cpus_and_memory_were(monkeypatch):
    monkeypatch.setattr(runner.Machine, "EVERY", 0.05)
    # Not the test hosts' CPU: reading every cgroup beside this busy loop
    # (which holds the GIL) took 5 s once the machine had 500 of them.
    monkeypatch.setattr(runner.HostsCpu, "sample", lambda self: None)
    with runner.Machine() as machine:
        deadline = runner.time.monotonic() + 5
        while len(machine.busy) < 3 and runner.time.monotonic() < deadline:
            sum(range(10_000))  # keeps a CPU busy
    said = machine.said()
    assert all(0 <= b <= 1 for b in machine.busy) and len(machine.busy) >= 3, machine.busy
    assert said.startswith(f"machine: {runner.os.cpu_count()} CPUs ") and " GiB of " in said
    assert ", of which stolen by the hypervisor 0m" in said
    assert 0 < machine.used < machine.memory()[1]


def test_a_steps_cpu_counts_the_processes_it_started(run):
    """(The run's CPU per chain: what each step's processes used, not its wall time.)"""
    burn = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(3 * 10**7))'])"
    busy = chain(
        "hub", [sys.executable, "-c", burn], [sys.executable, "-c", "import time; time.sleep(1)"]
    )
    assert run(busy) == (2, 0, 0)
    assert busy.steps[0].cpu > 0.3 > busy.steps[1].cpu


def test_a_labs_cpu_is_what_its_containers_used_during_the_run():
    hosts = runner.HostsCpu.__new__(runner.HostsCpu)
    hosts.start = {"host": 5.0, "stale": 7.0}  # before the run
    hosts.last = {"host": 8.0, "server": 2.5, "stale": 7.0, "other": 4.0}
    hosts.owner = {"host": "schoolhub-hub-debian13", "server": "schoolhub-hub-debian13"}
    assert hosts.of("schoolhub-hub-debian13") == 5.5


def test_without_a_docker_engine_there_are_no_hosts_to_count(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # (no docker command: the run goes on)
    assert runner.HostsCpu.__new__(runner.HostsCpu).hosts() == {}


def test_the_cpu_outside_the_chains_is_split_by_whom(monkeypatch):
    """The machine's engine (not an engine inside a test host), the kernel's
    threads, containers that were no test host's; the rest is what ended."""
    seen = iter(
        [
            [(2, "kthreadd", 0, 1.0, "0::/"), (9, "dockerd", 1, 10.0, "2:cpuacct:/")],
            [
                (2, "kthreadd", 0, 3.0, "0::/"),
                (40, "kworker/0:1", 2, 4.0, "0::/"),
                (9, "dockerd", 1, 70.0, "2:cpuacct:/"),
                (77, "dockerd", 60, 500.0, "2:cpuacct:/docker/abc"),  # a test host's own
                (88, "python3", 1, 900.0, "2:cpuacct:/"),
            ],
        ]
    )
    monkeypatch.setattr(runner.Outside, "processes", staticmethod(lambda: next(seen)))
    monkeypatch.setattr(runner.Outside, "CONTAINERS", Path("/nonexistent"))
    outside = runner.Outside()
    said = outside.said(machine=600.0, steps=300.0, hosts=200.0)
    assert said == (
        "CPU outside the chains: 1m40s: the Docker engine 1m00s, kernel threads 0m06s,"
        " processes that ended 0m34s"
    )


def test_times_are_minutes_and_seconds_and_never_below_zero():
    """A short run's CPU outside the chains can come out a little below zero
    (the machine is sampled every 5 s, the steps' CPU is exact): 0m00s, not -1m58s."""
    assert [runner.minutes(s) for s in (65.4, 0, -2)] == ["1m05s", "0m00s", "0m00s"]
