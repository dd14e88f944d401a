"""Our GitHub authenticator does not ask GitHub twice in a row; our
NativeAuthenticator's login handler works on JupyterHub 5+ (no statsd)."""

import asyncio
from types import SimpleNamespace

from nativeauthenticator import handlers
from oauthenticator.github import GitHubOAuthenticator

from schoolhub.auth import (
    LoginHandler,
    SchoolGitHubOAuthenticator,
    SchoolNativeAuthenticator,
)


def test_github_is_asked_again_unless_it_just_answered_for_that_user(monkeypatch):
    """Right after sign-in, the check before the start is skipped; any later
    refresh asks GitHub, even when the user was active all along (a skipped
    check does not count as an answer)."""
    from schoolhub import auth

    asked, now = [], [1000.0]

    async def sign_in(self, handler, data=None, **kwargs):
        return {"name": "Ada"}

    async def ask_github(self, user, handler=None, **kwargs):
        asked.append(user.name)
        return False  # e.g. removed from the class: must sign in again

    monkeypatch.setattr(GitHubOAuthenticator, "authenticate", sign_in)
    monkeypatch.setattr(GitHubOAuthenticator, "refresh_user", ask_github)
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    authenticator = SchoolGitHubOAuthenticator(auth_refresh_age=15)
    ada, alan = SimpleNamespace(name="ada"), SimpleNamespace(name="alan")
    refresh = authenticator.refresh_user

    asyncio.run(authenticator.authenticate(handler=None))
    now[0] += 2  # the spawn page, right after sign-in
    assert asyncio.run(refresh(ada)) is True and asked == []
    now[0] += 10  # active, a refresh within the window: still the sign-in's answer
    assert asyncio.run(refresh(ada)) is True and asked == []
    now[0] += 4  # 16 s after sign-in: past auth_refresh_age (15), asked
    assert asyncio.run(refresh(ada)) is False and asked == ["ada"]
    assert asyncio.run(refresh(alan)) is False and asked == ["ada", "alan"]  # never asked here


def test_with_tas_narrowed_only_admin_users_stay_admins(monkeypatch):
    """A TA made admin under full-admin is not one after the switch to
    server-admin (None would leave the old flag); admin_users stay admins."""
    models = {"tina": {"name": "tina", "admin": None}, "lead": {"name": "lead", "admin": True}}

    async def sign_in(self, handler, data=None, **kwargs):
        return dict(models[data])

    monkeypatch.setattr(GitHubOAuthenticator, "authenticate", sign_in)
    narrowed = SchoolGitHubOAuthenticator(admins_are_admin_users=True)
    assert asyncio.run(narrowed.authenticate(None, "tina"))["admin"] is False
    assert asyncio.run(narrowed.authenticate(None, "lead"))["admin"] is True
    assert asyncio.run(SchoolGitHubOAuthenticator().authenticate(None, "tina"))["admin"] is None


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
