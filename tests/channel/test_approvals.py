"""Partner management decides: who is enrolled, what is recorded, and only for its own company."""

import pytest
from sqlalchemy import select

from channel.approvals import DecisionDetails, InvalidDecision, decide
from channel.models import AuditEntry, Enrollment
from roles.permissions import Role
from tests.builders import add_scheme, approve, login_as, make_program, offer


@pytest.fixture
def program(db, world):
    program = make_program(
        db, partners=[world.partner_a, world.partner_b], cap_per_person_month=500
    )
    add_scheme(db, program, ["seller", "engineer"], ("referral", {"points": 5}))
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    return program


def enrolled(db, program):
    return set(
        db.scalars(
            select(Enrollment.person_id).where(
                Enrollment.program_id == program.id, Enrollment.ended_at.is_(None)
            )
        )
    )


def audit(db, program, partner):
    return db.scalars(
        select(AuditEntry)
        .where(AuditEntry.program_id == program.id, AuditEntry.partner_id == partner.id)
        .order_by(AuditEntry.id)
    ).all()


def test_approval_enrols_every_targeted_role_of_that_partner_only(db, world, program):
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    people = world.people
    assert enrolled(db, program) == {
        people[Role.SELLER].id,
        people[Role.ENGINEER].id,
        people[Role.TECHNICIAN].id,
    }
    outcomes = [(e.action, e.field, e.new) for e in audit(db, program, world.partner_a)]
    assert ("approved", "outcome", "approved") in outcomes
    assert ("approved", "approved_version", 1) in outcomes


def test_decline_enrols_nobody_needs_a_reason_and_is_recorded(db, world, program):
    manager = world.people[Role.PARTNER_MANAGER]
    with pytest.raises(InvalidDecision) as refused:
        decide(db, program, world.partner_a, DecisionDetails(approve=False), actor_id=manager.id)
    assert "reason" in refused.value.errors
    decide(
        db,
        program,
        world.partner_a,
        DecisionDetails(approve=False, reason="Not this season"),
        actor_id=manager.id,
    )
    assert enrolled(db, program) == set()
    entry = next(e for e in audit(db, program, world.partner_a) if e.field == "reason")
    assert (entry.action, entry.new, entry.actor_id) == ("declined", "Not this season", manager.id)


def test_approval_for_some_roles_enrols_only_them(db, world, program):
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER], roles=["technician"])
    assert enrolled(db, program) == {world.people[Role.TECHNICIAN].id}


def test_approval_excluding_a_person_leaves_them_out_until_the_exclusion_is_lifted(
    db, world, program
):
    manager, seller = world.people[Role.PARTNER_MANAGER], world.people[Role.SELLER]
    approve(db, program, world.partner_a, manager, excluded_person_ids=[seller.id])
    assert seller.id not in enrolled(db, program)
    approve(db, program, world.partner_a, manager)
    assert seller.id in enrolled(db, program)
    entry = [e for e in audit(db, program, world.partner_a) if e.field == "excluded"][-1]
    assert (entry.previous, entry.new) == ([seller.id], [])


def test_approving_again_with_the_same_person_left_out_keeps_them_out(db, world, program):
    manager, seller = world.people[Role.PARTNER_MANAGER], world.people[Role.SELLER]
    engineer = world.people[Role.ENGINEER]
    approve(db, program, world.partner_a, manager, excluded_person_ids=[seller.id])
    approve(db, program, world.partner_a, manager, excluded_person_ids=[seller.id, engineer.id])
    assert {seller.id, engineer.id}.isdisjoint(enrolled(db, program))
    approve(db, program, world.partner_a, manager, excluded_person_ids=[engineer.id])
    assert seller.id in enrolled(db, program) and engineer.id not in enrolled(db, program)


def test_approval_with_a_cap_no_column_holds_is_refused(db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    with pytest.raises(InvalidDecision) as refused:
        approve(
            db,
            program,
            world.partner_a,
            world.people[Role.PARTNER_MANAGER],
            cap_per_person_month=2**63,
        )
    assert set(refused.value.errors) == {"cap_per_person_month"}


def test_approval_with_a_lower_cap_is_kept_and_a_higher_one_refused(db, world, program):
    manager = world.people[Role.PARTNER_MANAGER]
    with pytest.raises(InvalidDecision) as refused:
        approve(db, program, world.partner_a, manager, cap_per_person_month=501)
    assert "cap_per_person_month" in refused.value.errors
    decision = approve(db, program, world.partner_a, manager, cap_per_person_month=200)
    assert decision.cap_per_person_month == 200


def test_approval_paying_into_the_company_pool_is_recorded(db, world, program):
    decision = approve(
        db, program, world.partner_a, world.people[Role.PARTNER_MANAGER], pay_to_pool=True
    )
    assert decision.pay_to_pool
    assert any(
        e.field == "pay_to_pool" and e.new is True for e in audit(db, program, world.partner_a)
    )


def test_roles_outside_the_program_and_other_partners_people_are_refused(db, world, program):
    manager = world.people[Role.PARTNER_MANAGER]
    with pytest.raises(InvalidDecision) as refused:
        approve(
            db,
            program,
            world.partner_a,
            manager,
            roles=["procurement"],
            excluded_person_ids=[world.others[Role.SELLER].id],
        )
    assert set(refused.value.errors) == {"roles", "excluded"}
    assert enrolled(db, program) == set()


def test_a_program_not_offered_to_the_partner_cannot_be_decided(db, world):
    program = make_program(db, partners=[world.partner_b])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    with pytest.raises(InvalidDecision):
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])


def test_staff_who_gain_a_targeted_role_or_leave_follow_the_decision(db, world, program):
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    from roles.people import PersonDetails, Placement, save_person
    from roles.permissions import PARTNER_ROLES

    placement = Placement.at(world.partner_a, assignable=PARTNER_ROLES, phone_region="LV")
    buyer = world.people[Role.PROCUREMENT]
    assert buyer.id not in enrolled(db, program)
    save_person(
        db,
        PersonDetails(
            full_name=buyer.full_name, phone=buyer.phone, roles=["procurement", "seller"]
        ),
        placement,
        existing=buyer,
    )
    assert buyer.id in enrolled(db, program)
    save_person(
        db,
        PersonDetails(
            full_name=buyer.full_name, phone=buyer.phone, roles=["procurement"], active=False
        ),
        placement,
        existing=buyer,
    )
    assert buyer.id not in enrolled(db, program)


def test_partner_manager_decides_through_the_page_and_staff_see_only_their_rules(
    client, db, world, program
):
    manager = world.people[Role.PARTNER_MANAGER]
    login_as(client, manager)
    page = client.get(f"/partners/{world.partner_a.id}/programs/{program.id}").get_data(
        as_text=True
    )
    assert "50 points per registered install" in page and "5 points per referred" in page
    response = client.post(
        f"/partners/{world.partner_a.id}/programs/{program.id}",
        data={
            "outcome": "approve",
            "roles": ["seller", "technician"],
            "cap_per_person_month": "100",
        },
    )
    assert response.status_code == 302
    assert enrolled(db, program) == {world.people[Role.SELLER].id, world.people[Role.TECHNICIAN].id}

    login_as(client, world.people[Role.TECHNICIAN])
    mine = client.get("/my/programs").get_data(as_text=True)
    assert "50 points per registered install" in mine and "referred" not in mine
    login_as(client, world.people[Role.ENGINEER])
    assert "Winter push" not in client.get("/my/programs").get_data(as_text=True)


def test_partner_manager_cannot_decide_for_another_partner(client, db, world, program):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{world.partner_b.id}/programs/{program.id}", data={"outcome": "approve"}
    )
    assert response.status_code == 404
    assert enrolled(db, program) == set()


def test_channel_manager_sees_the_decision_but_cannot_take_it(client, db, world, program):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    url = f"/partners/{world.partner_a.id}/programs/{program.id}"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"outcome": "approve"}).status_code == 403
    assert enrolled(db, program) == set()


def test_decline_reason_is_required_on_the_page(client, db, world, program):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{world.partner_a.id}/programs/{program.id}", data={"outcome": "decline"}
    )
    assert response.status_code == 400
    assert "Tell the manufacturer why you decline." in response.get_data(as_text=True)


def test_transparency_page_lists_what_each_person_earned_and_why(client, db, world, program):
    from channel.programs import launch_program
    from tests.builders import record

    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    record(db, "install", world.people[Role.TECHNICIAN], serial="SN-77")
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    page = client.get(f"/partners/{world.partner_a.id}/programs/{program.id}/earnings").get_data(
        as_text=True
    )
    assert world.people[Role.TECHNICIAN].full_name in page and "SN-77" in page and "50" in page
    login_as(client, world.others[Role.PARTNER_MANAGER])
    other = client.get(f"/partners/{world.partner_b.id}/programs/{program.id}/earnings").get_data(
        as_text=True
    )
    assert "SN-77" not in other
