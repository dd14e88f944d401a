"""Write the role-variable reference (docs/reference.md) from the roles' argument specs.

python tools/docs.py          # rewrite the reference between the markers
python tools/docs.py --check  # exit 1 when the page is out of date (a unit test runs it)
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs/reference.md"
BEGIN, END = "<!-- BEGIN ROLE VARIABLES (tools/docs.py) -->", "<!-- END ROLE VARIABLES -->"
ROLE_ORDER = ["common", "docker", "nfs_server", "nfs_client", "swarm", "user_servers", "jupyterhub"]


def cell(value) -> str:
    text = (
        value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    )
    text = text.removesuffix("\n...").strip()
    return text.replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    roles = [
        p.name
        for p in sorted((ROOT / "roles").iterdir())
        if (p / "meta/argument_specs.yml").exists()
    ]
    roles.sort(key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER))
    parts = []
    for role in roles:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
        main = spec["argument_specs"]["main"]
        parts.append(f"## `{role}`: {main['short_description']}\n")
        if not main["options"]:
            parts.append(f"{main['description']}\n")
            continue
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
        parts.append("| variable | type | default | what it is |\n|---|---|---|---|")
        for name, option in main["options"].items():
            default = defaults[name]
            shown = f"`{cell(default)}`" if default not in ("", [], {}) else "(empty)"
            if "choices" in option:
                shown += " (" + ", ".join(option["choices"]) + ")"
            parts.append(
                f"| `{name}` | {option['type']} | {shown} | {cell(option['description'])} |"
            )
        parts.append("")
    return "\n".join(parts)


def rendered(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"


def main(argv: list[str]) -> int:
    text = REFERENCE.read_text()
    if BEGIN not in text or END not in text:
        print(f"{REFERENCE}: the markers {BEGIN} ... {END} are missing", file=sys.stderr)
        return 1
    new = rendered(text)
    if "--check" in argv:
        if new != text:
            print(f"{REFERENCE}: out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
