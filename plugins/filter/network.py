"""The users' network's addresses (jupyterhub_network_subnet), as the hub
computes them (schoolhub.settings.users_network), and the names the site's DNS
must know."""

import socket
import sys
from pathlib import Path

# This project's package: the source the hub image is built from.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from schoolhub.settings import users_network  # noqa: E402


def unresolved(names: list[str]) -> list[str]:
    """The names this machine's resolver does not find."""
    missing = []
    for name in names:
        try:
            socket.getaddrinfo(name, None)
        except (socket.gaierror, UnicodeError):
            missing.append(name)
    return missing


class FilterModule:
    def filters(self):
        return {"users_network": users_network, "unresolved": unresolved}
