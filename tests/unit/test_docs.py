"""The README stays short and points into docs/ (which `make lint` builds with
MkDocs, every warning an error: a page or an anchor that a link names and
that does not exist is one)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_the_readme_is_short():
    assert len(README.read_bytes()) < 12 * 1024


def test_every_link_of_the_readme_reaches_a_file_of_the_project():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    assert links, "the README points into docs/"
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert missing == []


def test_the_readmes_deploy_commands_are_the_tested_quick_starts():
    """The README's core of the quick start shows only commands that the
    quickstart scenario runs (the page's, schoolhub_lab.quickstart)."""
    from schoolhub_lab import quickstart

    page = (ROOT / "docs/quickstart.md").read_text()
    tested = {line.strip() for line in quickstart.script(page, {}).splitlines()}
    (core,) = [text for section, _, text in quickstart.blocks(README.read_text())
               if section == "Deploy a school"]  # fmt: skip
    shown = [line.split("  #")[0].strip() for line in core.splitlines()]
    assert [line for line in shown if line not in tested] == []
