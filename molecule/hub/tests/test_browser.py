"""A real browser (Debian's chromium, driven by Playwright) signs in as a
student through the fake GitHub's pages and sees JupyterLab."""

import pytest
from conftest import ARTIFACTS

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_student_signs_in_with_a_browser_and_sees_jupyterlab(hub_url):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{hub_url}/hub/login", timeout=60_000)
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.get_by_role("button", name="Bob-Smith2").click()
            # Spawn-pending, then JupyterLab's launcher.
            page.wait_for_url("**/user/bob-smith2/lab**", timeout=300_000)
            page.locator(".jp-Launcher, .jp-LauncherBody").first.wait_for(timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / "hub-jupyterlab.png"))
            assert "JupyterLab" in page.title()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "hub-failure.png"))
            raise
        finally:
            browser.close()
