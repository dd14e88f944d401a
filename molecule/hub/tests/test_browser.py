"""A real browser signs in as a student through the fake GitHub's pages and
sees JupyterLab; the screenshot is kept in build/artifacts/."""

from conftest import ARTIFACTS, same_on_every_release

from schoolhub_lab.browser import sign_in_to_jupyterlab


@same_on_every_release
def test_student_signs_in_with_a_browser_and_sees_jupyterlab(hub_url):
    landing = sign_in_to_jupyterlab(hub_url, "Bob-Smith2", ARTIFACTS / "hub-jupyterlab.png")
    assert "JupyterLab" in landing.title
