"""What an image is built from, and the hash that names it (computed on the
controller, so a run whose images exist copies nothing to the hosts)."""

import hashlib
import tomllib
from pathlib import Path


def hub_package(project: str) -> list[dict]:
    """The hub image's share of this project: the schoolhub package (not the
    lab's, schoolhub_lab, which runs on the controller) and the runtime
    dependencies from pyproject.toml (not the dev tools), as build-context entries."""
    root = Path(project)
    modules = sorted((root / "src/schoolhub").glob("*.py"))
    needs = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    return [{"src": str(path), "dest": f"schoolhub/{path.name}"} for path in modules] + [
        {"content": "".join(f"{need}\n" for need in needs), "dest": "requirements.txt"}
    ]


def context_digest(entries: list[dict], *extra: str) -> str:
    """sha256 over each entry's path in the context and its bytes (a file on
    the controller, `src`, or text, `content`), then the `extra` strings."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda entry: entry["dest"]):
        data = entry["content"].encode() if "content" in entry else Path(entry["src"]).read_bytes()
        digest.update(entry["dest"].encode() + b"\0" + hashlib.sha256(data).digest())
    for text in extra:
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()


class FilterModule:
    def filters(self):
        return {"hub_package": hub_package, "context_digest": context_digest}
