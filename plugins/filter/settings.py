"""The hub's own check of its settings, run on the controller before any host
changes (tasks/preflight.yml): the same code the hub runs at its start, its
settings' checks (schoolhub.settings) and then its whole start with them
(schoolhub.config.rehearse: JupyterHub, the spawner and the authenticator
with their traits), with errors named by the inventory variable they come from."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This project's package: the source the hub image is built from.
sys.path.insert(0, str(ROOT / "src"))

from schoolhub import config  # noqa: E402
from schoolhub import settings as schema  # noqa: E402


def _variables(node: dict, path: str = ""):
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            yield from _variables(value, where)
        elif value.variable:
            yield where, value.variable


# The inventory variable each setting comes from (schoolhub.settings.SCHEMA),
# which leads the check's messages about it.
VARIABLES = dict(_variables(schema.SCHEMA))


# What the rehearsal of the hub's start depends on besides the settings: the
# package's code and these libraries. A start rehearsed without an error is
# remembered (a marker named by a hash of all of it): the next run with the
# same settings, code and libraries need not import JupyterHub again.
REHEARSED = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "schoolhub/rehearsed"
LIBRARIES = (
    "jupyterhub",
    "dockerspawner",
    "oauthenticator",
    "jupyterhub-nativeauthenticator",
    "traitlets",
)


def rehearsal_key(cfg: dict) -> str:
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode())
    for module in sorted((ROOT / "src/schoolhub").glob("*.py")):
        digest.update(module.read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library} {metadata.version(library)}".encode())
    return digest.hexdigest()


def settings_error(settings: dict) -> str:
    """ "" when the hub accepts `settings`; else the hub's messages (every
    mistake, one a line), each led by the inventory variable to fix."""
    try:
        cfg = schema.load_document(settings)
        marker = REHEARSED / rehearsal_key(cfg)
        if not marker.exists():
            config.rehearse(cfg)
            with contextlib.suppress(OSError):
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
    except metadata.PackageNotFoundError as error:
        return (
            f"The controller lacks the Python package {error.name}, which the check of the hub's"
            " settings runs (JupyterHub and its spawner and authenticators, as in the hub):"
            " install the project's requirements where Ansible runs (pip install -e . in a"
            " checkout, or the `dependencies` of its pyproject.toml)."
        )
    except schema.ConfigError as error:

        def named(message: str) -> str:
            variable = VARIABLES.get(message.split(":", 1)[0].strip())
            return f"{variable} ({message})" if variable else message

        return "\n".join(named(message) for message in str(error).splitlines())
    return ""


class FilterModule:
    def filters(self):
        return {"settings_error": settings_error}
