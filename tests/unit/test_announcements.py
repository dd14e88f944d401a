"""The announcements: which are shown when, on the hub's pages (escaped) and
in JupyterLab's feed; what the service's page accepts; the settings' check."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from role_settings import settings_with
from traitlets.config import Config

from schoolhub import announcements, config
from schoolhub.settings import ConfigError, load_document

NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def settings(tmp_path, message="", expires="") -> dict:
    doc = {
        "hub": {"data_dir": str(tmp_path), "public_url": "https://hub.example"},
        "announcements": {"message": message, "expires": expires},
        "auth": {"kind": "native", "native": {"admin_users": ["tina"]}},
        "spawner": {"image": "school/notebook:2026"},
    }
    return load_document(settings_with(doc))


def shown(cfg, now=NOW) -> list[str]:
    return [a["message"] for a in announcements.current(cfg, now)]


def test_the_sites_announcement_shows_until_it_expires(tmp_path):
    cfg = settings(tmp_path, "Lunch at 12:30", "2026-07-01T12:30+02:00")  # 10:30 UTC
    assert shown(cfg) == ["Lunch at 12:30"]
    assert shown(cfg, NOW + timedelta(hours=1, minutes=31)) == []


def test_a_date_alone_is_midnight_utc(tmp_path):
    cfg = settings(tmp_path, "Course week", "2026-07-02")
    assert shown(cfg, datetime(2026, 7, 1, 23, 59, tzinfo=UTC)) == ["Course week"]
    assert shown(cfg, datetime(2026, 7, 2, 0, 0, tzinfo=UTC)) == []


def test_the_pages_announcement_joins_the_sites_and_expires_by_itself(tmp_path):
    cfg = settings(tmp_path, "Lunch at 12:30")
    assert announcements.publish(cfg, " Room 2 today \n", "2", "tina").startswith("Published.")
    now = datetime.now(UTC)
    assert shown(cfg, now) == ["Lunch at 12:30", "Room 2 today"]
    assert shown(cfg, now + timedelta(hours=2, minutes=1)) == ["Lunch at 12:30"]
    assert announcements.current(cfg, now)[1]["by"] == "tina"


def test_an_empty_message_removes_the_pages_announcement(tmp_path):
    cfg = settings(tmp_path)
    announcements.publish(cfg, "Room 2 today", "", "tina")
    assert shown(cfg) == ["Room 2 today"]  # no expiry
    assert announcements.publish(cfg, "  ", "", "tina") == "The announcement is removed."
    assert shown(cfg) == []


@pytest.mark.parametrize(
    "message, hours, answer",
    [
        ("x" * 1001, "", "Not published: the message has 1001 characters, at most 1000."),
        ("Room 2", "soon", "Not published: 'expires after' must be a number of hours, got 'soon'."),
        ("Room 2", "0", "Not published: 'expires after' must be a number of hours, got '0'."),
    ],
)
def test_the_page_says_why_it_did_not_publish_and_keeps_the_old_one(
    tmp_path, message, hours, answer
):
    cfg = settings(tmp_path)
    announcements.publish(cfg, "Room 1", "", "tina")
    assert announcements.publish(cfg, message, hours, "tina") == answer
    assert shown(cfg) == ["Room 1"]


def test_the_hubs_pages_get_the_messages_escaped(tmp_path):
    cfg = settings(tmp_path, "<script>alert(1)</script>\nsecond line")
    assert announcements.banner(cfg)(None) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line"
    )
    assert announcements.banner(settings(tmp_path / "none"))(None) == ""


def test_jupyterlab_reads_each_announcement_from_the_feed(tmp_path):
    cfg = settings(tmp_path, "Lunch at 12:30")
    announcements.publish(cfg, "Room 2 & 3", "", "tina")
    atom = {"atom": announcements.ATOM}
    root = ElementTree.fromstring(announcements.feed(announcements.current(cfg)))  # noqa: S314 (ours)
    entries = root.findall("atom:entry", atom)
    # What JupyterLab's news handler requires of each entry: title, id, updated.
    titles = [e.find("atom:title", atom).text for e in entries]
    assert titles == ["Lunch at 12:30", "Room 2 & 3"]
    ids = {e.find("atom:id", atom).text for e in entries}
    assert len(ids) == 2
    for entry in entries:
        datetime.fromisoformat(entry.find("atom:updated", atom).text)


def test_the_hub_runs_the_service_and_servers_read_its_feed_through_the_proxy(tmp_path):
    cfg = settings(tmp_path)
    c = Config()
    c.JupyterHub.services = [config.apply_announcements(c, cfg)]
    service = c.JupyterHub.services[0]
    assert service["url"] == "http://jupyterhub:10101"
    assert service["command"] == ["python3", "-m", "schoolhub.announcements"]
    assert callable(c.JupyterHub.template_vars["announcement"])


def test_a_wrong_expiry_is_named(tmp_path):
    with pytest.raises(ConfigError, match="announcements.expires: 'next tuesday' is not"):
        settings(tmp_path, "Lunch", "next tuesday")
