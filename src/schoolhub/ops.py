"""Operations on a running hub, run inside the hub container by playbooks/users.yml.

    python3 -m schoolhub.ops list              # users, admins, servers, last activity
    python3 -m schoolhub.ops stop-all          # end of a session day
    python3 -m schoolhub.ops cull --idle 3600  # stop servers idle for an hour
    python3 -m schoolhub.ops stop --user ada   # stop these users' servers
    python3 -m schoolhub.ops remove [--user ada] [--confirm]
        # the end of a course: every student (not the admins), or these users;
        # without --confirm only says who would go

It uses the hub's REST API with the `schoolhub-ops` service token
(secret `ops_api_token`); every wait is bounded. It prints one JSON object for
the playbooks: {"stopped": [users whose server it stopped], "said": [lines for
people]}, and for remove also "removed" (users) and "homes" (their escaped
names, as their home volumes and NFS home directories are named).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from schoolhub import settings


class Hub:
    """The hub's REST API as an admin uses it: this package's operations, the
    roster check and the storm benchmark (with a TA's token)."""

    # Users per request: JupyterHub's largest page unless raised (its default is 50).
    PAGE = 200
    # DELETEs at once when stopping: each may wait up to 10 s for its server.
    STOPPING = 10

    def __init__(self, api: str, token: str, tas=()):
        # The TA teams' groups: their members are staff, as admins are.
        self.api, self.token, self.tas = api, token, tas

    @classmethod
    def from_settings(cls, path: str | Path = settings.SETTINGS) -> Hub:
        """The hub of this container, as its settings say (port, token)."""
        cfg = settings.load(path)
        return cls(
            f"http://127.0.0.1:{cfg['hub']['port']}/hub/api",
            settings.read_secret(cfg, "ops_api_token"),
            settings.groups_of(cfg, "admin_teams"),
        )

    def call(self, method: str, path: str, body=None, ok: tuple[int, ...] = ()):
        """One request; an error status other than `ok`'s raises."""
        answer = requests.request(
            method,
            f"{self.api}{path}",
            headers={"Authorization": f"token {self.token}"},
            json=body,
            timeout=30,
        )
        if answer.status_code not in ok:
            answer.raise_for_status()
        return answer.json() if answer.content else None

    def users(self, state: str = "") -> list[dict]:
        """Every user, page by page, each with "ta": an admin or a TA team's
        member; state="active": only those whose server runs or is starting."""
        users: list[dict] = []
        only = f"&state={state}" if state else ""
        while page := self.call("GET", f"/users?offset={len(users)}&limit={self.PAGE}{only}"):
            users += page
        for u in users:
            u["ta"] = settings.is_ta(self.tas, u["admin"], u.get("groups") or [])
        return users

    def running(self, names) -> set[str]:
        """Which of these users' servers run or start."""
        return {u["name"] for u in self.users("active")}.intersection(names)

    def create(self, names: list[str]) -> None:
        """These users (409: they all exist already; those that do are skipped)."""
        self.call("POST", "/users", {"usernames": names}, ok=(409,))

    def remove(self, names: list[str]) -> None:
        for name in names:
            self.call("DELETE", f"/users/{name}")

    def stop(self, names: list[str], seconds: float = 300) -> None:
        """Stop these users' servers, STOPPING at once, and wait until none runs
        (a user the hub does not know has none: 404)."""
        with ThreadPoolExecutor(self.STOPPING) as pool:
            list(
                pool.map(
                    lambda name: self.call("DELETE", f"/users/{name}/server", ok=(404,)), names
                )
            )
        wait(lambda: not self.running(names), seconds, f"the servers of {', '.join(names)} to stop")


class HubError(RuntimeError):
    """The hub refused or failed a request."""


def wait(condition, seconds: float, what: str, every: float = 1.0):
    """Poll `condition` until it is true, at most `seconds`; errors count as not
    yet. The one bounded wait of the package (ops, the lab and the tests)."""
    deadline = time.monotonic() + seconds
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except (requests.RequestException, HubError) as error:
            last_error = error
        time.sleep(every)
    raise TimeoutError(
        f"waited {seconds:.0f}s for {what}" + (f" ({last_error})" if last_error else "")
    )


def server_state(user: dict) -> str:
    server = (user.get("servers") or {}).get("")
    if not server:
        return "stopped"
    return "ready" if server.get("ready") else (server.get("pending") or "pending")


def idle_seconds(user: dict, now: datetime) -> float | None:
    """Seconds since the user's default server was last active; None if it is not running."""
    server = (user.get("servers") or {}).get("")
    if not server:
        return None
    last = server.get("last_activity") or server.get("started")
    if not last:
        return 0.0
    return (now - datetime.fromisoformat(last.replace("Z", "+00:00"))).total_seconds()


def table(users: list[dict]) -> str:
    rows = [("user", "admin", "server", "last activity")]  # admin: yes, or TA (not an admin)
    for user in sorted(users, key=lambda u: u["name"]):
        last = ((user.get("servers") or {}).get("") or {}).get("last_activity") or "-"
        admin = "yes" if user["admin"] else "TA" if user.get("ta") else ""
        rows.append((user["name"], admin, server_state(user), last))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def to_stop(action: str, users: list[dict], idle: int, chosen: list[str], now: datetime):
    """The users whose servers `action` (stop-all, cull, stop) stops."""
    running = [u["name"] for u in users if u.get("servers")]
    if action == "stop-all":
        return running
    if action == "cull":
        return [u["name"] for u in users if (idle_seconds(u, now) or 0) >= idle]
    unknown = sorted(set(chosen) - {u["name"] for u in users})
    if unknown or not chosen:
        raise ValueError(
            f"stop: no such user: {', '.join(unknown)}" if unknown else "stop: name --user"
        )
    return [name for name in chosen if name in running]


def to_remove(users: list[dict], chosen: list[str]) -> list[str]:
    """The users `remove` removes: these, or every user who is neither an admin nor a TA."""
    if not chosen:
        return sorted(u["name"] for u in users if not (u["admin"] or u.get("ta")))
    unknown = sorted(set(chosen) - {u["name"] for u in users})
    if unknown:
        raise ValueError(f"remove: no such user: {', '.join(unknown)}")
    return sorted(set(chosen))


def home_name(user: str) -> str:
    """The user's name as the spawner escapes it in their home's name."""
    from dockerspawner import DockerSpawner

    return DockerSpawner._escape(user)


def remove(hub: Hub, users: list[dict], chosen: list[str], confirmed: bool) -> dict:
    names = to_remove(users, chosen)
    if not confirmed:
        said = f"would remove {len(names)} user(s) and their homes: {', '.join(names) or 'none'}"
        return {"stopped": [], "removed": [], "homes": [], "said": [said, CONFIRM]}
    running = [u["name"] for u in users if u["name"] in names and u.get("servers")]
    hub.stop(running)
    hub.remove(names)
    said = f"removed {len(names)} user(s): {', '.join(names) or 'none'}"
    homes = [home_name(name) for name in names]
    return {"stopped": running, "removed": names, "homes": homes, "said": [said]}


CONFIRM = "nothing removed: run again with -e users_confirm=yes to remove them"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["list", "stop-all", "cull", "stop", "remove"])
    parser.add_argument("--idle", type=int, default=3600, help="cull: seconds of inactivity")
    parser.add_argument(
        "--user", action="append", default=[], help="stop, remove: a user (repeatable)"
    )
    parser.add_argument("--confirm", action="store_true", help="remove: really remove them")
    args = parser.parse_args(argv)
    hub = Hub.from_settings()
    users = hub.users()
    if args.action == "list":
        print(json.dumps({"stopped": [], "said": table(users).splitlines()}))
        return 0
    if args.action == "remove":
        try:
            print(json.dumps(remove(hub, users, args.user, args.confirm)))
        except ValueError as error:
            parser.error(str(error))
        return 0
    try:
        names = to_stop(args.action, users, args.idle, args.user, datetime.now(UTC))
    except ValueError as error:
        parser.error(str(error))
    hub.stop(names)
    said = f"stopped {len(names)} server(s): {', '.join(names) or 'none'}"
    print(json.dumps({"stopped": names, "said": [said]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
