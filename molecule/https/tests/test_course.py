"""Running a course (docs/course.md). Server profiles (molecule.yml's
jupyterhub_profiles): students choose on the spawn page with the default
pre-selected and never see the TAs' profiles; the chosen profile's limits and
image are what the server gets; a student who asks the API for a TA profile is
refused with a message (a profile whose image a host lacks stops site.yml:
the swarm scenario, which names each worker). TAs narrowed to students' servers (molecule.yml's
jupyterhub_ta_role) and a student sharing her server by a link. The end of
the course: every home exported as one archive whose files are the home's."""

import hashlib
import json
import re
import subprocess
import tarfile
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote as quote_url

import pytest
import requests
from conftest import (
    ARTIFACTS,
    PROFILE_IMAGE,
    PROFILES_WITH_ITS_OWN_IMAGE,
    changed_tasks,
    changes,
    container,
    run_playbook,
    site_image,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from schoolhub_lab.browser import sign_in_to_jupyterlab, wait_for_launcher

NAME = "schoolhub-https-host.test"  # jupyterhub_public_url's host (molecule.yml)
TAS = "summer-school:tas"  # the TA team's group (inventory/test-hosts.yml's org)
MiB = 1 << 20


def api(host, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The hub's REST API from the hub host, with the operations' token."""
    script = f"""
import json, urllib.request as u, urllib.error as e
token = open("/etc/schoolhub/secrets/ops_api_token").read().strip()
data = json.dumps({body!r}).encode() if {body!r} is not None else None
request = u.Request("http://127.0.0.1:8000/hub/api{path}", data=data, method="{method}",
                    headers={{"Authorization": "token " + token}})
try:
    answer = u.urlopen(request, timeout=60)
except e.HTTPError as error:
    answer = error
text = answer.read().decode() or "{{}}"
print(json.dumps([answer.status, json.loads(text)]))
"""
    status, answer = json.loads(host.check_output(f"timeout 90 python3 -c {quote(script)}"))
    return status, answer


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def stopped(host, user: str) -> None:
    status, _ = api(host, "DELETE", f"/users/{user}/server")
    if status == 404:  # no such user yet
        return
    assert status in (202, 204, 400), status
    for _ in range(60):
        if not api(host, "GET", f"/users/{user}")[1].get("servers"):
            return
        host.run("sleep 2")
    raise AssertionError(f"{user}'s server did not stop")


def running(host, user: str, profile: str = "standard") -> None:
    """The user's server started with `profile` (by the operations token) and ready."""
    stopped(host, user)
    api(host, "POST", f"/users/{user}")  # (201, or 409: signed in before)
    # (Named: without, the hub reuses the user's last choice, maybe a profile gone since.)
    assert api(host, "POST", f"/users/{user}/server", {"profile": profile})[0] in (201, 202)
    for _ in range(90):
        if api(host, "GET", f"/users/{user}")[1]["servers"].get("", {}).get("ready"):
            return
        host.run("sleep 2")
    raise AssertionError(f"{user}'s server did not start")


def limits(host, user: str) -> tuple[str, float, int]:
    """(image, CPUs, memory in MiB) of the user's running container."""
    found = container(host, f"jupyter-{user}")
    resources = found["HostConfig"]
    cpus = resources["CpuQuota"] / resources["CpuPeriod"]  # DockerSpawner's cpu_limit
    return found["Config"]["Image"], cpus, resources["Memory"] // MiB


def choosing(ip, host, login: str, profile: str) -> tuple:
    """`login` signs in with a browser and picks `profile` on the spawn page:
    (what the browser saw, the server's image and limits)."""
    stopped(host, login)
    landing = sign_in_to_jupyterlab(
        f"https://{NAME}",
        login,
        ARTIFACTS / f"https-profile-{login}.png",
        resolve={NAME: ip},
        profile=profile,
    )
    return landing, limits(host, login)


@pytest.fixture(scope="module")
def students_server(ip, host):
    """grace signs in, is offered the students' profiles, picks the big one."""
    return choosing(ip, host, "grace", "big-data")


def test_a_student_is_offered_the_students_profiles_with_the_default_chosen(students_server):
    landing, _ = students_server
    assert landing.profiles == {"standard": True, "big-data": False}
    assert "JupyterLab" in landing.title


def test_the_chosen_profile_sets_the_servers_limits(students_server, host):
    _, chosen = students_server
    assert chosen == (site_image(host), 2.0, 1536)


def test_a_ta_also_gets_the_ta_profile(ip, host):
    landing, chosen = choosing(ip, host, "tina", "ta-tools")
    assert landing.profiles == {"standard": True, "big-data": False, "ta-tools": False}
    assert chosen[1:] == (1.0, 1280)
    stopped(host, "tina")


@pytest.mark.parametrize(
    "profile, status, message",
    [
        ("ta-tools", 403, "The profile 'ta-tools' is for TAs only."),
        ("gpu", 400, "No profile 'gpu'; choose one of: standard, big-data."),
    ],
)
def test_a_student_asking_for_a_profile_not_theirs_is_told_why(
    students_server, host, profile, status, message
):
    stopped(host, "grace")
    answer = api(host, "POST", "/users/grace/server", {"profile": profile})
    assert answer == (status, {"status": status, "message": message})
    assert api(host, "GET", "/users/grace")[1]["servers"] == {}


def test_a_profile_starts_its_own_image_and_the_run_changes_nothing_else(host):
    """Any image the hosts have (here: the school's image under a second name).
    The scenario's idempotence check: its site.yml changes the hub's settings
    and so the hub, nothing else (there is no separate run). Runs next to last
    (conftest.LAST): the last test's site.yml puts the inventory's profiles back."""
    host.check_output(f"docker tag {site_image(host)} {PROFILE_IMAGE}")
    done = run_playbook(
        "site.yml", json.dumps({"jupyterhub_profiles": PROFILES_WITH_ITS_OWN_IMAGE})
    )
    hub_changes = {"jupyterhub : Write the hub configuration", "jupyterhub : Run the hub"}
    assert changes(done.stdout) == {host.backend.get_hostname(): hub_changes}, changed_tasks(
        done.stdout
    )[-3000:]
    running(host, "grace", "r")
    assert limits(host, "grace")[0] == PROFILE_IMAGE
    stopped(host, "grace")


# --- TAs on students' servers, and sharing ----------------------------------------

# The hub's API as the signed-in browser calls it (cookie and XSRF token): the
# status (or "no answer") and the errors of the tries before. A request that got
# no answer at all ("Failed to fetch": Chromium cancels what is in flight when
# the machine's network changes, browser.NAVIGATIONS) is sent again, twice at
# most, 2 s apart; every call here may be repeated. Tries that failed show as
# warnings in the test's report.
FETCH = """async ([method, path, body]) => {
    const failed = [];
    while (failed.length < 3) {
        try {
            const answer = await fetch('/hub/api' + path, {
                method, body: body && JSON.stringify(body),
                headers: {
                    'X-XSRFToken': window.jhdata.xsrf_token, 'Content-Type': 'application/json',
                },
            });
            return [answer.status, failed];
        } catch (error) {
            failed.push(String(error));
            await new Promise(done => setTimeout(done, 2000));
        }
    }
    return [`no answer`, failed];
}"""


def opens(page, path: str) -> int:
    """The status of a page of the site (a path on the hub's name, or an
    address), after its redirects."""
    return page.goto(path if "://" in path else f"https://{NAME}{path}", timeout=120_000).status


def enters(page, owner: str, launcher_ms: int = 120_000) -> int:
    """The signed-in user opens `owner`'s JupyterLab, through the hub's
    "Authorize" page (someone else's server): 200 once in (its launcher shows
    within `launcher_ms`), or the refusal."""
    answer = page.goto(f"https://{owner}.{NAME}/user/{owner}/lab", timeout=120_000)
    if answer.status == 200 and "/oauth2/authorize" in page.url:
        with page.expect_navigation(timeout=120_000) as opened:
            page.get_by_role("button", name="Authorize").click()
        answer = opened.value
    if answer.status != 200 or f"/user/{owner}/lab" not in page.url:
        return answer.status
    wait_for_launcher(page, launcher_ms)
    return 200


def test_a_ta_opens_starts_and_stops_students_servers_and_is_no_admin(students_server, ip, host):
    running(host, "grace")
    api(host, "POST", "/users/tom")  # a TA who has not signed in yet (not a student)

    def as_ta(page):
        opens(page, "/hub/home")
        seen = {"admin page": opens(page, "/hub/admin")}
        opens(page, "/hub/home")  # (jhdata's XSRF token)

        def call(method, path, body=None):
            status, failed = page.evaluate(FETCH, [method, path, body])
            if failed:
                warnings.warn(f"{method} {path}: {status} after {failed}", stacklevel=2)
            return status

        seen["list users"] = call("GET", "/users")
        seen["open grace's"] = enters(page, "grace")
        opens(page, "/hub/home")
        stop = call("DELETE", "/users/grace/server")
        seen["stop grace's"] = stop in (202, 204) or stop
        seen["start tom's (a TA)"] = call("POST", "/users/tom/server", {})
        seen["make grace admin"] = call("PATCH", "/users/grace", {"admin": True})
        seen["remove grace"] = call("DELETE", "/users/grace")
        return seen

    landing = sign_in_to_jupyterlab(
        f"https://{NAME}", "tina", ARTIFACTS / "https-ta.png", resolve={NAME: ip}, then=as_ta
    )
    assert landing.then == {
        "admin page": 200,
        "list users": 200,
        "open grace's": 200,
        "stop grace's": True,
        "start tom's (a TA)": 404,  # (JupyterHub's "No access to resources")
        "make grace admin": 403,
        "remove grace": 403,
    }
    tina = api(host, "GET", "/users/tina")[1]
    assert tina["admin"] is False and TAS in tina["groups"]
    stopped(host, "grace")
    stopped(host, "tina")


def test_a_student_shares_her_server_by_a_link_and_stops_sharing(students_server, ip, host):
    running(host, "grace")
    share = "docker exec -u 1000 jupyter-grace timeout 60 share-server"
    link = host.check_output(share).splitlines()[0]
    assert link.startswith(f"https://{NAME}/hub/accept-share?code="), link

    def as_classmate(page):
        seen = {"before": enters(page, "grace")}
        page.goto(link, timeout=60_000)
        page.get_by_role("button", name="Accept invitation").click()
        seen["after accepting"] = enters(page, "grace")
        seen["list"] = host.check_output(f"{share} --list")
        seen["stop"] = host.check_output(f"{share} --stop")
        for _ in range(30):  # bounded: the server asks the hub again within a minute
            try:
                seen["after stopping"] = enters(page, "grace", launcher_ms=20_000)
            except PlaywrightTimeout:  # the page came, then its API calls were refused
                seen["after stopping"] = "refused while loading"
                continue
            if seen["after stopping"] != 200:
                break
            page.wait_for_timeout(5_000)
        seen["link again"] = page.goto(link, timeout=60_000).status
        return seen

    landing = sign_in_to_jupyterlab(
        f"https://{NAME}", "ada", ARTIFACTS / "https-share.png", resolve={NAME: ip},
        then=as_classmate,
    )  # fmt: skip
    seen = landing.then
    assert (seen["before"], seen["after accepting"], seen["after stopping"]) == (403, 200, 403), (
        seen
    )
    assert seen["list"] == "Shared with: ada"
    assert "Nobody else may use your server now" in seen["stop"]
    assert seen["link again"] in (400, 404), seen
    stopped(host, "grace")
    stopped(host, "ada")


# --- announcements ---------------------------------------------------------------

SITE_NOTICE = "Welcome to the summer school! Lunch is at 12:30."  # molecule.yml
# (A service's name of its own, as JupyterHub names them with subdomains.)
SERVICE = f"https://announcements--service.{NAME}/services/announcements/"


def banner(page) -> str:
    """The announcement above the hub's home page, as the user reads it."""
    opens(page, "/hub/home")
    shown = page.locator(".announcement")
    return shown.inner_text() if shown.count() else ""


def publish(page, message: str, hours: str = "") -> str:
    """On the service's page: type the message and expiry, press Publish;
    the page's answer."""
    page.locator("textarea[name=message]").fill(message)
    page.locator("input[name=hours]").fill(hours)
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Publish").click()
    return page.locator("#outcome").inner_text()


def test_a_ta_announces_without_a_redeploy_and_students_see_it_on_the_hub_and_in_jupyterlab(
    students_server, ip, host
):
    def as_ta(page):
        seen = {"page": opens(page, SERVICE)}
        seen["shown before"] = page.locator(".shown").all_inner_texts()
        seen["published"] = publish(page, "Room 2 today <b>not bold</b>", "1")
        seen["short one"] = publish(page, "Gone in seconds", "0.001")  # 3.6 s, replaces it
        page.wait_for_timeout(5_000)
        seen["after it expired"] = banner(page)
        opens(page, SERVICE)
        seen["again"] = publish(page, "Room 2 today <b>not bold</b>", "1")
        seen["banner"] = banner(page)
        return seen

    def as_student(page):
        seen = {"banner": banner(page), "service page": opens(page, SERVICE)}
        page.goto(f"https://grace.{NAME}/user/grace/lab", timeout=120_000)
        # JupyterLab's news: notifications when it loads (a toast the first
        # time), kept in its notification centre (the bell in the status bar).
        page.locator(".jp-Notification-Status").click(timeout=120_000)
        for message in (SITE_NOTICE, "Room 2 today"):
            page.get_by_text(message).first.wait_for(timeout=120_000)
        seen["in jupyterlab"] = True
        return seen

    try:
        ta = sign_in_to_jupyterlab(
            f"https://{NAME}", "tina", ARTIFACTS / "https-announce.png", resolve={NAME: ip},
            then=as_ta,
        ).then  # fmt: skip
        assert ta["page"] == 200 and ta["shown before"] == [
            f"{SITE_NOTICE}\nfrom the site's settings, no expiry"
        ]
        assert ta["published"].startswith("Published. It expires at "), ta
        assert ta["after it expired"] == SITE_NOTICE, ta
        # Escaped: what a TA types is shown as text, never as the page's HTML.
        assert ta["banner"] == f"{SITE_NOTICE}\nRoom 2 today <b>not bold</b>", ta
        student = sign_in_to_jupyterlab(
            f"https://{NAME}", "grace", ARTIFACTS / "https-announced.png", resolve={NAME: ip},
            then=as_student,
        ).then  # fmt: skip
        assert student == {"banner": ta["banner"], "service page": 403, "in jupyterlab": True}
        # Her server's own token does not open the service either, nor does it reach it
        # past the proxy.
        direct = (
            "docker exec jupyter-grace timeout 30 python3 -c 'import os, urllib.request as u\n"
            'request = u.Request("http://jupyterhub:10101/services/announcements/",\n'
            '    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})\n'
            "try: u.urlopen(request)\nexcept Exception as error: print(error)'"
        )
        assert host.check_output(direct) == "HTTP Error 403: Forbidden"
    finally:
        host.run("docker exec jupyterhub rm -f /srv/jupyterhub/data/announcement.json")
        stopped(host, "grace")
        stopped(host, "tina")


def test_a_student_downloads_her_whole_home_from_jupyterlab(students_server, ip, host, tmp_path):
    running(host, "grace")
    as_grace = "docker exec -u 1000 -w /home/grace jupyter-grace timeout 30"
    host.check_output(
        f"{as_grace} sh -c 'mkdir -p work/week1 && echo results > work/week1/notes.txt"
        " && echo hidden > .course-settings'"
    )
    before = set(host.check_output(f"{as_grace} find . -type f -printf '%P\\n'").splitlines())

    def download(page):
        page.locator(".jp-DirListing-content").first.click(button="right")
        with page.expect_download(timeout=120_000) as started:
            page.get_by_text("Download Current Folder as an Archive").click()
        started.value.save_as(tmp_path / "home.zip")

    sign_in_to_jupyterlab(
        f"https://{NAME}", "grace", ARTIFACTS / "https-download.png", resolve={NAME: ip},
        then=download,
    )  # fmt: skip
    with zipfile.ZipFile(tmp_path / "home.zip") as archive:
        names = set(archive.namelist())
        notes = archive.read("grace/work/week1/notes.txt")
    assert {"work/week1/notes.txt", ".course-settings"} <= before
    assert {f"grace/{name}" for name in before} <= names  # hidden files too
    assert all(name.startswith("grace/") for name in names), names
    assert notes == b"results\n"
    stopped(host, "grace")


# --- course repositories: nbgitpuller's links, through the hub's cache -------------

FAKE = "http://jupyterhub-fakegithub:8080/summer-school"  # as molecule.yml names them
COURSE, SOLUTIONS = f"{FAKE}/course", f"{FAKE}/solutions"


def upstream(fake_url, owner_token, repo: str, files: dict | None = None) -> int:
    """How often the fake GitHub was asked for `repo`; with `files`, first a new commit."""
    url = f"{fake_url}/_test/git/summer-school/{repo}"
    if files:
        body = {"files": files, "message": "Week 2"}
        owner = {"Authorization": f"token {owner_token}"}
        answer = requests.post(url, json=body, headers=owner, timeout=60)
    else:
        answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["fetches"]


def in_server(host, user: str, command: str):
    """`command` in `user`'s server, as the user, in her home (with the server's env).
    Tried again (twice, bounded) only when Docker's runtime could not start the
    process at all: in full runs of this scenario, runc's "read init-p: connection
    reset by peer" (no OOM or pids event in the kernel's log), which says nothing
    of the command."""
    for _ in range(3):
        done = host.run(f"docker exec -u 1000 -w /home/{user} jupyter-{user} timeout 120 {command}")
        if done.rc != 126 or "OCI runtime exec failed" not in done.stdout + done.stderr:
            break
        host.run("sleep 2")
    return done


def test_a_class_pulling_the_course_at_once_costs_its_host_a_fetch_a_minute(
    students_server, host, fake_url, owner_token
):
    running(host, "grace")
    running(host, "ada")
    before = upstream(fake_url, owner_token, "course")
    started = time.monotonic()

    def pull(n: int):
        student = ("grace", "ada")[n % 2]
        return in_server(host, student, f"gitpuller {COURSE} main course-{n}")

    with ThreadPoolExecutor(20) as pool:  # the whole class at once
        pulls = list(pool.map(pull, range(20)))
    elapsed = time.monotonic() - started
    assert [p.rc for p in pulls] == [0] * 20, [p.stderr for p in pulls if p.rc]
    fetched = upstream(fake_url, owner_token, "course") - before
    # (None when the cache fetched less than a minute before: a rerun.)
    assert fetched <= 1 + elapsed // 60, (fetched, elapsed)
    readme = in_server(host, "ada", "cat course-19/README.md")
    assert readme.stdout == "# Summer school\n"


def test_a_new_version_reaches_students_within_a_minute_and_keeps_their_edits(
    students_server, host, fake_url, owner_token
):
    running(host, "grace")
    assert in_server(host, "grace", f"gitpuller {COURSE} main course").rc == 0
    mine = "answer = 41  # my try\n"
    in_server(host, "grace", f"sh -c 'echo \"{mine.strip()}\" > course/week1/exercise.py'")
    week2 = f"total = None  # version {time.time_ns()}\n"  # new at each run of the test
    upstream(fake_url, owner_token, "course", {
        "week1/exercise.py": "answer = None  # hint: 6 * 7\n",
        "week2/exercise.py": week2,
    })  # fmt: skip
    for _ in range(20):  # bounded: the cache asks the host again after a minute
        pulled = in_server(host, "grace", f"gitpuller {COURSE} main course")
        assert pulled.rc == 0, pulled.stderr
        if in_server(host, "grace", "cat course/week2/exercise.py").stdout == week2:
            break
        host.run("sleep 10")
    assert in_server(host, "grace", "cat course/week2/exercise.py").stdout == week2
    assert in_server(host, "grace", "cat course/week1/exercise.py").stdout == mine
    stopped(host, "ada")


def test_a_private_repository_comes_through_the_cache_and_its_token_stays_there(
    students_server, host, owner_token
):
    running(host, "grace")
    pulled = in_server(host, "grace", f"gitpuller {SOLUTIONS} main solutions")
    assert pulled.rc == 0, pulled.stderr
    assert in_server(host, "grace", "cat solutions/week1/solution.py").stdout == "answer = 42\n"
    # Past the cache her server has no way in: the host asks for a login,
    # the cache for her server's token.
    bare = "env -u GIT_CONFIG_COUNT GIT_TERMINAL_PROMPT=0 git ls-remote"
    direct = in_server(host, "grace", f"{bare} {SOLUTIONS}")
    assert "could not read Username" in direct.stderr, direct.stderr
    cache = "http://jupyterhub-proxy:8000/services/gitcache/jupyterhub-fakegithub_8080"
    tokenless = in_server(host, "grace", f"{bare} {cache}/summer-school/solutions")
    assert "The requested URL returned error: 403" in tokenless.stderr, tokenless.stderr
    # The site's token is nowhere in her server: environment, git settings, the clone.
    where = "sh -c 'env; cat /proc/1/environ /etc/gitconfig .gitconfig solutions/.git/config'"
    assert owner_token not in in_server(host, "grace", where).stdout
    stopped(host, "grace")


def test_a_students_click_on_the_link_opens_the_courses_notebook_in_jupyterlab(ip, host):
    notebook = "course-by-link/week1/intro.ipynb"
    link = (
        f"https://{NAME}/hub/user-redirect/git-pull?repo={quote_url(COURSE, safe='')}"
        f"&branch=main&urlpath=lab/tree/{notebook}&targetpath=course-by-link"
    )

    def click(page):
        page.goto(link, timeout=120_000)
        page.wait_for_url(re.compile(f"/user/katherine/lab/tree/{notebook}"), timeout=180_000)
        # The notebook itself, open: its first cell rendered.
        page.locator(".jp-Notebook h1", has_text="Week 1: hello, notebooks").wait_for(
            timeout=120_000
        )
        # Nothing asks her anything at her first start (a class would each answer
        # it): the notebook names no kernel, and the default one starts without
        # a "Select Kernel" dialog; no other dialog, no news question. (The
        # site's announcement is a toast too: news, not a question.)
        started = ".jp-Toolbar-kernelName:has-text('Python 3')"
        page.locator(f".jp-Dialog, {started}").first.wait_for(timeout=120_000)
        asked = page.locator(".jp-Dialog, .Toastify__toast").all_inner_texts()
        return [text for text in asked if SITE_NOTICE not in text]

    landing = sign_in_to_jupyterlab(
        f"https://{NAME}", "katherine", ARTIFACTS / "https-link.png", resolve={NAME: ip},
        then=click,
    )  # fmt: skip
    assert landing.then == []
    readme = in_server(host, "katherine", "cat course-by-link/README.md")
    assert readme.stdout == "# Summer school\n"
    stopped(host, "katherine")


# --- the end of the course: every home as one archive ---------------------------


def home_sums(host, volume: str) -> str:
    """sha256sum of every file in a home volume, by path, as on the host."""
    path = host.check_output(f"docker volume inspect -f '{{{{.Mountpoint}}}}' {volume}")
    return host.check_output(
        f"cd {path} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum"
    )


def archive_sums(archive) -> str:
    """The same, for the files in an exported archive."""
    found = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                digest = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
                found.append((member.name.encode(), f"{digest}  {member.name}"))
    return "\n".join(line for _, line in sorted(found))


def test_the_export_has_every_home_in_an_archive_that_matches_it(students_server, host, tmp_path):
    volume = "schoolhub-home-grace"
    path = host.check_output(f"docker volume inspect -f '{{{{.Mountpoint}}}}' {volume}")
    host.check_output(f"printf 'results\\n' > {path}/final-project.txt")
    homes = host.check_output("docker volume ls -q --filter name=^schoolhub-home-").split()
    export = tmp_path / "export"
    run_playbook("export-homes.yml", f"export_dir={export}")
    archives = sorted(p.name for p in export.glob("*.tar.gz"))
    assert archives == sorted(f"{h.removeprefix('schoolhub-home-')}.tar.gz" for h in homes)
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=export, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and checked.stdout.count(": OK") == len(homes), checked
    for home in homes:  # each archive holds its home's files, no more, no fewer
        user = home.removeprefix("schoolhub-home-")
        assert archive_sums(export / f"{user}.tar.gz") == home_sums(host, home), user
    assert "final-project.txt" in archive_sums(export / "grace.tar.gz")


def test_the_export_asks_where_the_archives_go():
    done = run_playbook("export-homes.yml", check=False)
    assert done.returncode == 2
    output = " ".join((done.stdout + done.stderr).split())  # (where fatal goes: callback's choice)
    assert "Name where the archives go on this machine: -e export_dir=/absolute/path" in output, (
        output[-2000:]
    )


def test_removing_the_students_asks_first_then_takes_them_and_their_homes(students_server, host):
    """The end of the course, after the export: TAs and their homes stay."""
    users = api(host, "GET", "/users")[1]
    students = sorted(u["name"] for u in users if not u["admin"] and TAS not in u["groups"])
    assert "grace" in students and "tina" not in students
    asked = " ".join(run_playbook("users.yml", "users_action=remove").stdout.split())
    assert f"would remove {len(students)} user(s) and their homes: {', '.join(students)}" in asked
    assert "nothing removed: run again with -e users_confirm=yes to remove them" in asked
    assert api(host, "GET", "/users/grace")[0] == 200
    assert host.run("docker volume inspect schoolhub-home-grace").rc == 0
    done = run_playbook("users.yml", "users_action=remove", "users_confirm=yes").stdout
    assert f"removed {len(students)} user(s)" in done
    for student in students:
        assert api(host, "GET", f"/users/{student}")[0] == 404
        assert host.run(f"docker volume inspect schoolhub-home-{student}").rc == 1
    assert api(host, "GET", "/users/tina")[0] == 200
    assert host.run("docker volume inspect schoolhub-home-tina").rc == 0


# --- the roster check ---------------------------------------------------------------

ROSTER = """name,github
Ada Lovelace,ada
Grace Hopper,https://github.com/grace
Bob Smith,@Bob-Smith2
Eve,eve
Alan Turing,alann
Nobody,not a login
"""


def roster(tmp_path, *extra: str, check=True) -> str:
    path = tmp_path / "students.csv"
    path.write_text(ROSTER)
    done = run_playbook("roster.yml", f"roster_csv={path}", *extra, check=check)
    return " ".join((done.stdout + done.stderr).split())


def test_the_roster_check_names_each_kind_of_trouble(host, tmp_path):
    """The class list against the fake GitHub's team Participants (ada, grace,
    alan, katherine, linus, Bob-Smith2, dave) and the hub's users."""
    api(host, "POST", "/users/ada")  # has signed in (the hub knows her) ...
    api(host, "DELETE", "/users/grace")  # ... grace has not
    users = api(host, "GET", "/users")[1]
    listed = {"ada", "grace", "bob-smith2", "eve", "alann"}
    unexpected = sorted(
        u["name"]
        for u in users
        if u["name"] not in listed and not u["admin"] and TAS not in u["groups"]
    )
    said = roster(tmp_path)
    for line in [
        "roster: 6 login(s)",
        "not GitHub logins (fix the roster): not a login",
        "no such GitHub user (a typo?): alann",
        "on GitHub but not in the students' teams (invite them): eve",
        "in the students' teams but not on the roster: alan, dave, katherine, linus",
        "on the roster and in the teams, never signed in: Bob-Smith2, grace",
        f"hub users neither on the roster nor TAs: {', '.join(unexpected) or 'none'}",
    ]:
        assert line in said, said[-3000:]


@pytest.mark.parametrize(
    "extra, message",
    [
        ("roster_csv=/nowhere/students.csv", "Name the class list, a CSV file on this machine"),
        (
            "roster_column=login",
            "the roster has no column 'login' (its columns: 'name', 'github'); name the one"
            " with GitHub logins: -e roster_column=NAME",
        ),
        (
            "jupyterhub_github_token=wrong",
            "GitHub refused the roster's token (401): give jupyterhub_github_token",
        ),
    ],
)
def test_a_roster_it_cannot_use_stops_it_with_the_reason(tmp_path, extra, message):
    said = roster(tmp_path, extra, check=False)
    assert message in said, said[-3000:]
    assert "PLAY RECAP" in said and "failed=1" in said
