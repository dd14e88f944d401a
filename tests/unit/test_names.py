"""How the tests' clients reach a hub with per-user subdomains: each user's
server at <user>.<the hub's name>, found without DNS (test_config.py has the
hub's side)."""

import socket

from schoolhub_lab import browser, client


def test_a_user_server_is_on_her_own_name():
    assert client.server_url("http://localhost:8000", "ada") == "http://ada.localhost:8000/user/ada"
    assert client.server_url("https://hub.example", "ada", subdomains=False) == (
        "https://hub.example/user/ada"
    )


def test_names_resolve_with_everything_under_them(monkeypatch):
    monkeypatch.setitem(client.RESOLVED, "schoolhub-hub-host", "10.203.0.2")
    assert client.resolved("schoolhub-hub-host") == "10.203.0.2"
    assert client.resolved("Ada.SCHOOLHUB-hub-host") == "10.203.0.2"
    assert client.resolved("ada.localhost") == "127.0.0.1"
    assert client.resolved("other-host") is None
    assert client.resolved("hub-host") is None
    found = socket.getaddrinfo("grace.schoolhub-hub-host", 8000, proto=socket.IPPROTO_TCP)
    assert {entry[4][0] for entry in found} == {"10.203.0.2"}


def test_browsers_find_the_same_names():
    assert browser.host_rules({"hub.test": "10.0.0.2"}) == [
        "--host-resolver-rules=MAP hub.test 10.0.0.2, MAP *.hub.test 10.0.0.2"
    ]
    assert browser.host_rules({}) == []
