"""Run every test of `make test` as stages, side by side where they can be.

    python tools/test.py                 # everything (what `make test` and CI run)
    python tools/test.py hub-debian12    # one chain: a scenario on one OS, or lab-test
    python tools/test.py --list          # the chains and their steps

A chain is a series of steps run one after another (a molecule scenario on one
OS: create, prepare, converge, idempotence, verify, then destroy whatever
happened). Chains run side by side, at most JOBS at a time, each on its own
hosts and network; a chain that reuses images another one builds waits for
that step. Every step is reported, with its time, in build/reports/stages.xml
(a JUnit report): a step that failed, or never ran because an earlier one
failed, counts as failed. The closing line adds up every JUnit report in
build/reports/, and the exit code is 1 when anything failed or nothing ran.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import yaml

from schoolhub_lab import cpu
from schoolhub_lab.images import IMAGES_OS

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv/bin"
REPORTS = ROOT / "build/reports"
LOGS = REPORTS / "logs"
# Sized for 2 cores and 24 GiB: the chains wait much of the time (servers
# starting, hosts booting, bounded waits), so all six at once keep both cores
# busy to the end (each run prints how busy the machine was); with one place
# fewer, the last one starts when the first ends and runs alone at the end.
JOBS = 6
MINUTE = 60

# The lab `make lab-test` makes beside the developer's own (`make lab`).
LAB_TEST_ENV = {
    "LAB_NAME": "schoolhub-labtest",
    "LAB_SUBNET": "10.205.0.0/24",
    "LAB_PORT": "18000",
    "LAB_GITHUB_PORT": "18080",
    # One worker: the quickstart scenario deploys a hub and two workers.
    "WORKERS": "1",
    # A site's own names, where the playbooks must not assume ours (backup, restore).
    "LAB_SETTINGS": str(ROOT / "tests/lab/settings.yml"),
}


# Logs without colour codes, with each task's time (and the slowest ones at the end).
PLAIN = {
    "NO_COLOR": "1",
    "ANSIBLE_NOCOLOR": "1",
    "PY_COLORS": "0",
    "ANSIBLE_FORCE_COLOR": "0",
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
}


@dataclass
class Step:
    name: str
    command: list[str]
    timeout: int  # seconds
    always: bool = False  # runs even after a failed step (clean-up)
    status: str = "not run"
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of the step's own processes (the controller's side)
    why: list[str] = field(default_factory=list)  # a failed step: the lines that say why
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Chain:
    name: str
    steps: list[Step]
    env: dict[str, str] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)  # "chain:step"s that must pass first
    gate: str = ""  # the step that waits for them and a place (none: the first step)
    needs: list[str] = field(default_factory=list)  # ...and these, before the first step
    light: bool = False  # runs at once, outside the JOBS limit
    lab: str = ""  # the label value of its test hosts (schoolhub_lab.hosts), for their CPU


def test_sequence(scenario: str) -> list[str]:
    """The scenario's molecule test_sequence (its molecule.yml, or the shared config's)."""
    for path in (
        ROOT / "molecule" / scenario / "molecule.yml",
        ROOT / ".config/molecule/config.yml",
    ):
        sequence = (yaml.safe_load(path.read_text()) or {}).get("scenario", {}).get("test_sequence")
        if sequence:
            return sequence
    raise SystemExit(f"no test_sequence for the scenario {scenario}")


def platform_releases(scenario: str) -> list[str]:
    """The releases of the scenario's hosts that are on one of their own."""
    molecule = yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())
    return [p["release"] for p in molecule.get("platforms", []) if "release" in p]


# The step that saves the base of the images built in the hosts (every release's).
IMAGES_ARCHIVE = f"images-{IMAGES_OS}:archive"
# The hub scenario on Debian 13 builds every image from scratch
# (jupyterhub_image_cache_mode: save); the others, on either release, load
# them from the cache it fills (their base is Debian 13's: IMAGES_SUITE).
IMAGES_BUILT = f"hub-{IMAGES_OS}:converge"
# ...and make their hosts once its own are up (making hosts all at once
# delays the one the others wait for).
BUILDER_UP = f"hub-{IMAGES_OS}:syntax"
STEP_MINUTES = {
    "create": 15,
    "prepare": 10,
    "syntax": 5,
    "converge": 40,
    "idempotence": 20,
    "verify": 55,
}


def molecule_steps(scenario: str) -> list[Step]:
    """The scenario's test_sequence as steps: a first destroy cleans what an
    interrupted run left behind, the last one runs whatever happened."""
    sequence = test_sequence(scenario)
    steps = []
    for index, action in enumerate(sequence):
        command = [str(BIN / "molecule"), action, "--scenario-name", scenario]
        if action == "destroy":
            last = index == len(sequence) - 1
            steps.append(Step("destroy" if last else "clean", command, 10 * MINUTE, always=last))
        else:
            steps.append(Step(action, command, STEP_MINUTES.get(action, 45) * MINUTE))
    return steps


def chains() -> list[Chain]:
    """Every chain of `make test`, in the order they take free places."""
    python = str(BIN / "python")
    found = [
        Chain(
            "lint",
            [Step("lint", ["make", "--no-print-directory", "lint"], 15 * MINUTE)],
            light=True,
        ),
        Chain(
            "unit",
            [Step("unit", ["make", "--no-print-directory", "unit"], 10 * MINUTE)],
            light=True,
        ),
    ]
    for host_os in ("debian13", "debian12"):
        # The test-host image of each release, and (once) the base of the images
        # the roles build in the hosts, built before any chain needs them.
        images = [python, "-m", "schoolhub_lab.images"]
        wanted = ("host", "archive") if host_os == IMAGES_OS else ("host",)
        steps = [Step(what, [*images, what, "--os", host_os], 20 * MINUTE) for what in wanted]
        found.append(Chain(f"images-{host_os}", steps, light=True))
    order = [
        ("hub", IMAGES_OS),
        ("hub", "debian12"),
        # Its workers are of both releases (molecule.yml): one chain tests the Swarm of each.
        ("swarm", "debian13"),
        # HTTPS does not depend on the host's release (the TLS front is a container).
        ("https", "debian13"),
        # docs/quickstart.md as written, on three hosts.
        ("quickstart", "debian13"),
    ]
    for scenario, host_os in order:
        name = f"{scenario}-{host_os}"
        env = {
            "HOST_OS": host_os,
            "MOLECULE_EPHEMERAL_DIRECTORY": str(ROOT / "build/molecule" / name),
        }
        # Its hosts are made (from the host image) and boot while the images are built.
        releases = {host_os, *platform_releases(scenario)}
        needs = [f"images-{release}:host" for release in sorted(releases)] + [IMAGES_ARCHIVE]
        after = [IMAGES_BUILT] if name != IMAGES_BUILT.split(":")[0] else []
        needs += [BUILDER_UP] if after else []
        lab = f"schoolhub-{name}"  # schoolhub_lab.hosts.molecule_lab's name
        steps = molecule_steps(scenario)
        # The step that needs the images (the quickstart scenario deploys in its verify).
        gate = next(s.name for s in steps if s.name in ("converge", "verify"))
        found.append(Chain(name, steps, env, after, gate, needs, lab=lab))
    lab = [python, "-m", "schoolhub_lab.hosts"]
    steps = [
        Step("up", [*lab, "up"], 30 * MINUTE),
        Step(
            "tests",
            [str(BIN / "pytest"), "tests/lab", f"--junitxml={REPORTS}/lab.xml"],
            45 * MINUTE,
        ),
        Step("down", [*lab, "down"], 10 * MINUTE, always=True),
    ]
    env = {**LAB_TEST_ENV, "HOST_OS": "debian13"}
    # The longest chains take the first places: at the end of the run, when
    # fewer chains than places are left, the last to start is the shortest
    # (the lab test, ~10 minutes).
    found.append(
        Chain("lab-test", steps, env, [IMAGES_BUILT], "up", [IMAGES_ARCHIVE], lab=env["LAB_NAME"])
    )
    return found


class Machine:
    """How busy the machine was during the run: its CPUs (from /proc/stat)
    and memory (/proc/meminfo), sampled every few seconds."""

    EVERY = 5  # seconds

    def __init__(self):
        self.busy: list[float] = []  # each sample's share of all CPUs busy
        self.stolen_before = 0.0
        self.used = 0  # bytes of memory in use, the most seen
        self.over = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.hosts = HostsCpu()
        self.outside = Outside()

    @staticmethod
    def jiffies() -> list[int]:
        """The all-CPUs line of /proc/stat: user, nice, system, idle, iowait,
        irq, softirq, steal, ... since boot."""
        return [int(f) for f in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]

    @classmethod
    def cpu(cls) -> tuple[int, int]:
        """(busy, total) jiffies of all CPUs since boot."""
        fields = cls.jiffies()
        idle = fields[3] + fields[4]  # idle, iowait
        return sum(fields) - idle, sum(fields)

    @staticmethod
    def memory() -> tuple[int, int]:
        """(used, total) bytes."""
        info = dict(line.split(":") for line in Path("/proc/meminfo").read_text().splitlines())
        total, available = (int(info[k].split()[0]) * 1024 for k in ("MemTotal", "MemAvailable"))
        return total - available, total

    @classmethod
    def stolen(cls) -> float:
        """CPU seconds since boot the hypervisor gave to other machines
        (counted as busy: this machine waited for them)."""
        fields = cls.jiffies()
        return fields[7] / os.sysconf("SC_CLK_TCK") if len(fields) > 7 else 0.0

    def sample(self) -> None:
        self.stolen_before = self.stolen()
        busy, total = self.cpu()
        while not self.over.wait(self.EVERY):
            if len(self.busy) % (HostsCpu.EVERY // self.EVERY) == 0:
                self.hosts.sample()
            now_busy, now_total = self.cpu()
            if now_total > total:
                self.busy.append((now_busy - busy) / (now_total - total))
            busy, total = now_busy, now_total
            self.used = max(self.used, self.memory()[0])

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.over.set()
        self.thread.join(timeout=10)

    def seconds(self) -> float:
        """CPU seconds the whole machine used while sampled."""
        return sum(self.busy) * self.EVERY * (os.cpu_count() or 1)

    def said(self) -> str:
        if not self.busy:
            return "machine: not sampled"
        average = sum(self.busy) / len(self.busy)
        saturated = sum(1 for b in self.busy if b >= 0.9) * self.EVERY
        gib = 1024**3
        return (
            f"machine: {os.cpu_count()} CPUs {average:.0%} busy on average "
            f"({minutes(self.seconds())} of CPU, of which stolen by the hypervisor"
            f" {minutes(self.stolen() - self.stolen_before)}), "
            "90 % or more for "
            f"{minutes(saturated)} of {minutes(len(self.busy) * self.EVERY)}; memory used at "
            f"most {self.used / gib:.1f} GiB of {self.memory()[1] / gib:.1f}"
        )


class HostsCpu:
    """CPU seconds of each lab's test hosts (the containers labelled by
    schoolhub_lab.hosts) and of every container their engines run, sampled
    from the kernel's control groups every few seconds. With cgroup v1 an
    engine in a host puts its containers beside the host's, not in it: each is
    counted for the host its processes' parent (the container's shim) is in."""

    EVERY = 10  # seconds
    LABEL = "org.schoolhub.lab"
    V1 = cpu.DOCKER_V1

    def __init__(self):
        self.owner: dict[str, str] = {}  # cgroup id -> lab
        self.start: dict[str, float] = self.usage()  # cgroup id -> seconds, before the run
        self.last: dict[str, float] = {}

    def usage(self) -> dict[str, float]:
        """CPU seconds of every container's control group (v1), or of the
        labelled hosts' (v2: their engines' containers are inside them)."""
        if self.V1.is_dir():
            return cpu.seconds([group.name for group in self.V1.iterdir() if group.is_dir()])
        return cpu.seconds(list(self.owner))

    def hosts(self) -> dict[str, str]:
        """Container id -> lab of the running test hosts."""
        listing = f'{{{{.ID}}}} {{{{.Label "{self.LABEL}"}}}}'
        command = [
            "docker",
            "ps",
            "--no-trunc",
            "--filter",
            f"label={self.LABEL}",
            "--format",
            listing,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.SubprocessError):  # (no engine: nothing to count)
            return {}
        return dict(line.split() for line in done.stdout.splitlines() if len(line.split()) == 2)

    def host_of(self, group: str, hosts: dict[str, str]) -> str:
        """The lab of the host whose engine runs this container (v1), or ""."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = (self.V1 / group / "cgroup.procs").read_text().split()[0]
            for _ in range(10):  # up the parents, to the first one in a host
                pid = re.search(r"^PPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)[1]
                where = re.search(
                    r"cpuacct[^:]*:/docker/([0-9a-f]+)", Path(f"/proc/{pid}/cgroup").read_text()
                )
                if where and where[1] in hosts:
                    return hosts[where[1]]
        return ""

    def sample(self) -> None:
        hosts = self.hosts()
        self.owner.update(hosts)
        v1 = self.V1.is_dir()  # (v2: only the hosts' own groups, owned already)
        for group, seconds in self.usage().items():
            if v1 and group not in self.owner and (lab := self.host_of(group, hosts)):
                self.owner[group] = lab
            self.last[group] = seconds

    def of(self, lab: str) -> float:
        return sum(
            seconds - self.start.get(group, 0.0)
            for group, seconds in self.last.items()
            if self.owner.get(group) == lab
        )


class Outside:
    """CPU seconds spent outside every step's processes and test host, by
    whom: the machine's Docker engine, the kernel's threads, and containers
    that were no test host's (short-lived ones, image builds; cgroup v1 keeps
    a removed container's time in its parent group). Read at the start and the
    end of the run: what is not here is the rest (processes that exited)."""

    CONTAINERS = HostsCpu.V1 / "cpuacct.usage"  # (every container's, with cgroup v1)
    ENGINE = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2")

    def __init__(self):
        self.start = self.now()

    @staticmethod
    def processes():
        """(pid, name, parent, CPU seconds, cgroup text) of every process."""
        tick = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = stat.read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text[text.rindex(")") + 2 :].split()
                cgroup = (stat.parent / "cgroup").read_text()
                yield (
                    int(stat.parent.name),
                    name,
                    int(fields[1]),
                    (int(fields[11]) + int(fields[12])) / tick,
                    cgroup,
                )

    def now(self) -> dict[str, float]:
        engine = kernel = 0.0
        for pid, name, parent, seconds, cgroup in self.processes():
            if pid == 2 or parent == 2:
                kernel += seconds
            elif name in self.ENGINE and "/docker/" not in cgroup:  # the machine's own engine
                engine += seconds
        with contextlib.suppress(OSError, ValueError):
            containers = int(self.CONTAINERS.read_text()) / 1e9
            return {"engine": engine, "kernel": kernel, "containers": containers}
        return {"engine": engine, "kernel": kernel}

    def said(self, machine: float, steps: float, hosts: float) -> str:
        """The line that splits the rest of the machine's CPU seconds."""
        end = self.now()
        spent = {key: max(end[key] - self.start.get(key, 0.0), 0.0) for key in end}
        if "containers" in spent:
            spent["containers"] = max(spent["containers"] - hosts, 0.0)
        rest = machine - steps - hosts - sum(spent.values())
        names = {
            "engine": "the Docker engine",
            "kernel": "kernel threads",
            "containers": "other containers",
        }
        parts = [f"{names[key]} {minutes(value)}" for key, value in spent.items()]
        return (
            f"CPU outside the chains: {minutes(machine - steps - hosts)}: "
            f"{', '.join(parts)}, processes that ended {minutes(max(rest, 0.0))}"
        )


PRINTING = threading.Lock()  # (one line at a time from every chain's thread)


def log(message: str) -> None:
    with PRINTING:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def minutes(seconds: float) -> str:
    """As 1m05s; below zero (samples 5 s apart against exact counts) is 0m00s."""
    seconds = max(seconds, 0.0)
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class Places:
    """At most `jobs` chains at a time; a free place goes to the chain that
    comes first in `make test`'s order (the ones others wait for) among those
    ready to start: a chain waits for its place and its dependencies at once,
    so one whose dependency has just passed never loses its place to another
    chain released by the same step."""

    def __init__(self, jobs: int):
        self.free = jobs
        self.waiting: dict[int, object] = {}  # rank -> ready()
        self.changed = threading.Condition()

    def poke(self) -> None:
        """Something a waiting chain may depend on has changed."""
        with self.changed:
            self.changed.notify_all()

    def first_ready(self) -> int | None:
        ready = [rank for rank, is_ready in self.waiting.items() if is_ready()]
        return min(ready, default=None)

    @contextlib.contextmanager
    def take(self, rank: int, ready=lambda: True):
        with self.changed:
            self.waiting[rank] = ready
            self.changed.wait_for(lambda: self.free > 0 and self.first_ready() == rank)
            del self.waiting[rank]
            self.free -= 1
            self.changed.notify_all()
        try:
            yield
        finally:
            with self.changed:
                self.free += 1
                self.changed.notify_all()


class Runner:
    def __init__(self, selected: list[Chain], everything: list[Chain], jobs: int):
        self.selected = selected
        self.places = Places(jobs)
        self.stop = threading.Event()  # Ctrl-C: only clean-up steps still run
        self.steps = {f"{c.name}:{s.name}": s for c in everything for s in c.steps}
        self.running = {f"{c.name}:{s.name}" for c in selected for s in c.steps}

    def ready(self, chain: Chain) -> bool:
        """The steps this chain comes after are over (passed or not)."""
        return all(self.steps[n].done.is_set() for n in chain.after if n in self.running)

    def wait_for(self, names: list[str]) -> None:
        for name in names:
            if name in self.running:
                self.steps[name].done.wait()

    def not_passed(self, names: list[str]) -> str:
        """Which of these steps did not pass: "not run: ..." ("" if all did)."""
        for name in names:
            if name in self.running and self.steps[name].status != "passed":
                return f"not run: {name} did not pass"
        return ""

    def run_chain(self, rank: int, chain: Chain) -> None:
        """The steps before the chain's gate at once (making and booting its
        hosts is light); from the gate on, in a place and once what the chain
        comes after is over."""
        gate = next((i for i, s in enumerate(chain.steps) if s.name == chain.gate), 0)
        try:
            with contextlib.ExitStack() as place, (LOGS / f"{chain.name}.log").open("w") as output:
                self.wait_for(chain.needs)
                failed = self.not_passed(chain.needs)
                for index, step in enumerate(chain.steps):
                    if index == gate and not failed:
                        if chain.light:
                            self.wait_for(chain.after)
                        else:
                            place.enter_context(self.places.take(rank, lambda: self.ready(chain)))
                        failed = self.not_passed(chain.after)
                    if self.stop.is_set() and not failed:
                        failed = "not run: interrupted"
                    if failed and not step.always:
                        step.status = failed
                    else:
                        self.run_step(chain, step, output)
                        if step.status != "passed" and not failed:
                            failed = f"not run: {chain.name}:{step.name} failed"
                    step.done.set()
                    self.places.poke()
        finally:  # whatever happened, nobody waits for this chain forever
            for step in chain.steps:
                step.done.set()
            self.places.poke()

    def run_step(self, chain: Chain, step: Step, output) -> None:
        log(f"{chain.name}: {step.name} ...")
        output.flush()
        path = LOGS / f"{chain.name}.log"
        start = path.stat().st_size  # (the step's own part of the chain's log)
        output.write(f"\n$ {' '.join(step.command)}\n")
        output.flush()
        env = {**os.environ, **chain.env, "PATH": f"{BIN}:{os.environ['PATH']}", **PLAIN}
        started = time.monotonic()
        try:
            step.status, step.cpu = run(step.command, env, output, step.timeout, not step.always)
        except Exception as error:  # noqa: BLE001 (reported as the step's failure)
            step.status = f"failed ({error})"
        step.seconds = time.monotonic() - started
        log(f"{chain.name}: {step.name} {step.status} in {minutes(step.seconds)}")
        if step.status != "passed":
            output.flush()
            with path.open("rb") as said:
                said.seek(start)
                text = said.read().decode(errors="replace")
            step.why = why(text)
            tail = text.splitlines()[-120:]
            print("\n".join(f"  {chain.name} | {line}" for line in tail), flush=True)

    def run(self) -> None:
        threads = [
            threading.Thread(target=self.run_chain, args=(rank, chain), daemon=True)
            for rank, chain in enumerate(self.selected)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=1)
        except KeyboardInterrupt:
            log("interrupted: cleaning up (Ctrl-C again to leave at once)")
            self.stop.set()
            # The running steps (in sessions of their own) stop too; clean-up steps run.
            for group in list(INTERRUPTIBLE):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGTERM)
            # (Not Thread.is_alive: an interrupted join can leave it false too early.)
            for chain in self.selected:
                for step in chain.steps:
                    while not step.done.wait(timeout=1):
                        pass


# The process groups of the running steps that a Ctrl-C stops (not clean-ups).
INTERRUPTIBLE: set[int] = set()


def run(
    command: list[str], env: dict, output, timeout: float, interruptible=True
) -> tuple[str, float]:
    """Run one step's command in its own process group; past `timeout`, stop the
    whole group (molecule's ansible-playbook too), not only the command. Return
    its status and the CPU seconds it and every process it waited for used."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    if interruptible:
        INTERRUPTIBLE.add(process.pid)
    deadline = time.monotonic() + timeout
    try:
        # (wait4, not Popen.wait: its resource usage is the step's CPU.)
        while not (ended := os.wait4(process.pid, os.WNOHANG))[0]:
            if time.monotonic() > deadline:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, sig)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=30)
                return f"failed (still running after {minutes(timeout)})", 0.0
            time.sleep(0.5)
    finally:
        INTERRUPTIBLE.discard(process.pid)
    _, status, usage = ended
    process.returncode = code = os.waitstatus_to_exitcode(status)
    return "passed" if code == 0 else f"failed (exit {code})", usage.ru_utime + usage.ru_stime


# An Ansible task's failure: its host and result (the default callback's one line).
ANSIBLE_FAILED = re.compile(r"^(?:fatal|failed): \[([^\]]+)\].*FAILED! => (\{.*\})\s*$")
# Other lines that say why: pytest's first, then molecule's, a Python traceback's last line.
TELLING = (re.compile(r"^E\s"), re.compile(r"CRITICAL|ERROR|[A-Za-z]*Error\b|error:"))
WHY_LINES = 8  # per failed step, at the end of the run (a CI log's tail is what people see)


def why(text: str) -> list[str]:
    """The lines of a failed step's output that say why: each failed Ansible
    task's host, message and the end of its command's output; else pytest's
    error lines; else molecule's (and a traceback's last); else the last lines."""
    said = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if failed := ANSIBLE_FAILED.match(line):
            try:
                result = json.loads(failed[2])
            except ValueError:
                said.append(line)
                continue
            said.append(f"{failed[1]}: {result.get('msg', '')}")
            for key in ("stderr", "stdout"):
                if tail := str(result.get(key) or "").strip().splitlines()[-3:]:
                    said += tail
                    break
    for telling in TELLING:
        said = said or [line for line in lines if telling.search(line)]
    said = said or lines[-5:]
    return [line[:300] for line in said[:WHY_LINES]]


def write_stages(selected: list[Chain], path: Path) -> None:
    """The steps as a JUnit report: one test case each."""
    cases = []
    for chain in selected:
        for step in chain.steps:
            names = f"classname={quoteattr(chain.name)} name={quoteattr(step.name)}"
            case = f'<testcase {names} time="{step.seconds:.1f}"'
            if step.status == "passed":
                cases.append(case + "/>")
            else:
                cases.append(case + f"><failure message={quoteattr(step.status)}/></testcase>")
    failures = sum(1 for c in selected for s in c.steps if s.status != "passed")
    path.write_text(
        f'<testsuite name="stages" tests="{len(cases)}" failures="{failures}" errors="0" '
        f'skipped="0">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )


def count(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) of one JUnit report."""
    root = ET.parse(report).getroot()  # noqa: S314 (our own reports)
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def failures(report: Path) -> list[str]:
    """Each failed test of one JUnit report: its name and its message's first line."""
    said = []
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 (our own)
        for bad in [*case.findall("failure"), *case.findall("error")]:
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
            said.append(f"{name}: {message[0][:200] if message else '(no message)'}")
    return said


SHOWN = 12  # failed tests named at the end (a CI log's tail is what people see)


def summary(directory: Path, since: float = 0) -> int:
    """Print the counts of every report written since `since` (a time stamp), the
    failed tests by name, and the closing line; 1 when anything failed or none ran."""
    passed = failed = skipped = 0
    named: list[str] = []
    for report in sorted(directory.glob("*.xml")):
        if report.stat().st_mtime < since:
            continue  # an earlier run's
        p, f, s = count(report)
        print(f"  {report.stem}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
        named += [f"{report.stem}: {line}" for line in failures(report)]
    for line in named[:SHOWN]:
        print(f"  FAILED {line}")
    if len(named) > SHOWN:
        print(f"  ... and {len(named) - SHOWN} more (build/reports/*.xml)")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    if passed + failed == 0:
        print("no test ran: treat as a failure")
        return 1
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chains", nargs="*", help="only these chains (default: all)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS") or JOBS))
    parser.add_argument("--list", action="store_true", help="list the chains and their steps")
    parser.add_argument(
        "--until", metavar="STEP", help="stop the chains after this step, keeping their hosts"
    )
    args = parser.parse_args(argv)
    everything = chains()
    if args.list:
        for chain in everything:
            print(f"{chain.name}: {' -> '.join(s.name for s in chain.steps)}")
        return 0
    if args.jobs < 1:
        parser.error(f"--jobs (JOBS): at least 1, got {args.jobs}")
    names = {c.name for c in everything}
    unknown = sorted(set(args.chains) - names)
    if unknown:
        parser.error(f"no chain {', '.join(unknown)}; the chains are: {', '.join(sorted(names))}")
    selected = [c for c in everything if not args.chains or c.name in args.chains]
    if args.until:
        for chain in selected:
            names = [s.name for s in chain.steps]
            if args.until in names:
                chain.steps = chain.steps[: names.index(args.until) + 1]
    if not args.chains:  # a part run beside others keeps their reports
        subprocess.run(["rm", "-rf", str(REPORTS)], check=True, timeout=60)
    LOGS.mkdir(parents=True, exist_ok=True)
    started, stamp = time.monotonic(), time.time() - 1
    log(f"running {', '.join(c.name for c in selected)} ({args.jobs} at a time; logs: {LOGS})")
    with Machine() as machine:
        Runner(selected, everything, args.jobs).run()
    name = "-".join(["stages", *args.chains])
    write_stages(selected, REPORTS / f"{name}.xml")
    print(f"\nsteps ({minutes(time.monotonic() - started)} in all; CPU: the step's own processes):")
    for chain in selected:
        for step in chain.steps:
            print(
                f"  {chain.name:18} {step.name:12} {minutes(step.seconds):>7}"
                f" (CPU {minutes(step.cpu):>7})  {step.status}"
            )
    print(
        "CPU of each chain: its steps' own processes (molecule, Ansible, pytest, the"
        " browser) + its test hosts and their containers:"
    )
    steps = hosts = 0.0
    for chain in selected:
        own, its = (
            sum(s.cpu for s in chain.steps),
            machine.hosts.of(chain.lab) if chain.lab else 0,
        )
        steps, hosts = steps + own, hosts + its
        print(f"  {chain.name:18} {minutes(own):>8} + {minutes(its):>8} = {minutes(own + its)}")
    print(machine.said())
    print(machine.outside.said(machine.seconds(), steps, hosts))
    for chain in selected:
        for step in chain.steps:
            if step.why:
                print(f"why {chain.name}::{step.name} {step.status} ({LOGS}/{chain.name}.log):")
                print("\n".join(f"  | {line}" for line in step.why))
    return summary(REPORTS, since=stamp)


if __name__ == "__main__":
    sys.exit(main())
