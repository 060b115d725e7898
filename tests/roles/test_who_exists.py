"""Nobody learns from sign-in or from adding staff who is registered: the same work and the
same answer for a known and an unknown e-mail or number, and a clash with another partner's
staff that names no one."""

import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from core.db import utcnow
from roles.auth import (
    CodePolicy,
    SignInRefused,
    authenticate_with_password,
    count_code_request,
    request_sign_in_code,
)
from roles.models import SignInCode, SignInQuota
from roles.permissions import Role
from tests.builders import PASSWORD, login_as, make_person
from tests.conftest import TEST_CONFIG
from tests.roles.test_sign_in import request_code
from tests.roles.test_staff import staff_form

#: The production defaults (README): what an attacker would time.
PRODUCTION_COST = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


class RecordingHasher(PasswordHasher):
    """The production hasher, recording the cost of every hash it verifies against."""

    def __init__(self):
        super().__init__(**PRODUCTION_COST)
        self.verified = []

    def verify(self, hash, password):  # noqa: A002 (argon2's own name)
        self.verified.append(extract_parameters(hash))
        return super().verify(hash, password)


def test_an_unknown_email_costs_the_same_argon2_work_as_a_known_one(db, world):
    hasher = RecordingHasher()
    manager = world.people[Role.PARTNER_MANAGER]
    manager.password_hash = hasher.hash(PASSWORD)
    world.people[Role.TECHNICIAN].email = "tech@example.com"  # no password: phone sign-in
    db.flush()
    for email in (manager.email, "nobody@example.com", "tech@example.com"):
        with pytest.raises(SignInRefused, match="The e-mail or password is wrong"):
            authenticate_with_password(db, email, "wrong password", hasher, utcnow())
    known, unknown, without_password = hasher.verified
    assert unknown == known == without_password
    assert (known.time_cost, known.memory_cost, known.parallelism) == (3, 65536, 4)


def test_an_unknown_number_is_refused_a_fourth_code_like_a_known_one(client, db, world):
    for phone in (world.people[Role.TECHNICIAN].phone, "+37129999999"):
        answers = [request_code(client, phone) for _ in range(4)]
        assert [a.status_code for a in answers] == [302, 302, 302, 429]
        assert "Too many codes were sent to this number" in answers[3].get_data(as_text=True)
    # The quota keeps no phone number, only a keyed digest of it.
    assert db.scalar(select(func.count(SignInQuota.number_digest))) == 2
    assert all(len(d) == 64 for d in db.scalars(select(SignInQuota.number_digest)))


def test_a_number_gets_codes_again_once_its_window_is_over(db):
    policy = CodePolicy(secret="s", per_window=2, window=timedelta(minutes=15))
    start = utcnow()
    for minutes in (0, 1):
        count_code_request(db, "+37129999999", policy, start + timedelta(minutes=minutes))
    with pytest.raises(SignInRefused):
        count_code_request(db, "+37129999999", policy, start + timedelta(minutes=14))
    count_code_request(db, "+37129999999", policy, start + timedelta(minutes=15, seconds=1))
    count_code_request(db, "+37120000000", policy, start)  # another number: its own quota


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_simultaneous_code_requests_never_pass_the_quota(committed_app, known):
    """Twelve requests at once for one number (on PostgreSQL, twelve connections): three
    codes, whether the number is someone's or not."""
    app = committed_app
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"])
    phone = f"+3712955{1 if known else 2:04d}"
    if known:
        with factory() as session:
            make_person(session, None, ["admin"], phone=phone)
            session.commit()
    policy = CodePolicy(secret=TEST_CONFIG["SECRET_KEY"], per_window=3, window=timedelta(hours=1))
    start = threading.Barrier(12)
    outcomes = []

    def ask():
        start.wait()
        with app.app_context(), factory() as session:
            try:
                request_sign_in_code(session, phone, policy, utcnow())
                session.commit()
                outcomes.append("sent")
            except SignInRefused:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused"] * 9 + ["sent"] * 3
    if known:
        with factory() as session:
            assert session.scalar(select(func.count(SignInCode.id))) >= 3


def test_a_clash_with_another_partners_staff_names_no_one(client, db, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    elsewhere = world.others[Role.SELLER]  # at partner B
    elsewhere.email = "bravo.seller@example.com"
    db.commit()
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/new",
        data=staff_form(phone=elsewhere.phone, email="bravo.seller@example.com"),
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This phone number cannot be registered here" in text
    assert "This e-mail address cannot be registered here" in text
    assert "ask your channel manager at the manufacturer" in text
    assert "Someone else already uses" not in text
    assert elsewhere.full_name not in text and world.partner_b.name not in text


def test_a_clash_within_the_company_or_for_the_manufacturer_says_so(client, db, world):
    colleague = world.people[Role.SELLER]  # at partner A
    login_as(client, world.people[Role.PARTNER_MANAGER])
    own = client.post(
        f"/partners/{world.partner_a.id}/staff/new", data=staff_form(phone=colleague.phone)
    )
    assert "Someone else already uses the phone number" in own.get_data(as_text=True)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    elsewhere = world.others[Role.SELLER]
    manufacturer = client.post(
        f"/partners/{world.partner_a.id}/staff/new", data=staff_form(phone=elsewhere.phone)
    )
    assert "Someone else already uses the phone number" in manufacturer.get_data(as_text=True)
