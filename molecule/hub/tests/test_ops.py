"""The operations playbooks against the running hub (after test_hub.py: they
stop servers)."""

import re

from conftest import container, run_playbook


def image_of(host, name) -> str:
    return container(host, name)["Config"]["Image"]


def test_users_playbook_lists_users_admins_and_servers(running):
    running("alice")
    listed = run_playbook("users.yml").stdout
    assert "alice" in listed and "ready" in listed
    assert re.search(r"carol\s+yes\s+(ready|stopped)", listed), listed


def test_new_image_reaches_a_user_at_next_start_and_spares_running_servers(running, host):
    alice, bob = running("alice"), running("Bob-Smith2")
    before, started = (
        image_of(host, "jupyter-alice"),
        container(host, "jupyter-alice")["State"]["StartedAt"],
    )
    run_playbook("update-image.yml", "jupyterhub_singleuser_revision=2")
    # Alice's running server is untouched...
    assert container(host, "jupyter-alice")["State"]["StartedAt"] == started
    assert image_of(host, "jupyter-alice") == before
    assert alice.server_status().status_code == 200
    # ...Bob gets the new image at his next start.
    bob.stop()
    bob = running("Bob-Smith2")
    after = image_of(host, "jupyter-bob-2dsmith2")
    assert after != before
    label = '{{index .Config.Labels "org.schoolhub.revision"}}'
    assert host.check_output(f"docker image inspect --format '{label}' {after}") == "2"


def test_users_playbook_stops_every_server(running, host):
    running("alice")
    assert "stopped" in run_playbook("users.yml", "users_action=stop-all").stdout
    assert host.check_output("docker ps --filter name=jupyter- --format '{{.Names}}'") == ""
