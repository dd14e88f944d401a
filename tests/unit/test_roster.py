"""The roster check: what it reads from a class list, and what it finds."""

import pytest

from schoolhub import roster


def test_logins_come_from_the_named_column_as_people_type_them():
    text = "name,github\nAda,ada\nGrace, https://github.com/grace/\nAlan,@alan\nNone,\n"
    assert roster.logins(text, "github") == ["ada", "grace", "alan"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the roster is empty"),
        ("name,login\nAda,ada\n", "no column 'github' (its columns: 'name', 'login')"),
        ("name,github\nAda,\n", "the roster's column 'github' has no logins"),
    ],
)
def test_a_roster_it_cannot_use_is_named(text, message):
    with pytest.raises(roster.RosterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        roster.logins(text, "github")


def test_each_kind_of_trouble_is_found():
    members = {"ada", "grace", "alan", "bob-smith2", "dave"}
    users = [
        {"name": "ada", "ta": False},
        {"name": "tina", "ta": True},
        {"name": "zed", "ta": False},
    ]
    on_github = {"eve"}
    found = roster.check(
        ["ada", "Bob-Smith2", "grace", "eve", "alann", "not a login", "-x"],
        members,
        users,
        lambda login: login.lower() in on_github,
    )
    assert found == {
        "not_logins": ["-x", "not a login"],
        "not_on_github": ["alann"],
        "not_in_teams": ["eve"],
        "not_on_roster": ["alan", "dave"],
        "never_signed_in": ["Bob-Smith2", "grace"],
        "unexpected_users": ["zed"],
    }
    assert roster.said(["ada"], found)[2] == "no such GitHub user (a typo?): alann"
