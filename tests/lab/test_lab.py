"""The path a new admin tries first: `make lab`, then sign in as a sample
student in a browser and get JupyterLab (run by `make lab-test`; the hub
scenario tests the rest of sign-in: admins, outsiders)."""

import os
from pathlib import Path

from schoolhub.lab.browser import sign_in_to_jupyterlab

URL = f"http://127.0.0.1:{os.environ.get('LAB_PORT', '8000')}"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build/artifacts"


def test_sample_student_gets_jupyterlab_in_a_browser():
    assert "JupyterLab" in sign_in_to_jupyterlab(URL, "ada", ARTIFACTS / "lab-jupyterlab.png").title
