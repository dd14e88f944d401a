"""The quick start's commands as the quickstart scenario takes them from the
page (schoolhub_lab.quickstart), and the terminal it runs them in."""

import sys
from pathlib import Path

import pytest

from schoolhub_lab import quickstart

PAGE = (Path(__file__).resolve().parents[2] / "docs/quickstart.md").read_text()
CLONE = "git clone https://github.com/<your-fork>/schoolhub"


def test_the_pages_commands_are_those_of_its_sections_in_order():
    commands = quickstart.script(PAGE, {CLONE: "cp -a /checkout schoolhub"})
    lines = [line for line in commands.splitlines() if line.startswith(("cp ", "ansible"))]
    assert lines[0] == "cp -a /checkout schoolhub && cd schoolhub"
    assert [line.split()[-2] for line in lines if line.startswith("ansible-playbook")] == [
        "playbooks/check.yml",
        "playbooks/site.yml",
        "playbooks/users.yml",
    ]
    assert commands.startswith("set -o errexit -o pipefail -o xtrace\n")


def test_a_block_of_commands_in_another_section_is_refused():
    page = PAGE.replace("## 3. The DNS\n", "## 3. The DNS\n\n```sh\nnslookup hub\n```\n")
    with pytest.raises(ValueError, match="'3. The DNS'"):
        quickstart.script(page, {CLONE: "true"})


def test_a_placeholder_the_page_no_longer_has_is_refused():
    with pytest.raises(ValueError, match="no longer say 'git clone https://example/x'"):
        quickstart.script(PAGE, {"git clone https://example/x": "true"})


def test_an_unclosed_block_is_refused():
    with pytest.raises(ValueError, match="not closed"):
        quickstart.blocks("## 1. A\n```sh\nls\n")


ASK = (
    f"{sys.executable} -c \"import getpass as g; print('got', len(g.getpass('Vault password: ')))\""
)
PATH = {"PATH": "/usr/bin:/bin"}


def test_the_terminal_types_the_password_at_each_prompt_and_shows_it_nowhere(tmp_path):
    log = tmp_path / "log"
    commands = f"set -e\n{ASK}\n{ASK}\necho done\n"
    status = quickstart.run_in_terminal(commands, tmp_path, PATH, "s3cret!", log, 60)
    output = log.read_text()
    assert status == 0, output
    assert output.count("got 7") == 2
    assert "done" in output
    assert "s3cret" not in output


def test_the_first_failing_command_stops_the_run_with_its_status(tmp_path):
    log = tmp_path / "log"
    page = "## 1. The controller\n```sh\nfalse\necho after\n```\n" + "".join(
        f"## {section}\n```sh\ntrue\n```\n" for section in quickstart.SECTIONS[1:]
    )
    commands = quickstart.script(page, {})
    status = quickstart.run_in_terminal(commands, tmp_path, PATH, "", log, 60)
    assert status == 1
    assert "after" not in log.read_text().replace("echo after", "")


def test_commands_that_run_too_long_are_killed(tmp_path):
    with pytest.raises(TimeoutError, match="past 1 s"):
        quickstart.run_in_terminal("sleep 30", tmp_path, PATH, "", tmp_path / "log", 1)
