"""Helpers of the scenarios' tests (molecule/shared/scenario.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "molecule/shared"))
import scenario  # noqa: E402

RECAP = """
PLAY RECAP *********************************************************************
schoolhub-hub-host         : ok=84   changed={hub}    unreachable=0    failed=0    skipped=30
schoolhub-hub-nfs          : ok=34   changed=0    unreachable=0    failed=0    skipped=8
"""
HOSTS = {"schoolhub-hub-host", "schoolhub-hub-nfs"}


def test_unchanged_accepts_a_run_that_changed_nothing_anywhere():
    scenario.unchanged(RECAP.format(hub=0), HOSTS)


def test_unchanged_sees_one_host_that_changed():
    # The old check (a regex any one recap line satisfies) passed this.
    with pytest.raises(AssertionError):
        scenario.unchanged(RECAP.format(hub=1), HOSTS)


def test_unchanged_sees_a_host_that_did_not_run():
    with pytest.raises(AssertionError):
        scenario.unchanged(RECAP.format(hub=0), HOSTS | {"schoolhub-hub-worker"})
