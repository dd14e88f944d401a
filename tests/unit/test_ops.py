from datetime import UTC, datetime

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
