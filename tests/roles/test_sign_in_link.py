"""The one-time sign-in link sent with the SMS code."""

import re
from datetime import timedelta

import time_machine

from core.db import utcnow
from roles.permissions import Role
from tests.roles.test_sign_in import last_code, last_code_sms, request_code


def last_link(db, person) -> str:
    return re.search(r"https?://\S+/s/[\w-]+", last_code_sms(db, person)).group(0)


def path_of(link: str) -> str:
    return "/s/" + link.rsplit("/s/", 1)[1]


def test_the_code_sms_carries_a_link_that_signs_in_with_one_tap(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    request_code(client, technician.phone)
    link = last_link(db, technician)
    assert link.startswith("http://localhost/s/")
    asked = client.get(path_of(link))
    assert asked.status_code == 200
    first_name = technician.full_name.split()[0]
    assert f"Sign in to PartnerLift as {first_name}?" in asked.get_data(as_text=True)
    assert client.get("/me").status_code == 302  # opening the link alone signs nobody in
    signed_in = client.post(path_of(link))
    assert signed_in.status_code == 302
    assert client.get("/me").status_code == 200


def test_a_link_works_once_and_spends_its_code(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    request_code(client, technician.phone)
    link, code = last_link(db, technician), last_code(db, technician)
    assert client.post(path_of(link)).status_code == 302
    client.post("/sign-out")
    again = client.post(path_of(link))
    assert again.status_code == 410
    assert "expired or was already used" in again.get_data(as_text=True)
    assert client.get(path_of(link)).status_code == 410
    request_code(client, technician.phone)  # (the code page needs the phone in the session)
    refused = client.post("/sign-in/phone/code", data={"code": code})
    assert refused.status_code == 400  # the old code went with its link


def test_a_used_code_kills_its_link(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    request_code(client, technician.phone)
    link = last_link(db, technician)
    client.post("/sign-in/phone/code", data={"code": last_code(db, technician)})
    client.post("/sign-out")
    assert client.post(path_of(link)).status_code == 410


def test_a_link_expires_with_its_code(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    request_code(client, technician.phone)
    link = last_link(db, technician)
    with time_machine.travel(utcnow() + timedelta(minutes=11)):
        assert client.get(path_of(link)).status_code == 410
        assert client.post(path_of(link)).status_code == 410
    assert client.get("/me").status_code == 302


def test_a_made_up_link_signs_in_nobody(client, world):
    assert client.get("/s/not-a-token").status_code == 410
    assert client.post("/s/not-a-token").status_code == 410
    assert client.get("/me").status_code == 302


def test_a_deactivated_person_cannot_use_their_link(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    request_code(client, technician.phone)
    link = last_link(db, technician)
    technician.active = False
    db.commit()
    assert client.post(path_of(link)).status_code == 410


def test_links_point_at_the_public_address_when_configured(app, client, db, world):
    technician = world.people[Role.TECHNICIAN]
    saved, app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"], "https://partnerlift.example.com/"
    try:
        request_code(client, technician.phone)
    finally:
        app.config["PUBLIC_URL"] = saved
    assert last_link(db, technician).startswith("https://partnerlift.example.com/s/")
