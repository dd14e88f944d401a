"""A fake GitHub for the lab and the tests; never used in production.

It answers exactly what oauthenticator's GitHubOAuthenticator calls when its
`github_url` points here (the GitHub Enterprise layout, API under /api/v3):
the OAuth authorize page (pick who you are), the token exchange, /user,
/user/emails, /user/teams (paginated with Link headers) and the org/team
membership checks. Org owners' tokens may add or remove team members with
GitHub's own membership endpoints, so tests can change teams at run time.
It also hosts git repositories over smart HTTP (read only; a private one for
its org members' tokens), counts their fetches and takes new commits from
the org's owners (/_test/git/<org>/<name>), for the course-repository tests.

    python -m schoolhub_lab.fakegithub --data github.yaml --port 8080

The data file (YAML):

    users:
      - {login: alice, name: Alice Student, email: alice@school.example}
    orgs:
      growth-school:
        owners: [carol]
        teams: {Participants: [alice], TAs: [carol]}
    tokens: {carol: <a personal access token, for scripts that change teams>}
    repos:
      growth-school/course: {files: {README.md: "# Week 1"}}
      growth-school/solutions: {private: true}
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import secrets
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import yaml
from tornado import ioloop, web

from schoolhub.gitcache import serve
from schoolhub.settings import slugify

SCOPES = "read:org,user:email"


class DataError(ValueError):
    pass


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Team:
    name: str
    org: str
    members: set[str] = field(default_factory=set)

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass
class World:
    """Users, orgs and teams, and the codes and tokens handed out."""

    users: dict[str, dict]
    teams: list[Team]
    owners: dict[str, set[str]]
    personal_tokens: dict[str, str] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # code -> (login, PKCE code_challenge or "")
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Git hosting: org/name -> private, where they are, fetches of each.
    repos: dict[str, bool] = field(default_factory=dict)
    git_root: Path = Path()
    git_fetches: Counter = field(default_factory=Counter)

    @classmethod
    def from_data(cls, data: dict) -> World:
        if not isinstance(data, dict) or not isinstance(data.get("users"), list):
            raise DataError("the data needs a `users` list")
        users = {}
        for number, user in enumerate(data["users"], start=1):
            if not isinstance(user, dict) or not user.get("login"):
                raise DataError(f"users[{number - 1}] needs a `login`")
            users[user["login"]] = {
                "login": user["login"],
                "id": user.get("id", 1000 + number),
                "name": user.get("name", user["login"]),
                "email": user.get("email", f"{user['login']}@users.noreply.example"),
            }
        teams, owners = [], {}
        for org, spec in (data.get("orgs") or {}).items():
            spec = spec or {}
            owners[org] = set(spec.get("owners", []))
            for name, members in (spec.get("teams") or {}).items():
                unknown = set(members or []) - set(users)
                if unknown:
                    raise DataError(f"orgs.{org}.teams.{name}: unknown users {sorted(unknown)}")
                teams.append(Team(name, org, set(members or [])))
        tokens = data.get("tokens") or {}
        if set(tokens) - set(users):
            raise DataError(f"tokens: unknown users {sorted(set(tokens) - set(users))}")
        return cls(users, teams, owners, {str(v): k for k, v in tokens.items()})

    def token_for(self, login: str) -> str:
        return "fgh_" + hmac.new(self.secret, login.encode(), hashlib.sha256).hexdigest()[:32]

    def login_for(self, token: str) -> str | None:
        if token in self.personal_tokens:
            return self.personal_tokens[token]
        return next((u for u in self.users if hmac.compare_digest(self.token_for(u), token)), None)

    def team(self, org: str, slug: str) -> Team | None:
        return next((t for t in self.teams if t.org == org and t.slug == slug), None)

    def teams_of(self, login: str) -> list[Team]:
        return [t for t in self.teams if login in t.members]

    def in_org(self, org: str, login: str) -> bool:
        return login in self.owners.get(org, set()) or any(
            t.org == org and login in t.members for t in self.teams
        )


# --- git hosting: repositories over smart HTTP, private ones for org members' tokens ---


def git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)  # noqa: S603,S607


def commit(bare: Path, files: dict[str, str], message: str) -> None:
    """A commit on `main` of the bare repository with `files` (path: text) written."""
    with tempfile.TemporaryDirectory() as work:
        git("clone", "--quiet", str(bare), work)
        for name, text in files.items():
            path = Path(work) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "--all", cwd=Path(work))
        git("-c", "user.name=Tina TA", "-c", "user.email=tina@school.test",
            "commit", "--quiet", "-m", message, cwd=Path(work))  # fmt: skip
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=Path(work))


def make_repos(root: Path, spec: dict) -> dict[str, bool]:
    """The data's `repos` (org/name: {private, files}) as bare repositories
    under `root`: name -> private."""
    repos = {}
    for key, repo in (spec or {}).items():
        repo = repo or {}
        bare = root / f"{key}.git"
        bare.mkdir(parents=True)
        git("init", "--bare", "--quiet", "--initial-branch=main", str(bare))
        commit(bare, repo.get("files") or {"README.md": f"# {key}\n"}, "First version")
        repos[key] = bool(repo.get("private"))
    return repos


class Base(web.RequestHandler):
    @property
    def world(self) -> World:
        return self.settings["world"]

    def send_json(self, body, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))

    def send_page(self, items: list) -> None:
        """One page of a list, with GitHub's Link header to the next one."""
        per_page = max(1, min(100, int(self.get_argument("per_page", "30"))))
        page = max(1, int(self.get_argument("page", "1")))
        if page * per_page < len(items):
            base = f"{self.request.protocol}://{self.request.host}{self.request.path}"
            self.set_header("Link", f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
        self.send_json(items[(page - 1) * per_page : page * per_page])

    def not_found(self) -> None:
        self.send_json({"message": "Not Found"}, 404)

    def current_login(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token:
            return None
        return self.world.login_for(token.strip())

    def require_login(self) -> str:
        login = self.current_login()
        if login is None:
            self.send_json({"message": "Bad credentials"}, 401)
            raise web.Finish()
        return login


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in to GitHub (fake)</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto}}
button{{display:block;width:100%;margin:.4em 0;padding:.6em;font-size:1em;text-align:left}}</style>
</head><body>
<h1>Fake GitHub</h1>
<p>A test stand-in for GitHub. Choose who you are to sign in to
<b>{client}</b>:</p>
<form method="post">{hidden}{buttons}</form>
</body></html>"""


class Authorize(Base):
    """The page a browser is sent to: choose a user, get redirected back with a code."""

    def get(self) -> None:
        keys = ("client_id", "redirect_uri", "state", "code_challenge")
        params = {k: self.get_argument(k, "") for k in keys}
        if not params["redirect_uri"]:
            raise web.HTTPError(400, "redirect_uri is required")
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items()
        )
        buttons = "".join(self.button(login) for login in self.world.users)
        client = html.escape(params["client_id"])
        self.finish(PAGE.format(client=client, hidden=hidden, buttons=buttons))

    def button(self, login: str) -> str:
        user = self.world.users[login]
        teams = ", ".join(t.name for t in self.world.teams_of(login)) or "no team"
        return (
            f'<button name="login" value="{html.escape(login)}">{html.escape(login)} — '
            f"{html.escape(user['name'])} <small>({html.escape(teams)})</small></button>"
        )

    def post(self) -> None:
        login = self.get_argument("login")
        if login not in self.world.users:
            raise web.HTTPError(400, f"unknown user {login}")
        code = secrets.token_urlsafe(16)
        self.world.codes[code] = (login, self.get_argument("code_challenge", ""))
        query = urlencode({"code": code, "state": self.get_argument("state", "")})
        redirect_uri = self.get_argument("redirect_uri")
        self.redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + query)


class AccessToken(Base):
    def post(self) -> None:
        login, challenge = self.world.codes.pop(self.get_argument("code", ""), (None, ""))
        verifier = self.get_argument("code_verifier", "")
        if login is None or (challenge and pkce_challenge(verifier) != challenge):
            # GitHub answers 200 with an error body for a bad code.
            self.send_json({"error": "bad_verification_code"})
            return
        self.send_json(
            {"access_token": self.world.token_for(login), "token_type": "bearer", "scope": SCOPES}
        )


class User(Base):
    def get(self) -> None:
        self.send_json(self.world.users[self.require_login()])


class UserEmails(Base):
    def get(self) -> None:
        user = self.world.users[self.require_login()]
        self.send_json([{"email": user["email"], "primary": True, "verified": True}])


class UserTeams(Base):
    def get(self) -> None:
        login = self.require_login()
        teams = [
            {"name": t.name, "slug": t.slug, "organization": {"login": t.org}}
            for t in self.world.teams_of(login)
        ]
        self.send_page(teams)


class AnyUser(Base):
    """GET /users/<login>: the public profile, or 404 (roster checks)."""

    def get(self, login: str) -> None:
        found = next((u for u in self.world.users if u.lower() == login.lower()), None)
        if found is None:
            self.not_found()
            return
        self.send_json(self.world.users[found])


class TeamMembers(Base):
    """GET /orgs/<org>/teams/<slug>/members: the members, a page at a time."""

    def get(self, org: str, slug: str) -> None:
        caller = self.require_login()
        team = self.world.team(org, slug)
        if team is None or not self.world.in_org(org, caller):
            self.not_found()
            return
        self.send_page([{"login": login} for login in sorted(team.members)])


class TeamMember(Base):
    """GET .../teams/<slug>/members/<login>: 204 when a member (the legacy check)."""

    def get(self, org: str, slug: str, login: str) -> None:
        self.require_login()
        team = self.world.team(org, slug)
        if team is None or login not in team.members:
            self.not_found()
            return
        self.set_status(204)


class TeamMembership(Base):
    """PUT/DELETE .../teams/<slug>/memberships/<login>, by an org owner."""

    def check(self, org: str, slug: str, login: str) -> Team | None:
        caller = self.require_login()
        if caller not in self.world.owners.get(org, set()):
            self.send_json({"message": "Must be an organization owner"}, 403)
            return None
        team = self.world.team(org, slug)
        if team is None or login not in self.world.users:
            self.not_found()
        return team

    def put(self, org: str, slug: str, login: str) -> None:
        team = self.check(org, slug, login)
        if team is not None and login in self.world.users:
            team.members.add(login)
            self.send_json({"state": "active", "role": "member"})

    def delete(self, org: str, slug: str, login: str) -> None:
        team = self.check(org, slug, login)
        if team is not None and login in self.world.users:
            team.members.discard(login)
            self.set_status(204)


class OrgMember(Base):
    def get(self, org: str, login: str) -> None:
        self.require_login()
        if not self.world.in_org(org, login):
            self.not_found()
            return
        self.set_status(204)


class GitRepository(Base):
    """A repository over git's smart HTTP, read only; a private one for the
    tokens of the org's members (as GitHub: Basic x-access-token:<token>)."""

    async def get(self, org: str, name: str, rest: str) -> None:
        await self.answer(org, name, rest)

    async def post(self, org: str, name: str, rest: str) -> None:
        await self.answer(org, name, rest)

    def reader(self) -> str | None:
        kind, _, value = self.request.headers.get("Authorization", "").partition(" ")
        if kind.lower() == "basic":
            value = base64.b64decode(value).decode(errors="replace").partition(":")[2]
        elif kind.lower() != "token":
            return None
        return self.world.login_for(value)

    async def answer(self, org: str, name: str, rest: str) -> None:
        key = f"{org}/{name}"
        if key not in self.world.repos or "receive-pack" in self.request.query:
            self.not_found()
            return
        login = self.reader()
        if self.world.repos[key] and not (login and self.world.in_org(org, login)):
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.finish()
            return
        if rest == "info/refs":
            self.world.git_fetches[key] += 1
        await serve(self, self.world.git_root, f"/{key}.git/{rest}")


class GitTestControl(Base):
    """Tests: how often a repository was fetched; a new commit (org owners)."""

    def get(self, org: str, name: str) -> None:
        self.send_json({"fetches": self.world.git_fetches[f"{org}/{name}"]})

    def post(self, org: str, name: str) -> None:
        owner = self.require_login() in self.world.owners.get(org, set())
        if not owner or f"{org}/{name}" not in self.world.repos:
            self.not_found()
            return
        given = json.loads(self.request.body)
        commit(self.world.git_root / f"{org}/{name}.git", given["files"], given["message"])
        self.send_json({"fetches": self.world.git_fetches[f"{org}/{name}"]})


class Health(Base):
    def get(self) -> None:
        self.send_json({"fake": "github", "users": len(self.world.users)})


def make_app(world: World) -> web.Application:
    name = r"([A-Za-z0-9_.-]+)"
    return web.Application(
        [
            (r"/", Health),
            (r"/login/oauth/authorize", Authorize),
            (r"/login/oauth/access_token", AccessToken),
            (r"/api/v3/user", User),
            (r"/api/v3/user/emails", UserEmails),
            (r"/api/v3/user/teams", UserTeams),
            (rf"/api/v3/users/{name}", AnyUser),
            (rf"/api/v3/orgs/{name}/teams/{name}/members", TeamMembers),
            (rf"/api/v3/orgs/{name}/teams/{name}/members/{name}", TeamMember),
            (rf"/api/v3/orgs/{name}/teams/{name}/memberships/{name}", TeamMembership),
            (rf"/api/v3/orgs/{name}/members/{name}", OrgMember),
            (rf"/_test/git/{name}/{name}", GitTestControl),
            (rf"/{name}/([A-Za-z0-9_-]+?)(?:\.git)?/(info/refs|git-upload-pack)", GitRepository),
        ],
        world=world,
        xsrf_cookies=False,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake GitHub for tests and the lab.")
    parser.add_argument("--data", type=Path, required=True, help="users, orgs and teams (YAML)")
    parser.add_argument("--ip", default="0.0.0.0")  # noqa: S104 (it runs in a container)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    try:
        data = yaml.safe_load(args.data.read_text())
        world = World.from_data(data)
    except (OSError, yaml.YAMLError, DataError) as error:
        parser.error(f"{args.data}: {error}")
    world.git_root = Path(tempfile.mkdtemp(prefix="fakegithub-git-"))
    world.repos = make_repos(world.git_root, data.get("repos"))
    make_app(world).listen(args.port, args.ip)
    print(f"fake GitHub on {args.ip}:{args.port} with {len(world.users)} users", flush=True)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
