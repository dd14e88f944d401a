"""The path a new admin tries first: `make lab`, then sign in as a sample
student in a browser and get JupyterLab (run by `make lab-test`; the hub
scenario tests the rest of sign-in: admins, outsiders)."""

import os
from pathlib import Path

from schoolhub_lab.browser import sign_in_to_jupyterlab

PORT = os.environ.get("LAB_PORT", "8000")
URL = f"http://hub.localhost:{PORT}"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build/artifacts"


def test_sample_student_gets_jupyterlab_in_a_browser_on_her_own_name():
    landing = sign_in_to_jupyterlab(
        URL, "ada", ARTIFACTS / "lab-jupyterlab.png", then=lambda page: page.url
    )
    assert "JupyterLab" in landing.title
    # Per-user subdomains, as on a real site: browsers find *.localhost themselves.
    assert landing.then.startswith(f"http://ada.hub.localhost:{PORT}/user/ada/lab")
