"""CPU seconds of containers, from the kernel's control groups: the one
reader of `make test`'s runner (tools/test.py: each chain's test hosts) and
of the storm benchmark (bench.py: servers, engines, the hub host).

A container's counter, by its full id: cgroup v1 (cpuacct.usage, in
nanoseconds) or v2 (usage_usec in cpu.stat; systemd's cgroup driver or
cgroupfs). The lab's hosts share the kernel's hierarchy, so a host's own
group holds its engine (dockerd, containerd, the shims); with v1 the
containers its engine runs sit beside it, with v2 inside it."""

from __future__ import annotations

import contextlib
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# (path under the root, the field in it or "" for the whole file, seconds per unit)
COUNTERS = (
    ("cpuacct/docker/{id}/cpuacct.usage", "", 1e-9),
    ("cpu,cpuacct/docker/{id}/cpuacct.usage", "", 1e-9),
    ("system.slice/docker-{id}.scope/cpu.stat", "usage_usec", 1e-6),
    ("docker/{id}/cpu.stat", "usage_usec", 1e-6),
)
# The v1 group of every container (each one's is a folder in it, by id).
DOCKER_V1 = ROOT / "cpuacct/docker"


def value(text: str, field: str) -> int:
    """A counter file's number: the whole file, or one `field value` line of it."""
    if not field:
        return int(text)
    return int(dict(line.split() for line in text.splitlines())[field])


def seconds(ids: list[str], root: Path = ROOT) -> dict[str, float]:
    """Container id -> CPU seconds used since it started, for the containers
    of this machine's kernel among `ids` (one gone meanwhile is left out)."""
    found = {}
    for container in ids:
        for path, field, unit in COUNTERS:
            with contextlib.suppress(OSError, ValueError, KeyError):
                text = (root / path.format(id=container)).read_text()
                found[container] = value(text, field) * unit
                break
    return found


def script(ids: str, root: str = str(ROOT)) -> str:
    """`seconds` as a shell script, to run where the counters are (inside a
    lab host, for the containers its engine runs): for each id that the
    command `ids` prints, a line `<id> <count> <seconds per unit>`."""
    tries = " ".join(
        f"f={root}/{path.format(id='$c')}; [ -r $f ] &&"
        f" echo $c $({f'sed -n s/^{field}.//p' if field else 'cat'} $f) {unit} && continue;"
        for path, field, unit in COUNTERS
    )
    return f"for c in $({ids}); do {tries} done; true"


def parse(said: str) -> dict[str, float]:
    """What `script` printed, as `seconds` gives it."""
    return {c: int(v) * float(unit) for c, v, unit in (line.split() for line in said.splitlines())}
