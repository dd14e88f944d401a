"""The TLS front's question (schoolhub.certificates): a certificate for the
hub's name, its services' and its users', for nothing else, and a made-up
name costs the hub one question per REFRESH_EVERY seconds at most."""

import asyncio
import json

from conftest import serving
from tornado import web

from schoolhub import certificates
from schoolhub.certificates import REFRESH_EVERY, Names


class Users:
    def __init__(self, *names):
        self.names, self.asked = list(names), 0

    async def __call__(self):
        self.asked += 1
        return self.names


def answers(names: Names, *asked: str) -> list[bool]:
    async def ask():
        return [await names.allowed(name) for name in asked]

    return asyncio.run(ask())


def test_the_hub_its_services_and_its_users_get_certificates():
    users, now = Users("ada", "Bob-Smith2", "maría"), [0.0]
    names = Names("hub.school.example", ["announcements"], users, lambda: now[0])
    assert (
        answers(
            names,
            "hub.school.example",
            "HUB.school.example.",
            "announcements--service.hub.school.example",
            "ada.hub.school.example",
            "bob-smith2.hub.school.example",
            "xn--mara-xpa.hub.school.example",
        )
        == [True] * 6
    )
    assert users.asked == 1  # the users once, at the first name it did not know


def test_nothing_else_gets_one_and_made_up_names_cost_one_question_a_while():
    users, now = Users("ada"), [100.0]
    names = Names("hub.school.example", [], users, lambda: now[0])
    assert (
        answers(
            names,
            "eve.hub.school.example",  # no such user: asks the hub
            "mallory.hub.school.example",  # again, too soon: no question
            "ada.evil.example",  # not under the hub's name: never asks
            "a.b.hub.school.example",
            "school.example",
        )
        == [False] * 5
    )
    assert users.asked == 1
    # A new user signs in; a list begun at the moment her visit came answers it.
    users.names.append("eve")
    assert answers(names, "eve.hub.school.example") == [False]
    now[0] += REFRESH_EVERY
    assert answers(names, "eve.hub.school.example") == [True]
    assert users.asked == 2


def test_a_new_users_first_visit_soon_after_a_list_waits_for_the_next_one():
    """Not refused (her browser would show a TLS error): a classmate's visit a
    second before does not cost her the certificate."""
    users, now, slept = Users("ada"), [100.0], []

    async def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    names = Names("hub.school.example", [], users, lambda: now[0], sleep)
    assert answers(names, "ada.hub.school.example") == [True]
    users.names += ["tina", "tom"]
    now[0] += 0.5

    async def together():
        return await asyncio.gather(
            names.allowed("tina.hub.school.example"),
            names.allowed("tom.hub.school.example"),
            names.allowed("mallory.hub.school.example"),
        )

    assert asyncio.run(together()) == [True, True, False]
    assert slept == [REFRESH_EVERY - 0.5]  # the rest of the window, once
    assert users.asked == 2  # one list for the three who waited


def test_the_users_come_page_by_page_from_the_hubs_api():
    seen = []

    class Users(web.RequestHandler):
        def get(self):
            seen.append((self.request.headers["Authorization"], self.get_argument("offset")))
            offset = int(self.get_argument("offset"))
            page = {"items": [{"name": f"user{offset}"}, {"name": f"user{offset + 1}"}]}
            if offset < 2:
                page["_pagination"] = {"next": {"offset": offset + 2}}
            self.finish(json.dumps(page))

    with serving(web.Application([("/hub/api/users", Users)])) as url:
        names = asyncio.run(certificates.hub_users(f"{url}/hub/api", "secret"))
    assert names == ["user0", "user1", "user2", "user3"]
    assert seen == [("token secret", "0"), ("token secret", "2")]
