"""NativeAuthenticator, the alternative to GitHub: the hub is switched to it by
re-running site.yml (running servers are kept). The scenario's last tests
(conftest.py): the hub stays on it."""

import json
import re

import pytest
import requests
from conftest import container, run_playbook, same_on_every_release

from schoolhub_lab import client

pytestmark = same_on_every_release

PASSWORD = "a-long-and-uncommon-passphrase-42"


@pytest.fixture(scope="module")
def native(hub_url):
    # (Team folders are GitHub's teams: a native hub has none.)
    admins = json.dumps({"jupyterhub_native_admin_users": ["nadia"], "jupyterhub_team_folders": []})
    run_playbook("site.yml", "jupyterhub_auth=native", admins)
    return hub_url


def submit(session, url, fields):
    """Post a hub form the way a browser does, with the page's XSRF token."""
    page = session.get(url, timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return session.post(url, data={**fields, "_xsrf": xsrf}, timeout=30)


def sign_up(hub_url, name):
    fields = {
        "username": name,
        "signup_password": PASSWORD,
        "signup_password_confirmation": PASSWORD,
    }
    return submit(requests.Session(), f"{hub_url}/hub/signup", fields)


def sign_in(hub_url, name) -> requests.Session:
    session = requests.Session()
    landed = submit(
        session,
        f"{hub_url}/hub/login?next=%2Fhub%2Ftoken",
        {"username": name, "password": PASSWORD},
    )
    session.landed = landed
    return session


def test_the_first_admin_signs_up_without_approval(native):
    assert sign_up(native, "nadia").status_code == 200
    nadia = sign_in(native, "nadia")
    assert nadia.landed.url.endswith("/hub/token")
    assert nadia.get(f"{native}/hub/authorize", timeout=30).status_code == 200  # admins' page


def test_everyone_else_waits_for_an_admin(native):
    sign_up(native, "newcomer")
    refused = sign_in(native, "newcomer").landed
    assert "has not been authorized" in refused.text
    nadia = sign_in(native, "nadia")
    assert nadia.get(f"{native}/hub/authorize/newcomer", timeout=30).status_code == 200
    assert sign_in(native, "newcomer").landed.url.endswith("/hub/token")


def test_a_user_with_a_dotted_name_gets_a_server_and_a_home(native, host):
    """Names GitHub cannot have but NativeAuthenticator can: a dot is escaped in
    Docker names, kept in the home path."""
    sign_up(native, "jo.doe")
    assert sign_in(native, "nadia").get(f"{native}/hub/authorize/jo.doe", timeout=30).ok
    session = sign_in(native, "jo.doe")
    assert session.landed.url.endswith("/hub/token")
    jo = client.Hub(native, client.Signin(session, session.landed), "jo.doe")
    jo.start()
    jo.wait_ready()
    try:
        mounts = container(host, "jupyter-jo-2edoe")["Mounts"]
        (home,) = [m for m in mounts if m["Destination"] == "/home/jo.doe"]
        assert home["Name"] == "schoolhub-home-jo-2edoe"
        write = "docker exec -u 1000 jupyter-jo-2edoe sh -c 'echo hi > ~/f && cat /home/jo.doe/f'"
        assert host.check_output(write) == "hi"
    finally:
        jo.stop()
