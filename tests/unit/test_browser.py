from pathlib import Path

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
