"""What `common` + `docker` (playbooks/hosts.yml, every host) leave on a host,
checked on the NFS host: a host that runs no hub and no server."""

import json

import yaml
from conftest import EPHEMERAL


def test_admin_account_has_fixed_ids(nfs_host):
    admin = nfs_host.user("hubadmin")
    assert (admin.uid, admin.gid, admin.group) == (1500, 1500, "hubadmin")


def test_extra_ca_certificates_are_trusted(nfs_host):
    # The scenario's own CA (prepare.yml), whatever the controller trusts.
    made = (EPHEMERAL / "test-ca.crt").read_text().strip()
    copied = nfs_host.file("/usr/local/share/ca-certificates/schoolhub-test-ca.crt")
    assert copied.mode == 0o644
    assert copied.content_string.strip() == made
    assert made in nfs_host.file("/etc/ssl/certs/ca-certificates.crt").content_string


def test_daemon_json_rotates_logs_and_sets_pools(nfs_host):
    daemon = json.loads(nfs_host.file("/etc/docker/daemon.json").content_string)
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert daemon["live-restore"] is True
    assert daemon["default-address-pools"] == [{"base": "10.210.0.0/16", "size": 24}]


def test_engine_runs_with_that_configuration(nfs_host):
    assert nfs_host.service("docker").is_running
    assert nfs_host.service("docker").is_enabled
    info = json.loads(nfs_host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True
    assert info["LoggingDriver"] == "json-file"


def test_engine_runs_a_container_from_an_image_archive(nfs_host):
    """The base image came as an archive (docker_image_archives), as on a site
    without registry access."""
    lab = yaml.safe_load((EPHEMERAL / "inventory/lab.yml").read_text())["all"]["vars"]
    out = nfs_host.check_output(f"docker run --rm {lab['lab_base_image']} echo loaded")
    assert out.strip() == "loaded"


def test_new_networks_come_from_the_configured_pool(nfs_host):
    nfs_host.run("docker network rm probe-net")
    nfs_host.check_output("docker network create probe-net")
    try:
        subnet = nfs_host.check_output(
            "docker network inspect probe-net --format '{{(index .IPAM.Config 0).Subnet}}'"
        )
        assert subnet.startswith("10.210.")
    finally:
        nfs_host.run("docker network rm probe-net")
