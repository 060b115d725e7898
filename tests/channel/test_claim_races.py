"""Twin claims at once: the second waits for the first, then is flagged as a later one is."""

import threading
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from channel.claim_models import Claim
from channel.claims import ClaimDetails, submit_claim
from channel.ledger import Activity, LedgerEntry
from channel.postings import check_balances
from channel.programs import launch_program
from core.db import get_session
from roles.models import Person
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    login_as,
    make_api_token,
    make_group,
    make_person,
    make_product,
    make_program,
    offer,
    utc_today,
)
from tests.messaging.twilio_signing import AUTH_TOKEN, next_sid, post_signed, twiml_reply

TODAY = utc_today()
SKU = "RACE-24"
WORKERS = 12
#: What a claimant is told of a duplicate, on each channel: a race's loser is told the same.
WEB_REVIEWED = "Thank you: your claim will be reviewed."
SMS_DUPLICATE_SERIAL = "Install %s will be reviewed: this serial number was already claimed."


def install(serial: str, day: date = TODAY) -> ClaimDetails:
    return ClaimDetails(kind="install", occurred_on=day, serial=serial)


def sale(invoice: str, day: date = TODAY) -> ClaimDetails:
    return ClaimDetails(kind="sale", occurred_on=day, invoice_number=invoice, lines=[(SKU, 1)])


#: kind -> (the role claiming it, its details by key and day, the flag its twin gets)
TWINS = {
    "serial": ("technician", install, "duplicate_serial"),
    "invoice line": ("seller", sale, "duplicate_invoice_line"),
}


def live_program(db, world):
    """Partner A's sellers earn 10 points a unit of RACE-24, its technicians 50 an install."""
    group = make_group(db, "race-boilers", points=10)
    make_product(db, group, SKU)
    program = make_program(db, partners=[world.partner_a])
    add_scheme(
        db,
        program,
        ["seller"],
        ("unit_sold", {"product_group": "race-boilers", "points_per_unit": 10}),
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


@pytest.fixture(scope="module")
def seeded(committed_app):
    with committed_app.test_request_context():
        db = get_session()
        world = build_world(db)
        # Enrolled at launch; each test claims with people of its own.
        staff = {
            role: [make_person(db, world.partner_a, [role]) for _ in range(10)]
            for role in ("technician", "seller")
        }
        live_program(db, world)
        db.commit()
        return SimpleNamespace(
            app=committed_app,
            engine=committed_app.extensions["partnerlift.engine"],
            staff={role: [person.id for person in people] for role, people in staff.items()},
        )


def new_staff(seeded, role: str, count: int) -> list[int]:
    """`count` people of partner A in `role` who have claimed nothing yet."""
    people = seeded.staff[role][:count]
    del seeded.staff[role][:count]
    assert len(people) == count, "seed more people"
    return people


@contextmanager
def impatient_session(engine):
    """A session that gives up after 0.2 s waiting for a lock another transaction holds."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA busy_timeout = 200")
        else:
            connection.exec_driver_sql("SET lock_timeout = '200ms'")
            connection.commit()
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.invalidate()  # its settings leave with it, not back to the pool


@pytest.mark.parametrize("kind", TWINS)
def test_a_twin_claim_waits_for_the_first_to_commit_then_is_flagged_like_a_later_one(seeded, kind):
    role, details, flag = TWINS[kind]
    first_id, twin_id = new_staff(seeded, role, 2)
    key = f"TWIN-{uuid.uuid4().hex[:8]}".upper()
    # A day before the program: both wait for review anyway, so neither takes the program's
    # lock to earn, and only the twins' own keys can make the second wait.
    day = TODAY - timedelta(days=5)
    with seeded.app.app_context():
        with Session(seeded.engine) as first:
            claim = submit_claim(first, first.get(Person, first_id), details(key, day), today=TODAY)
            assert claim.flags == ["outside_program"]
            with impatient_session(seeded.engine) as twin, pytest.raises(OperationalError):
                submit_claim(
                    twin, twin.get(Person, twin_id), details(key.lower(), day), today=TODAY
                )
            first.commit()
        with Session(seeded.engine) as twin:
            claim = submit_claim(twin, twin.get(Person, twin_id), details(key, day), today=TODAY)
            twin.commit()
            assert (claim.status, claim.flags) == ("pending", [flag, "outside_program"])


@pytest.mark.parametrize("kind", TWINS)
def test_simultaneous_twin_claims_approve_exactly_one_and_flag_the_rest(seeded, kind):
    role, details, flag = TWINS[kind]
    # Three claims a person: far below the burst rule's floor.
    people = new_staff(seeded, role, WORKERS // 3)
    key = f"RACE-{uuid.uuid4().hex[:8]}".upper()
    start = threading.Barrier(WORKERS)
    failures = []

    def claim(n):
        start.wait()
        try:
            with seeded.app.app_context(), Session(seeded.engine) as session:
                person = session.get(Person, people[n % len(people)])
                submit_claim(session, person, details(key), today=TODAY)
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    with Session(seeded.engine) as db:
        claims = db.scalars(
            select(Claim).where((Claim.serial == key) | (Claim.invoice_number == key))
        ).all()
        paid = db.scalar(
            select(func.count(LedgerEntry.id))
            .join(Activity, Activity.id == LedgerEntry.activity_id)
            .where(Activity.claim_id.in_([c.id for c in claims]))
        )
        outcomes = sorted((c.status, tuple(c.flags)) for c in claims)
        assert outcomes == [("approved", ())] + [("pending", (flag,))] * (WORKERS - 1)
        assert paid == 1
        assert check_balances(db) == []


def test_a_duplicate_is_flagged_and_told_alike_on_the_web_the_api_and_by_sms(
    app, db, client, world, monkeypatch
):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    live_program(db, world)
    technician = world.people[Role.TECHNICIAN]
    _, api = make_api_token(db, scope="write", partner=world.partner_a)

    def by_api(serial):
        body = {"person_id": technician.id, "kind": "install", "occurred_on": str(TODAY)}
        answer = client.post("/api/v1/claims", json={**body, "serial": serial}, headers=api)
        return answer.status_code, answer.get_json()["status"], answer.get_json()["flags"]

    assert by_api("dup-1") == (201, "approved", [])
    assert by_api("DUP-1") == (201, "pending", ["duplicate_serial"])

    login_as(client, technician)
    answer = client.post(
        "/claims/new/install", data={"serial": " dup-1 ", "occurred_on": TODAY.isoformat()}
    )
    assert answer.status_code == 302
    assert WEB_REVIEWED in client.get(answer.location).get_data(as_text=True)

    params = {"MessageSid": next_sid(), "From": technician.phone, "Body": "CLAIM dup-1"}
    reply = twiml_reply(post_signed(client, "/messaging/twilio/inbound", params))
    assert reply == SMS_DUPLICATE_SERIAL % "DUP-1"

    claims = db.scalars(select(Claim).where(Claim.serial == "DUP-1").order_by(Claim.id)).all()
    assert [(c.status, c.flags) for c in claims] == [("approved", [])] + [
        ("pending", ["duplicate_serial"])
    ] * 3
