"""Act like a user against a hub that signs in through the fake GitHub.

Used by the scenario tests and the lab; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from schoolhub.ops import HubError, wait  # noqa: F401 (the tests' too)

TIMEOUT = 30  # seconds, for one HTTP request

# Names this process finds at an address of its own choosing (resolve); as
# browsers do (RFC 6761), every name under localhost is the loopback.
RESOLVED: dict[str, str] = {"localhost": "127.0.0.1"}
_system_getaddrinfo = socket.getaddrinfo


def resolve(name: str, address: str) -> None:
    """Find `name`, and every name under it, at `address` in this process,
    as a site's DNS with a wildcard record would (users' servers are at
    <user>.<the hub's name>). Test hosts have no DNS records; browsers get the
    same map (browser.host_rules)."""
    RESOLVED[name.lower()] = address


def resolved(host: str) -> str | None:
    """The address `resolve` gave `host` or a name above it."""
    labels = host.lower().rstrip(".").split(".")
    return next(
        (RESOLVED[n] for i in range(len(labels)) if (n := ".".join(labels[i:])) in RESOLVED), None
    )


def _getaddrinfo(host, *args, **kwargs):
    address = resolved(host) if isinstance(host, str) else None
    return _system_getaddrinfo(address or host, *args, **kwargs)


# (every client of this process: requests, tornado's websockets, urllib)
socket.getaddrinfo = _getaddrinfo


def server_url(hub_url: str, name: str, subdomains: bool = True) -> str:
    """A user's server as browsers reach it: at <name>.<the hub's name> with
    per-user subdomains (hub.subdomains), else under the hub's own address.
    (`name` as JupyterHub's subdomain hook gives it: the same for lower-case
    letters, digits and -.)"""
    if not subdomains:
        return f"{hub_url}/user/{name}"
    parts = urlsplit(hub_url)
    return f"{parts.scheme}://{name}.{parts.netloc}/user/{name}"


@dataclass
class Signin:
    """The outcome of one sign-in: the browser session and the last page."""

    session: requests.Session
    page: requests.Response

    @property
    def refused(self) -> bool:
        return self.page.status_code == 403


def sign_in(hub_url: str, login: str, timeout: float = TIMEOUT) -> Signin:
    """Sign in as `login` through the fake GitHub's page, like a browser."""
    session = requests.Session()
    page = session.get(f"{hub_url}/hub/oauth_login", timeout=timeout)
    page.raise_for_status()
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    if f'value="{login}"' not in page.text:
        raise HubError(f"the fake GitHub offers no user {login}")
    form["login"] = login
    landed = session.post(page.url.split("?")[0], data=form, timeout=timeout)
    return Signin(session, landed)


def hub_name(login: str) -> str:
    """The hub's user name for a GitHub login (JupyterHub lower-cases names)."""
    return login.lower()


class Hub:
    """The hub's REST API with a user's own token (made through the browser session)."""

    def __init__(self, hub_url: str, signin: Signin, name: str):
        self.url, self.name = hub_url, name
        xsrf = signin.session.cookies.get("_xsrf", path="/hub/")
        made = signin.session.post(
            f"{hub_url}/hub/api/users/{name}/tokens",
            json={"note": "tests", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf or ""},
            timeout=TIMEOUT,
        )
        if made.status_code != 201:
            raise HubError(f"could not make a token for {name}: {made.status_code} {made.text}")
        self.headers = {"Authorization": f"token {made.json()['token']}"}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=self.headers, timeout=TIMEOUT, **kwargs
        )

    def user(self) -> dict:
        answer = self.api("GET", f"/users/{self.name}")
        answer.raise_for_status()
        return answer.json()

    def server_ready(self) -> bool:
        server = self.user().get("servers", {}).get("")
        return bool(server and server.get("ready"))

    def start(self) -> None:
        answer = self.api("POST", f"/users/{self.name}/server")
        if answer.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"start of {self.name}: {answer.status_code} {answer.text}")

    def stop(self, seconds: float = 120) -> None:
        answer = self.api("DELETE", f"/users/{self.name}/server")
        if answer.status_code not in (202, 204):
            raise HubError(f"stop of {self.name}: {answer.status_code} {answer.text}")
        wait(lambda: not self.user().get("servers"), seconds, f"{self.name}'s server to stop")

    def wait_ready(self, seconds: float = 300) -> None:
        wait(self.server_ready, seconds, f"{self.name}'s server to be ready")

    @property
    def server(self) -> str:
        """Her running server's address, as the hub gives it (on her own name
        with subdomains), without the final /."""
        return urljoin(self.url, self.user()["servers"][""]["url"]).rstrip("/")

    def server_status(self) -> requests.Response:
        """The single-user server's own API, through the proxy."""
        return requests.get(f"{self.server}/api/status", headers=self.headers, timeout=TIMEOUT)

    def terminal(self, command: str, seconds: float = 120) -> tuple[int, str]:
        """Type `command` in a new JupyterLab terminal of the user's server (a
        shell under the server, as the user); return its exit status and output."""
        base = self.server
        made = requests.post(f"{base}/api/terminals", headers=self.headers, timeout=TIMEOUT)
        if made.status_code != 200:
            raise HubError(f"no terminal for {self.name}: {made.status_code} {made.text}")
        name = made.json()["name"]
        try:
            url = base.replace("http", "ws", 1) + f"/terminals/websocket/{name}"
            return asyncio.run(asyncio.wait_for(type_in(url, self.headers, command), seconds))
        finally:
            requests.delete(f"{base}/api/terminals/{name}", headers=self.headers, timeout=TIMEOUT)


# Printed around a command's output in a terminal: typed as `echo __B__` they
# echo with their command, printed alone on a line they are the output's bounds.
BEGIN, END = "__SCHOOLHUB_BEGIN__", "__SCHOOLHUB_END__"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


async def type_in(url: str, headers: dict, command: str) -> tuple[int, str]:
    connection = await websocket_connect(
        HTTPRequest(url, headers=headers, connect_timeout=TIMEOUT, request_timeout=TIMEOUT)
    )
    try:
        line = f"echo {BEGIN}; {command}; echo {END}$?{END}\r"
        await connection.write_message(json.dumps(["stdin", line]))
        screen = ""
        while True:
            message = await connection.read_message()
            if message is None:
                raise HubError(f"the terminal closed; it showed: {screen[-2000:]}")
            kind, *content = json.loads(message)
            if kind == "stdout":
                screen += ANSI.sub("", content[0])
            found = re.search(rf"^{BEGIN}\n(.*?){END}(\d+){END}", screen, re.S | re.M)
            if found:
                return int(found.group(2)), found.group(1)
    finally:
        connection.close()
