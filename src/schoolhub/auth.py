"""NativeAuthenticator made to work with JupyterHub 5 and 6.

NativeAuthenticator 1.3.0 (its newest release) has two incompatibilities in
its login handler, both seen here as HTTP 500 on sign-in:
- it times logins with `self.statsd`, which JupyterHub 5 removed;
- JupyterHub renders a failed form post's error through `_render(**ns)`, which
  NativeAuthenticator's `_render` does not accept.
"""

from nativeauthenticator import NativeAuthenticator, handlers


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
