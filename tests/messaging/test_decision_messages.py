"""The channel managers of a program hear, by e-mail and in-app and in their own language, when
a partner's management approves it (with its conditions) or declines it (with the reason)."""

import pytest
from sqlalchemy import select

from channel.approvals import DecisionDetails, decide
from channel.models import ProgramText
from messaging.models import OutboxMessage
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_person, make_program, offer


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def offered(ctx, db, world):
    """Offered to partners A and B by the world's channel manager; a second one never touched it."""
    program = make_program(db, partners=[world.partner_a, world.partner_b], name="Winter heat")
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    make_person(db, None, [Role.CHANNEL_MANAGER], full_name="Another channel manager")
    return program


def told(db, *kinds) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.in_(kinds))
            .order_by(OutboxMessage.person_id, OutboxMessage.channel)
        )
    )


def test_an_approval_with_conditions_tells_the_programs_channel_manager(db, world, offered):
    manager = world.people[Role.CHANNEL_MANAGER]
    assert told(db, "program_approved", "program_declined") == []
    approve(
        db,
        offered,
        world.partner_a,
        world.people[Role.PARTNER_MANAGER],
        roles=["technician"],
        cap_per_person_month=400,
    )
    email, inapp = told(db, "program_approved")
    assert {email.person_id, inapp.person_id} == {manager.id}
    assert (email.channel, inapp.channel) == ("email", "inapp")
    assert email.subject == "Alpha Heating SIA approved “Winter heat”"
    assert email.body.startswith(
        "Alpha Heating SIA approved “Winter heat” (version 1). "
        "Conditions: only Field technician and cap 400 a month."
    )
    assert f"http://localhost/programs/{offered.id}" in email.body
    assert f"http://localhost/programs/{offered.id}" in inapp.body
    assert email.category == "transactional"


def test_a_decline_tells_the_reason_and_nobody_else(db, world, offered):
    decide(
        db,
        offered,
        world.partner_b,
        DecisionDetails(approve=False, reason="Our installers are fully booked"),
        actor_id=world.others[Role.PARTNER_MANAGER].id,
    )
    messages = told(db, "program_approved", "program_declined")
    assert {(m.person_id, m.kind) for m in messages} == {
        (world.people[Role.CHANNEL_MANAGER].id, "program_declined")
    }
    assert all(
        m.body.startswith(
            "Bravo Instal Sp. z o.o. declined “Winter heat”: Our installers are fully booked"
        )
        for m in messages
    )
    # Nobody on the partner's side is told of their own decision.
    assert told(db, "program_approved") == []


def test_the_channel_manager_reads_it_in_their_language_with_the_programs_name_in_it(
    db, world, offered
):
    manager = world.people[Role.CHANNEL_MANAGER]
    manager.language = "pl"
    offered.texts.append(ProgramText(language="pl", name="Ciepło zimą", description=""))
    db.flush()
    approve(db, offered, world.partner_a, world.people[Role.PARTNER_MANAGER])
    email, _inapp = told(db, "program_approved")
    assert email.subject == "Alpha Heating SIA: program „Ciepło zimą” zatwierdzony"


def test_a_partner_manager_deciding_on_the_page_tells_the_channel_manager(
    client, db, world, offered
):
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{world.partner_a.id}/programs/{offered.id}",
        data={"outcome": "approve", "roles": ["seller", "technician"]},
    )
    assert response.status_code == 302
    assert {m.channel for m in told(db, "program_approved")} == {"email", "inapp"}
