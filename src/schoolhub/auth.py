"""The hub's authenticators: GitHub's without a second check right after sign-in,
and NativeAuthenticator made to work with JupyterHub 5 and 6.

GitHub: the hub checks a user's teams again before each start
(refresh_pre_spawn), so a student removed from the class cannot start a
server. Right after sign-in (the hub sends a new user straight to the spawn
page) that check asks GitHub what it has just answered; when a whole class
signs in at once, it held the spawn back past the one second the spawn page
waits, and students landed on "Your server is not running" (make bench, N=50:
every start failed so). A check younger than JUST_CHECKED seconds is trusted.

NativeAuthenticator:
NativeAuthenticator 1.3.0 (its newest release) has two incompatibilities in
its login handler, both seen here as HTTP 500 on sign-in:
- it times logins with `self.statsd`, which JupyterHub 5 removed;
- JupyterHub renders a failed form post's error through `_render(**ns)`, which
  NativeAuthenticator's `_render` does not accept.
"""

import time

from nativeauthenticator import NativeAuthenticator, handlers
from oauthenticator.github import GitHubOAuthenticator
from traitlets import Bool

JUST_CHECKED = 60  # seconds


class SchoolGitHubOAuthenticator(GitHubOAuthenticator):
    """GitHubOAuthenticator (settings: c.GitHubOAuthenticator.*) that does not
    ask GitHub again within JUST_CHECKED seconds (and never longer than
    auth_refresh_age) of having asked it for that user: at sign-in or at a
    refresh that did ask. A skipped check does not extend that time, so team
    changes still apply at the next refresh."""

    admins_are_admin_users = Bool(
        False,
        config=True,
        help="Admins are admin_users alone (hub.ta_role server-admin): a TA team member "
        "made admin before is not one after their next sign-in or refresh.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.asked: dict[str, float] = {}  # user name -> when GitHub last answered for them

    def recently_asked(self, name: str) -> bool:
        asked = self.asked.get(name)
        window = min(JUST_CHECKED, self.auth_refresh_age)
        return asked is not None and time.monotonic() - asked < window

    async def authenticate(self, handler, data=None, **kwargs):
        model = await super().authenticate(handler, data, **kwargs)
        if model:
            self.asked[self.normalize_username(model["name"])] = time.monotonic()
        return self.demoted(model)

    async def refresh_user(self, user, handler=None, **kwargs):
        if self.recently_asked(user.name):
            return True
        self.asked[user.name] = time.monotonic()
        return self.demoted(await super().refresh_user(user, handler, **kwargs))

    def demoted(self, model):
        """The auth model, admin False unless admin_users made it True (None
        would leave an earlier admin flag as it was)."""
        if isinstance(model, dict) and self.admins_are_admin_users and not model.get("admin"):
            model["admin"] = False
        return model


class _NoTimer:
    def start(self):
        return self

    def stop(self, send=True):
        pass


class _NoStatsd:
    """Accepts what NativeAuthenticator's handlers send to statsd, and drops it."""

    def timer(self, name):
        return _NoTimer()

    def incr(self, name, count=1):
        pass


class LoginHandler(handlers.LoginHandler):
    statsd = _NoStatsd()

    def _render(self, login_error=None, username=None, **ignored):
        return super()._render(login_error=login_error, username=username)


class SchoolNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with the login handler above (settings: c.NativeAuthenticator.*)."""

    def get_handlers(self, app):
        return [
            (path, LoginHandler if handler is handlers.LoginHandler else handler)
            for path, handler in super().get_handlers(app)
        ]
