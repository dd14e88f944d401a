"""The check of a site's own certificate (jupyterhub_tls_certificate), on the
controller before anything changes: the TLS front would otherwise start with
files browsers refuse, or not start at all."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def covers(names: list[str], wanted: str) -> bool:
    """Whether a certificate for `names` (its DNS names) is valid for `wanted`:
    a wildcard stands for exactly one label (RFC 6125)."""
    wanted = wanted.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == wanted:
            return True
        if name.startswith("*.") and "." in wanted and wanted.split(".", 1)[1] == name[2:]:
            return True
    return False


def certificate_error(
    certificate: str, key: str, certificate_pem: str, key_pem: str, host: str, subdomains: bool
) -> str:
    """What is wrong with the certificate and key files (their paths, and their
    text as the controller reads them: a key in Ansible Vault decrypted) for
    the hub's name `host` (and, with subdomains, the names under it), or ""."""
    what = f"jupyterhub_tls_certificate ({certificate})"
    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError as error:
        return f"{what} is not a PEM certificate file: {error}"
    try:
        private = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        return (
            f"jupyterhub_tls_certificate_key ({key}) is not a PEM private key without a"
            f" passphrase: {error}"
        )
    leaf = chain[0]  # the site's own; the CA's that follow it

    def spki(key):
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    if spki(private.public_key()) != spki(leaf.public_key()):
        return f"jupyterhub_tls_certificate_key ({key}) is not the key of {what}"
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = names.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    wanted = [host] + ([f"any-user.{host}"] if subdomains else [])
    missing = [name for name in wanted if not covers(names, name)]
    if missing:
        needs = f"{host} and *.{host}" if subdomains else host
        why = f" (each user's server is at <user>.{host}, jupyterhub_subdomains)"
        named = ", ".join(names) or "no DNS name"
        return f"{what} is for {named}: it must name {needs}" + (why if subdomains else "")
    now = datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc <= now:
        return f"{what} expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return ""


class FilterModule:
    def filters(self):
        return {"certificate_error": certificate_error}
