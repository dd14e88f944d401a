"""Monitoring (monitoring_prometheus): Prometheus on the hub host scrapes the
hub's metrics with their own token and every host's node exporter; nobody
else reads either (a student's container: test_isolation.py's targets)."""

import json
import shlex
import socket
from urllib.parse import urlencode

import pytest
import requests
from conftest import W1, W2

from schoolhub_lab import client

SECRETS = "/etc/schoolhub/secrets"


def query(host, expression: str) -> list[dict]:
    """An instant query to Prometheus, on the hub host's loopback."""
    url = "http://127.0.0.1:9090/api/v1/query?" + urlencode({"query": expression})
    read = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=10).read().decode())"
    answer = host.check_output(f"timeout 30 python3 -c {shlex.quote(read)}")
    return json.loads(answer)["data"]["result"]


def test_prometheus_scrapes_the_hub_and_every_hosts_node_exporter(
    host, worker, ip, hub_url, running
):
    running("ada")
    ops = {"Authorization": f"token {host.check_output(f'cat {SECRETS}/ops_api_token')}"}
    hub = f"{hub_url}/hub/api"

    def servers_seen() -> bool:
        users = requests.get(f"{hub}/users", headers=ops, timeout=10).json()
        running_now = sum(1 for user in users for s in user["servers"].values() if s["ready"])
        seen = query(host, "jupyterhub_running_servers")
        return bool(seen) and running_now >= 1 and float(seen[0]["value"][1]) == running_now

    client.wait(servers_seen, 120, "Prometheus to see the hub's running servers")
    up = {(r["metric"]["job"], r["metric"]["instance"]): r["value"][1] for r in query(host, "up")}
    nodes = [ip] + [worker(w).interface("eth0").addresses[0] for w in (W1, W2)]
    assert up == {
        ("jupyterhub", "127.0.0.1:8000"): "1",
        **{("node", f"{address}:9100"): "1" for address in nodes},
    }


def test_the_hubs_metrics_need_the_monitors_token_which_opens_nothing_else(host, hub_url, running):
    metrics, api = f"{hub_url}/hub/metrics", f"{hub_url}/hub/api"
    token = host.check_output(f"cat {SECRETS}/metrics_api_token")
    monitor = {"Authorization": f"token {token}"}
    answer = requests.get(metrics, headers=monitor, timeout=10)
    assert answer.status_code == 200 and "jupyterhub_running_servers" in answer.text
    assert requests.get(metrics, timeout=10).status_code == 403
    student = running("ada")
    assert requests.get(metrics, headers=student.headers, timeout=10).status_code == 403
    assert requests.get(f"{api}/users", headers=monitor, timeout=10).status_code == 403
    # The version stays open, for health checks.
    assert requests.get(api, timeout=10).json()["version"]
    # Prometheus's token is its own copy, readable by Prometheus alone.
    assert host.file("/etc/prometheus/jupyterhub-metrics-token").mode == 0o400
    assert host.file("/etc/prometheus/jupyterhub-metrics-token").user == "prometheus"


def test_prometheus_answers_on_the_hub_hosts_loopback_only(ip):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, 9090), timeout=10).close()
