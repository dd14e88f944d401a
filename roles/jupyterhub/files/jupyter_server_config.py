# Every single-user server of the built image reads this (the venv's etc/jupyter).
import os

# JupyterLab's news are the hub's announcements (schoolhub.announcements'
# feed, named by the spawner); without it, none: never the internet's.
c.LabApp.news_url = os.environ.get("SCHOOLHUB_NEWS_URL") or None  # noqa: F821

# The spawner starts the server without the user's Python site
# (PYTHONNOUSERSITE); her kernels and terminals have it (pip install --user).
os.environ.pop("PYTHONNOUSERSITE", None)
