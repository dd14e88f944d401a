"""A student's server runs what the image says, not what her home says
(her Python user site never reaches the built image's server either: it runs
from a venv); and the browser tests of molecule/shared/origins.py."""

import shlex

import requests
from conftest import on_the_shorter_chain
from origins import *  # noqa: F403 (the shared tests)
from origins import as_ada

# (Nothing here depends on the host's release: on Debian 12's shorter chain.)
pytestmark = on_the_shorter_chain


def test_the_server_ignores_jupyter_settings_in_the_home(host, running):
    """Her ~/.jupyter settings are never read by her server (the attack
    served her home without sign-in that way): here, one that would hide a
    file of hers from JupyterLab."""
    ada = running("ada")
    setting = "c.ContentsManager.hide_globs = ['*.hidden-by-ada']"
    as_ada(
        host,
        f"mkdir -p ~/.jupyter && echo {shlex.quote(setting)} > ~/.jupyter/jupyter_server_config.py"
        " && touch ~/notes.hidden-by-ada",
    )
    try:
        ada.stop()
        ada.start()
        ada.wait_ready()
        answer = requests.get(f"{ada.server}/api/contents", headers=ada.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        assert "notes.hidden-by-ada" in [item["name"] for item in answer.json()["content"]]
    finally:
        as_ada(host, "rm -f ~/.jupyter/jupyter_server_config.py ~/notes.hidden-by-ada")


def test_a_ta_with_sudo_cannot_undo_her_servers_firewall(host, running):
    """start.sh sets each server's own firewall, then drops CAP_NET_ADMIN from
    every process's bounding set: a TA's sudo (jupyterhub_admin_sudo, on in
    this scenario) is root without it."""
    tina = running("tina")
    status, output = tina.terminal("sudo -n nft delete table inet schoolhub")
    assert status != 0 and "Operation not permitted" in output, output
    _, output = tina.terminal("sudo -n grep CapBnd /proc/self/status")
    bounding = int(output.split()[-1], 16)
    assert bounding and not bounding & 1 << 12, output  # (12: CAP_NET_ADMIN)
    table = host.check_output("docker exec -u 0 jupyter-tina nft list table inet schoolhub")
    assert "tcp dport 8888 accept" in table, table
