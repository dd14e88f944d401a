"""Which names the TLS front may get a certificate for, when it asks.

With per-user subdomains every user's server has a name of its own
(<user>.<the hub's name>), and the TLS front (Caddy) gets each name's
certificate from the ACME CA at the first visit (on-demand TLS). Before it
asks the CA it asks here (Caddy's `ask`): yes for the hub's own name, its
services' names and the names of the hub's users, no for anything else, so
that nobody can make the front spend the CA's rate limit (Let's Encrypt: 50
certificates per registered domain per week) on names of their choosing.

Run by the hub as a managed service: ``python3 -m schoolhub.certificates``.
It listens on the hub container's ASK_PORT, which the role publishes on the
hub host's loopback for the front alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from schoolhub import settings

SERVICE = "certificates"
# After a name it did not know, the service asks the hub for its users again,
# at most once this often: a stream of made-up names costs the hub one list of
# its users per REFRESH_EVERY seconds. A name that comes sooner waits for the
# next list (a student's first visit, seconds after a classmate's: refused, her
# browser would show a TLS error). Well within the front's wait for an answer.
REFRESH_EVERY = 2
log = logging.getLogger(SERVICE)


def subdomain(name: str, domain: str, kind: str = "user") -> str:
    """The name JupyterHub gives a user's (or a service's) server."""
    from jupyterhub.utils import subdomain_hook_idna

    return subdomain_hook_idna(name, domain, kind)


class Names:
    """The names that may have a certificate: the hub's, its services' and
    those of the users that `users()` lists (asked again when a name is
    unknown, REFRESH_EVERY seconds apart at most: a name that comes sooner
    waits for the next time, with every other name that waits)."""

    def __init__(
        self,
        domain: str,
        services: list[str],
        users: Callable[[], Awaitable[list[str]]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.domain = domain.lower()
        self.fixed = {self.domain} | {subdomain(s, self.domain, "service") for s in services}
        self.users, self.clock, self.sleep = users, clock, sleep
        self.known: set[str] = set()
        self.asked = float("-inf")
        self.asking = asyncio.Lock()

    async def allowed(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        if name in self.fixed or name in self.known:
            return True
        if not name.endswith(f".{self.domain}"):
            return False
        arrived = self.clock()
        async with self.asking:  # one list at a time: a list begun since it came answers it
            if name not in self.known and self.asked < arrived:
                wait = self.asked + REFRESH_EVERY - self.clock()
                if wait > 0:
                    await self.sleep(wait)
                self.asked = self.clock()
                self.known = {subdomain(u, self.domain).lower() for u in await self.users()}
        return name in self.known


async def hub_users(api_url: str, token: str) -> list[str]:
    """Every user's name, page by page (the hub's REST API)."""
    import json

    from tornado.httpclient import AsyncHTTPClient

    names, offset = [], 0
    while True:
        answer = await AsyncHTTPClient().fetch(
            f"{api_url}/users?offset={offset}&limit=200",
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/jupyterhub-pagination+json",
            },
            request_timeout=30,
        )
        page = json.loads(answer.body)
        names += [user["name"] for user in page["items"]]
        following = (page.get("_pagination") or {}).get("next")
        if not following:
            return names
        offset = following["offset"]


def main() -> None:
    import argparse

    from tornado import ioloop, web

    settings.log_like_the_hub()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service", action="append", default=[])
    args = parser.parse_args()
    cfg = settings.load(settings.SETTINGS)
    domain = urlsplit(cfg["hub"]["public_url"]).hostname or ""
    api, token = os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"]
    names = Names(domain, args.service, lambda: hub_users(api, token))

    class Ask(web.RequestHandler):
        async def get(self):
            name = self.get_argument("domain", "")
            if await names.allowed(name):
                self.finish("yes")
            else:
                log.info("no certificate for %r", name[:100])
                raise web.HTTPError(403)

    web.Application([("/", Ask)]).listen(args.port)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
