"""From activity to points, through approval and enrolment: the rules and the decisions decide."""

from datetime import timedelta

from sqlalchemy import func, select

from channel.approvals import DecisionDetails, decide
from channel.ledger import LedgerEntry
from channel.models import Enrollment
from channel.programs import launch_program, save_program
from roles.models import Person
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    make_group,
    make_partner,
    make_product,
    make_program,
    offer,
    record,
    utc_today,
)


def points_of(db, person, program=None):
    stmt = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.person_id == person.id
    )
    if program is not None:
        stmt = stmt.where(LedgerEntry.program_id == program.id)
    return db.scalar(stmt)


def three_role_program(db, world, **terms):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a, world.partner_b], **terms)
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    add_scheme(db, program, ["procurement"], ("early_payment", {"points": 20, "min_days_early": 3}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    return program


def test_scenario_one_partner_approves_with_a_cap_the_other_declines(db, world):
    program = three_role_program(db, world, cap_per_person_month=1000)
    a, b = world.people, world.others
    approve(db, program, world.partner_a, a[Role.PARTNER_MANAGER], cap_per_person_month=60)
    decide(
        db,
        program,
        world.partner_b,
        DecisionDetails(approve=False, reason="We pay our own bonuses"),
        actor_id=b[Role.PARTNER_MANAGER].id,
    )
    launch_program(db, program, actor_id=a[Role.CHANNEL_MANAGER].id)

    record(db, "sale", a[Role.SELLER], sku="BX-24", quantity=5)  # 50
    record(db, "sale", a[Role.SELLER], sku="BX-24", quantity=3)  # 30, capped at 10 by the 60 cap
    record(db, "install", a[Role.TECHNICIAN], sku="BX-24", serial="SN-1")  # 50
    record(
        db, "install", a[Role.TECHNICIAN], sku="BX-24", serial="SN-1", key="install:again"
    )  # duplicate
    today = utc_today()
    record(
        db, "payment", a[Role.PROCUREMENT], due_on=today + timedelta(days=5), paid_on=today
    )  # 20
    record(
        db, "payment", a[Role.PROCUREMENT], due_on=today + timedelta(days=2), paid_on=today
    )  # too late
    record(
        db, "sale", a[Role.TECHNICIAN], sku="BX-24", quantity=5
    )  # technicians earn nothing for sales
    for person in (b[Role.SELLER], b[Role.TECHNICIAN]):  # declined: nothing for partner B
        record(db, "sale", person, sku="BX-24", quantity=5)
        record(db, "install", person, sku="BX-24", serial=f"SN-B-{person.id}")

    assert points_of(db, a[Role.SELLER]) == 60
    assert points_of(db, a[Role.TECHNICIAN]) == 50
    assert points_of(db, a[Role.PROCUREMENT]) == 20
    assert points_of(db, b[Role.SELLER]) == 0 and points_of(db, b[Role.TECHNICIAN]) == 0
    capped = db.scalar(select(LedgerEntry).where(LedgerEntry.points == 10))
    assert capped.reason["capped_by"] == "person_month" and capped.reason["uncapped"] == 30


def test_nothing_is_paid_before_the_partner_approves(db, world):
    program = three_role_program(db, world)
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    record(db, "sale", world.people[Role.SELLER], sku="BX-24", quantity=5)
    assert points_of(db, world.people[Role.SELLER]) == 0
    assert db.scalar(select(func.count(Enrollment.id))) == 0


def test_nothing_is_paid_while_the_program_is_only_offered(db, world):
    program = three_role_program(db, world)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    record(db, "sale", world.people[Role.SELLER], sku="BX-24", quantity=5)
    assert points_of(db, world.people[Role.SELLER]) == 0


def test_recording_the_same_activity_twice_pays_once(db, world):
    program = three_role_program(db, world)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    seller = world.people[Role.SELLER]
    assert record(db, "sale", seller, key="sale:INV-9:1", sku="BX-24", quantity=2)
    assert record(db, "sale", seller, key="sale:INV-9:1", sku="BX-24", quantity=2) == []
    assert points_of(db, seller) == 20


def test_excluded_person_earns_nothing_and_is_not_enrolled(db, world):
    program = three_role_program(db, world)
    seller = world.people[Role.SELLER]
    approve(
        db,
        program,
        world.partner_a,
        world.people[Role.PARTNER_MANAGER],
        excluded_person_ids=[seller.id],
    )
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    record(db, "sale", seller, sku="BX-24", quantity=5)
    assert points_of(db, seller) == 0
    assert db.scalar(select(Enrollment).where(Enrollment.person_id == seller.id)) is None


def test_inactive_person_earns_nothing(db, world):
    program = three_role_program(db, world)
    seller = world.people[Role.SELLER]
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    seller.active = False
    db.flush()
    record(db, "sale", seller, sku="BX-24", quantity=5)
    assert points_of(db, seller) == 0


def test_pool_payment_goes_to_the_company_but_names_the_earner(db, world):
    program = three_role_program(db, world)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER], pay_to_pool=True)
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    seller = world.people[Role.SELLER]
    (entry,) = record(db, "sale", seller, sku="BX-24", quantity=1)
    assert entry.to_pool and entry.person_id == seller.id and entry.points == 10


def test_budget_is_never_overspent_across_partners(db, world):
    program = three_role_program(db, world, budget_points=70)
    for partner, manager in ((world.partner_a, world.people), (world.partner_b, world.others)):
        approve(db, program, partner, manager[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    record(db, "sale", world.people[Role.SELLER], sku="BX-24", quantity=5)  # 50
    record(db, "sale", world.others[Role.SELLER], sku="BX-24", quantity=5)  # 20 left
    record(db, "sale", world.others[Role.SELLER], sku="BX-24", quantity=5)  # nothing left
    assert db.scalar(select(func.sum(LedgerEntry.budget_points))) == 70


def test_welcome_bonus_is_paid_at_launch_to_everyone_enrolled_and_to_later_staff(app, db, world):
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller", "technician"], ("welcome", {"points": 25}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    assert points_of(db, world.people[Role.SELLER]) == 0  # not live yet
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    assert points_of(db, world.people[Role.SELLER]) == 25
    assert points_of(db, world.people[Role.TECHNICIAN]) == 25
    assert points_of(db, world.people[Role.PROCUREMENT]) == 0  # not targeted

    from roles.people import PersonDetails, Placement, save_person
    from roles.permissions import PARTNER_ROLES

    with app.app_context():  # a new person is welcomed by a message rendered in the app
        newcomer = save_person(
            db,
            PersonDetails(full_name="New Seller", phone="+37126009999", roles=["seller"]),
            Placement.at(world.partner_a, assignable=PARTNER_ROLES, phone_region="LV"),
        )
    assert points_of(db, newcomer, program) == 25
    assert db.scalar(select(Enrollment).where(Enrollment.person_id == newcomer.id)).ended_at is None


def test_a_large_launch_welcomes_a_first_batch_and_the_welcome_command_the_rest_once(
    app, db, world, monkeypatch
):
    from messaging.models import OutboxMessage

    monkeypatch.setattr("channel.programs.WELCOME_BATCH", 2)
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, ["seller", "technician", "engineer"], ("welcome", {"points": 25}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    enrolled = sorted(
        db.scalars(select(Enrollment.person_id).where(Enrollment.program_id == program.id))
    )
    assert len(enrolled) == 3

    def welcomed():
        paid = {p for p in enrolled if points_of(db, db.get(Person, p), program) == 25}
        told = set(
            db.scalars(
                select(OutboxMessage.person_id).where(OutboxMessage.source == "trigger:enrolled")
            )
        )
        return paid, told

    with app.app_context():
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        assert welcomed() == (set(enrolled[:2]), set(enrolled[:2]))  # the launch's own batch
    runner = app.test_cli_runner()
    for _ in range(2):  # cron runs it again and again: nobody is paid or told twice
        result = runner.invoke(args=["programs", "welcome"])
        assert result.exit_code == 0, result.output
        assert welcomed() == (set(enrolled), set(enrolled))
    assert points_of(db, db.get(Person, enrolled[0]), program) == 25
    assert db.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.source == "trigger:enrolled")
    ) == len(enrolled)


def test_partner_keeps_earning_under_the_version_it_approved_until_it_approves_the_change(
    db, world
):
    program = three_role_program(db, world, cap_per_person_month=1000)
    manager = world.people[Role.PARTNER_MANAGER]
    approve(db, program, world.partner_a, manager)
    channel_manager = world.people[Role.CHANNEL_MANAGER]
    launch_program(db, program, actor_id=channel_manager.id)
    from channel.schemes import RuleInput, SchemeDetails, save_scheme

    seller_scheme = next(s for s in program.schemes if "seller" in {r.value for r in s.roles})
    save_scheme(
        db,
        program,
        SchemeDetails(
            name="Sellers",
            roles=["seller"],
            rules=[RuleInput("unit_sold", {"product_group": "boilers", "points_per_unit": 30})],
        ),
        actor_id=channel_manager.id,
        existing=seller_scheme,
    )
    assert program.version == 2
    seller = world.people[Role.SELLER]
    record(db, "sale", seller, sku="BX-24", quantity=1)
    assert points_of(db, seller) == 10  # still version 1's rate
    approve(db, program, world.partner_a, manager)
    record(db, "sale", seller, sku="BX-24", quantity=1)
    assert points_of(db, seller) == 40  # 10 + version 2's 30


def test_terms_changed_after_approval_apply_only_once_approved(db, world):
    program = three_role_program(db, world, cap_per_person_month=1000)
    manager = world.people[Role.PARTNER_MANAGER]
    approve(db, program, world.partner_a, manager)
    channel_manager = world.people[Role.CHANNEL_MANAGER]
    launch_program(db, program, actor_id=channel_manager.id)
    from channel.programs import ProgramDetails

    details = ProgramDetails(
        name=program.name,
        starts_at=program.starts_at,
        ends_at=program.ends_at,
        currency="EUR",
        point_value="0.01",
        cap_per_person_month=15,
        partner_ids=[world.partner_a.id, world.partner_b.id],
    )
    save_program(db, details, actor_id=channel_manager.id, existing=program)
    assert program.version == 2
    seller = world.people[Role.SELLER]
    record(db, "sale", seller, sku="BX-24", quantity=5)
    assert points_of(db, seller) == 50  # version 1: cap 1000
    approve(db, program, world.partner_a, manager)
    record(db, "sale", seller, sku="BX-24", quantity=5)
    assert points_of(db, seller) == 50  # version 2: the month's cap of 15 is already used up


def test_company_rebate_by_tier_goes_to_the_company_pool(db, world):
    from tests.builders import make_tier

    gold = make_tier(db, "gold", 3)
    world.partner_a.tier_id = gold.id
    program = make_program(db, partners=[world.partner_a])
    add_scheme(db, program, [], ("volume_rebate", {"percent_by_tier": {"gold": "2"}}), company=True)
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    from decimal import Decimal

    (entry,) = record(db, "purchase", partner=world.partner_a, amount=Decimal("1234.56"))
    # 2% of 1234.56 = 24.69 EUR = 2469 points at 0.01 EUR a point, rounded down.
    assert (entry.points, entry.to_pool, entry.person_id) == (2469, True, None)


def test_activity_outside_the_program_period_earns_nothing(db, world):
    program = three_role_program(db, world)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    record(
        db,
        "sale",
        world.people[Role.SELLER],
        sku="BX-24",
        quantity=5,
        occurred_at=program.starts_at - timedelta(seconds=1),
    )
    record(
        db,
        "sale",
        world.people[Role.SELLER],
        sku="BX-24",
        quantity=1,
        occurred_at=program.starts_at,
    )
    assert points_of(db, world.people[Role.SELLER]) == 10


def test_a_new_partner_of_an_offered_tier_sees_the_program(db, world):
    from channel.approvals import programs_for_partner
    from tests.builders import make_tier

    silver = make_tier(db, "silver", 2)
    program = make_program(db, tiers=[silver])
    add_scheme(db, program, ["seller"], ("referral", {"points": 5}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    newcomer = make_partner(db, name="Late Dealer", tier=silver)
    assert program in programs_for_partner(db, newcomer)
    assert program not in programs_for_partner(db, world.partner_a)
