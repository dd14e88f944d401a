"""The check of a site's own certificate (plugins/filter/certificate.py):
a certificate browsers would refuse for the hub or a user's server, or a key
the TLS front cannot use, stops the run with what is wrong."""

import datetime
import importlib.util
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/certificate.py"
spec = importlib.util.spec_from_file_location("certificate", PLUGIN)
certificate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(certificate)

HOST = "hub.school.example"


def check(crt, key, host=HOST, subdomains=True):
    """The filter as the preflight calls it: the paths, and the files' text."""
    text = [Path(path).read_text() for path in (crt, key)]
    return certificate.certificate_error(crt, key, *text, host, subdomains)


def made(tmp_path, names, days=30, key=None, name="site"):
    """A self-signed certificate for `names` and its key, as PEM files."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "x")])
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=60))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    if names:
        built = built.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    cert = built.sign(key, hashes.SHA256())
    crt, pem = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(crt), str(pem)


def test_a_wildcard_certificate_with_its_key_passes(tmp_path):
    crt, key = made(tmp_path, [HOST, f"*.{HOST}"])
    assert check(crt, key) == ""


def test_without_subdomains_the_hubs_name_is_enough(tmp_path):
    crt, key = made(tmp_path, [HOST])
    assert check(crt, key, subdomains=False) == ""


def test_a_certificate_without_the_users_names_is_refused(tmp_path):
    crt, key = made(tmp_path, [HOST])
    said = check(crt, key)
    assert said == (
        f"jupyterhub_tls_certificate ({crt}) is for {HOST}: it must name {HOST} and *.{HOST}"
        f" (each user's server is at <user>.{HOST}, jupyterhub_subdomains)"
    )


def test_a_wildcard_alone_does_not_cover_the_hubs_own_name(tmp_path):
    crt, key = made(tmp_path, [f"*.{HOST}"])
    assert f"is for *.{HOST}: it must name {HOST} and" in check(crt, key)


def test_a_wildcard_one_level_up_covers_the_hub_but_not_its_users(tmp_path):
    crt, key = made(tmp_path, ["*.school.example"])
    assert check(crt, key, subdomains=False) == ""
    assert "it must name" in check(crt, key)


def test_the_key_of_another_certificate_is_refused(tmp_path):
    crt, _ = made(tmp_path, [HOST, f"*.{HOST}"])
    _, other = made(tmp_path, [HOST], name="other")
    said = check(crt, other)
    assert said == (
        f"jupyterhub_tls_certificate_key ({other}) is not the key of"
        f" jupyterhub_tls_certificate ({crt})"
    )


def test_an_expired_certificate_is_refused(tmp_path):
    crt, key = made(tmp_path, [HOST, f"*.{HOST}"], days=-1)
    assert check(crt, key).startswith(f"jupyterhub_tls_certificate ({crt}) expired on ")


@pytest.mark.parametrize("which", ["certificate", "key"])
def test_files_that_are_not_pem_are_named(tmp_path, which):
    crt, key = made(tmp_path, [HOST, f"*.{HOST}"])
    broken = tmp_path / "broken.pem"
    broken.write_text("not a PEM file\n")
    if which == "certificate":
        said = check(str(broken), key)
        assert said.startswith(f"jupyterhub_tls_certificate ({broken}) is not a PEM certificate")
    else:
        said = check(crt, str(broken))
        assert said.startswith(f"jupyterhub_tls_certificate_key ({broken}) is not a PEM private")


def test_the_names_match_without_regard_to_case():
    assert certificate.covers(["*.HUB.School.example"], "ada.hub.school.example")
    assert not certificate.covers(["*.hub.school.example"], "a.b.hub.school.example")
