"""The course repositories' cache: a class pulling at once is one fetch from
the git host; a private repository's token stays in the cache; servers' git
is sent there by its configuration alone. Against the fake GitHub's git
hosting, with the real git client, without Docker."""

import asyncio
import os
import subprocess

import pytest
import requests
from conftest import serving

from schoolhub import gitcache
from schoolhub_lab import fakegithub

DATA = {
    "users": [{"login": "tina"}, {"login": "eve"}],
    "orgs": {"school": {"owners": ["tina"], "teams": {"TAs": ["tina"]}}},
    "tokens": {"tina": "pat-of-tina"},
}
REPOS = {
    "school/course": {"files": {"README.md": "# Week 1\n"}},
    "school/solutions": {"private": True, "files": {"answers.md": "42\n"}},
    "school/course-2": {},
}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """The fake GitHub with a public and a private repository."""
    world = fakegithub.World.from_data(DATA)
    world.git_root = tmp_path_factory.mktemp("upstream")
    world.repos = fakegithub.make_repos(world.git_root, REPOS)
    with serving(fakegithub.make_app(world)) as url:
        yield url, world


def git(*args, env=None, check=True) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", *args],
        env={**clean, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def test_the_fake_hosts_public_and_private_repositories(upstream, tmp_path):
    url, _ = upstream
    git("clone", "--quiet", f"{url}/school/course", str(tmp_path / "course"))
    assert (tmp_path / "course/README.md").read_text() == "# Week 1\n"
    refused = git("clone", f"{url}/school/solutions", str(tmp_path / "no"), check=False)
    assert "could not read Username" in refused.stderr  # (401: git would ask for one)
    token = gitcache.git_env(gitcache.token_header("pat-of-tina"))
    git("clone", "--quiet", f"{url}/school/solutions", str(tmp_path / "yes"), env=token)
    assert (tmp_path / "yes/answers.md").read_text() == "42\n"


def refreshed(mirrors, key: str, times: int) -> list[str]:
    async def all_at_once():
        return await asyncio.gather(*(mirrors.refresh(key) for _ in range(times)))

    return asyncio.run(all_at_once())


def test_a_class_pulling_at_once_is_one_fetch_from_the_git_host(upstream, tmp_path):
    url, world = upstream
    before = world.git_fetches["school/course"]
    mirrors = gitcache.Mirrors(tmp_path, [f"{url}/school/course"], "", every=60)
    key = gitcache.repo_key(f"{url}/school/course")
    assert refreshed(mirrors, key, 20) == [""] * 20
    assert refreshed(mirrors, key, 20) == [""] * 20  # (a minute has not passed)
    assert world.git_fetches["school/course"] - before == 1
    assert (tmp_path / f"{key}.git/HEAD").exists()
    # Without the wait, each refresh would ask the host.
    eager = gitcache.Mirrors(tmp_path, [f"{url}/school/course"], "", every=1e-9)
    refreshed(eager, key, 3)
    assert world.git_fetches["school/course"] - before == 4


def test_a_private_repository_needs_the_sites_token(upstream, tmp_path):
    url, _ = upstream
    key = gitcache.repo_key(f"{url}/school/solutions")
    without = gitcache.Mirrors(tmp_path / "a", [f"{url}/school/solutions"], "", every=60)
    assert "could not read Username" in refreshed(without, key, 1)[0]
    with_token = gitcache.Mirrors(tmp_path / "b", [f"{url}/school/solutions"], "pat-of-tina", 60)
    assert refreshed(with_token, key, 1) == [""]
    # The mirror keeps no credential: what students are served has none.
    assert "pat-of-tina" not in (tmp_path / "b" / f"{key}.git/config").read_text()


class Anyone(gitcache.Repository):
    def get_current_user(self):
        return {"name": "ada"} if self.request.headers.get("Authorization") else None


@pytest.fixture
def cache(upstream, tmp_path):
    url, _ = upstream
    repos = [f"{url}/school/course", f"{url}/school/solutions.git"]
    mirrors = gitcache.Mirrors(tmp_path / "cache", repos, "pat-of-tina", every=60)
    with serving(gitcache.make_app("/services/gitcache/", mirrors, Anyone)) as base:
        yield f"{base}/services/gitcache", repos


def test_servers_pull_the_sites_repositories_through_the_cache_unchanged(upstream, cache, tmp_path):
    url, world = upstream
    base, repos = cache
    server = gitcache.server_git_config(base, repos, "server-token")
    before = world.git_fetches["school/solutions"]
    for n in range(5):  # the URLs as the TA's links have them
        git("clone", "--quiet", "--depth=1", f"{url}/school/solutions", str(tmp_path / f"s{n}"),
            env=server)  # fmt: skip
        assert (tmp_path / f"s{n}/answers.md").read_text() == "42\n"
    assert world.git_fetches["school/solutions"] - before == 1
    # A repository whose address only begins like one of the site's: from its host
    # (the cache sends git back there), not refused.
    before = world.git_fetches["school/course-2"]
    assert "refs/heads/main" in git("ls-remote", f"{url}/school/course-2", env=server).stdout
    assert world.git_fetches["school/course-2"] - before == 1


def test_the_cache_refuses_without_a_token_other_repositories_and_pushes(cache, tmp_path):
    base, repos = cache
    assert requests.get(f"{base}/", timeout=10).json() == {"repositories": 2}  # (the hub's check)
    key = gitcache.repo_key(repos[0])
    nobody = git("ls-remote", f"{base}/{key}", check=False)
    assert "The requested URL returned error: 403" in nobody.stderr
    token = gitcache.git_env([("http.extraHeader", "Authorization: token t")])
    other = git("ls-remote", f"{base}/127.0.0.1_1/school/other", env=token, check=False)
    assert f"repository '{base}/127.0.0.1_1/school/other/' not found" in other.stderr
    git("clone", "--quiet", f"{base}/{key}", str(tmp_path / "c"), env=token)
    (tmp_path / "c/new.txt").write_text("mine")
    git("-C", str(tmp_path / "c"), "add", "new.txt")
    work = ["-C", str(tmp_path / "c"), "-c", "user.name=a", "-c", "user.email=a@b"]
    git(*work, "commit", "-qm", "x")
    push = git(*work, "push", "origin", "HEAD:main", env=token, check=False)
    assert "The requested URL returned error: 403" in push.stderr
