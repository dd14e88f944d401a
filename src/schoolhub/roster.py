"""The roster check, run inside the hub container by playbooks/roster.yml:

    python3 -m schoolhub.roster --column github < students.csv

compares the GitHub logins in a column of the CSV (the registration form's
answers) with the members of the students' GitHub teams
(auth.github.user_teams) and with the hub's users, and says who is not on
GitHub (a typo), not in the teams (not invited yet, or not accepted), in the
teams but not on the roster, on the roster but never signed in, and on the hub
but neither on the roster nor a TA. GitHub is asked with the token in
$ROSTER_GITHUB_TOKEN (jupyterhub_github_token, read:org); the hub with the operations token.

It prints one JSON object for the playbook: {"said": [lines], and each list by
its key in FINDINGS}; a roster or token it cannot use: {"said": [], "error":
why}, exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys

import requests

from schoolhub import settings
from schoolhub.ops import Hub

# GitHub's rule for logins: letters, digits and single inner hyphens, at most 39.
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# What people type in a form instead of their login.
PROFILE_URL_RE = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/|^@", re.IGNORECASE)
# (key in the answer, what the line says), in the order they are said.
FINDINGS = [
    ("not_logins", "not GitHub logins (fix the roster)"),
    ("not_on_github", "no such GitHub user (a typo?)"),
    ("not_in_teams", "on GitHub but not in the students' teams (invite them)"),
    ("not_on_roster", "in the students' teams but not on the roster"),
    ("never_signed_in", "on the roster and in the teams, never signed in"),
    ("unexpected_users", "hub users neither on the roster nor TAs"),
]


class RosterError(ValueError):
    """The roster cannot be read; the message says why."""


def logins(text: str, column: str) -> list[str]:
    """The roster's logins, as written (a github.com/ URL or a leading @ taken off)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise RosterError("the roster is empty: a CSV file with a header row")
    if column not in reader.fieldnames:
        found = ", ".join(repr(name) for name in reader.fieldnames)
        raise RosterError(
            f"the roster has no column {column!r} (its columns: {found});"
            " name the one with GitHub logins: -e roster_column=NAME"
        )
    found = []
    for row in reader:
        login = PROFILE_URL_RE.sub("", (row.get(column) or "").strip()).strip("/")
        if login:
            found.append(login)
    if not found:
        raise RosterError(f"the roster's column {column!r} has no logins")
    return found


class GitHub:
    def __init__(self, api: str, token: str):
        self.api, self.session = api, requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def get(self, url: str) -> requests.Response:
        answer = self.session.get(url, timeout=30)
        if answer.status_code in (401, 403):
            raise RosterError(
                f"GitHub refused the roster's token ({answer.status_code}): give"
                " jupyterhub_github_token a token that may read the organisation's teams"
            )
        return answer

    def members(self, org: str, slug: str) -> set[str]:
        url, found = f"{self.api}/orgs/{org}/teams/{slug}/members?per_page=100", set()
        for _ in range(100):  # 10,000 members at most
            answer = self.get(url)
            if answer.status_code == 404:
                raise RosterError(f"GitHub has no team {org}/{slug} the token can see")
            answer.raise_for_status()
            found |= {member["login"].lower() for member in answer.json()}
            url = answer.links.get("next", {}).get("url")
            if not url:
                break
        return found

    def exists(self, login: str) -> bool:
        answer = self.get(f"{self.api}/users/{login}")
        if answer.status_code == 404:
            return False
        answer.raise_for_status()
        return True


def check(roster: list[str], members: set[str], users: list[dict], exists) -> dict:
    """The findings (FINDINGS' keys -> sorted names, as the roster writes
    them) of a roster against the teams' members and the hub's users (ops.Hub's,
    with "ta"); `exists(login)` asks GitHub about a login outside the teams."""
    valid = [login for login in roster if LOGIN_RE.match(login)]
    outside = [login for login in valid if login.lower() not in members]
    missing = [login for login in outside if not exists(login)]
    on_hub = {u["name"].lower() for u in users}
    expected = {login.lower() for login in valid}
    return {
        "not_logins": sorted(set(roster) - set(valid)),
        "not_on_github": sorted(missing),
        "not_in_teams": sorted(set(outside) - set(missing)),
        "not_on_roster": sorted(members - expected),
        "never_signed_in": sorted(
            login for login in valid if login.lower() in members and login.lower() not in on_hub
        ),
        "unexpected_users": sorted(
            u["name"] for u in users if u["name"].lower() not in expected and not u["ta"]
        ),
    }


def said(roster: list[str], found: dict) -> list[str]:
    lines = [f"roster: {len(roster)} login(s)"]
    for key, text in FINDINGS:
        lines.append(f"{text}: {', '.join(found[key]) or 'none'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--column", default="github", help="the CSV column with GitHub logins")
    args = parser.parse_args(argv)
    cfg = settings.load(settings.SETTINGS)
    try:
        if cfg["auth"]["kind"] != "github":
            raise RosterError("the roster check needs GitHub sign-in (jupyterhub_auth: github)")
        token = os.environ.get("ROSTER_GITHUB_TOKEN", "")
        if not token:
            raise RosterError(
                "name a GitHub token that may read the teams: jupyterhub_github_token"
            )
        roster = logins(sys.stdin.read(), args.column)
        from oauthenticator.github import GitHubOAuthenticator

        gh = cfg["auth"]["github"]
        github = GitHub(GitHubOAuthenticator(github_url=gh["url"]).github_api, token)
        members = set().union(
            *(github.members(gh["org"], settings.slugify(t)) for t in gh["user_teams"])
        )
        found = check(roster, members, Hub.from_settings().users(), github.exists)
    except RosterError as error:
        print(json.dumps({"said": [], "error": str(error)}))
        return 2
    print(json.dumps({"said": said(roster, found), **found}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
