"""Our NativeAuthenticator's login handler works on JupyterHub 5+ (no statsd)."""

from nativeauthenticator import handlers

from schoolhub.auth import LoginHandler, SchoolNativeAuthenticator


def test_login_is_served_by_our_handler_and_the_rest_unchanged():
    # Without __init__, which needs the hub's database; get_handlers does not.
    authenticator = SchoolNativeAuthenticator.__new__(SchoolNativeAuthenticator)
    routes = dict(authenticator.get_handlers(app=None))
    assert routes["/login"] is LoginHandler
    assert routes["/signup"] is handlers.SignUpHandler


def test_login_timing_is_accepted_and_dropped():
    timer = LoginHandler.statsd.timer("login.authenticate").start()
    timer.stop(send=False)
    LoginHandler.statsd.incr("login.success")
