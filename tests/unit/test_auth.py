"""Our GitHub authenticator does not ask GitHub twice in a row; our
NativeAuthenticator's login handler works on JupyterHub 5+ (no statsd)."""

import asyncio
import time
from types import SimpleNamespace

from nativeauthenticator import handlers
from oauthenticator.github import GitHubOAuthenticator

from schoolhub.auth import (
    JUST_CHECKED,
    LoginHandler,
    SchoolGitHubOAuthenticator,
    SchoolNativeAuthenticator,
)


def test_teams_are_checked_again_before_a_start_unless_just_checked(monkeypatch):
    asked = []

    async def ask_github(self, user, handler=None, **kwargs):
        asked.append(user.name)
        return False  # e.g. removed from the class: must sign in again

    monkeypatch.setattr(GitHubOAuthenticator, "refresh_user", ask_github)
    authenticator = SchoolGitHubOAuthenticator()
    now = time.monotonic()
    just_signed_in = SimpleNamespace(name="ada", _auth_refreshed=now - 2)
    earlier = SimpleNamespace(name="grace", _auth_refreshed=now - JUST_CHECKED - 1)
    never = SimpleNamespace(name="alan", _auth_refreshed=None)
    refresh = authenticator.refresh_user
    assert asyncio.run(refresh(just_signed_in)) is True
    assert asyncio.run(refresh(earlier)) is False
    assert asyncio.run(refresh(never)) is False
    assert asked == ["grace", "alan"]


def test_login_is_served_by_our_handler_and_the_rest_unchanged():
    # Without __init__, which needs the hub's database; get_handlers does not.
    authenticator = SchoolNativeAuthenticator.__new__(SchoolNativeAuthenticator)
    routes = dict(authenticator.get_handlers(app=None))
    assert routes["/login"] is LoginHandler
    assert routes["/signup"] is handlers.SignUpHandler


def test_login_timing_is_accepted_and_dropped():
    timer = LoginHandler.statsd.timer("login.authenticate")
    assert timer.start() is timer
    assert timer.stop(send=False) is None
    assert LoginHandler.statsd.incr("login.success") is None


def test_a_failed_form_post_renders_with_what_nativeauthenticator_accepts(monkeypatch):
    seen = {}

    def upstream_render(self, login_error=None, username=None):
        seen.update(login_error=login_error, username=username)
        return "page"

    monkeypatch.setattr(handlers.LoginHandler, "_render", upstream_render)
    handler = LoginHandler.__new__(LoginHandler)
    # JupyterHub passes more keywords than NativeAuthenticator's _render takes.
    assert handler._render(login_error="Invalid", username="ada", next="/hub/") == "page"
    assert seen == {"login_error": "Invalid", "username": "ada"}
