from pathlib import Path

import pytest
from playwright.sync_api import Error

from schoolhub_lab import browser


class Page:
    """A page whose first `failures` screenshots fail as Chromium's did."""

    def __init__(self, failures: int):
        self.failures, self.taken = failures, []

    def screenshot(self, path: str, timeout: float) -> None:
        if self.failures:
            self.failures -= 1
            raise Error("Page.screenshot: Protocol error (Page.captureScreenshot)")
        self.taken.append(path)


def test_a_screenshot_that_fails_once_is_taken_again(monkeypatch, capsys):
    monkeypatch.setattr(browser.time, "sleep", lambda seconds: None)
    page = Page(failures=1)
    browser.snap(page, Path("/tmp/x.png"))
    assert page.taken == ["/tmp/x.png"]
    assert "attempt 1: Page.screenshot: Protocol error" in capsys.readouterr().out


def test_a_screenshot_that_never_comes_is_said_not_raised(monkeypatch, capsys):
    monkeypatch.setattr(browser.time, "sleep", lambda seconds: None)
    page = Page(failures=5)
    browser.snap(page, Path("/tmp/x.png"))  # (the test goes on: its outcome is not a picture)
    assert page.taken == []
    assert "attempt 2:" in capsys.readouterr().out


def navigations(monkeypatch, failures: int, error: str = "ERR_NETWORK_CHANGED") -> list:
    """Playwright's Page.goto failing `failures` times with `error`, then
    answering; wrapped as browser.launch wraps it. The URLs it was given."""
    from playwright.sync_api import Page

    calls = []

    def goto(page, url, **kwargs):
        calls.append(url)
        if len(calls) <= failures:
            raise Error(f"Page.goto: net::{error} at {url}")
        return "answer"

    monkeypatch.setattr(Page, "goto", goto)
    monkeypatch.setattr(browser.time, "sleep", lambda seconds: None)
    browser._navigations_survive_network_changes()
    return calls


def test_a_navigation_cut_by_a_network_change_is_tried_again(monkeypatch):
    from playwright.sync_api import Page

    calls = navigations(monkeypatch, failures=2)
    assert Page.goto(None, "https://hub.example/hub/login") == "answer"
    assert len(calls) == 3
    wrapped = Page.goto
    browser._navigations_survive_network_changes()  # (once: not wrapped twice)
    assert Page.goto is wrapped


def test_a_navigation_the_network_keeps_cutting_fails_with_it(monkeypatch):
    from playwright.sync_api import Page

    calls = navigations(monkeypatch, failures=browser.NAVIGATIONS)
    with pytest.raises(Error, match="ERR_NETWORK_CHANGED"):
        Page.goto(None, "https://hub.example/hub/login")
    assert len(calls) == browser.NAVIGATIONS


def test_any_other_failure_of_a_navigation_is_raised_at_once(monkeypatch):
    from playwright.sync_api import Page

    calls = navigations(monkeypatch, failures=1, error="ERR_CONNECTION_REFUSED")
    with pytest.raises(Error, match="ERR_CONNECTION_REFUSED"):
        Page.goto(None, "https://hub.example/")
    assert calls == ["https://hub.example/"]
