"""Triggered nudges: for each trigger, the right people get it, in their language and their
role's words, and nobody else; the control group gets nothing; the daily run sends once."""

import random
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from channel.approvals import resync_person
from channel.claim_models import Claim, ClaimLine
from channel.claims import ClaimDetails, approve_claim, reject_claim, submit_claim
from channel.postings import Line, person_account, post
from channel.programs import launch_program
from channel.sales_import import import_sales
from channel.tier_benefits import BenefitDetails, BenefitKind, add_benefit
from channel.tiers import override_tier
from core.db import utcnow
from core.zones import noon_utc
from messaging.consent import set_consent
from messaging.holdout import groups, treatment
from messaging.models import OutboxMessage, Tip, Treatment, TriggerDelivery
from messaging.nudges import TriggerChoice, choose_tip, save_triggers, send_once
from messaging.reminders import run_daily
from messaging.segments import count_segments
from messaging.triggers import on_sales_imported
from roles.models import Person, RoleAssignment
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    make_group,
    make_partner,
    make_person,
    make_product,
    make_program,
    make_tier,
    offer,
    utc_today,
)

TODAY = utc_today()
#: The moment the imports run: noon UTC, the same day in every test seller's zone.
NOW = noon_utc(TODAY)
LIFETIME = timedelta(days=365)


@pytest.fixture
def ctx(app):
    """Operations run inside the app, as in a request or a `flask` command."""
    with app.app_context():
        yield app


@pytest.fixture
def holdout(app):
    saved = app.config["NUDGE_HOLDOUT_PERCENT"]
    yield lambda percent: app.config.update(NUDGE_HOLDOUT_PERCENT=percent)
    app.config["NUDGE_HOLDOUT_PERCENT"] = saved


@pytest.fixture
def boilers(db):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    make_product(db, group, "BX-35")
    return group


@pytest.fixture
def program(ctx, db, world, boilers):
    """Offered to partners A and B; A approved for everyone; not launched yet."""
    program = make_program(db, partners=[world.partner_a, world.partner_b], name="Winter heat")
    add_scheme(
        db,
        program,
        ["seller", "engineer"],
        ("unit_sold", {"product_group": "boilers", "points_per_unit": 10}),
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    return program


@pytest.fixture
def live(db, world, program):
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def sent(db, trigger, kind=None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.source == f"trigger:{trigger}")
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.scalars(stmt.order_by(OutboxMessage.id)))


def recipients(db, trigger, kind=None) -> set[int]:
    return {m.person_id for m in sent(db, trigger, kind)}


def sale(invoice="INV-1", lines=(("BX-24", 3),), **extra):
    return ClaimDetails(
        kind="sale", occurred_on=TODAY, invoice_number=invoice, lines=list(lines), **extra
    )


def add_tip(db, text, *, group=None, language="en", link=None):
    tip = Tip(
        product_group_id=group.id if group else None, language=language, text=text, link_url=link
    )
    db.add(tip)
    db.flush()
    return tip


# ---------------------------------------------------------------- points earned


def test_a_sale_tells_the_seller_their_points_balance_and_a_tip_on_what_they_sold(
    db, world, live, boilers
):
    add_tip(db, "BX boilers fit in a kitchen cupboard.", group=boilers, link="https://ex.am/bx")
    add_tip(db, "Heat pumps need no chimney.")  # a general tip: not for a boiler sale
    seller = world.people[Role.SELLER]
    submit_claim(db, seller, sale(lines=[("BX-24", 3), ("BX-35", 1)]), today=TODAY)
    [message] = sent(db, "points_earned")
    assert (message.person_id, message.channel, message.category) == (seller.id, "sms", "nudge")
    assert message.body == (
        "Well sold! +40 points. Balance: 0. Pending: 40.\n"
        "Did you know? BX boilers fit in a kitchen cupboard. https://ex.am/bx"
    )
    assert count_segments(message.body).segments <= 2


def test_points_are_told_in_the_persons_language_with_a_tip_in_it(db, world, live, boilers):
    add_tip(db, "BX boilers fit in a kitchen cupboard.", group=boilers)
    add_tip(db, "Котлы BX помещаются в кухонный шкаф.", group=boilers, language="ru")
    seller = world.people[Role.SELLER]
    seller.language = "ru"
    submit_claim(db, seller, sale(), today=TODAY)
    [message] = sent(db, "points_earned")
    assert "30 баллов" in message.body and "Котлы BX помещаются в кухонный шкаф." in message.body
    assert "cupboard" not in message.body
    assert count_segments(message.body).segments <= 2


def test_without_a_tip_in_their_language_a_person_gets_the_english_one(db, world, live, boilers):
    add_tip(db, "BX boilers fit in a kitchen cupboard.", group=boilers)
    seller = world.people[Role.SELLER]
    seller.language = "lv"
    submit_claim(db, seller, sale(), today=TODAY)
    [message] = sent(db, "points_earned")
    assert "BX boilers fit in a kitchen cupboard." in message.body
    assert "Bilance" in message.body  # the rest in Latvian


def test_a_person_never_gets_the_same_tip_twice_in_a_row_while_there_are_others(
    db, world, live, boilers
):
    first = add_tip(db, "Tip one.", group=boilers)
    second = add_tip(db, "Tip two.", group=boilers)
    seller = world.people[Role.SELLER]
    for number in range(3):
        submit_claim(db, seller, sale(invoice=f"INV-{number}"), today=TODAY)
    tips = list(
        db.scalars(
            select(TriggerDelivery.tip_id)
            .where(TriggerDelivery.trigger == "points_earned")
            .order_by(TriggerDelivery.id)
        )
    )
    assert tips == [first.id, second.id, first.id]
    only = world.people[Role.ENGINEER]
    db.delete(second)
    db.flush()
    assert choose_tip(db, only, boilers.id) == first
    assert choose_tip(db, seller, boilers.id) == first  # no other left: the same again


def test_a_shared_sale_tells_each_person_their_own_points_in_their_roles_words(db, world, live):
    seller, engineer = world.people[Role.SELLER], world.people[Role.ENGINEER]
    submit_claim(
        db, seller, sale(lines=[("BX-24", 4)], shares={seller.id: 75, engineer.id: 25}), today=TODAY
    )
    bodies = {m.person_id: m.body for m in sent(db, "points_earned")}
    assert bodies == {
        seller.id: "Well sold! +30 points. Balance: 0. Pending: 30.",
        engineer.id: "Good work! +10 points. Balance: 0. Pending: 10.",
    }


def test_an_install_earns_a_nudge_with_a_general_tip(db, world, live, boilers):
    add_tip(db, "BX boilers fit in a kitchen cupboard.", group=boilers)
    add_tip(db, "Reply BAL any time for your points.")
    technician = world.people[Role.TECHNICIAN]
    submit_claim(
        db, technician, ClaimDetails(kind="install", occurred_on=TODAY, serial="SN-1"), today=TODAY
    )
    [message] = sent(db, "points_earned")
    assert message.person_id == technician.id
    assert message.body == (
        "Good work! +50 points. Balance: 50.\nDid you know? Reply BAL any time for your points."
    )


def test_a_sell_out_import_tells_each_seller_once_for_all_their_lines(db, world, live, boilers):
    add_tip(db, "BX boilers fit in a kitchen cupboard.", group=boilers)
    seller, other = world.people[Role.SELLER], world.people[Role.ENGINEER]
    rows = [
        (
            2,
            {
                "invoice_number": "D-1",
                "line": "1",
                "date": TODAY.isoformat(),
                "sku": "BX-24",
                "quantity": "2",
                "seller": seller.phone,
            },
        ),
        (
            3,
            {
                "invoice_number": "D-1",
                "line": "2",
                "date": TODAY.isoformat(),
                "sku": "BX-35",
                "quantity": "1",
                "seller": seller.phone,
            },
        ),
        (
            4,
            {
                "invoice_number": "D-2",
                "line": "1",
                "date": TODAY.isoformat(),
                "sku": "BX-24",
                "quantity": "1",
                "seller": other.phone,
            },
        ),
    ]
    report = import_sales(db, iter(rows), now=NOW)
    assert report.imported == 3
    told = {m.person_id: m.body for m in sent(db, "points_earned")}
    assert told.keys() == {seller.id, other.id}
    assert told[seller.id].startswith("Well sold! +30 points.")
    assert "BX boilers fit in a kitchen cupboard." in told[seller.id]
    assert told[other.id].startswith("Good work! +10 points.")  # an engineer's words
    again = import_sales(db, iter(rows), now=NOW)
    assert again.already_imported == 3 and len(sent(db, "points_earned")) == 2


def test_nobody_else_hears_of_someones_points(db, world, live):
    submit_claim(db, world.people[Role.SELLER], sale(), today=TODAY)
    # A partner B seller earns nothing (B has not approved): no claim points, no message.
    submit_claim(db, world.others[Role.SELLER], sale(invoice="B-1"), today=TODAY)
    assert recipients(db, "points_earned") == {world.people[Role.SELLER].id}


def test_a_person_who_opted_out_of_sms_gets_the_nudge_on_their_next_channel(db, world, live):
    seller = world.people[Role.SELLER]
    set_consent(db, seller.id, "sms", opted_out=True, source="sms:STOP")
    submit_claim(db, seller, sale(), today=TODAY)
    [message] = sent(db, "points_earned")
    assert message.channel == "inapp"  # no e-mail address: the inbox
    manager = world.people[Role.PARTNER_MANAGER]  # has an e-mail address
    set_consent(db, manager.id, "sms", opted_out=True, source="profile")
    submit_claim(db, manager, sale(invoice="INV-2"), today=TODAY)
    assert recipients(db, "points_earned") == {seller.id}  # managers are not in the scheme


def test_switching_points_earned_off_for_the_program_stops_it(db, world, live):
    save_triggers(db, live.id, {"points_earned": TriggerChoice(False, None)})
    submit_claim(db, world.people[Role.SELLER], sale(), today=TODAY)
    assert sent(db, "points_earned") == []


# ---------------------------------------------------------------- claims decided


def pending_claim(db, person, **values):
    defaults = {
        "kind": "sale",
        "invoice_number": "INV-9",
        "lines": [ClaimLine(line_no=1, sku="BX-24", quantity=2)],
    }
    defaults.update(values)
    claim = Claim(person_id=person.id, partner_id=person.partner_id, occurred_on=TODAY, **defaults)
    db.add(claim)
    db.flush()
    return claim


def test_a_reviewed_approval_tells_the_claimant_once_with_points_and_balance(db, world, live):
    seller = world.people[Role.SELLER]
    claim = pending_claim(db, seller)
    approve_claim(db, claim, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    [message] = sent(db, "claim_decided")
    assert (message.person_id, message.kind, message.category) == (
        seller.id,
        "claim_approved",
        "transactional",
    )
    assert message.body == "Your claim INV-9 is approved: +20 points. Balance: 0."
    assert sent(db, "points_earned") == []  # not told twice


@pytest.mark.parametrize(
    ("role", "advice"),
    [
        (Role.TECHNICIAN, "Check the serial number on the plate and claim again."),
        (Role.SELLER, "Check the invoice number and the products, then claim again: "),
        (Role.PROCUREMENT, "Ask your manager, or reply HELP."),
    ],
)
def test_a_rejection_carries_the_reason_and_what_to_do_for_the_role(db, world, live, role, advice):
    person = world.people[role]
    claim = pending_claim(db, person)
    reject_claim(
        db, claim, actor_id=world.people[Role.CHANNEL_MANAGER].id, reason="No such invoice"
    )
    [message] = sent(db, "claim_decided")
    assert message.person_id == person.id and message.kind == "claim_rejected"
    first, second = message.body.split("\n")
    assert first == "Your claim INV-9 was not approved: No such invoice"
    assert second.startswith(advice)


def test_a_rejection_is_written_in_the_claimants_language(db, world, live):
    technician = world.people[Role.TECHNICIAN]
    technician.language = "pl"
    claim = pending_claim(
        db, technician, kind="install", serial="SN-7", invoice_number=None, lines=[]
    )
    reject_claim(db, claim, actor_id=world.people[Role.CHANNEL_MANAGER].id, reason="Brak")
    [message] = sent(db, "claim_decided")
    assert "SN-7" in message.body and "tabliczce" in message.body


# ---------------------------------------------------------------- a program to decide on


def test_offering_a_program_asks_each_targeted_partners_managers_by_email_and_in_app(
    db, world, program
):
    messages = sent(db, "approval_request")
    managers = {world.people[Role.PARTNER_MANAGER].id, world.others[Role.PARTNER_MANAGER].id}
    assert {m.person_id for m in messages} == managers
    assert sorted((m.person_id, m.channel) for m in messages) == sorted(
        (pid, channel) for pid in managers for channel in ("email", "inapp")
    )
    email = next(
        m
        for m in messages
        if m.channel == "email" and m.person_id == world.others[Role.PARTNER_MANAGER].id
    )
    assert email.subject == "A program awaits your decision: Winter heat"
    assert f"/partners/{world.partner_b.id}/programs/{program.id}" in email.body
    assert all(m.category == "transactional" for m in messages)


def test_a_partner_not_offered_the_program_hears_nothing(ctx, db, world, boilers):
    third = make_partner(db, name="Charlie")
    make_person(db, third, ["partner_manager"])
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    assert recipients(db, "approval_request") == {world.people[Role.PARTNER_MANAGER].id}


def test_an_undecided_partner_is_reminded_after_n_days_once(db, world, program):
    manager_b = world.others[Role.PARTNER_MANAGER]
    assert run_daily(db, utcnow() + timedelta(days=2), lifetime=LIFETIME)["approval_request"] == 0
    counts = run_daily(db, utcnow() + timedelta(days=3, hours=1), lifetime=LIFETIME)
    assert counts["approval_request"] == 1
    reminders = sent(db, "approval_request", "approval_reminder")
    assert {(m.person_id, m.channel) for m in reminders} == {
        (manager_b.id, "email"),
        (manager_b.id, "inapp"),
    }
    assert reminders[0].body.startswith("Reminder: “Winter heat” still awaits your decision")
    again = run_daily(db, utcnow() + timedelta(days=9), lifetime=LIFETIME)
    assert (
        again["approval_request"] == 0
        and len(sent(db, "approval_request", "approval_reminder")) == 2
    )


def test_the_reminder_waits_the_programs_own_number_of_days(db, world, program):
    save_triggers(db, program.id, {"approval_request": TriggerChoice(True, 10)})
    assert run_daily(db, utcnow() + timedelta(days=5), lifetime=LIFETIME)["approval_request"] == 0
    assert run_daily(db, utcnow() + timedelta(days=11), lifetime=LIFETIME)["approval_request"] == 1


def test_switching_approval_requests_off_asks_nobody(ctx, db, world, boilers):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    save_triggers(db, program.id, {"approval_request": TriggerChoice(False, None)})
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    run_daily(db, utcnow() + timedelta(days=30), lifetime=LIFETIME)
    assert sent(db, "approval_request") == []


# ---------------------------------------------------------------- enrolled


def test_launch_tells_each_enrolled_person_their_own_roles_rule(db, world, live):
    bodies = {m.person_id: m.body for m in sent(db, "enrolled")}
    people = world.people
    assert bodies == {
        people[
            Role.SELLER
        ].id: "You are in “Winter heat”: 10 points per unit of products of the group Boilers sold.",
        people[
            Role.ENGINEER
        ].id: "You are in “Winter heat”: 10 points per unit of products of the group Boilers sold.",
        people[Role.TECHNICIAN].id: (
            "You are in “Winter heat”: 50 points per registered install of any product "
            "(with its serial number)."
        ),
    }  # not the manager or procurement (no scheme for them), nobody at B (undecided)


def test_someone_joining_a_live_program_is_told_in_their_language(db, world, live):
    newcomer = make_person(db, world.partner_a, ["technician"], language="ru")
    resync_person(db, newcomer)
    [message] = [m for m in sent(db, "enrolled") if m.person_id == newcomer.id]
    assert "«Winter heat»" in message.body or "Winter heat" in message.body
    assert "50 баллов" in message.body


def test_nobody_is_told_twice_of_the_same_program(db, world, live):
    technician = world.people[Role.TECHNICIAN]
    technician.active = False
    resync_person(db, technician)
    technician.active = True
    resync_person(db, technician)
    assert [m.person_id for m in sent(db, "enrolled")].count(technician.id) == 1


# ---------------------------------------------------------------- inactive


def test_people_inactive_for_n_days_get_one_next_step_for_their_role(db, world, live):
    seller = world.people[Role.SELLER]
    with time_machine.travel(utcnow() + timedelta(days=10)):
        submit_claim(db, seller, sale(), today=TODAY + timedelta(days=10))
    now = utcnow() + timedelta(days=15)
    assert run_daily(db, now, lifetime=LIFETIME)["inactive"] == 2
    bodies = {m.person_id: m.body for m in sent(db, "inactive")}
    assert bodies == {
        world.people[Role.TECHNICIAN].id: "“Winter heat”: installed one of our products lately? "
        "Text CLAIM and the serial number to earn points.",
        world.people[Role.ENGINEER].id: "“Winter heat”: installed one of our products lately? "
        "Text CLAIM and the serial number to earn points.",
    }  # the seller claimed five days ago; B's staff are not enrolled
    assert all(m.category == "nudge" for m in sent(db, "inactive"))
    assert run_daily(db, now, lifetime=LIFETIME)["inactive"] == 0
    assert run_daily(db, now + timedelta(days=3), lifetime=LIFETIME)["inactive"] == 0  # same spell
    later = run_daily(db, now + timedelta(days=10), lifetime=LIFETIME)
    assert later["inactive"] == 1  # now the seller too
    assert sent(db, "inactive")[-1].body.startswith("“Winter heat”: sold one of our products")


def test_inactive_people_are_not_reminded_when_the_program_switched_it_off(db, world, live):
    save_triggers(db, live.id, {"inactive": TriggerChoice(False, None)})
    assert run_daily(db, utcnow() + timedelta(days=60), lifetime=LIFETIME)["inactive"] == 0


def test_people_left_out_or_deactivated_are_not_reminded(db, world, live):
    world.people[Role.ENGINEER].active = False
    resync_person(db, world.people[Role.ENGINEER])
    run_daily(db, utcnow() + timedelta(days=15), lifetime=LIFETIME)
    assert recipients(db, "inactive") == {
        world.people[Role.TECHNICIAN].id,
        world.people[Role.SELLER].id,
    }


# ---------------------------------------------------------------- points expiring


def earn_at(db, person, points, moment):
    with time_machine.travel(moment):
        post(
            db,
            f"test-earn:{person.id}:{moment.isoformat()}",
            [
                Line(
                    account=person_account(person.id),
                    points=points,
                    kind="earn",
                    partner_id=person.partner_id,
                    person_id=person.id,
                )
            ],
        )


def test_points_expiring_within_n_days_are_announced_once(db, world, live):
    technician, seller = world.people[Role.TECHNICIAN], world.people[Role.SELLER]
    now = utcnow()
    earn_at(db, technician, 70, now - timedelta(days=350))
    earn_at(db, seller, 40, now - timedelta(days=100))  # expires in 265 days: no warning yet
    assert run_daily(db, now, lifetime=LIFETIME)["expiring"] == 1
    [message] = sent(db, "expiring")
    expires = technician.day_at(now - timedelta(days=350) + LIFETIME)
    assert message.person_id == technician.id and message.kind == "points_expiring"
    assert message.body.startswith(f"70 points expire on {expires.month}/{expires.day}/")
    assert run_daily(db, now + timedelta(days=1), lifetime=LIFETIME)["expiring"] == 0


def test_points_expiring_are_announced_with_the_day_where_the_person_is(db, world, live):
    technician = world.people[Role.TECHNICIAN]
    technician.timezone = "Asia/Jerusalem"
    # Earned at 22:30 UTC: they expire at 22:30 UTC a lifetime later, past midnight in Israel.
    earned = datetime.combine(utc_today() - timedelta(days=350), time(22, 30), tzinfo=UTC)
    earn_at(db, technician, 70, earned)
    run_daily(db, utcnow(), lifetime=LIFETIME)
    [message] = sent(db, "expiring")
    local = (earned + LIFETIME).date() + timedelta(days=1)
    assert message.body.startswith(f"70 points expire on {local.month}/{local.day}/")


def test_expiring_points_of_people_outside_the_program_are_not_announced(db, world, live):
    earn_at(db, world.others[Role.TECHNICIAN], 70, utcnow() - timedelta(days=350))
    assert run_daily(db, utcnow(), lifetime=LIFETIME)["expiring"] == 0


# ---------------------------------------------------------------- tier reached


def test_reaching_a_higher_tier_tells_the_partners_managers_and_enrolled_staff(db, world, live):
    silver, gold = make_tier(db, "silver", 2), make_tier(db, "gold", 3)
    manager = world.people[Role.CHANNEL_MANAGER]
    now = utcnow()
    override_tier(
        db,
        world.partner_a,
        gold,
        until=now + timedelta(days=30),
        reason="Fair",
        actor_id=manager.id,
        now=now,
    )
    override_tier(
        db,
        world.partner_b,
        gold,
        until=now + timedelta(days=30),
        reason="Fair",
        actor_id=manager.id,
        now=now,
    )
    people = world.people
    expected = {
        people[r].id for r in (Role.PARTNER_MANAGER, Role.SELLER, Role.ENGINEER, Role.TECHNICIAN)
    }
    assert recipients(db, "tier_reached") == expected  # not procurement (not enrolled), nobody at B
    bodies = {m.person_id: m.body for m in sent(db, "tier_reached")}
    assert (
        bodies[people[Role.PARTNER_MANAGER].id]
        == "Congratulations: Alpha Heating SIA reached the Gold tier."
    )
    override_tier(
        db,
        world.partner_a,
        silver,
        until=now + timedelta(days=30),
        reason="Down",
        actor_id=manager.id,
        now=now,
    )
    override_tier(
        db,
        world.partner_a,
        gold,
        until=now + timedelta(days=30),
        reason="Up again",
        actor_id=manager.id,
        now=now,
    )
    assert (
        len(sent(db, "tier_reached")) == 4
    )  # a step down says nothing; the same tier again neither


def test_the_tier_reached_message_lists_the_tiers_benefits_in_the_readers_language(db, world, live):
    gold = make_tier(db, "gold", 3)
    add_benefit(
        db,
        gold,
        BenefitDetails(
            BenefitKind.ACCOUNT_MANAGER, contact_name="Dana Levi", contact="+972501234567"
        ),
    )
    add_benefit(db, gold, BenefitDetails(BenefitKind.EVENT_INVITATION, text="ISH Frankfurt"))
    manager = world.people[Role.PARTNER_MANAGER]
    manager.language = "he"
    seller = world.people[Role.SELLER]
    now = utcnow()
    override_tier(
        db,
        world.partner_a,
        gold,
        until=now + timedelta(days=30),
        reason="Fair",
        actor_id=world.people[Role.CHANNEL_MANAGER].id,
        now=now,
    )
    bodies = {m.person_id: m.body for m in sent(db, "tier_reached")}
    assert bodies[manager.id].splitlines() == [
        "מזל טוב: החברה Alpha Heating SIA הגיעה לדרגת Gold.",
        "מה זה מביא לכם:",
        "- מנהל תיק לקוח: Dana Levi, +972501234567",
        "- הזמנות לאירועים: ISH Frankfurt",
    ]
    assert bodies[seller.id].splitlines()[1:] == [
        "What it brings:",
        "- Account manager: Dana Levi, +972501234567",
        "- Event invitations: ISH Frankfurt",
    ]


# ---------------------------------------------------------------- the control group


def test_held_out_people_get_nothing_from_that_trigger_and_are_recorded(db, world, live, holdout):
    holdout(100)
    seller = world.people[Role.SELLER]
    submit_claim(db, seller, sale(), today=TODAY)
    assert sent(db, "points_earned") == []
    assert groups(db, "trigger:points_earned") == {"treated": [], "held_out": [seller.id]}
    [delivery] = db.scalars(
        select(TriggerDelivery).where(TriggerDelivery.trigger == "points_earned")
    )
    assert delivery.held_out and delivery.person_id == seller.id
    # Transactional messages are never held out: a rejection still reaches the claimant.
    claim = pending_claim(db, seller, invoice_number="INV-77")
    reject_claim(db, claim, actor_id=world.people[Role.CHANNEL_MANAGER].id, reason="Duplicate")
    assert recipients(db, "claim_decided") == {seller.id}


def test_treated_people_are_recorded_too(db, world, live):
    submit_claim(db, world.people[Role.SELLER], sale(), today=TODAY)
    assert groups(db, "trigger:points_earned") == {
        "treated": [world.people[Role.SELLER].id],
        "held_out": [],
    }


@pytest.mark.slow  # thousands of people drawn into the hold-out
def test_the_held_out_share_is_within_tolerance_and_stable_per_person(db, world):
    people = [
        Person(
            partner_id=world.partner_a.id,
            full_name=f"Crowd {n}",
            phone=f"+3712900{n:04d}",
            role_assignments=[RoleAssignment(role="seller")],
        )
        for n in range(2000)
    ]
    db.add_all(people)
    db.flush()
    rng = random.Random(20261123)
    first = {
        p.id: treatment(db, "trigger:inactive", p.id, holdout_percent=10, rng=rng).held_out
        for p in people
    }
    share = sum(first.values()) / len(first)
    assert 0.07 <= share <= 0.13
    again = {
        p.id: treatment(db, "trigger:inactive", p.id, holdout_percent=90, rng=rng).held_out
        for p in people
    }
    assert again == first  # drawn once: a later draw with other odds changes nobody
    other = [
        treatment(db, "trigger:expiring", p.id, holdout_percent=10, rng=rng).held_out
        for p in people
    ]
    assert other != list(first.values())  # each trigger has its own control group
    assert db.scalar(select(Treatment.id).where(Treatment.source == "trigger:inactive").limit(1))


def test_send_once_sends_an_occasion_once(db, world, ctx):
    person = world.people[Role.TECHNICIAN]
    context = {"program_name": "X", "url": "/x"}
    assert send_once(db, person, "inactive", "inactive", occasion="since:2026-01-01", **context)
    assert (
        send_once(db, person, "inactive", "inactive", occasion="since:2026-01-01", **context) == []
    )


# ---------------------------------------------------------------- the daily command


def test_the_daily_command_sends_nothing_twice(app, db, world, live):
    runner = app.test_cli_runner()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=20)):
        first = runner.invoke(args=["messaging", "nudges"])
        second = runner.invoke(args=["messaging", "nudges"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.output.strip() == "approval_request 1, inactive 3, expiring 0"
    assert second.output.strip() == "approval_request 0, inactive 0, expiring 0"


LONGEST_TIPS = {
    "en": "B" * 140,
    "lv": "Ā" * 55,
    "pl": "Ą" * 55,
    "ru": "Ж" * 55,
    "he": "א" * 55,
    "fa": "ب" * 55,
}


@pytest.mark.parametrize("language", sorted(LONGEST_TIPS))
def test_a_points_message_with_the_longest_tip_stays_within_two_segments(
    db, world, ctx, boilers, language
):
    from messaging.tips import InvalidTip, TipDetails, save_tip

    tip = save_tip(db, TipDetails("boilers", language, LONGEST_TIPS[language]))
    with pytest.raises(InvalidTip):
        save_tip(db, TipDetails("boilers", language, LONGEST_TIPS[language] + "x"))
    for role in (Role.SELLER, Role.TECHNICIAN, Role.PROCUREMENT):
        person = make_person(db, world.partner_a, [role.value], language=language)
        from messaging.compose import render_for

        rendered = render_for(
            person, "points_earned", "sms", tip=tip, points=12345, available=123456, pending=12345
        )
        assert LONGEST_TIPS[language] in rendered.body
        assert rendered.segments.segments <= 2, rendered.body


def test_a_tip_that_would_make_the_text_too_long_is_left_out(db, world, live, boilers):
    add_tip(db, "B" * 140, group=boilers)  # fine in English, three segments inside Persian
    seller = world.people[Role.SELLER]
    seller.language = "fa"
    submit_claim(db, seller, sale(), today=TODAY)
    [message] = sent(db, "points_earned")
    assert "BBB" not in message.body and count_segments(message.body).segments == 1


def test_points_told_to_many_at_once_are_the_rows_told_to_each_alone(db, world, live, boilers):
    """An import's thousands of sellers are rendered together, by language and zone: each
    still gets the row (channel, address, text, tip) they would get alone."""
    add_tip(db, "B" * 140, group=boilers)  # fine in English, too long inside Persian
    add_tip(db, "Katlus var ielikt virtuves skapī.", group=boilers, language="lv")
    people = [
        make_person(db, world.partner_a, [role], language=language, timezone=zone, **extra)
        for role, language, zone, extra in [
            ("seller", "en", "Europe/Riga", {}),
            ("technician", "fa", "Asia/Tehran", {}),
            ("seller", "lv", "Europe/Riga", {"preferred_channel": "whatsapp"}),
            ("engineer", "ru", "Europe/Riga", {}),
            ("seller", "fa", "Asia/Tehran", {"preferred_channel": "whatsapp"}),
            ("technician", "en", "UTC", {}),
            ("seller", "lv", "Europe/Riga", {"active": False}),
        ]
    ]
    set_consent(db, people[3].id, "sms", opted_out=True, source="sms:STOP")
    earnings = {person.id: (10 * n + 5, {live.id}) for n, person in enumerate(people)}

    def told(occasions):
        for occasion, earned in occasions:
            on_sales_imported(None, session=db, earnings=earned, skus={"BX-24"}, occasion=occasion)
        messages = sent(db, "points_earned")
        deliveries = db.scalars(
            select(TriggerDelivery).where(TriggerDelivery.trigger == "points_earned")
        )
        return sorted(
            (m.person_id, m.channel, m.recipient, m.subject, m.body, m.template_values)
            for m in messages
        ), sorted((d.person_id, d.program_id, d.held_out, d.tip_id) for d in deliveries)

    with db.begin_nested() as together:
        at_once = told([("import", earnings)])
        together.rollback()
    alone = told([(f"alone:{i}", {i: earned}) for i, earned in earnings.items()])
    assert at_once == alone
    bodies = {row[0]: row[4] for row in alone[0]}
    assert len(bodies) == 6 and people[6].id not in bodies
    assert "BBB" in bodies[people[0].id] and "BBB" not in bodies[people[1].id]
    assert "Katlus" in bodies[people[2].id]
