"""A student's page never acts with a classmate's or a TA's session
(docs/security.md): each user's server is on a name of its own (hub.subdomains).
The hub scenario (plain HTTP) and the https scenario (pebble's certificates
for users' names) import these tests; each conftest gives `site` (the hub's
address as browsers type it) and `ip` (the hub host's)."""

import json
import shlex
from urllib.parse import urlsplit

import pytest
import requests
from scenario import ARTIFACTS, container, settings

from schoolhub.settings import users_network
from schoolhub_lab import client
from schoolhub_lab.browser import sign_in_to_jupyterlab

# What a student's page tries with its visitor's session, and what it got:
# a status, or "refused: <the error's name>" (a browser refusing a
# cross-origin read throws TypeError).
ATTACK = """<!doctype html><title>my notes</title><script>
(async () => {
  const q = new URLSearchParams(location.search), hub = q.get("hub"), me = q.get("me");
  const r = {cookies: document.cookie};
  async function attempt(name, f) {
    try { r[name] = await f(); } catch (e) { r[name] = "refused: " + e.name; }
  }
  await attempt("hub_page", async () => {
    const page = await fetch(hub + "/hub/token", {credentials: "include"});
    const found = (await page.text()).match(/xsrf_token: "([^"]+)"/);
    r.xsrf = found ? found[1] : "";
    return page.status;
  });
  const post = (url, headers) => fetch(url, {method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json", ...headers}, body: '{"note": "stolen"}'});
  await attempt("token", async () =>
    (await post(hub + "/hub/api/users/" + me + "/tokens", {"X-XSRFToken": r.xsrf || ""})).status);
  await attempt("token_here", async () =>
    (await post("/hub/api/users/" + me + "/tokens", {})).status);
  await attempt("server", async () =>
    (await fetch(q.get("server") + "/api/contents", {credentials: "include"})).status);
  window.results = r;
  document.title = "done";
})();
</script>"""
PAGE = "/user/ada/notes/"
PORT = 9000


def as_ada(host, command: str, *options: str):
    return host.run_expect(
        [0], f"docker exec {' '.join(options)} -u ada jupyter-ada sh -c {shlex.quote(command)}"
    )


@pytest.fixture(scope="module")
def site(host, ip):
    """The hub's address as browsers type it (its public URL), found at the
    hub host's address with every name under it."""
    public = settings(host)["hub"]["public_url"]
    client.resolve(urlsplit(public).hostname, ip)
    return public


def serve_the_page(site, subdomains, network, address, in_ada, in_hub) -> str:
    """ada serves a page with script behind her server's address: a program
    of her own (a web server in her container) that the proxy reaches under
    her server's path, as jupyter-server-proxy gives students. The image has
    no such extension yet: its route is put in the proxy by hand here, and
    her server's own firewall opened to the proxy for that port (the
    extension would relay through her server's own port). `in_ada(command,
    user, detach)` runs in her container, wherever it is; `in_hub(command)`
    in the hub's; `address` is her container's on the users' network
    (`network`, jupyterhub_network_subnet). The page's address, once it answers."""
    www = f"~/www{PAGE}"
    in_ada(f"mkdir -p {www} && printf %s {shlex.quote(ATTACK)} > {www}index.html", "ada", False)
    in_ada(f"cd ~/www && exec timeout 1200 python3 -m http.server {PORT}", "ada", True)
    proxy = users_network(network)["proxy"]
    in_ada(
        f"nft insert rule inet schoolhub input ip saddr {proxy} tcp dport {PORT} accept", "0", False
    )
    own = client.server_url(site, "ada", subdomains).removesuffix("/user/ada")
    spec = (own.split("://", 1)[1].split(":")[0] if subdomains else "") + PAGE.rstrip("/")
    add = (
        "import json, urllib.request as u;"
        " token = open('/srv/jupyterhub/secrets/proxy_auth_token').read().strip();"
        f" r = u.Request('http://proxy-api:8001/api/routes/{spec.lstrip('/')}', method='POST',"
        f" data=json.dumps({{'target': 'http://{address}:{PORT}'}}).encode(),"
        " headers={'Authorization': 'token ' + token});"
        " print(u.urlopen(r, timeout=30).status)"
    )
    assert in_hub(f"timeout 60 python3 -c {shlex.quote(add)}")
    url = f"{own}{PAGE}"
    # (verify=False: the test CA's certificate; a first visit gets one)
    client.wait(
        lambda: requests.get(url, timeout=30, verify=False).status_code == 200,  # noqa: S501
        180,
        "ada's page to answer",
    )
    return url


@pytest.fixture(scope="module")
def pages_of_ada(host, running, site):
    """serve_the_page in the one-host layout (the hub scenario) or with the
    server on the hub host (https)."""
    running("ada")
    address = container(host, "jupyter-ada")["NetworkSettings"]["Networks"]["schoolhub"]

    def in_ada(command, user, detach):
        options = f"{'-d ' if detach else ''}-u {user}"
        return host.check_output(f"docker exec {options} jupyter-ada sh -c {shlex.quote(command)}")

    def in_hub(command):
        return host.check_output(f"docker exec jupyterhub {command}")

    hub = settings(host)
    return serve_the_page(
        site, hub["hub"]["subdomains"], hub["spawner"]["network_subnet"],
        address["IPAddress"], in_ada, in_hub,
    )  # fmt: skip


def visit(site, pages_of_ada, login):
    """`login` signs in, then opens ada's page, which tries her session."""

    def open_the_page(page):
        page.goto(
            f"{pages_of_ada}?hub={site}&me={login}&server={client.server_url(site, login)}",
            timeout=60_000,
        )
        page.wait_for_function("document.title === 'done'", timeout=60_000)
        return page.evaluate("window.results")

    name = urlsplit(site).hostname
    landing = sign_in_to_jupyterlab(
        site,
        login,
        ARTIFACTS / f"{name}-{login}-visits-ada.png",
        # (certificates of the test CA: the https scenario checks them itself)
        resolve={name: client.RESOLVED[name]} if site.startswith("https") else None,
        then=open_the_page,
    )
    print(f"{login} on ada's page: {json.dumps(landing.then)}")
    return landing.then


def the_page_got_nothing(got: dict, in_hub) -> None:
    """What ada's page (`got`: window.results) tried with its visitor's session
    was refused, and no token was made (`in_hub` runs in the hub's container)."""
    refused = "refused: TypeError"  # the browser's: another origin, no CORS
    assert {k: got[k] for k in ("cookies", "hub_page", "token", "server")} == {
        "cookies": "",
        "hub_page": refused,
        "token": refused,
        "server": refused,
    }
    # Her page's own name reaches the hub too, but no cookie of the visitor's goes there.
    assert got["token_here"] == 403
    # Nor did anything reach the hub that made a token.
    count = (
        "import sqlite3; d = sqlite3.connect('/srv/jupyterhub/data/jupyterhub.sqlite');"
        " print(d.execute(\"select count(*) from api_tokens where note = 'stolen'\").fetchone()[0])"
    )
    assert in_hub(f"python3 -c {shlex.quote(count)}") == "0"


@pytest.mark.parametrize("login", ["grace", "tina"], ids=["a classmate", "a TA"])
def test_a_students_page_cannot_use_a_visitors_session(host, site, pages_of_ada, login):
    the_page_got_nothing(
        visit(site, pages_of_ada, login),
        lambda command: host.check_output(f"docker exec jupyterhub {command}"),
    )
