"""The quick start (docs/quickstart.md) as the quickstart scenario runs it:
the shell commands of the page's code blocks, as written, in one terminal
where a person would type them (molecule/quickstart/tests/test_quickstart.py)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time
from pathlib import Path

# The page's sections with commands to run, in their order on the page. A
# block in another section, or of another language than sh, is none (the DNS
# records): a new block of commands must be added here to be run.
SECTIONS = (
    "1. The controller",
    "5. The inventory and the vault",
    "7. Check, then deploy",
    "8. What you see at the end",
)
# What a program asks for a password with (ansible-vault, --ask-vault-pass).
PROMPT = re.compile(rb"password: ?$", re.IGNORECASE)


def blocks(page: str) -> list[tuple[str, str, str]]:
    """(section, language, text) of every fenced code block of a Markdown page."""
    found, section, block = [], "", None
    for line in page.splitlines(keepends=True):
        if block is not None:
            if line.startswith("```"):
                found.append((section, *block))
                block = None
            else:
                block[1] += line
        elif line.startswith("```"):
            block = [line[3:].strip(), ""]
        elif line.startswith("## "):
            section = line[3:].strip()
    if block is not None:
        raise ValueError(f"a code block in {section!r} is not closed")
    return found


def script(page: str, substitutions: dict[str, str]) -> str:
    """The page's commands (its sh blocks, all in SECTIONS) as one bash script
    that shows each command and stops at the first that fails. Each
    substitution (a test's stand-in for a placeholder of the page) must occur."""
    commands = [(section, text) for section, language, text in blocks(page) if language == "sh"]
    sections = list(dict.fromkeys(section for section, _ in commands))
    if sections != list(SECTIONS):
        raise ValueError(
            f"the page's commands are in the sections {sections}, not {list(SECTIONS)}"
        )
    text = "".join(text for _, text in commands)
    for placeholder, stand_in in substitutions.items():
        if placeholder not in text:
            raise ValueError(f"the page's commands no longer say {placeholder!r}")
        text = text.replace(placeholder, stand_in)
    return "set -o errexit -o pipefail -o xtrace\n" + text


def run_in_terminal(
    commands: str, cwd: Path, env: dict[str, str], password: str, log: Path, timeout: float
) -> int:
    """Run bash with `commands` in a terminal of its own, typing `password` and
    Enter at each password prompt, as a person at the keyboard would; its
    output to `log`; its exit status. Everything it started is killed after
    `timeout` seconds (TimeoutError)."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: bash, in a session whose terminal is the pty
        try:
            os.chdir(cwd)
            os.execvpe("bash", ["bash", "-c", commands], env)  # noqa: S606 (bash is the shell)
        finally:
            os._exit(127)
    deadline = time.monotonic() + timeout
    tail = b""
    with log.open("wb") as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise TimeoutError(f"the commands ran past {timeout:.0f} s (log: {log})")
            ready, _, _ = select.select([terminal], [], [], min(left, 5))
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: every process of the terminal is gone
                break
            if not chunk:
                break
            out.write(chunk)
            out.flush()
            tail = (tail + chunk)[-200:]
            if PROMPT.search(tail):
                os.write(terminal, password.encode() + b"\n")
                tail = b""
    os.close(terminal)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
