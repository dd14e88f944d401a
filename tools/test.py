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
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv/bin"
REPORTS = ROOT / "build/reports"
LOGS = REPORTS / "logs"
# Sized for 2 cores and 24 GiB: the chains mostly wait (package downloads,
# systemd boots, servers starting), and a third one at a time hides that.
JOBS = 3
MINUTE = 60

# The lab `make lab-test` makes beside the developer's own (`make lab`).
LAB_TEST_ENV = {
    "LAB_NAME": "schoolhub-labtest",
    "LAB_SUBNET": "10.205.0.0/24",
    "LAB_PORT": "18000",
    "LAB_GITHUB_PORT": "18080",
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
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Chain:
    name: str
    steps: list[Step]
    env: dict[str, str] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)  # "chain:step"s that must pass first
    light: bool = False  # runs at once, outside the JOBS limit


def molecule_steps(scenario: str, prepare: bool) -> list[Step]:
    def molecule(action: str, timeout: int, **kwargs) -> Step:
        command = [str(BIN / "molecule"), action, "--scenario-name", scenario]
        return Step(action, command, timeout, **kwargs)

    steps = [molecule("destroy", 5 * MINUTE), molecule("create", 15 * MINUTE)]
    steps[0].name = "clean"  # whatever an interrupted run left behind
    if prepare:
        steps.append(molecule("prepare", 10 * MINUTE))
    steps += [
        molecule("syntax", 5 * MINUTE),
        molecule("converge", 40 * MINUTE),
        molecule("idempotence", 20 * MINUTE),
        molecule("verify", 45 * MINUTE),
        molecule("destroy", 10 * MINUTE, always=True),
    ]
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
        # The test-host and base images, built once before any chain of this OS needs them.
        images = [python, "-m", "schoolhub.lab.images"]
        steps = [
            Step(what, [*images, what, "--os", host_os], 20 * MINUTE)
            for what in ("host", "archive")
        ]
        found.append(Chain(f"images-{host_os}", steps, light=True))
    # The hub scenario builds every image from scratch (jupyterhub_image_cache_mode:
    # save); the swarm scenario and the lab load them from the cache it fills.
    order = [
        ("hub", "debian13", True, []),
        ("hub", "debian12", True, []),
        ("default", "debian13", True, []),
        ("default", "debian12", True, []),
        ("swarm", "debian13", False, ["hub-debian13:converge"]),
        ("swarm", "debian12", False, ["hub-debian12:converge"]),
    ]
    for scenario, host_os, prepare, after in order:
        name = f"{scenario}-{host_os}"
        env = {
            "HOST_OS": host_os,
            "MOLECULE_EPHEMERAL_DIRECTORY": str(ROOT / "build/molecule" / name),
        }
        after = [f"images-{host_os}:archive", *after]
        found.append(Chain(name, molecule_steps(scenario, prepare), env, after))
    lab = [python, "-m", "schoolhub.lab.hosts"]
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
    found.insert(
        -1, Chain("lab-test", steps, env, ["images-debian13:archive", "hub-debian13:converge"])
    )
    return found


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class Runner:
    def __init__(self, selected: list[Chain], everything: list[Chain], jobs: int):
        self.selected = selected
        self.slots = threading.Semaphore(jobs)
        self.steps = {f"{c.name}:{s.name}": s for c in everything for s in c.steps}
        self.running = {f"{c.name}:{s.name}" for c in selected for s in c.steps}

    def wait_for(self, chain: Chain) -> str:
        """Wait for the steps this chain comes after; say which did not pass."""
        for name in chain.after:
            if name in self.running:
                self.steps[name].done.wait()
                if self.steps[name].status != "passed":
                    return f"not run: {name} did not pass"
        return ""

    def run_chain(self, chain: Chain) -> None:
        env = {**os.environ, **chain.env, "PATH": f"{BIN}:{os.environ['PATH']}", **PLAIN}
        failed = self.wait_for(chain)
        if failed:
            for step in chain.steps:
                step.status = failed
                step.done.set()
            return
        place = self.slots if not chain.light else contextlib.nullcontext()
        with place, (LOGS / f"{chain.name}.log").open("w") as output:
            for step in chain.steps:
                if failed and not step.always:
                    step.status = f"not run: {failed}"
                else:
                    self.run_step(chain, step, env, output)
                    if step.status != "passed" and not failed:
                        failed = f"{chain.name}:{step.name} failed"
                step.done.set()

    def run_step(self, chain: Chain, step: Step, env: dict, output) -> None:
        log(f"{chain.name}: {step.name} ...")
        output.write(f"\n$ {' '.join(step.command)}\n")
        output.flush()
        started = time.monotonic()
        try:
            done = subprocess.run(
                step.command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=step.timeout,
            )
            step.status = "passed" if done.returncode == 0 else f"failed (exit {done.returncode})"
        except subprocess.TimeoutExpired:
            step.status = f"failed (still running after {minutes(step.timeout)})"
        step.seconds = time.monotonic() - started
        log(f"{chain.name}: {step.name} {step.status} in {minutes(step.seconds)}")
        if step.status != "passed":
            output.flush()
            tail = (LOGS / f"{chain.name}.log").read_text(errors="replace").splitlines()[-120:]
            print("\n".join(f"  {chain.name} | {line}" for line in tail), flush=True)

    def run(self) -> None:
        threads = [threading.Thread(target=self.run_chain, args=(c,)) for c in self.selected]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


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


def summary(directory: Path) -> int:
    """Print every report's counts and the closing line; 1 when anything failed or none ran."""
    passed = failed = skipped = 0
    for report in sorted(directory.glob("*.xml")):
        p, f, s = count(report)
        print(f"  {report.stem}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
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
    started = time.monotonic()
    log(f"running {', '.join(c.name for c in selected)} ({args.jobs} at a time; logs: {LOGS})")
    Runner(selected, everything, args.jobs).run()
    name = "-".join(["stages", *args.chains])
    write_stages(selected, REPORTS / f"{name}.xml")
    print(f"\nsteps ({minutes(time.monotonic() - started)} in all):")
    for chain in selected:
        for step in chain.steps:
            print(f"  {chain.name:18} {step.name:12} {minutes(step.seconds):>7}  {step.status}")
    return summary(REPORTS)


if __name__ == "__main__":
    sys.exit(main())
