import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from core.db import utcnow
from messaging.models import OutboxMessage
from roles.models import SignInCode
from roles.permissions import Role
from tests.builders import PASSWORD, make_person

MANAGER_ROLES = [Role.ADMIN, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER]


def landing_path(world, role):
    if role in (Role.ADMIN, Role.CHANNEL_MANAGER):
        return "/partners/"
    if role is Role.PARTNER_MANAGER:
        return f"/partners/{world.partner_a.id}/staff"
    return "/me"


def request_code(client, phone):
    return client.post("/sign-in/phone", data={"phone": phone})


def last_code_sms(db, person) -> str:
    return db.scalar(
        select(OutboxMessage.body)
        .where(OutboxMessage.person_id == person.id, OutboxMessage.kind == "sign_in_code")
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


def last_code(db, person):
    return re.search(r"\b(\d{6})\b", last_code_sms(db, person)).group(1)


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize("role", MANAGER_ROLES, ids=str)
def test_manager_signs_in_with_email_and_password(client, world, role):
    person = world.people[role]
    response = client.post("/sign-in", data={"email": person.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    landed = client.get("/", follow_redirects=True)
    assert landed.status_code == 200
    assert landed.request.path == landing_path(world, role)


def test_wrong_password_and_unknown_email_get_the_same_message(client, world):
    person = world.people[Role.CHANNEL_MANAGER]
    for email, password in ((person.email, "not the password"), ("nobody@example.com", PASSWORD)):
        response = client.post("/sign-in", data={"email": email, "password": password})
        assert response.status_code == 400
        assert "The e-mail or password is wrong." in response.get_data(as_text=True)
    assert client.get("/partners/").status_code == 302  # still signed out


def test_deactivated_person_cannot_sign_in(client, db, world):
    person = world.people[Role.PARTNER_MANAGER]
    person.active = False
    db.commit()
    response = client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert "The e-mail or password is wrong." in response.get_data(as_text=True)


def test_password_sign_in_is_rate_limited(client, world):
    for _ in range(10):
        client.post("/sign-in", data={"email": "x@example.com", "password": "guess"})
    response = client.post("/sign-in", data={"email": "x@example.com", "password": "guess"})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_sign_in_starts_a_fresh_session(client, world):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    person = world.people[Role.ADMIN]
    client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(person.id)


def test_next_parameter_never_leads_off_site(client, world):
    person = world.people[Role.ADMIN]
    response = client.post(
        "/sign-in?next=//evil.example/steal", data={"email": person.email, "password": PASSWORD}
    )
    assert response.location == "/"
    client.post("/sign-out")
    response = client.post(
        "/sign-in?next=/partners/", data={"email": person.email, "password": PASSWORD}
    )
    assert response.location == "/partners/"


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_signs_in_with_a_code_sent_by_sms(client, db, world, role):
    person = world.people[role]
    national = person.phone.replace("+371", "")  # typed without the country code
    response = request_code(client, national)
    assert response.status_code == 302
    assert response.location == "/sign-in/phone/code"
    sms = db.scalar(select(OutboxMessage).where(OutboxMessage.person_id == person.id))
    assert sms.channel == "sms" and sms.recipient == person.phone
    response = client.post("/sign-in/phone/code", data={"code": last_code(db, person)})
    assert response.status_code == 302
    assert client.get("/", follow_redirects=True).request.path == landing_path(world, role)


def test_code_is_sent_in_the_persons_language(client, db):
    person = make_person(db, None, ["admin"], language="ru")
    db.commit()
    request_code(client, person.phone)
    body = db.scalar(select(OutboxMessage.body).where(OutboxMessage.person_id == person.id))
    assert "PartnerLift" in body and re.search(r"[а-я]", body)


def test_wrong_code_is_refused(client, db, world):
    person = world.people[Role.TECHNICIAN]
    request_code(client, person.phone)
    response = client.post("/sign-in/phone/code", data={"code": wrong(last_code(db, person))})
    assert "The code is wrong or has expired" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_expired_code_is_refused(client, db, world):
    person = world.people[Role.SELLER]
    request_code(client, person.phone)
    code = last_code(db, person)
    with time_machine.travel(utcnow() + timedelta(minutes=10, seconds=1)):
        response = client.post("/sign-in/phone/code", data={"code": code})
    assert "The code is wrong or has expired" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_code_just_inside_ten_minutes_still_works(client, db, world):
    person = world.people[Role.SELLER]
    request_code(client, person.phone)
    code = last_code(db, person)
    with time_machine.travel(utcnow() + timedelta(minutes=9, seconds=50)):
        response = client.post("/sign-in/phone/code", data={"code": code})
    assert response.status_code == 302


def test_used_code_cannot_be_used_again(client, app, db, world):
    person = world.people[Role.ENGINEER]
    request_code(client, person.phone)
    code = last_code(db, person)
    assert client.post("/sign-in/phone/code", data={"code": code}).status_code == 302
    other = app.test_client()
    with other.session_transaction() as session:
        session["sign_in_phone"] = person.phone
    response = other.post("/sign-in/phone/code", data={"code": code})
    assert "The code is wrong or has expired" in response.get_data(as_text=True)
    assert other.get("/me").status_code == 302


def test_sixth_try_fails_even_with_the_right_code(client, db, world, app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    try:
        person = world.people[Role.PROCUREMENT]
        request_code(client, person.phone)
        code = last_code(db, person)
        for _ in range(5):
            client.post("/sign-in/phone/code", data={"code": wrong(code)})
        response = client.post("/sign-in/phone/code", data={"code": code})
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    assert "Too many wrong tries" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_fifth_try_may_still_succeed(client, db, world):
    person = world.people[Role.PROCUREMENT]
    request_code(client, person.phone)
    code = last_code(db, person)
    for _ in range(4):
        client.post("/sign-in/phone/code", data={"code": wrong(code)})
    assert client.post("/sign-in/phone/code", data={"code": code}).status_code == 302


def test_new_code_replaces_the_previous_one(client, db, world):
    person = world.people[Role.TECHNICIAN]
    request_code(client, person.phone)
    first = last_code(db, person)
    request_code(client, person.phone)
    second = last_code(db, person)
    if first != second:
        response = client.post("/sign-in/phone/code", data={"code": first})
        assert "The code is wrong or has expired" in response.get_data(as_text=True)
    assert client.post("/sign-in/phone/code", data={"code": second}).status_code == 302


def test_codes_per_number_are_limited(client, db, world):
    person = world.people[Role.TECHNICIAN]
    for _ in range(3):
        assert request_code(client, person.phone).status_code == 302
    response = request_code(client, person.phone)
    assert response.status_code == 429
    assert "Too many codes were sent to this number" in response.get_data(as_text=True)
    count = db.scalar(select(func.count(SignInCode.id)).where(SignInCode.person_id == person.id))
    assert count == 3
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert request_code(client, person.phone).status_code == 302


def test_unknown_number_looks_the_same_but_sends_nothing(client, db, world):
    before = db.scalar(select(func.count(OutboxMessage.id)))
    response = request_code(client, "+37129999999")
    assert response.status_code == 302 and response.location == "/sign-in/phone/code"
    assert db.scalar(select(func.count(OutboxMessage.id))) == before
    response = client.post("/sign-in/phone/code", data={"code": "123456"})
    assert "The code is wrong or has expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["12345", "+371 abc", "+999 123", ""])
def test_malformed_phone_gets_a_clear_message(client, world, typed):
    response = request_code(client, typed)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "phone number" in text.lower()


def test_code_must_have_six_digits(client, world):
    person = world.people[Role.TECHNICIAN]
    request_code(client, person.phone)
    response = client.post("/sign-in/phone/code", data={"code": "12ab"})
    assert "The code has 6 digits." in response.get_data(as_text=True)


def test_sign_out_ends_the_session(client, world):
    person = world.people[Role.ADMIN]
    client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert client.get("/partners/").status_code == 200
    client.post("/sign-out")
    assert client.get("/partners/").status_code == 302


def test_deactivated_person_is_signed_out_on_the_next_request(client, db, world):
    person = world.people[Role.SELLER]
    request_code(client, person.phone)
    client.post("/sign-in/phone/code", data={"code": last_code(db, person)})
    assert client.get("/me").status_code == 200
    person.active = False
    db.commit()
    assert client.get("/me").status_code == 302
