"""A newer JupyterHub: site.yml copies the database, the new hub brings it up
to date, and every user, group, admin flag and running server stays. Going
back to an older JupyterHub is refused before anything changes. Runs last: it
starts the hub again from an empty database at an older JupyterHub."""

import pytest
from conftest import container, run_playbook, same_on_every_release, site_image

from schoolhub_lab import client

OLDER, OLDEST = "5.4.6", "5.3.0"  # the role's jupyterhub_version is newer


def in_hub(host, code: str) -> str:
    return host.check_output(f'docker exec jupyterhub python3 -c "{code}"')


SCHEMA = (
    "import sqlite3; d = sqlite3.connect('/srv/jupyterhub/data/jupyterhub.sqlite');"
    " print(d.execute('select version_num from alembic_version').fetchone()[0])"
)


def versions(host) -> tuple[str, str]:
    """The hub's JupyterHub, and its database's schema revision."""
    return in_hub(host, "import jupyterhub; print(jupyterhub.__version__)"), in_hub(host, SCHEMA)


# On Debian 13, whose hub host built the images: the older hub image is
# built from the same layers but its pip step (Debian 12's host loaded them).
@same_on_every_release
@pytest.mark.timeout(3000)  # builds the hub image of the older JupyterHub, three site.yml
def test_a_newer_jupyterhub_keeps_everyone_and_an_older_one_is_refused(running, host, hub_url):
    # A site that ran the older JupyterHub: its hub, from an empty database.
    host.check_output(
        "docker rm -f jupyterhub $(docker ps -aq --filter name=^jupyter-)"
        " && docker volume rm schoolhub-hub-data"
    )
    # Its hub image built, never kept in the controller's cache (saving an
    # archive the next commit's tag will not match costs minutes); its servers
    # run the school's image of now (a hub serves servers of another JupyterHub,
    # and building that image again at the older version took this test minutes).
    older_site = (
        f"jupyterhub_version={OLDER}",
        "jupyterhub_image_cache_mode=none",
        "jupyterhub_singleuser_build=false",
        f"jupyterhub_singleuser_image={site_image(host)}",
    )
    run_playbook("site.yml", *older_site)
    older, old_schema = versions(host)
    assert older == OLDER
    # Its course: a student with a running server, a TA, the GitHub teams'
    # groups, and a group of the TAs' own with properties. (Its members would
    # not stay: the teams' groups are the authenticator's, manage_groups, so a
    # user's groups become her teams at her next auth refresh.)
    ada = running("ada")
    tina = client.Hub(hub_url, client.sign_in(hub_url, "tina"), "tina")
    made = tina.api("POST", "/groups/course")
    assert made.status_code == 201, made.text
    room = tina.api("PUT", "/groups/course/properties", json={"room": "B12"})
    assert room.status_code == 200, room.text

    def everyone() -> tuple[list, dict]:
        users = tina.api("GET", "/users").json()
        groups = {g["name"]: g["properties"] for g in tina.api("GET", "/groups").json()}
        teams = [(u["name"], u["admin"], sorted(u["groups"]), bool(u["servers"])) for u in users]
        return sorted(teams), groups

    before, server = everyone(), container(host, "jupyter-ada")["Id"]
    ours = {name: (admin, has_server) for name, admin, _, has_server in before[0]}
    assert (ours["ada"], ours["tina"][0]) == ((False, True), True), before
    assert before[1]["course"] == {"room": "B12"}, before

    # Back to an even older one: refused in the check play, nothing touched.
    refused = run_playbook("site.yml", f"jupyterhub_version={OLDEST}", check=False)
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 2, refused.stdout[-3000:]
    expected = f"jupyterhub_version {OLDEST} is older than JupyterHub {OLDER}, which runs this hub"
    assert expected in said, refused.stdout[-3000:]
    assert "a downgrade is refused" in said
    assert versions(host) == (OLDER, old_schema)

    # The upgrade: the role's own version. Copies made before three earlier
    # images are there: the oldest goes.
    old_copies = "for n in 1 2 3; do touch -d 2026-0$n-01 jupyterhub.sqlite.before-old$n; done"
    host.check_output(f"docker exec -w /srv/jupyterhub/data jupyterhub sh -c '{old_copies}'")
    run_playbook("site.yml")
    newer, new_schema = versions(host)
    assert newer != OLDER and new_schema != old_schema  # migrated
    copies = host.check_output("docker exec jupyterhub ls /srv/jupyterhub/data").split()
    kept = sorted(c.removeprefix("jupyterhub.sqlite.before-") for c in copies if "before-" in c)
    assert len(kept) == 3 and kept[1:] == ["old2", "old3"], copies  # [0]: this image's tag
    assert everyone() == before
    assert container(host, "jupyter-ada")["Id"] == server  # never stopped
    assert ada.server_status().status_code == 200
