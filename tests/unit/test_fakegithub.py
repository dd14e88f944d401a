"""The fake GitHub, driven by the real GitHubOAuthenticator configured by our
config module: what the lab and end-to-end tests rely on, without Docker."""

import asyncio
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import yaml
from conftest import serving
from oauthenticator.github import GitHubOAuthenticator
from oauthenticator.oauth2 import _serialize_state
from role_settings import settings_with
from traitlets.config import Config

from schoolhub import config
from schoolhub_lab import fakegithub

DATA = {
    "users": [
        {"login": "Alice-1", "name": "Alice Student"},
        {"login": "carol", "name": "Carol TA"},
        {"login": "mallory", "name": "Not Enrolled"},
    ],
    "orgs": {
        "growth-school": {
            "owners": ["carol"],
            "teams": {"Participants": ["Alice-1"], "TAs": ["carol"], "Helpers": ["carol"]},
        },
        "other": {"teams": {"TAs": ["mallory"]}},
    },
    "tokens": {"carol": "pat-of-carol"},
}


@pytest.fixture(scope="module")
def fake():
    """The fake on 127.0.0.1, in a thread with its own event loop."""
    world = fakegithub.World.from_data(DATA)
    with serving(fakegithub.make_app(world)) as url:
        yield url, world


@pytest.fixture
def authenticator(fake, tmp_path):
    url, _ = fake
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("cookie_secret", "crypt_key"):
        (secrets / name).write_text("00" * 32)
    for name in ("proxy_auth_token", "github_client_secret", "ops_api_token"):
        (secrets / name).write_text("x")
    doc = settings_with(
        {
            "hub": {"secrets_dir": str(secrets), "public_url": "http://localhost:8000"},
            "auth": {
                "github": {
                    "org": "growth-school",
                    "user_teams": ["Participants"],
                    "admin_teams": ["TAs"],
                    "client_id": "lab",
                    "callback_url": "http://localhost:8000/hub/oauth_callback",
                    "url": url,
                }
            },
            "spawner": {"image": "x"},
        }
    )
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    c = Config()
    config.configure(c, tmp_path / "s.yaml")
    return GitHubOAuthenticator(config=c)


class Handler:
    """What OAuthenticator reads from the hub's callback request."""

    def __init__(self, code, verifier):
        self.code, self.verifier = code, verifier

    def get_argument(self, name, default=None):
        return self.code if name == "code" else default

    def get_state_cookie(self):
        return _serialize_state({"state_id": "s", "code_verifier": self.verifier})


def sign_in(authenticator, url, login, verifier="v" * 43):
    """Do what the browser does on the fake's page, then what the hub does."""
    page = requests.get(
        f"{url}/login/oauth/authorize",
        params={"client_id": "lab", "redirect_uri": "http://127.0.0.1:8000/cb", "state": "s"},
        timeout=5,
    )
    assert f'value="{login}"' in page.text
    chosen = requests.post(
        f"{url}/login/oauth/authorize",
        data={
            "login": login,
            "redirect_uri": "http://127.0.0.1:8000/cb",
            "state": "s",
            "code_challenge": fakegithub.pkce_challenge(verifier),
        },
        allow_redirects=False,
        timeout=5,
    )
    assert chosen.status_code == 302
    query = parse_qs(urlparse(chosen.headers["Location"]).query)
    assert query["state"] == ["s"]
    handler = Handler(query["code"][0], verifier)
    return asyncio.run(authenticator.get_authenticated_user(handler, None))


def test_team_member_signs_in_as_user(fake, authenticator):
    user = sign_in(authenticator, fake[0], "Alice-1")
    assert user["name"] == "alice-1"
    assert user["admin"] is False
    assert user["groups"] == ["growth-school:participants"]


def test_admin_team_member_is_admin(fake, authenticator):
    user = sign_in(authenticator, fake[0], "carol")
    assert user["admin"] is True


def test_same_team_name_in_another_org_is_refused(fake, authenticator):
    assert sign_in(authenticator, fake[0], "mallory") is None


def test_removing_from_admin_team_drops_admin_at_next_sign_in(fake, authenticator):
    url, world = fake
    owner = {"Authorization": "token pat-of-carol"}
    member = f"{url}/api/v3/orgs/growth-school/teams/tas/memberships/Alice-1"
    assert requests.put(member, headers=owner, timeout=5).status_code == 200
    try:
        assert sign_in(authenticator, url, "Alice-1")["admin"] is True
    finally:
        assert requests.delete(member, headers=owner, timeout=5).status_code == 204
    assert sign_in(authenticator, url, "Alice-1")["admin"] is False


def test_wrong_pkce_verifier_is_refused(fake, authenticator):
    from tornado.web import HTTPError

    url, _ = fake
    page = requests.post(
        f"{url}/login/oauth/authorize",
        data={"login": "carol", "redirect_uri": "http://x/cb", "code_challenge": "nope"},
        allow_redirects=False,
        timeout=5,
    )
    code = parse_qs(urlparse(page.headers["Location"]).query)["code"][0]
    with pytest.raises(HTTPError):
        asyncio.run(authenticator.get_authenticated_user(Handler(code, "v" * 43), None))


def test_only_owners_change_teams(fake):
    url, world = fake
    student = {"Authorization": f"token {world.token_for('Alice-1')}"}
    member = f"{url}/api/v3/orgs/growth-school/teams/tas/memberships/Alice-1"
    assert requests.put(member, headers=student, timeout=5).status_code == 403


def test_api_needs_a_token(fake):
    assert requests.get(f"{fake[0]}/api/v3/user", timeout=5).status_code == 401


def test_teams_are_paginated_with_link_headers(fake):
    url, world = fake
    headers = {"Authorization": f"Bearer {world.token_for('carol')}"}
    first = requests.get(f"{url}/api/v3/user/teams?per_page=1", headers=headers, timeout=5)
    org = {"login": "growth-school"}
    assert first.json() == [{"name": "TAs", "slug": "tas", "organization": org}]
    second = requests.get(first.links["next"]["url"], headers=headers, timeout=5)
    assert second.json() == [{"name": "Helpers", "slug": "helpers", "organization": org}]
    assert "next" not in second.links


def test_org_membership(fake):
    url, world = fake
    headers = {"Authorization": f"token {world.token_for('carol')}"}
    ok = requests.get(
        f"{url}/api/v3/orgs/growth-school/members/Alice-1", headers=headers, timeout=5
    )
    no = requests.get(
        f"{url}/api/v3/orgs/growth-school/members/mallory", headers=headers, timeout=5
    )
    assert (ok.status_code, no.status_code) == (204, 404)


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "users"),
        ({"users": [{"name": "x"}]}, "login"),
        ({"users": [{"login": "a"}], "orgs": {"o": {"teams": {"T": ["b"]}}}}, "unknown users"),
    ],
)
def test_bad_data_is_named(data, message):
    with pytest.raises(fakegithub.DataError, match=message):
        fakegithub.World.from_data(data)


def test_the_roster_check_reads_teams_and_asks_about_logins(fake):
    from schoolhub import roster

    url, _ = fake
    github = roster.GitHub(f"{url}/api/v3", "pat-of-carol")
    assert github.members("growth-school", "participants") == {"alice-1"}
    assert github.exists("mallory") and github.exists("ALICE-1") and not github.exists("malory")
    with pytest.raises(roster.RosterError, match="GitHub has no team growth-school/nobody"):
        github.members("growth-school", "nobody")
    with pytest.raises(roster.RosterError, match="GitHub refused the roster's token"):
        roster.GitHub(f"{url}/api/v3", "wrong").members("growth-school", "tas")
