"""Faults a school hub meets, with what users see: the hub process dies, the
proxy restarts. Docker brings each back by itself; running servers, their
files and routes survive, and a signed-in student goes on working."""

import time

import requests
from conftest import container

from schoolhub.lab import client


def started(host, name: str) -> str:
    return container(host, name)["State"]["StartedAt"]


def test_a_crashed_hub_comes_back_by_itself_and_servers_keep_running(running, host):
    ada = running("ada")
    server, hub_started = container(host, "jupyter-ada")["Id"], started(host, "jupyterhub")
    host.run_expect([0], f"kill -9 {container(host, 'jupyterhub')['State']['Pid']}")
    client.wait(lambda: started(host, "jupyterhub") != hub_started, 60, "Docker to restart the hub")
    client.wait(lambda: ada.user()["name"] == "ada", 120, "the hub to answer again")
    # The same server, never restarted, still answering through the proxy.
    assert container(host, "jupyter-ada")["Id"] == server
    assert ada.server_status().status_code == 200
    # ...and ada can stop and start it as before.
    ada.stop()
    ada.start()
    ada.wait_ready()


def test_routes_come_back_by_themselves_after_a_proxy_restart(running, host):
    grace = running("grace")
    host.run_expect([0], "timeout 60 docker restart jupyterhub-proxy")
    restarted = time.monotonic()
    # The proxy forgot every route; the hub puts them back at its next round
    # (hub.last_activity_interval), with nobody acting.
    client.wait(lambda: grace.server_status().status_code == 200, 150, "grace's route to come back")
    print(f"grace's server answered again {time.monotonic() - restarted:.0f}s after the restart")
    answer = requests.get(f"{grace.url}/user/grace/api/contents", headers=grace.headers, timeout=30)
    assert answer.status_code == 200
