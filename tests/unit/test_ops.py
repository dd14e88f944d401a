import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from role_settings import settings_with

from schoolhub import ops

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def user(name, last=None, ready=True, admin=False):
    servers = {"": {"ready": ready, "last_activity": last}} if last or not ready else {}
    return {"name": name, "admin": admin, "servers": servers}


def test_idle_seconds_of_a_running_server():
    assert ops.idle_seconds(user("a", "2026-07-01T11:00:00.000000Z"), NOW) == 3600


def test_stopped_server_is_never_idle():
    assert ops.idle_seconds(user("a"), NOW) is None


def test_table_lists_users_sorted_with_state():
    lines = ops.table(
        [user("zoe", "2026-07-01T11:00:00Z", admin=True), user("amy"), user("bob", ready=False)]
    ).splitlines()
    assert lines[0].split() == ["user", "admin", "server", "last", "activity"]
    assert [line.split()[0] for line in lines[1:]] == ["amy", "bob", "zoe"]
    assert lines[1].split()[1] == "stopped"
    assert lines[2].split()[1] == "pending"
    assert lines[3].split()[1:3] == ["yes", "ready"]


USERS = [user("ada", "2026-07-01T11:00:00Z"), user("bob"), user("cy", "2026-07-01T11:59:00Z")]


def test_what_each_action_stops():
    assert ops.to_stop("stop-all", USERS, 0, [], NOW) == ["ada", "cy"]
    assert ops.to_stop("cull", USERS, 1800, [], NOW) == ["ada"]
    assert ops.to_stop("stop", USERS, 0, ["bob", "cy"], NOW) == ["cy"]  # bob is not running


def test_stopping_an_unknown_user_is_an_error_naming_them():
    with pytest.raises(ValueError, match="no such user: zed"):
        ops.to_stop("stop", USERS, 0, ["ada", "zed"], NOW)


def test_the_hub_is_found_from_its_settings(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "ops_api_token").write_text("ops-token\n")
    settings = tmp_path / "schoolhub.yaml"
    doc = settings_with(
        {
            "hub": {"port": 9091, "public_url": "https://hub.example", "secrets_dir": str(secrets)},
            "auth": {"kind": "native", "native": {"admin_users": ["tina"]}},
        }
    )
    settings.write_text(yaml.safe_dump(doc))
    hub = ops.Hub.from_settings(settings)
    assert (hub.api, hub.token) == ("http://127.0.0.1:9091/hub/api", "ops-token")


class FakeHub:
    def __init__(self):
        self.stopped, self.removed = [], []

    def stop(self, names):
        self.stopped += names

    def remove(self, names):
        self.removed += names


CLASS = [*USERS, user("tina", admin=True), user("bob.smith"), {**user("tom"), "ta": True}]


def test_removing_without_confirmation_removes_nothing_and_says_who_would_go():
    hub = FakeHub()
    answer = ops.remove(hub, CLASS, [], confirmed=False)
    assert (hub.stopped, hub.removed, answer["removed"], answer["homes"]) == ([], [], [], [])
    assert answer["said"] == [
        "would remove 4 user(s) and their homes: ada, bob, bob.smith, cy",
        "nothing removed: run again with -e users_confirm=yes to remove them",
    ]


def test_removing_takes_every_student_and_no_admin_their_servers_stopped_first():
    hub = FakeHub()
    answer = ops.remove(hub, CLASS, [], confirmed=True)
    assert hub.stopped == ["ada", "cy"] and hub.removed == ["ada", "bob", "bob.smith", "cy"]
    # Their homes by the names the spawner gives them (schoolhub-home-<escaped>).
    assert answer["homes"] == ["ada", "bob", "bob-2esmith", "cy"]
    assert answer["removed"] == hub.removed and answer["stopped"] == hub.stopped


def test_removing_named_users_only_those_and_an_unknown_one_is_named():
    assert ops.to_remove(CLASS, ["tina", "bob"]) == ["bob", "tina"]
    with pytest.raises(ValueError, match="remove: no such user: zed"):
        ops.to_remove(CLASS, ["ada", "zed"])


def test_a_ta_team_member_is_staff_without_being_an_admin(monkeypatch):
    """hub.ta_role server-admin: TAs are known by their team's group, stay at
    the end of a course, and show as TA in the list."""
    hub = ops.Hub("http://hub", "token", {"school:tas"})
    answer = [
        {**user("tom"), "groups": ["school:tas"]},
        {**user("ada"), "groups": ["school:students"]},
        {**user("zoe", admin=True), "groups": []},
    ]
    monkeypatch.setattr(hub, "call", lambda method, path: answer if "offset=0&" in path else [])
    users = hub.users()
    assert [u["ta"] for u in users] == [True, False, True]
    assert ops.to_remove(users, []) == ["ada"]
    assert [line.split()[:2] for line in ops.table(users).splitlines()[1:]] == [
        ["ada", "stopped"],
        ["tom", "TA"],
        ["zoe", "yes"],
    ]


class Api(BaseHTTPRequestHandler):
    """JupyterHub's /users as it answers without the pagination header: a
    plain list, `limit` capped at the hub's largest page (here 100)."""

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        offset, limit = int(query["offset"][0]), min(int(query["limit"][0]), 100)
        users = self.server.users
        if query.get("state") == ["active"]:
            users = [u for u in users if u["servers"]]
        self.answer(200, users[offset : offset + limit])

    def do_POST(self):
        given = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        names = {u["name"] for u in self.server.users}
        new = [n for n in given["usernames"] if n not in names]
        self.server.users += [user(n) for n in new]
        self.answer(201 if new else 409, {})

    def do_DELETE(self):  # /hub/api/users/<name>/server
        name = self.path.split("/")[4]
        if name not in {u["name"] for u in self.server.users}:
            self.answer(404, {"status": 404, "message": "Not Found"})
            return
        with self.server.lock:
            self.server.deletes.append(name)
            self.server.at_once += 1
            self.server.most_at_once = max(self.server.most_at_once, self.server.at_once)
        time.sleep(0.05)  # a stop takes a while: the next DELETEs do not wait for it
        with self.server.lock:
            self.server.at_once -= 1
        self.server.users = [
            u | {"servers": {}} if u["name"] == name else u for u in self.server.users
        ]
        self.answer(204, None)

    def answer(self, status, body):
        self.send_response(status)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    server.users = [
        user(f"s{n:03}", "2026-07-01T11:00:00Z" if n % 3 == 0 else None) for n in range(250)
    ]
    server.deletes, server.lock, server.at_once, server.most_at_once = [], threading.Lock(), 0, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_every_user_is_listed_page_by_page_past_the_hubs_largest_page(api):
    hub = ops.Hub(f"http://127.0.0.1:{api.server_port}/hub/api", "token")
    assert [u["name"] for u in hub.users()] == [f"s{n:03}" for n in range(250)]
    assert hub.running(["s000", "s001", "s249"]) == {"s000", "s249"}


def test_creating_users_that_all_exist_is_no_error_and_stopping_waits_for_every_server(api):
    hub = ops.Hub(f"http://127.0.0.1:{api.server_port}/hub/api", "token")
    hub.create(["s000", "s001"])  # 409 from the hub: all there already
    hub.create(["s000", "new"])
    assert [u["name"] for u in hub.users()][-1] == "new"
    running = sorted(hub.running([u["name"] for u in hub.users()]))
    hub.stop([*running, "never-signed-in"], seconds=10)  # (404 for that one)
    assert sorted(api.deletes) == running and len(running) == 84
    assert 1 < api.most_at_once <= ops.Hub.STOPPING
    assert hub.running(running) == set()
