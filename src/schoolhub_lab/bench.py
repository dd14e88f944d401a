"""The 9:00 storm (`make bench`): N students sign in and start their servers at
the same moment, timed until their JupyterLab answers through the proxy; the
same N servers started with plain `docker run` on the same hosts, with the same
image, mounts and limits, are the baseline.

    python -m schoolhub_lab.bench lab [--users 50]   # make bench [N=50]: its own lab, removed after
    python -m schoolhub_lab.bench storm --hub URL --token TOKEN [--users 50]
        # any hub: users bench-001... made through the REST API with an admin's
        # token (no GitHub sign-in), started at once, stopped and removed after
        # (their home volumes stay: named as the site's jupyterhub_home_volume)

`lab` signs each student in through the lab's fake GitHub (the OAuth flow a
browser follows: sign-in page, callback, the hub's spawn and pending pages,
the progress stream, then JupyterLab through the single-user server's own
OAuth); its students are `student001`... of a bench-only class. It runs the
baseline, then two storms (cold: new homes; warm: the same users again), and
reports site.yml on fresh hosts against a second run.

While a storm runs, a sampler records the hub's REST API latency, its event
loop's lag (JupyterHub's own histogram) and, in the lab, the CPU and memory of
the hub host's containers. Results go to build/bench/<time>/: results.json,
summary.md and storm.png. Traffic goes only to the hub named (the lab:
127.0.0.1) and the lab's own containers; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import urljoin

import requests
import yaml

from schoolhub import ops
from schoolhub.spawner import tmpfs_options
from schoolhub_lab import client, cpu, hosts, images

ROOT = hosts.ROOT
# Seconds the storm's servers (up to N) may take to stop between storms.
STOP_SECONDS = 600
RESULTS = ROOT / "build/bench"
# Seconds a student waits for their server before it counts as failed.
PATIENCE = 900
# The bench's own lab: beside `make lab` and the tests' lab.
LAB = hosts.Lab(name="schoolhub-bench", subnet="10.204.1.0/24", port=8100, github_port=8180)
ORG, STUDENTS_TEAM, TAS_TEAM, TA = "bench-school", "Participants", "TAs", "bench-ta"
PROBE = "bench-probe"  # a student who starts alone before the storms
# Baseline containers: their label, name, and the worker port of the first one.
RAW_LABEL = "org.schoolhub.bench=raw"
RAW_PORT = 9000
RAW_PREFIX = "bench-raw-"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def student_names(count: int, prefix: str = "student") -> list[str]:
    return [f"{prefix}{n:03d}" for n in range(1, count + 1)]


def lab_settings(students: list[str]) -> dict:
    """The bench lab's own class in the fake GitHub: N students, the probe and one TA."""
    return {
        "jupyterhub_github_org": ORG,
        "jupyterhub_github_user_teams": [STUDENTS_TEAM],
        "jupyterhub_github_admin_teams": [TAS_TEAM],
        "jupyterhub_fake_github_data": {
            "users": [{"login": login} for login in [TA, PROBE, *students]],
            "orgs": {
                ORG: {
                    "owners": [TA],
                    "teams": {STUDENTS_TEAM: [PROBE, *students], TAS_TEAM: [TA]},
                },
            },
        },
    }


# --- one student -----------------------------------------------------------


@dataclass
class Start:
    """One student's (or one baseline container's) start, in seconds from the storm's start."""

    user: str
    ok: bool = False
    reason: str = ""
    phase: str = "start"  # what it was doing (a failure's reason says it)
    requested: float | None = None  # the spawn request returned (sign-in, or POST)
    ready: float | None = None  # JupyterLab answered through the proxy
    t0: float = 0.0  # the storm's start, as time.time() (to read the hosts' logs against)


def progress(session: requests.Session, url: str, headers: dict, deadline: float) -> None:
    """Follow the hub's progress stream (what the spawn-pending page shows)
    until the server is ready; raise with the hub's message if it failed."""
    with session.get(url, headers=headers, stream=True, timeout=(30, 60)) as answer:
        if answer.status_code != 200:
            raise client.HubError(f"progress: {answer.status_code} {answer.text[:200]}")
        for line in answer.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                raise TimeoutError("progress: no end within the patience")
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("failed"):
                raise client.HubError(f"spawn failed: {event.get('message', '')}")
            if event.get("ready"):
                return
    raise client.HubError("progress: the stream ended before the server was ready")


def browser_progress(session: requests.Session, hub: str, name: str, deadline: float) -> None:
    """`progress` as the spawn-pending page reads it: the browser's session,
    with its _xsrf cookie as the argument and header."""
    xsrf = session.cookies.get("_xsrf", path="/hub/") or ""
    progress(
        session,
        f"{hub}/hub/api/users/{name}/server/progress?_xsrf={xsrf}",
        {"X-XSRFToken": xsrf, "Accept": "text/event-stream"},
        deadline,
    )


def until_answers(get, deadline: float) -> None:
    """Call `get` (True when the server answered) every half second until it does."""
    client.wait(get, deadline - time.monotonic(), "an answer within the patience", every=0.5)


def sign_in_and_start(hub: str, login: str, t0: float, start: Start) -> None:
    """A student in a browser: sign in (the hub sends them to its spawn page,
    which starts their server), wait on the progress stream, open JupyterLab."""
    deadline = t0 + PATIENCE
    name = client.hub_name(login)
    start.phase = "sign-in"
    # A browser waits minutes for a page; a longer wait shows in the figures.
    signin = client.sign_in(hub, login, timeout=PATIENCE)
    page = signin.page
    start.requested = time.monotonic() - t0
    if page.status_code != 200:
        # 429: "Too many users trying to log in right now": a failed start here.
        raise client.HubError(f"sign-in page {page.status_code}: {text_of(page)}")
    if "Server not running" in page.text:
        # The spawn page gave up waiting for the spawn to begin (the hub's
        # not_running.html): a student would have to press "Launch" again.
        raise client.HubError("landed on 'Server not running' after signing in")
    session = signin.session
    start.phase = "progress"
    if f"/user/{name}/" not in page.url:
        browser_progress(session, hub, name, deadline)

    start.phase = "jupyterlab"
    server = client.server_url(hub, name)
    status = f"{server}/api/status"

    def lab_api() -> bool:
        answer = session.get(status, timeout=30)
        if answer.status_code == 403:  # no cookie of the server yet: the browser's way in
            sign_in_to_server(session, f"{server}/lab")
            answer = session.get(status, timeout=30)
        return answer.status_code == 200

    until_answers(lab_api, deadline)


def sign_in_to_server(session: requests.Session, page: str) -> None:
    """The redirects a browser follows when it opens JupyterLab (the server
    asks the hub, the hub answers with a code, the server sets its cookie),
    without rendering JupyterLab's page: the baseline does not render it either."""
    url = page
    for _ in range(5):
        answer = session.get(url, allow_redirects=False, timeout=30)
        location = answer.headers.get("Location")
        if answer.status_code not in (301, 302, 303, 307) or not location:
            return
        url = urljoin(url, location)
        if url == page:
            return  # back where it began: the server's cookie is set


def api_start(hub: str, token: str, name: str, t0: float, start: Start) -> None:
    """A start through the REST API (an admin's token): POST, progress, status."""
    deadline = t0 + PATIENCE
    headers = {"Authorization": f"token {token}"}
    session = requests.Session()
    answer = session.post(f"{hub}/hub/api/users/{name}/server", headers=headers, timeout=60)
    start.requested = time.monotonic() - t0
    if answer.status_code not in (201, 202):
        raise client.HubError(f"POST server {answer.status_code}: {answer.text[:200]}")
    if answer.status_code == 202:
        progress(
            session,
            f"{hub}/hub/api/users/{name}/server/progress",
            {**headers, "Accept": "text/event-stream"},
            deadline,
        )

    status_url = f"{client.server_url(hub, name)}/api/status"

    def status() -> bool:
        answer = session.get(status_url, headers=headers, timeout=30)
        if answer.status_code == 403:  # would never change: say so now
            raise PermissionError("the token may not open users' servers (scope access:servers)")
        return answer.status_code == 200

    until_answers(status, deadline)


def text_of(page: requests.Response) -> str:
    """The message of a hub error page, in one line."""
    found = re.search(r"<p>\s*(.*?)\s*</p>", page.text, re.S)
    return re.sub(r"\s+", " ", found.group(1) if found else page.reason)[:200]


def storm(users: list[str], begin) -> list[Start]:
    """Run `begin(user, t0, start)` for every user at the same moment (one
    thread each); a raised error is that start's failure."""
    starts = [Start(user) for user in users]
    barrier = threading.Barrier(len(users) + 1)
    t0_box: list[float] = []

    def one(start: Start) -> None:
        barrier.wait()
        t0 = t0_box[0]
        try:
            begin(start.user, t0, start)
            start.ready, start.ok = time.monotonic() - t0, True
        except (
            requests.RequestException,
            client.HubError,
            TimeoutError,
            OSError,
            subprocess.SubprocessError,
        ) as error:
            start.reason = f"{start.phase}: {type(error).__name__}: {error}"[:300]

    threads = [threading.Thread(target=one, args=(s,), daemon=True) for s in starts]
    for thread in threads:
        thread.start()
    t0_box.append(time.monotonic())
    for start in starts:
        start.t0 = time.time()
    barrier.wait()
    for thread in threads:
        thread.join(PATIENCE + 120)
    for start in starts:
        if not start.ok and not start.reason:
            start.reason = "no outcome within the patience"
    return starts


# --- the hub under load -----------------------------------------------------


def histogram(text: str, name: str) -> dict[float, float]:
    """A Prometheus histogram's cumulative buckets {le: count} from /metrics text."""
    buckets = {}
    for le, count in re.findall(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', text, re.M):
        buckets[math.inf if le == "+Inf" else float(le)] = float(count)
    return buckets


def bucket_quantile(before: dict, after: dict, q: float) -> float | None:
    """The upper bound of the bucket holding quantile q of what was observed between two scrapes."""
    delta = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return None
    total = delta[-1][1]
    for le, count in delta:
        if count >= q * total:
            return le
    return None


@dataclass
class Sampler:
    """Samples the hub (and, in the lab, the hub host's containers) every second or two."""

    hub: str
    token: str
    hub_host: str = ""  # the lab's hub host container: `docker stats` inside it
    api: list[tuple[float, float]] = field(default_factory=list)  # (t, seconds)
    stats: list[dict] = field(default_factory=list)
    loop: dict = field(default_factory=dict)

    def __post_init__(self):
        self.stop = threading.Event()
        self.headers = {"Authorization": f"token {self.token}"}

    def metrics(self) -> str:
        answer = requests.get(f"{self.hub}/hub/metrics", headers=self.headers, timeout=30)
        return answer.text if answer.status_code == 200 else ""

    def sample_api(self, t0: float) -> None:
        while not self.stop.wait(2.0):
            began = time.monotonic()
            try:
                answer = requests.get(
                    f"{self.hub}/hub/api/users?limit=50", headers=self.headers, timeout=30
                )
                if answer.status_code == 200:
                    self.api.append((began - t0, time.monotonic() - began))
            except requests.RequestException:
                self.api.append((began - t0, 30.0))

    def sample_stats(self, t0: float) -> None:
        template = "{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}"
        while not self.stop.wait(1.0):
            command = ["docker", "exec", self.hub_host, "docker", "stats", "--no-stream"]
            try:
                out = subprocess.run(
                    [*command, "--format", template],
                    capture_output=True,
                    text=True,
                    timeout=30,
                ).stdout
            except subprocess.TimeoutExpired:
                continue
            now = time.monotonic() - t0
            for line in out.splitlines():
                name, cpu, memory = line.split("\t")
                self.stats.append({"t": now, "name": name, "cpu": percent(cpu), "mib": mib(memory)})

    def __enter__(self):
        self.t0 = time.monotonic()
        self.before = self.metrics()
        self.threads = [threading.Thread(target=self.sample_api, args=(self.t0,), daemon=True)]
        if self.hub_host:
            self.threads.append(
                threading.Thread(target=self.sample_stats, args=(self.t0,), daemon=True)
            )
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        after = self.metrics()
        name = "jupyterhub_event_loop_interval_seconds"
        before_h, after_h = histogram(self.before, name), histogram(after, name)
        self.loop = {
            f"p{int(q * 100)}": bucket_quantile(before_h, after_h, q) for q in (0.5, 0.95, 0.99)
        }
        self.loop["max_bucket"] = max(
            (le for le in after_h if after_h[le] > before_h.get(le, 0.0)), default=None
        )

    def summary(self) -> dict:
        latencies = sorted(seconds for _, seconds in self.api)
        by_name: dict[str, dict] = {}
        for sample in self.stats:
            entry = by_name.setdefault(sample["name"], {"cpu": [], "mib": []})
            entry["cpu"].append(sample["cpu"])
            entry["mib"].append(sample["mib"])
        return {
            "api_p50": quantile(latencies, 0.5),
            "api_p95": quantile(latencies, 0.95),
            "api_max": latencies[-1] if latencies else None,
            "api_samples": len(latencies),
            # The measured interval above the 50 ms sleep: the loop's lag.
            "event_loop_interval": self.loop,
            "containers": {
                name: {
                    "cpu_mean": round(statistics.fmean(v["cpu"]), 1),
                    "cpu_max": max(v["cpu"]),
                    "mib_max": max(v["mib"]),
                }
                for name, v in by_name.items()
            },
        }


def percent(text: str) -> float:
    return float(text.rstrip("%") or 0)


def mib(usage: str) -> float:
    """`docker stats` memory ("12.5MiB / 1GiB") in MiB."""
    amount = usage.split("/")[0].strip()
    number, unit = re.fullmatch(r"([\d.]+)\s*([KMGT]?i?B)", amount).groups()
    scale = {"B": 1 / 2**20, "KiB": 1 / 1024, "kB": 1 / 1024, "MiB": 1, "MB": 1, "GiB": 1024}
    return round(float(number) * scale.get(unit, 1024 * 1024), 1)


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile of sorted values (nearest rank)."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def result_of(starts: list[Start], sampler: Sampler | None = None) -> dict:
    ready = sorted(s.ready for s in starts if s.ok)
    reasons: dict[str, int] = {}
    for start in starts:
        if not start.ok:
            reasons[start.reason] = reasons.get(start.reason, 0) + 1
    return {
        "users": len(starts),
        "failed": len(starts) - len(ready),
        "reasons": reasons,
        "p50": quantile(ready, 0.5),
        "p95": quantile(ready, 0.95),
        "max": ready[-1] if ready else None,
        "ready": ready,
        "requested": sorted(s.requested for s in starts if s.requested is not None),
        **({"hub": sampler.summary()} if sampler else {}),
    }


# --- where the CPU goes: each container's cgroup ------------------------------------


def cpu_seconds(ids: str, host: str = "") -> dict[str, float]:
    """Container id -> CPU seconds used, for the containers the command `ids`
    lists: in a lab host's engine (`host`), or this machine's (the lab's hosts
    themselves)."""
    script = cpu.script(ids)
    return cpu.parse(in_host(host, "sh", "-c", script) if host else images.run("sh", "-c", script))


@dataclass
class CpuUse:
    """The CPU a storm costs: the servers' own, the hosts' engines' (hub host
    and workers), and the hub host's containers' (hub, proxy, fake GitHub)."""

    hub_host: str
    workers: list[str]

    def hosts(self) -> float:
        return sum(
            cpu_seconds(
                f"docker inspect -f '{{{{.Id}}}}' {self.hub_host} {' '.join(self.workers)}"
            ).values()
        )

    def hub(self) -> float:
        return sum(cpu_seconds("docker ps -q --no-trunc", self.hub_host).values())

    def __enter__(self):
        self.before = (self.hosts(), self.hub())
        return self

    def __exit__(self, *exc):
        self.after = (self.hosts(), self.hub())

    def used(self, label: str, count: int) -> dict:
        """Seconds of CPU per start (the storm's `count` starts)."""
        servers = sorted(
            seconds
            for worker in self.workers
            for seconds in cpu_seconds(
                f"docker ps -q --no-trunc --filter label={label}", worker
            ).values()
        )
        return {
            "servers": len(servers),
            "server_p50": quantile(servers, 0.5),
            "server_mean": statistics.fmean(servers) if servers else None,
            "engines": (self.after[0] - self.before[0]) / count,
            "hub_host": (self.after[1] - self.before[1]) / count,
        }


# --- the baseline: plain `docker run` on the same hosts --------------------------


def in_host(host: str, *args: str, timeout: float = 300, check: bool = True) -> str:
    """A command in one of the lab's host containers."""
    done = subprocess.run(
        ["docker", "exec", host, *args], capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode:
        raise client.HubError(f"{host}: {' '.join(args[:3])}: {done.stderr.strip()[-300:]}")
    return done.stdout


def raw_run_args(spec: dict, index: int) -> list[str]:
    """`docker run` arguments for baseline container `index`: the image, mounts,
    limits, capabilities and environment of a user's service (its TaskTemplate),
    a home volume of its own, JupyterLab without the hub."""
    container = spec["ContainerSpec"]
    limits = spec.get("Resources", {}).get("Limits", {})
    user = f"{RAW_PREFIX}{index:03d}"
    args = ["run", "--detach", "--name", user, "--label", RAW_LABEL, "--user", "root"]
    if limits.get("MemoryBytes"):
        args += ["--memory", f"{limits['MemoryBytes']}b"]
    if limits.get("NanoCPUs"):
        args += ["--cpus", str(limits["NanoCPUs"] / 1e9)]
    if limits.get("Pids"):
        args += ["--pids-limit", str(limits["Pids"])]
    args += [
        f"--cap-drop={cap.removeprefix('CAP_')}" for cap in container.get("CapabilityDrop") or []
    ]
    args += [
        f"--cap-add={cap.removeprefix('CAP_')}" for cap in container.get("CapabilityAdd") or []
    ]
    args += [f"--sysctl={k}={v}" for k, v in (container.get("Sysctls") or {}).items()]
    # (Not its firewall either: the baseline is reached on a published port,
    # from no proxy.)
    for variable in container.get("Env") or []:
        if not variable.startswith(("JUPYTERHUB_", "JPY_", "NB_USER=", "SCHOOLHUB_SERVER_PEERS=")):
            args += ["--env", variable]
    args += ["--env", f"NB_USER={user}"]
    env = dict(variable.split("=", 1) for variable in container.get("Env") or [])
    for mounted in container.get("Mounts") or []:
        if mounted["Target"] == f"/home/{env.get('NB_USER')}":  # the user's home volume
            mounted = {**mounted, "Source": user, "Target": f"/home/{user}"}
        kind = mounted.get("Type", "volume")
        if kind == "tmpfs":  # as the docker spawner mounts a server's (Swarm's are alike)
            options = tmpfs_options(mounted["TmpfsOptions"]["SizeBytes"])
            args += ["--tmpfs", f"{mounted['Target']}:{options}"]
            continue
        option = f"type={kind},source={mounted['Source']},target={mounted['Target']}"
        if kind == "volume":
            option += f",volume-label={RAW_LABEL}"
        args += ["--mount", option + (",readonly" if mounted.get("ReadOnly") else "")]
    args += ["--publish", f"{RAW_PORT + index}:8888", container["Image"].split("@")[0]]
    return args + [
        "jupyter",
        "lab",
        "--ip=0.0.0.0",
        "--port=8888",
        "--no-browser",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
    ]


def host_address(host: str) -> str:
    template = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
    return images.run("docker", "inspect", "--format", template, host).split()[0]


def raw_storm(workers: list[str], spec: dict, count: int, cpu: CpuUse) -> list[Start]:
    """`count` plain `docker run`, spread over the workers as the hub spreads
    servers, each timed until its JupyterLab answers (and what CPU it cost)."""
    addresses = {w: host_address(w) for w in workers}
    placed = {f"{RAW_PREFIX}{i:03d}": workers[(i - 1) % len(workers)] for i in range(1, count + 1)}

    def begin(user: str, t0: float, start: Start) -> None:
        index = int(user.removeprefix(RAW_PREFIX))
        worker = placed[user]
        in_host(worker, "docker", *raw_run_args(spec, index))
        start.requested = time.monotonic() - t0
        url = f"http://{addresses[worker]}:{RAW_PORT + index}/api/status"
        until_answers(lambda: requests.get(url, timeout=30).status_code == 200, t0 + PATIENCE)

    try:
        with cpu:
            starts = storm(list(placed), begin)
        times = {}
        for worker in workers:
            times.update(container_times(worker, RAW_LABEL))
        return starts, raw_phases(starts, times), cpu.used(RAW_LABEL, count)
    finally:
        for worker in workers:
            remove_raw(worker)


# --- where a start's time goes ---------------------------------------------------

# Jupyter Server's line once it serves.
LISTENING = "is running at:"
SERVICE_LABEL = "com.docker.swarm.service.name"
HUB_CREATED = re.compile(r"Created service jupyter-(\S+) ")
HUB_TOOK = re.compile(r"User (\S+) took [0-9.]+ seconds to start")


def epoch(stamp: str) -> float:
    """Docker's RFC 3339 time (nanoseconds, Z) as time.time()."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def container_times(worker: str, label: str) -> dict[str, dict[str, float]]:
    """Container name (without Swarm's task suffix) -> when it started and
    when its Jupyter Server said it serves, for the worker's containers with `label`."""
    script = (
        f"for c in $(docker ps -q --filter label={label}); do "
        "echo $(docker inspect -f '{{.Name}} {{.State.StartedAt}}' $c)"
        f" $(docker logs -t $c 2>&1 | grep -m1 '{LISTENING}' | cut -d' ' -f1); done"
    )
    times = {}
    for line in in_host(worker, "sh", "-c", script, timeout=600).splitlines():
        name, started, *listening = line.split()
        times[name.lstrip("/").split(".")[0]] = {
            "started": epoch(started),
            **({"listening": epoch(listening[0])} if listening else {}),
        }
    return times


def hub_times(hub_host: str, since: float) -> dict[str, dict[str, float]]:
    """User -> when the hub created their service and when it saw the server up."""
    # The hub logs to stderr.
    log = in_host(hub_host, "sh", "-c", f"docker logs -t --since {int(since)} jupyterhub 2>&1")
    times: dict[str, dict[str, float]] = {}
    for line in log.splitlines():
        for key, pattern in (("created", HUB_CREATED), ("hub_ready", HUB_TOOK)):
            found = pattern.search(line)
            if found:
                times.setdefault(found.group(1), {})[key] = epoch(line.split()[0])
    return times


def spans(points: list[dict[str, float]], order: list[str]) -> dict[str, dict]:
    """p50/p95 of the time between consecutive points (seconds), over the starts having both."""
    result = {}
    for before, after in zip(order, order[1:], strict=False):
        gaps = sorted(p[after] - p[before] for p in points if before in p and after in p)
        result[f"{before} → {after}"] = {
            "n": len(gaps),
            "p50": quantile(gaps, 0.5),
            "p95": quantile(gaps, 0.95),
        }
    return result


def raw_phases(starts: list[Start], times: dict) -> dict:
    points = []
    for start in starts:
        if start.ok:
            point = {"storm": start.t0, "ready": start.t0 + start.ready}
            points.append({**point, **times.get(start.user, {})})
    return spans(points, ["storm", "started", "listening", "ready"])


def our_phases(starts: list[Start], hub_host: str, workers: list[str]) -> dict:
    """Each step of our starts: the hub creates the service, Swarm starts its
    container, JupyterLab serves, the hub sees it, the student's browser gets in."""
    t0 = starts[0].t0
    hub = hub_times(hub_host, t0 - 1)
    containers = {}
    for worker in workers:
        containers.update(container_times(worker, SERVICE_LABEL))
    points = []
    for start in starts:
        if start.ok:
            name = client.hub_name(start.user)
            point = {"storm": start.t0, "ready": start.t0 + start.ready}
            points.append({**point, **hub.get(name, {}), **containers.get(f"jupyter-{name}", {})})
    return spans(points, ["storm", "created", "started", "listening", "hub_ready", "ready"])


def remove_raw(worker: str) -> None:
    found = in_host(worker, "docker", "ps", "--all", "--quiet", "--filter", f"label={RAW_LABEL}")
    if found.split():
        in_host(worker, "docker", "rm", "--force", *found.split(), timeout=600)
    volumes = in_host(worker, "docker", "volume", "ls", "--quiet", "--filter", f"label={RAW_LABEL}")
    if volumes.split():
        in_host(worker, "docker", "volume", "rm", *volumes.split(), timeout=600)


# --- reports ------------------------------------------------------------------------


def ratios(ours: dict, raw: dict) -> dict:
    return {
        key: round(ours[key] / raw[key], 2) if ours.get(key) and raw.get(key) else None
        for key in ("p50", "p95", "max")
    }


def markdown(results: dict) -> str:
    storms = results["storms"]
    lines = [
        f"# The storm: N={results['users']} ({results['when']})",
        "",
        "| run | failed | p50 s | p95 s | max s | p95 / raw p95 | API p95 s | loop lag p95 s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in storms.items():
        hub = run.get("hub", {})
        ratio = run.get("vs_raw", {}).get("p95")
        loop = hub.get("event_loop_interval") or {}
        lines.append(
            f"| {name} | {run['failed']} | {fmt(run['p50'])} | {fmt(run['p95'])} | "
            f"{fmt(run['max'])} | {fmt(ratio) if ratio else '1.00' if name == 'raw' else '—'} | "
            f"{fmt(hub.get('api_p95'))} | {fmt(loop.get('p95'))} |"
        )
    for name, run in storms.items():
        for span, figures in (run.get("phases") or {}).items():
            lines.append(
                f"- {name}: {span}: p50 {fmt(figures['p50'])} s, p95 {fmt(figures['p95'])} s"
                f" ({figures['n']} starts)"
            )
    for name, run in storms.items():
        for reason, count in run["reasons"].items():
            lines.append(f"- {name}: {count} × {reason}")
    for name, run in storms.items():
        for container, figures in (run.get("hub", {}).get("containers") or {}).items():
            lines.append(
                f"- {name}: hub host's {container}: CPU mean {figures['cpu_mean']}%, "
                f"max {figures['cpu_max']}%, memory max {figures['mib_max']} MiB"
            )
    each_storm = {
        "cpu": lambda cpu: (
            f"CPU seconds per start: server {fmt(cpu['server_p50'])} (p50 of "
            f"{cpu['servers']}; mean {fmt(cpu['server_mean'])}), the hosts' engines "
            f"{fmt(cpu['engines'])}, the hub host's containers {fmt(cpu['hub_host'])}"
        ),
        "servers_mib": lambda memory: (
            f"{memory['servers']} servers just started use {memory['mean']} MiB "
            f"each on average (max {memory['max']})"
        ),
    }
    for key, line in each_storm.items():
        lines += [f"- {name}: {line(run[key])}" for name, run in storms.items() if run.get(key)]
    if "incident" in results:
        lines.append(f"- incident: {results['incident']}")
    if "site" in results:
        site = results["site"]
        lines.append(
            f"- site.yml on fresh lab hosts: {site['fresh']:.0f} s; a second run: "
            f"{site['second']:.0f} s (changed: {site['second_changed']})"
        )
    return "\n".join(lines) + "\n"


def fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (timeline, spread) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    for name, run in results["storms"].items():
        ready = run["ready"]
        timeline.step(ready, range(1, len(ready) + 1), where="post", label=name)
        spread.hist(ready, bins=20, alpha=0.5, label=name)
    timeline.set(xlabel="seconds since the storm began", ylabel="servers ready", title="Readiness")
    spread.set(xlabel="seconds to ready", ylabel="students", title="Time to ready")
    for axes in (timeline, spread):
        axes.legend()
    figure.suptitle(f"N={results['users']}, {results['when']}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_results(results: dict) -> Path:
    directory = RESULTS / results["when"].replace(":", "")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results, indent=2))
    (directory / "summary.md").write_text(markdown(results))
    plot(results, directory / "storm.png")
    return directory


# --- the two modes ------------------------------------------------------------------


def timed_playbook(lab: hosts.Lab, log: Path) -> tuple[float, dict]:
    """site.yml on the lab: its seconds and each host's `changed` count."""
    began = time.monotonic()
    with log.open("w") as out:
        hosts.run_playbook(lab, "site.yml", log=out)
    changed = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", log.read_text(), re.M))
    return time.monotonic() - began, {host: int(n) for host, n in changed.items()}


def service_spec(hub_host: str, user: str) -> dict:
    """The TaskTemplate of `user`'s service, as the hub made it (found by the
    user's name in its environment: service names are escaped)."""
    ids = in_host(hub_host, "docker", "service", "ls", "--quiet").split()
    services = json.loads(in_host(hub_host, "docker", "service", "inspect", *ids)) if ids else []
    for service in services:
        template = service["Spec"]["TaskTemplate"]
        if f"NB_USER={user}" in template["ContainerSpec"].get("Env", []):
            return template
    raise client.HubError(f"no service of {user} on {hub_host}")


def server_memory(workers: list[str]) -> dict:
    """Memory of the users' servers running on the workers (just started, idle)."""
    used = []
    for worker in workers:
        out = in_host(worker, "docker", "stats", "--no-stream", "--format", "{{.MemUsage}}")
        used += [mib(line) for line in out.splitlines() if line.strip()]
    if not used:
        return {}
    return {"servers": len(used), "mean": round(statistics.fmean(used)), "max": max(used)}


def run_lab(count: int, host_os: str, keep: bool, again: bool) -> dict:
    """The bench lab (hub + two workers): site.yml on fresh hosts and again,
    the cold storm, the baseline, the warm storm; removed after unless `keep`.
    `again`: the kept lab as it is (site.yml only if the class changed)."""
    lab = hosts.Lab(LAB.name, LAB.subnet, LAB.port, LAB.github_port, str(LAB.state / "class.yml"))
    students = student_names(count)
    groups = hosts.host_names(lab, workers=2)
    names = sorted({h for members in groups.values() for h in members})
    hub_host, workers = groups["hub"][0], groups["workers"]
    published = [f"127.0.0.1:{lab.port}:8000", f"127.0.0.1:{lab.github_port}:8080"]
    results: dict = {"users": count, "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    settings = Path(lab.settings)
    new_class = yaml.safe_dump(lab_settings(students))
    changed_class = not settings.exists() or settings.read_text() != new_class
    try:
        base, archive = hosts.start_hosts(
            lab, host_os, {n: (n, published if n == hub_host else []) for n in names}
        )
        lab.state.mkdir(parents=True, exist_ok=True)
        settings.write_text(new_class)
        hosts.write_inventory(lab, groups, base, archive)
        if not again:
            say("site.yml on the fresh hosts...")
            fresh, _ = timed_playbook(lab, lab.state / "site-fresh.log")
            say(f"site.yml took {fresh:.0f} s; again...")
            second, changed = timed_playbook(lab, lab.state / "site-second.log")
            results["site"] = {"fresh": fresh, "second": second, "second_changed": changed}
        elif changed_class:
            timed_playbook(lab, lab.state / "site-class.log")
        hosts.wait_for_hub(lab.url)
        ta = client.Hub(lab.url, client.sign_in(lab.url, TA), client.hub_name(TA))
        token = ta.headers["Authorization"].split()[1]
        admin = ops.Hub(f"{lab.url}/hub/api", token)
        hub_names = [client.hub_name(s) for s in students]

        def ours(name: str) -> dict:
            say(f"storm {name}: {count} students sign in and start at once...")
            with Sampler(lab.url, token, hub_host) as sampler, cpu:
                starts = storm(students, partial(sign_in_and_start, lab.url))
            return {
                **result_of(starts, sampler),
                "servers_mib": server_memory(workers),
                "phases": our_phases(starts, hub_host, workers),
                "cpu": cpu.used(SERVICE_LABEL, count),
            }

        # The TA's sign-in started their server: stopped, as every server before a storm.
        # One student's server alone first, as a TA tries the hub before class:
        # its service is what the baseline copies. The TA's sign-in started a
        # server too; every server is stopped before each storm.
        probe = Start(PROBE)
        sign_in_and_start(lab.url, PROBE, time.monotonic(), probe)
        spec = service_spec(hub_host, client.hub_name(PROBE))
        admin.stop([*hub_names, client.hub_name(PROBE), client.hub_name(TA)], STOP_SECONDS)
        say(f"baseline: {count} docker run on {', '.join(workers)}...")
        cpu = CpuUse(hub_host, workers)
        with Sampler(lab.url, token, hub_host) as sampler:
            starts, phases, used = raw_storm(workers, spec, count, cpu)
            storms = {"raw": {**result_of(starts, sampler), "phases": phases, "cpu": used}}
        storms["cold"] = ours("cold")
        try:
            admin.stop(hub_names, STOP_SECONDS)
            storms["warm"] = ours("warm")
            admin.stop(hub_names, STOP_SECONDS)
        except (requests.RequestException, client.HubError, TimeoutError) as error:
            # Kept with what was measured: at N=100 the hub host's Docker (its
            # Swarm manager) once crashed while the storm's services were removed.
            results["incident"] = f"stopping the storm's servers: {type(error).__name__}: {error}"
            say(results["incident"])
        for name in storms.keys() - {"raw"}:
            storms[name]["vs_raw"] = ratios(storms[name], storms["raw"])
        results["storms"] = storms
        return results
    finally:
        if not keep:
            hosts.down(lab)


def run_any_hub(hub: str, token: str, count: int) -> dict:
    names = student_names(count, "bench-")
    admin = ops.Hub(f"{hub}/hub/api", token)
    admin.create(names)
    if admin.running(names):  # left by an interrupted run: every start must be a new one
        admin.stop(names, STOP_SECONDS)
    results: dict = {"users": count, "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        with Sampler(hub, token) as sampler:
            starts = storm(names, partial(api_start, hub, token))
        results["storms"] = {"api": result_of(starts, sampler)}
        admin.stop(names, STOP_SECONDS)
        return results
    finally:
        admin.remove(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["lab", "storm"])
    parser.add_argument("--users", type=int, default=int(os.environ.get("N") or 50))
    parser.add_argument("--os", default=os.environ.get("HOST_OS", "debian13"))
    parser.add_argument("--keep", action="store_true", help="lab: keep the bench lab after")
    parser.add_argument(
        "--again", action="store_true", help="lab: use the kept bench lab (no site.yml timing)"
    )
    parser.add_argument("--hub", help="storm: the hub's URL")
    parser.add_argument("--token", default=os.environ.get("JUPYTERHUB_API_TOKEN", ""))
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500:
        parser.error(f"--users (N): from 1 to 500, got {args.users}")
    if args.mode == "storm" and not (args.hub and args.token):
        parser.error("storm needs --hub and --token (or JUPYTERHUB_API_TOKEN): an admin's")

    def run() -> None:
        if args.mode == "lab":
            results = run_lab(args.users, args.os, args.keep, args.again)
        else:
            results = run_any_hub(args.hub.rstrip("/"), args.token, args.users)
        directory = write_results(results)
        print(markdown(results))
        say(f"results in {directory}")

    return images.exit_code(run, (*hosts.FAILURES, client.HubError), say)


if __name__ == "__main__":
    sys.exit(main())
