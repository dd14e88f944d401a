"""Course repositories through a cache on the hub: what nbgitpuller's links pull.

A TA posts one nbgitpuller link (`/hub/user-redirect/git-pull?repo=...`);
every student who clicks it pulls the repository into their home. When the
repository is one of the site's (`jupyterhub_git_repos`), the students' git
goes to this service instead (each server's git config rewrites the URL),
which serves a mirror of it on the hub and asks the git host again at most
once a `refresh_every` seconds: a whole class clicking at once is one fetch.
For private repositories the service holds the site's token (secret
`git_token`); students get the files, never the token. Servers reach it
through the proxy with their own token, so nobody outside the hub can.

Run by the hub as a managed service: ``python3 -m schoolhub.gitcache``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from tornado import ioloop, web

from schoolhub import settings

SERVICE = "gitcache"
# Mirrors live under the hub's data directory (kept with the database).
CACHE_DIR = "gitcache"
GIT_TIMEOUT = 300
log = logging.getLogger(SERVICE)


def repo_key(url: str) -> str:
    """A repository's place in the cache and in the service's URLs:
    host/owner/name (a port kept as host_port), without .git."""
    parts = urlsplit(settings.repo_address(url))
    return f"{parts.netloc.replace(':', '_')}/{parts.path.strip('/')}"


def git_env(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Git configuration given in the environment (git's GIT_CONFIG_COUNT)."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def server_git_config(base: str, repos: list[str], token: str) -> dict[str, str]:
    """A server's environment: its git fetches the site's repositories from
    the cache at `base` (the service's URL through the proxy), with the
    server's own token."""
    pairs = [(f"url.{base}/{repo_key(url)}.insteadOf", settings.repo_address(url)) for url in repos]
    pairs.append((f"http.{base}/.extraHeader", f"Authorization: token {token}"))
    return git_env(pairs)


def token_header(token: str) -> list[tuple[str, str]]:
    """How git sends the site's token to the git host (GitHub's form)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return [("http.extraHeader", f"Authorization: Basic {basic}")]


async def run(*command: str, env: dict | None = None, stdin: bytes = b"", timeout=GIT_TIMEOUT):
    """(exit status, stdout, stderr) of a command, killed after `timeout` seconds."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return -1, b"", f"{command[0]}: no answer in {timeout} s".encode()
    return process.returncode, out, err


async def serve(handler: web.RequestHandler, root: Path, path: str) -> None:
    """Answer the handler's git request for `path` under `root` (http_backend)."""
    status, headers, body = await http_backend(root, path, handler.request)
    handler.set_status(status)
    for name, value in headers.items():
        handler.set_header(name, value)
    handler.finish(body)


async def http_backend(root: Path, path: str, request):
    """Answer a git smart-HTTP request (read only) from the repositories
    under `root` with `git http-backend`: (status, headers, body)."""
    cgi = {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path,
        "QUERY_STRING": request.query,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
    }
    status, out, err = await run("git", "http-backend", env=cgi, stdin=request.body)
    if status != 0 and not out:
        return 500, {}, err
    head, _, body = out.partition(b"\r\n\r\n")  # (CGI headers as git writes them)
    headers, code = {}, 200
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            code = int(value.split()[0])
        elif name:
            headers[name] = value.strip()
    return code, headers, body


class Mirrors:
    """The site's repositories, each mirrored under `root`, fetched from the
    git host at most once every `every` seconds (whatever asks meanwhile gets
    the mirror as it is)."""

    def __init__(self, root: Path, repos: list[str], token: str, every: float):
        self.root, self.token, self.every = root, token, every
        self.urls = {repo_key(url): url for url in repos}
        self.fetched: dict[str, float] = {}
        self.locks = {key: asyncio.Lock() for key in self.urls}

    async def refresh(self, key: str) -> str:
        """Bring the mirror of `key` up to date if it is due; "" or the reason it failed."""
        async with self.locks[key]:
            if time.monotonic() - self.fetched.get(key, -self.every) < self.every:
                return ""
            self.fetched[key] = time.monotonic()
            mirror = self.root / f"{key}.git"
            env = git_env(token_header(self.token)) if self.token else {}
            if (mirror / "HEAD").exists():
                command = ["git", "-C", str(mirror), "remote", "update", "--prune"]
            else:
                mirror.parent.mkdir(parents=True, exist_ok=True)
                command = ["git", "clone", "--mirror", "--quiet", self.urls[key], str(mirror)]
            status, _, err = await run(*command, env={**env, "GIT_TERMINAL_PROMPT": "0"})
            if status != 0:
                reason = err.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
                log.warning("fetching %s failed: %s", self.urls[key], reason[0])
                return reason[0]
            log.info("fetched %s", self.urls[key])
            return ""


class Repository(web.RequestHandler):
    """Read-only git over HTTP from the mirrors (the app's `mirrors`), for
    whoever `current_user` lets in (main: the hub's servers' tokens)."""

    async def get(self, key: str, rest: str) -> None:
        await self.answer(key, rest)

    async def post(self, key: str, rest: str) -> None:
        await self.answer(key, rest)

    def check_xsrf_cookie(self) -> None:
        """Git sends a token, never a cookie: nothing to forge."""

    async def answer(self, key: str, rest: str) -> None:
        mirrors: Mirrors = self.settings["mirrors"]
        if not self.current_user:
            raise web.HTTPError(403, "only the hub's servers (their token) may pull here")
        if key not in mirrors.urls:
            # git sends every URL that begins like a site repository's here
            # (.../course-2 when .../course is one): back to its own host.
            found = [k for k in mirrors.urls if key.startswith(k)]
            if found and rest == "info/refs":
                start = settings.repo_address(mirrors.urls[found[0]])
                self.redirect(f"{start}{key[len(found[0]) :]}/{rest}?{self.request.query}")
                return
            raise web.HTTPError(404, f"{key} is not one of the site's repositories")
        if "receive-pack" in self.request.query:
            raise web.HTTPError(403, "the cache is read-only")
        if rest == "info/refs":
            failed = await mirrors.refresh(key)
            if failed and not (mirrors.root / f"{key}.git" / "HEAD").exists():
                raise web.HTTPError(502, f"the git host refused: {failed}")
        await serve(self, mirrors.root, f"/{key}.git/{rest}")


class Health(web.RequestHandler):
    """What the hub's check of its services asks for."""

    def get(self) -> None:
        self.finish({"repositories": len(self.settings["mirrors"].urls)})


def make_app(prefix: str, mirrors: Mirrors, handler=Repository) -> web.Application:
    route = rf"{prefix}(.+?)(?:\.git)?/(info/refs|git-upload-pack)"
    return web.Application([(prefix, Health), (route, handler)], mirrors=mirrors)


def main() -> None:
    from jupyterhub.services.auth import HubAuthenticated

    settings.log_like_the_hub()
    cfg = settings.load(settings.SETTINGS)
    git = cfg["git"]
    token = settings.read_secret(cfg, "git_token") if git["private"] else ""
    root = Path(cfg["hub"]["data_dir"]) / CACHE_DIR
    mirrors = Mirrors(root, git["repos"], token, git["refresh_every"])

    class ForServers(HubAuthenticated, Repository):
        """Tokens with this service's access scope: servers' own (config.py)."""

    app = make_app(os.environ["JUPYTERHUB_SERVICE_PREFIX"], mirrors, ForServers)
    app.listen(urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"]).port)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
