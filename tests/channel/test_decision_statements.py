"""A partner's programs are read with their decisions set-wise: the rebate outlook and a
person's enrolments cost no statement more for each program that pays no purchases, or that
the company has not approved."""

import itertools

from channel.approvals import DecisionDetails, decide, resync_person
from channel.programs import launch_program
from channel.rebate_reports import outlook
from roles.permissions import Role
from tests.builders import add_scheme, approve, make_program, offer, utc_today
from tests.statements import statements_sent

_numbers = itertools.count(1)


def live_program(db, world, *rules, company=False, decided=True):
    """A live program offered to partner A, approved by it (`decided`) or not yet."""
    channel_manager = world.people[Role.CHANNEL_MANAGER]
    program = make_program(db, partners=[world.partner_a], name=f"Program {next(_numbers)}")
    add_scheme(db, program, [] if company else ["technician"], *rules, company=company)
    offer(db, program, channel_manager)
    if decided:
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=channel_manager.id)
    db.flush()
    return program


def installs_only(db, world, count):
    for _ in range(count):
        live_program(db, world, ("install", {"points_per_install": 50}))


def statements_of_outlook(app, db, world) -> int:
    db.expire_all()
    with statements_sent(app.extensions["partnerlift.engine"]) as sent:
        found = outlook(db, world.partner_a, utc_today())
    assert len(found) == 1
    return len(sent)


def test_the_rebate_outlook_costs_as_many_statements_with_ten_programs_paying_no_purchases(
    app, db, world
):
    live_program(db, world, ("volume_rebate", {"default_percent": "1"}), company=True)
    installs_only(db, world, 1)
    two = statements_of_outlook(app, db, world)
    installs_only(db, world, 9)
    assert statements_of_outlook(app, db, world) == two


def undecided_and_declined(db, world, count):
    for n in range(count):
        program = live_program(db, world, ("install", {"points_per_install": 5}), decided=False)
        if n % 2:
            details = DecisionDetails(approve=False, reason="Not for us")
            decide(
                db,
                program,
                world.partner_a,
                details,
                actor_id=world.people[Role.PARTNER_MANAGER].id,
            )


def statements_of_resync(app, db, world) -> int:
    db.expire_all()
    with statements_sent(app.extensions["partnerlift.engine"]) as sent:
        resync_person(db, world.people[Role.TECHNICIAN])
    return len(sent)


def test_a_persons_enrolments_cost_as_many_statements_with_ten_programs_not_approved(
    app, db, world
):
    live_program(db, world, ("install", {"points_per_install": 50}))
    undecided_and_declined(db, world, 2)
    two = statements_of_resync(app, db, world)
    undecided_and_declined(db, world, 8)
    assert statements_of_resync(app, db, world) == two
