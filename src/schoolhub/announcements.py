"""Announcements: a message on the hub's pages and in every JupyterLab.

Two of them at most, each with an optional expiry: the inventory's
(`jupyterhub_announcement`, changed by `site.yml`) and the one admins and TAs
set on this service's page (the hub's Services menu, `/services/announcements/`),
which needs no redeploy. The hub shows them above every page (its
`announcement` template variable, read from here at each page); JupyterLab
shows them as notifications when it loads, from this service's Atom feed
(JupyterLab's news, `LabApp.news_url`, fetched by the user's server).

Run by the hub as a managed service: ``python3 -m schoolhub.announcements``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse
from xml.etree import ElementTree

from schoolhub import settings

SERVICE = "announcements"
# The page's message, in the hub's data directory (kept with the database).
STORE = "announcement.json"
# A message as long as a short paragraph: a banner, not a document.
MAX_LENGTH = 1000
ATOM = "http://www.w3.org/2005/Atom"
log = logging.getLogger(SERVICE)


def store_path(cfg: dict) -> Path:
    return Path(cfg["hub"]["data_dir"]) / STORE


@functools.cache
def settings_time() -> str:
    """When the site's settings (the inventory's announcement) were written:
    once per process, since a change of them starts a new hub."""
    try:
        return datetime.fromtimestamp(settings.SETTINGS.stat().st_mtime, UTC).isoformat()
    except OSError:
        return datetime(2000, 1, 1, tzinfo=UTC).isoformat()


def current(cfg: dict, now: datetime | None = None) -> list[dict]:
    """The announcements to show now: the inventory's, then the page's; each
    {"message", "expires", "by", "at"} (times as ISO text, "" when none)."""
    now = now or datetime.now(UTC)
    found = []
    given = cfg["announcements"]
    if given["message"]:
        at = settings_time()
        found.append({"message": given["message"], "expires": given["expires"], "by": "", "at": at})
    with contextlib.suppress(OSError, ValueError):  # none set, or being replaced
        found.append(json.loads(store_path(cfg).read_text()))
    return [a for a in found if not (e := settings.parse_expiry(a["expires"])) or e > now]


def banner(cfg: dict):
    """The hub's `announcement` template variable: HTML, the messages escaped."""

    def announcement(_user) -> str:
        return "<br>".join(html.escape(a["message"]).replace("\n", "<br>") for a in current(cfg))

    return announcement


def entry_id(announcement: dict) -> str:
    digest = hashlib.sha256(f"{announcement['at']}\n{announcement['message']}".encode())
    return f"urn:schoolhub:announcement:{digest.hexdigest()[:16]}"


def feed(announcements: list[dict]) -> bytes:
    """An Atom feed of the announcements (what JupyterLab's news reads)."""
    ElementTree.register_namespace("", ATOM)
    root = ElementTree.Element(f"{{{ATOM}}}feed")
    for tag, text in (("id", "urn:schoolhub:announcements"), ("title", "Announcements")):
        ElementTree.SubElement(root, f"{{{ATOM}}}{tag}").text = text
    updated = max((a["at"] for a in announcements), default=datetime.now(UTC).isoformat())
    ElementTree.SubElement(root, f"{{{ATOM}}}updated").text = updated
    for announcement in announcements:
        entry = ElementTree.SubElement(root, f"{{{ATOM}}}entry")
        ElementTree.SubElement(entry, f"{{{ATOM}}}id").text = entry_id(announcement)
        ElementTree.SubElement(entry, f"{{{ATOM}}}title").text = announcement["message"]
        ElementTree.SubElement(entry, f"{{{ATOM}}}updated").text = announcement["at"]
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def publish(cfg: dict, message: str, hours: str, by: str) -> str:
    """Set (or, with an empty message, remove) the page's announcement; the
    answer is what happened, or the reason nothing did."""
    message = message.strip()
    if len(message) > MAX_LENGTH:
        return f"Not published: the message has {len(message)} characters, at most {MAX_LENGTH}."
    path = store_path(cfg)
    if not message:
        path.unlink(missing_ok=True)
        return "The announcement is removed."
    now = datetime.now(UTC)
    expires = ""
    if hours.strip():
        try:
            lasts = float(hours)
        except ValueError:
            lasts = -1
        if not 0 < lasts <= 24 * 366:
            return f"Not published: 'expires after' must be a number of hours, got {hours!r}."
        expires = (now + timedelta(hours=lasts)).isoformat()
    record = {"message": message, "expires": expires, "by": by, "at": now.isoformat()}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record))
    partial.replace(path)
    return "Published." + (f" It expires at {expires[:16]} UTC." if expires else "")


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Announcements</title>
<style>body {{ font-family: sans-serif; max-width: 42em; margin: 2em auto; }}
textarea {{ width: 100%; }} .shown {{ background: #fff3cd; padding: .5em; }}</style>
</head><body>
<p><a href="{hub}home">Back to the hub</a></p>
<h1>Announcements</h1>
<p id="outcome">{outcome}</p>
<h2>Shown now</h2>
{shown}
<h2>Set the announcement</h2>
<p>Shown above every page of the hub and in JupyterLab when it loads; the site's
own announcement (from the inventory) stays as it is. An empty message removes it.</p>
<form method="post">{xsrf}
<textarea name="message" rows="4" maxlength="{max_length}">{message}</textarea>
<p><label>Expires after <input name="hours" size="5"> hours (empty: never)</label></p>
<button type="submit">Publish</button>
</form>
</body></html>
"""


def page(cfg: dict, xsrf: str, outcome: str = "") -> str:
    shown = current(cfg)
    items = "".join(
        f'<p class="shown">{html.escape(a["message"])}<br><small>'
        + (f"set by {html.escape(a['by'])}, " if a["by"] else "from the site's settings, ")
        + (f"expires {html.escape(a['expires'][:16])} UTC" if a["expires"] else "no expiry")
        + "</small></p>"
        for a in shown
    )
    own = next((a["message"] for a in shown if a["by"]), "")
    return PAGE.format(
        hub=os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/",
        outcome=html.escape(outcome),
        shown=items or "<p>None.</p>",
        xsrf=xsrf,
        max_length=MAX_LENGTH,
        message=html.escape(own),
    )


def main() -> None:
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from jupyterhub.utils import url_path_join
    from tornado import ioloop, web

    settings.log_like_the_hub()
    cfg = settings.load(settings.SETTINGS)

    class Page(HubOAuthenticated, web.RequestHandler):
        """Who may open it may set it: the hub's admins and the TAs' role."""

        @web.authenticated
        def get(self):
            self.finish(page(cfg, self.xsrf_form_html()))

        @web.authenticated
        def post(self):
            user, given = self.current_user["name"], self.get_body_argument
            outcome = publish(cfg, given("message", ""), given("hours", ""), user)
            log.info("announcement by %s: %s", user, outcome)
            self.finish(page(cfg, self.xsrf_form_html(), outcome))

    class Feed(web.RequestHandler):
        """Public: what every user sees on the hub's pages anyway."""

        def get(self):
            self.set_header("Content-Type", "application/atom+xml")
            self.finish(feed(current(cfg)))

    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    app = web.Application(
        [
            (prefix, Page),
            (url_path_join(prefix, "feed.atom"), Feed),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
    )
    # Every address of the hub container: the proxy reaches it by the container's name.
    app.listen(urlparse(os.environ["JUPYTERHUB_SERVICE_URL"]).port)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
