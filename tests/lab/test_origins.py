"""A student's page never acts with a classmate's or a TA's session, in the
lab as on a real site: each user's server on a name of its own under
hub.localhost, ada's server on a worker (molecule/shared/origins.py has the
page and what it tries; the hub and https scenarios run it on one host)."""

import pytest
import yaml
from lab import LAB, in_server, on_hub_host, server_address
from origins import serve_the_page, the_page_got_nothing, visit

from schoolhub_lab import client


def in_hub(command: str) -> str:
    return on_hub_host(f"docker exec jupyterhub {command}")


@pytest.fixture(scope="module")
def pages_of_ada():
    settings = yaml.safe_load(on_hub_host("cat /etc/course-hub/schoolhub.yaml"))
    ada = client.Hub(LAB.url, client.sign_in(LAB.url, "ada"), "ada")
    ada.start()
    ada.wait_ready()
    try:
        yield serve_the_page(
            LAB.url,
            settings["hub"]["subdomains"],
            settings["spawner"]["network_subnet"],
            server_address("ada"),
            lambda command, user, detach: in_server("ada", command, user, detach),
            in_hub,
        )
    finally:
        ada.stop()


@pytest.mark.parametrize("login", ["grace", "tina"], ids=["a classmate", "a TA"])
def test_a_students_page_on_a_worker_cannot_use_a_visitors_session(pages_of_ada, login):
    the_page_got_nothing(visit(LAB.url, pages_of_ada, login), in_hub)
