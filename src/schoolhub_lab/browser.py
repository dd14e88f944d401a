"""Sign in with a real browser: Debian's chromium, driven by Playwright.

Playwright's own browser downloads are never used: CHROMIUM is the system's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def snap(page, path: Path) -> None:
    """A screenshot for whoever reads the test's artifacts, never the test's
    outcome: Chromium on a loaded machine sometimes answers "Unable to capture
    screenshot" (and Playwright's error then hid the failure it was taken for)."""
    from playwright.sync_api import Error

    for attempt in (1, 2):
        try:
            page.screenshot(path=str(path), timeout=30_000)
            return
        except Error as error:
            print(f"screenshot {path.name}, attempt {attempt}: {str(error).splitlines()[0]}")
            time.sleep(1)


def host_rules(resolve: dict[str, str]) -> list[str]:
    """Chromium's flag that finds each name, and every name under it (users'
    servers with subdomains), at its address."""
    rules = ", ".join(
        f"MAP {pattern} {address}"
        for name, address in resolve.items()
        for pattern in (name, f"*.{name}")
    )
    return [f"--host-resolver-rules={rules}"] if rules else []


# Chromium cancels every request in flight, other than to the loopback, when
# a network interface of the machine comes or goes (net::ERR_NETWORK_CHANGED):
# on a machine whose Docker makes other test hosts, that is any moment. A
# person presses reload; a page's navigation (page.goto) is tried again, at
# most NAVIGATIONS times.
NAVIGATIONS = 3


def watch_network_changes(page) -> None:
    """Keep, on the page, the requests a network change cancelled (for
    wait_for_launcher)."""
    page.cancelled = []

    def failed(request) -> None:
        if "ERR_NETWORK_CHANGED" in (request.failure or ""):
            page.cancelled.append(request.url)

    page.on("requestfailed", failed)


def wait_for_launcher(page, timeout_ms: int = 120_000) -> None:
    """Wait for JupyterLab's launcher on `page`. A page whose loading a network
    change cut (one of its scripts cancelled: JupyterLab then never starts,
    and the page stays blank) is reloaded, as a person would, NAVIGATIONS - 1
    times at most; each load gets `timeout_ms`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    cancelled = getattr(page, "cancelled", [])
    reloads, deadline = 0, time.monotonic() + timeout_ms / 1000
    while True:
        left = max(deadline - time.monotonic(), 0.1)
        try:
            page.locator(".jp-Launcher").first.wait_for(timeout=min(left, 10) * 1000)
            return
        except PlaywrightTimeout:
            if cancelled and reloads < NAVIGATIONS - 1:
                reloads += 1
                print(f"{page.url}: {cancelled} cancelled by a network change, reload {reloads}")
                cancelled.clear()
                page.reload(timeout=120_000)
                deadline = time.monotonic() + timeout_ms / 1000
            elif time.monotonic() >= deadline:
                raise


def _navigations_survive_network_changes() -> None:
    from playwright.sync_api import Error, Page

    goto = Page.goto
    if getattr(goto, "again_on_network_changes", False):
        return

    def again(self, url, **kwargs):
        for attempt in range(1, NAVIGATIONS + 1):
            try:
                return goto(self, url, **kwargs)
            except Error as error:
                if "ERR_NETWORK_CHANGED" not in str(error) or attempt == NAVIGATIONS:
                    raise
                print(f"{url}: the network changed (attempt {attempt}), again")
                time.sleep(1)
        return None

    again.again_on_network_changes = True
    Page.goto = again


def launch(playwright, resolve: dict[str, str] | None = None):
    """Debian's Chromium, headless, finding the names `resolve` maps and those
    this process was told of (client.resolve)."""
    from schoolhub_lab.client import RESOLVED

    _navigations_survive_network_changes()
    args = [*FLAGS, *host_rules({**RESOLVED, **(resolve or {})})]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


@dataclass
class Landing:
    """What the browser saw: JupyterLab's title, its cookies (Playwright's
    dicts), and the response headers of the first page."""

    title: str
    cookies: list[dict]
    headers: dict[str, str]
    # The spawn page's profiles (value -> checked when the page opened); {}: no page.
    profiles: dict[str, bool] = field(default_factory=dict)
    # What `then` returned.
    then: Any = None


def sign_in_to_jupyterlab(
    hub_url: str,
    login: str,
    screenshot: Path,
    resolve: dict[str, str] | None = None,
    profile: str = "",
    then: Callable[[Any], Any] | None = None,
) -> Landing:
    """Sign in as `login` through the fake GitHub's page, wait for JupyterLab's
    launcher, save a screenshot (also on failure, beside it). `resolve` maps
    host names to addresses (a site's name without DNS); certificates are then
    not checked by the browser (the caller checks them). On a spawn page,
    choose `profile` (none: leave the default) and press Start. `then(page)`
    goes on as the signed-in user, before the browser closes."""
    from playwright.sync_api import sync_playwright

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p, resolve)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, ignore_https_errors=bool(resolve)
        )
        page = context.new_page()
        watch_network_changes(page)
        try:
            first = page.goto(f"{hub_url}/hub/login", timeout=60_000)
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.get_by_role("button", name=login).click()
            lab = re.compile(rf"/user/{re.escape(login.lower())}/lab")
            # The spawn page (profiles), or spawn-pending and then JupyterLab.
            page.wait_for_url(re.compile(rf"/hub/spawn(/|\?|$)|{lab.pattern}"), timeout=300_000)
            profiles = {}
            if not lab.search(page.url):
                for choice in page.locator('input[name="profile"]').all():
                    profiles[choice.get_attribute("value")] = choice.is_checked()
                if profile:
                    page.locator(f'input[name="profile"][value="{profile}"]').check()
                page.get_by_role("button", name="Start").click()
            page.wait_for_url(lab, timeout=300_000)
            wait_for_launcher(page)
            snap(page, screenshot)
            headers = first.all_headers() if first else {}
            landing = Landing(page.title(), context.cookies(), headers, profiles)
            landing.then = then(page) if then else None
            return landing
        except Exception:
            snap(page, screenshot.with_name(f"{screenshot.stem}-failure.png"))
            raise
        finally:
            browser.close()
