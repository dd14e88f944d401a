"""HTTPS on a real site's settings: the TLS front gets a certificate from an
ACME server (pebble, on the hub host), HTTP redirects, browsers get HSTS and
only Secure cookies, and the proxy's plain port is the hub host's alone."""

import socket
import subprocess

import pytest
import requests
from conftest import ARTIFACTS, run_playbook, served

from schoolhub_lab.browser import sign_in_to_jupyterlab

NAME = "schoolhub-https-host.test"  # jupyterhub_public_url's host (molecule.yml)


def test_the_site_gets_its_certificate_from_the_acme_server(ip, acme_root):
    certificate = served(ip, acme_root, NAME)
    assert ("DNS", NAME) in certificate["subjectAltName"]


def test_http_redirects_to_https(ip):
    answer = requests.get(
        f"http://{ip}/hub/login?next=x", headers={"Host": NAME}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 308
    assert answer.headers["Location"] == f"https://{NAME}/hub/login?next=x"


def test_the_proxys_plain_port_is_the_hosts_alone(host, ip):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, 8000), timeout=10).close()
    fetch = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/hub/api').status)"
    assert host.check_output(f'timeout 30 python3 -c "{fetch}"') == "200"


def test_a_browser_signs_in_over_https_with_hsts_and_only_secure_cookies(ip, acme_root):
    served(ip, acme_root, NAME)
    landing = sign_in_to_jupyterlab(
        f"https://{NAME}", "ada", ARTIFACTS / "https-jupyterlab.png", resolve={NAME: ip}
    )
    assert "JupyterLab" in landing.title
    # A student who does not care about profiles (molecule.yml) only pressed Start.
    assert landing.profiles == {"standard": True, "big-data": False}
    assert landing.headers["strict-transport-security"] == "max-age=31536000"
    # The hub's cookies on its name, her server's on hers: host-locked
    # (__Host-: no other name may set them), and never over plain HTTP. (The
    # session's id is for the hub's name and every name under it, as JupyterHub
    # sets it, and only for the browser: not a credential, never read by script.)
    hub = {c["name"] for c in landing.cookies if c["domain"].lstrip(".") == NAME}
    assert hub >= {"jupyterhub-session-id", "_xsrf", "__Host-jupyterhub-hub-login"}, hub
    server = {c["name"] for c in landing.cookies if c["domain"] == f"ada.{NAME}"}
    assert "__Host-jupyterhub-user-ada" in server, server
    assert {c["domain"].lstrip(".") for c in landing.cookies} <= {NAME, f"ada.{NAME}"}
    assert [(c["name"], c["path"]) for c in landing.cookies if not c["secure"]] == []
    session = [c["httpOnly"] for c in landing.cookies if c["name"] == "jupyterhub-session-id"]
    assert session == [True]
    hosted = [c for c in landing.cookies if c["name"].startswith("__Host-")]
    assert {(c["path"], c["domain"].startswith(".")) for c in hosted} == {("/", False)}


def test_a_users_name_gets_its_certificate_and_a_made_up_one_none(ip, acme_root, host):
    """Each user's server is at her own name: the TLS front gets its
    certificate at the first visit once the hub says she exists (the
    certificates service); a name of nobody gets no certificate at all."""
    api = "http://127.0.0.1:8000/hub/api/users/ada"
    token = "$(cat /etc/schoolhub/secrets/ops_api_token)"
    host.check_output(
        f"timeout 30 python3 -c \"import urllib.request as u; u.urlopen(u.Request('{api}',"
        f" method='POST', headers={{'Authorization': 'token {token}'}}), timeout=20)\" || true"
    )
    certificate = served(ip, acme_root, f"ada.{NAME}")
    assert ("DNS", f"ada.{NAME}") in certificate["subjectAltName"]
    with pytest.raises(AssertionError, match=f"no certificate for nobody.{NAME}"):
        served(ip, acme_root, f"nobody.{NAME}", seconds=20)
    asked = host.check_output("docker logs jupyterhub 2>&1 | grep -c 'no certificate for' || true")
    assert int(asked) >= 1


def test_a_restart_keeps_the_certificate(host, ip, acme_root):
    before = served(ip, acme_root, NAME)["serialNumber"]
    host.run_expect([0], "timeout 60 docker restart jupyterhub-tls")
    assert served(ip, acme_root, NAME)["serialNumber"] == before


def test_a_certificate_of_the_sites_own_replaces_acme(tmp_path, ip):
    """Last (conftest.LAST): the site's own files (jupyterhub_tls_certificate), a
    wildcard certificate for the hub's name and the names under it, are served
    instead, for the hub and for a user's server; its site.yml also puts back
    the profiles the test before left."""
    certificate, key = tmp_path / "site.crt", tmp_path / "site.key"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME},DNS:*.{NAME}",
         "-keyout", str(key), "-out", str(certificate)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run_playbook(
        "site.yml",
        f"jupyterhub_tls_certificate={certificate}",
        f"jupyterhub_tls_certificate_key={key}",
    )
    assert served(ip, certificate.read_text(), NAME)["subject"] == ((("commonName", NAME),),)
    users = served(ip, certificate.read_text(), f"ada.{NAME}")
    assert ("DNS", f"*.{NAME}") in users["subjectAltName"], users
