"""What `common` + `docker` leave on a host, checked on the host itself."""

import json
import os
from pathlib import Path

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def test_admin_account_has_fixed_ids(host):
    admin = host.user("hubadmin")
    assert (admin.uid, admin.gid, admin.group) == (1500, 1500, "hubadmin")


def test_extra_ca_certificates_are_trusted(host):
    # The scenario's own CA (prepare.yml), whatever the controller trusts.
    made = (EPHEMERAL / "test-ca.crt").read_text().strip()
    copied = host.file("/usr/local/share/ca-certificates/schoolhub-test-ca.crt")
    assert copied.mode == 0o644
    assert copied.content_string.strip() == made
    assert made in host.file("/etc/ssl/certs/ca-certificates.crt").content_string


def test_daemon_json_rotates_logs_and_sets_pools(host):
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert daemon["live-restore"] is True
    assert daemon["default-address-pools"] == [{"base": "10.210.0.0/16", "size": 24}]


def test_engine_runs_with_that_configuration(host):
    assert host.service("docker").is_running
    assert host.service("docker").is_enabled
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"


def test_engine_runs_a_container_from_the_loaded_archive(host):
    out = host.check_output("docker run --rm schoolhub-probe:1")
    assert out.strip() == "hello from a loaded image"


def test_new_networks_come_from_the_configured_pool(host):
    host.run("docker network rm probe-net")
    host.check_output("docker network create probe-net")
    try:
        subnet = host.check_output(
            "docker network inspect probe-net --format '{{(index .IPAM.Config 0).Subnet}}'"
        )
        assert subnet.startswith("10.210.")
    finally:
        host.run("docker network rm probe-net")
