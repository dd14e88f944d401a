"""HTTPS on a real site's settings: the TLS front gets a certificate from an
ACME server (pebble, on the hub host), HTTP redirects, browsers get HSTS and
only Secure cookies, and the proxy's plain port is the hub host's alone."""

import socket
import ssl
import subprocess
import time

import pytest
import requests
from conftest import ARTIFACTS, run_playbook

from schoolhub.lab.browser import sign_in_to_jupyterlab

NAME = "schoolhub-https-host"  # jupyterhub_public_url's host (molecule.yml)


@pytest.fixture(scope="module")
def acme_root(host):
    """pebble's root CA: made at its start, published on its management port."""
    fetch = (
        "import ssl, urllib.request as u;"
        " c = ssl.create_default_context(cafile='/etc/pebble/pebble.crt');"
        " print(u.urlopen('https://localhost:15000/roots/0', context=c).read().decode())"
    )
    return host.check_output(f'timeout 30 python3 -c "{fetch}"')


def served(ip: str, cadata: str, seconds: float = 180) -> dict:
    """The certificate on port 443 for NAME, once it verifies against `cadata`."""
    context = ssl.create_default_context(cadata=cadata)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with (
                socket.create_connection((ip, 443), timeout=10) as sock,
                context.wrap_socket(sock, server_hostname=NAME) as tls,
            ):
                return tls.getpeercert()
        except (OSError, ssl.SSLError) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"no certificate for {NAME} that verifies: {error}") from error
            time.sleep(2)


def test_the_site_gets_its_certificate_from_the_acme_server(ip, acme_root):
    certificate = served(ip, acme_root)
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
    served(ip, acme_root)
    landing = sign_in_to_jupyterlab(
        f"https://{NAME}", "ada", ARTIFACTS / "https-jupyterlab.png", resolve={NAME: ip}
    )
    assert "JupyterLab" in landing.title
    # A student who does not care about profiles (molecule.yml) only pressed Start.
    assert landing.profiles == {"standard": True, "big-data": False}
    assert landing.headers["strict-transport-security"] == "max-age=31536000"
    ours = [c for c in landing.cookies if c["domain"].lstrip(".") == NAME]
    assert {c["name"] for c in ours} >= {"jupyterhub-session-id", "_xsrf", "jupyterhub-user-ada"}
    assert [(c["name"], c["path"]) for c in ours if not c["secure"]] == []


def test_a_restart_keeps_the_certificate(host, ip, acme_root):
    before = served(ip, acme_root)["serialNumber"]
    host.run_expect([0], "timeout 60 docker restart jupyterhub-tls")
    assert served(ip, acme_root)["serialNumber"] == before


def test_a_certificate_of_the_sites_own_replaces_acme(tmp_path, ip):
    """Last (conftest.LAST): the site's own files (jupyterhub_tls_certificate) are served
    instead; its site.yml also puts back the profiles the test before left."""
    certificate, key = tmp_path / "site.crt", tmp_path / "site.key"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}",
         "-keyout", str(key), "-out", str(certificate)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run_playbook(
        "site.yml",
        f"jupyterhub_tls_certificate={certificate}",
        f"jupyterhub_tls_certificate_key={key}",
    )
    assert served(ip, certificate.read_text())["subject"] == ((("commonName", NAME),),)
