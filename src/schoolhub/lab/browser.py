"""Sign in with a real browser: Debian's chromium, driven by Playwright.

Playwright's own browser downloads are never used: CHROMIUM is the system's.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def sign_in_to_jupyterlab(hub_url: str, login: str, screenshot: Path) -> str:
    """Sign in as `login` through the fake GitHub's page, wait for JupyterLab's
    launcher, save a screenshot (also on failure, beside it) and return the title."""
    from playwright.sync_api import sync_playwright

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            page.goto(f"{hub_url}/hub/login", timeout=60_000)
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.get_by_role("button", name=login).click()
            # Spawn-pending, then JupyterLab's launcher.
            page.wait_for_url(f"**/user/{login.lower()}/lab**", timeout=300_000)
            page.locator(".jp-Launcher").first.wait_for(timeout=120_000)
            page.screenshot(path=str(screenshot))
            return page.title()
        except Exception:
            page.screenshot(path=str(screenshot.with_name(f"{screenshot.stem}-failure.png")))
            raise
        finally:
            browser.close()
