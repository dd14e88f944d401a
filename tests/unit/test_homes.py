"""The homes' volume plugin (roles/user_servers/files/schoolhub-homes) as Docker
talks to it, on a socket of its own: what it refuses before it touches a disk.
Making, filling and growing homes needs loop devices: the scenarios'
tests/test_isolation.py and test_swarm.py."""

import importlib.machinery
import importlib.util
import json
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles/user_servers/files/schoolhub-homes"
loader = importlib.machinery.SourceFileLoader("schoolhub_homes", str(SCRIPT))
spec = importlib.util.spec_from_loader("schoolhub_homes", loader)
plugin = importlib.util.module_from_spec(spec)
loader.exec_module(plugin)


@pytest.fixture
def call(tmp_path):
    """POST one call of Docker's volume plugin protocol; its JSON answer.
    The host keeps an impossible reserve free: no home fits."""
    plugin.Plugin.homes = plugin.Homes(tmp_path / "homes", 64 << 20, 1 << 60)
    (tmp_path / "homes").mkdir()
    path = str(tmp_path / "plugin.sock")
    server = plugin.Server(path, plugin.Plugin)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def call(method: str, **request) -> dict:
        connection = plugin.DockerConnection(path)
        connection.request("POST", f"/{method}", json.dumps(request))
        return json.loads(connection.getresponse().read())

    yield call
    server.shutdown()
    server.server_close()


def test_it_is_a_local_volume_driver(call):
    assert call("Plugin.Activate") == {"Implements": ["VolumeDriver"]}
    assert call("VolumeDriver.Capabilities") == {"Capabilities": {"Scope": "local"}}
    assert call("VolumeDriver.List") == {"Volumes": [], "Err": ""}


def test_a_new_home_that_does_not_fit_is_refused_with_the_figures(call, tmp_path):
    err = call("VolumeDriver.Create", Name="schoolhub-home-ada")["Err"]
    assert err.startswith("no room for a new 64.0M home on ") and "stays free for the host" in err
    assert list((tmp_path / "homes").iterdir()) == []


def test_options_and_odd_names_are_refused(call):
    answer = call("VolumeDriver.Create", Name="schoolhub-home-ada", Opts={"size": "50G"})
    assert answer["Err"].startswith("no options here (got size): every home's size is the host's")
    assert call("VolumeDriver.Create", Name="../etc")["Err"] == "'../etc' is not a volume name"
    assert call("VolumeDriver.Get", Name="home-ada")["Err"] == "no volume home-ada"
    assert call("VolumeDriver.Mount", Name="nobody", ID="1")["Err"] == "no volume nobody"


def test_a_home_smaller_than_the_filesystem_s_tables_is_refused():
    with pytest.raises(SystemExit):
        plugin.main(["--root", "/nonexistent", "--size", str(16 << 20)])
