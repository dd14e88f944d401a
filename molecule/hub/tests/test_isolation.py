"""A student attacks from their server: molecule/shared/isolation.py."""

from isolation import *  # noqa: F403 (the shared tests)
