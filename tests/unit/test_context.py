"""The hub image's build context and the hash that names it (the role's
plugins/filter/context.py): only what is in the image changes its tag."""

import shutil
from pathlib import Path

from test_checks import plugin

context = plugin("context.py")
ROOT = Path(__file__).resolve().parents[2]


def hub_tag(project: Path) -> str:
    return context.context_digest(context.hub_package(str(project)), "ca-digest")


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project)
    return project


def test_the_hub_gets_the_modules_and_runtime_dependencies_only():
    entries = context.hub_package(str(ROOT))
    names = {entry["dest"] for entry in entries}
    assert {"schoolhub/config.py", "schoolhub/spawner.py", "requirements.txt"} <= names
    assert not [name for name in names if "lab" in name or name.endswith("pyproject.toml")]
    needs = next(entry["content"] for entry in entries if entry["dest"] == "requirements.txt")
    assert "jupyterhub" in needs and "dockerspawner" in needs
    assert "molecule" not in needs and "pytest" not in needs


def test_editing_the_lab_or_the_dev_tools_keeps_the_hub_tag(tmp_path):
    project = copy_project(tmp_path)
    before = hub_tag(project)
    (project / "src/schoolhub_lab/hosts.py").write_text("# edited\n")
    (project / "src/schoolhub_lab/new.py").write_text("x = 1\n")
    toml = project / "pyproject.toml"
    toml.write_text(toml.read_text().replace('"ruff>=', '"black>=24,<25",\n    "ruff>='))
    assert hub_tag(project) == before


def test_editing_a_runtime_module_or_dependency_changes_the_hub_tag(tmp_path):
    project = copy_project(tmp_path)
    before = hub_tag(project)
    spawner = project / "src/schoolhub/spawner.py"
    spawner.write_text(spawner.read_text() + "\n# edited\n")
    edited = hub_tag(project)
    assert edited != before
    toml = project / "pyproject.toml"
    toml.write_text(toml.read_text().replace('"PyYAML>=6,<7"', '"PyYAML>=6.0.2,<7"'))
    assert hub_tag(project) not in (before, edited)
    assert context.context_digest([], "other-ca") != context.context_digest([], "ca-digest")
