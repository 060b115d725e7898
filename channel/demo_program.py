"""The demo's program in motion: a catalog, one program approved by two partners and awaited
by the third, launched, with a few weeks of sales, installs, orders and payments. Its
installs are of serials the demo's purchases shipped (`channel.demo_purchases`); what the
companies buy comes from those purchases, not from activities.

Loading it twice changes nothing: the program is found by its name first.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.demo_purchases import history_serial
from channel.partner_models import PartnerOrganization
from channel.rule_params import EventKind
from roles.models import Person

DEMO_PROGRAM = "Winter heat"

GROUPS = (("boilers", "Gas boilers", 10), ("heatpumps", "Heat pumps", 25))
PRODUCTS = (
    ("NH-B24", "Condensing boiler 24 kW", "boilers", None),
    ("NH-B35", "Condensing boiler 35 kW", "boilers", 14),
    ("NH-HP8", "Air-to-water heat pump 8 kW", "heatpumps", None),
)


def seed_demo_catalog(session: Session) -> None:
    """The product groups and products (the purchases and the program name them)."""
    from channel.models import Product, ProductGroup

    for code, name, points in GROUPS:
        if session.scalar(select(ProductGroup).where(ProductGroup.code == code)) is None:
            session.add(ProductGroup(code=code, name=name, default_points_per_unit=points))
    session.flush()
    for sku, name, group, points in PRODUCTS:
        if session.scalar(select(Product).where(Product.sku == sku)) is None:
            group_id = session.scalar(select(ProductGroup.id).where(ProductGroup.code == group))
            session.add(Product(sku=sku, name=name, group_id=group_id, points_per_unit=points))
    session.flush()


def seed_demo_program(session: Session) -> int:
    """The catalog and one program: approved by two partners (one with conditions), awaited
    by the third, launched, with a few weeks of activity. Returns 1 if it was created now."""
    from datetime import UTC, datetime, time, timedelta
    from decimal import Decimal

    from channel.approvals import DecisionDetails, decide
    from channel.earning import record_activity
    from channel.ledger import Activity
    from channel.models import Program
    from channel.programs import ProgramDetails, launch_program, offer_program, save_program
    from channel.schemes import RuleInput, SchemeDetails, save_scheme

    if session.scalar(select(Program).where(Program.name == DEMO_PROGRAM)) is not None:
        return 0
    seed_demo_catalog(session)
    channel_manager = session.scalar(
        select(Person).where(Person.email == "channel@demo.partnerlift.example")
    )
    partners = {p.legal_id: p for p in session.scalars(select(PartnerOrganization))}
    baltic, instal, hom = partners["LV40003000001"], partners["PL5260000001"], partners["515000001"]
    today = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
    program = save_program(
        session,
        ProgramDetails(
            name=DEMO_PROGRAM,
            description="Sell, install and order our boilers and heat pumps this winter.",
            starts_at=today - timedelta(days=14),
            ends_at=today + timedelta(days=76),
            currency="EUR",
            point_value=Decimal("0.01"),
            budget_points=200_000,
            cap_per_person_month=3_000,
            texts={
                "lv": (
                    "Ziemas siltums",
                    "Pārdodiet, uzstādiet un pasūtiet mūsu katlus un siltumsūkņus šoziem.",
                ),
                "pl": (
                    "Zimowe ciepło",
                    "Sprzedawaj, instaluj i zamawiaj nasze kotły i pompy ciepła tej zimy.",
                ),
                "ru": (
                    "Зимнее тепло",
                    "Продавайте, устанавливайте и заказывайте наши котлы и тепловые насосы этой зимой.",
                ),
                "he": (
                    "חום של חורף",
                    "מוכרים, מתקינים ומזמינים את הדוודים ומשאבות החום שלנו בחורף הזה.",
                ),
                "fa": (
                    "گرمای زمستان",
                    "این زمستان دیگ‌ها و پمپ‌های حرارتی ما را بفروشید، نصب کنید و سفارش دهید.",
                ),
            },
            partner_ids=[baltic.id, instal.id, hom.id],
        ),
        actor_id=channel_manager.id,
    )
    schemes = (
        SchemeDetails(
            "Sellers",
            ["seller"],
            rules=[
                RuleInput("unit_sold", {"product_group": "boilers"}),
                RuleInput(
                    "unit_sold",
                    {
                        "product_group": "heatpumps",
                        "focus_multiplier": "2",
                        "focus_from": (today - timedelta(days=14)).isoformat(),
                        "focus_until": (today + timedelta(days=16)).isoformat(),
                    },
                ),
            ],
        ),
        SchemeDetails(
            "Installers",
            ["engineer", "technician"],
            rules=[RuleInput("install", {"points_per_install": 50})],
        ),
        SchemeDetails(
            "Procurement",
            ["procurement"],
            rules=[
                RuleInput(
                    "portal_order",
                    {"points_per_order": 15, "bulk_min_units": 20, "bulk_bonus": 100},
                ),
                RuleInput("early_payment", {"points": 40, "min_days_early": 5}),
            ],
        ),
        SchemeDetails(
            "Welcome",
            ["seller", "engineer", "technician", "procurement"],
            rules=[
                RuleInput("welcome", {"points": 100}),
                RuleInput("training", {"points": 30}),
            ],
        ),
        SchemeDetails(
            "Company rebate",
            [],
            company_level=True,
            rules=[
                RuleInput(
                    "volume_rebate",
                    {"percent_by_tier": {"gold": "2", "silver": "1.5"}, "default_percent": "1"},
                )
            ],
        ),
    )
    for details in schemes:
        save_scheme(session, program, details, actor_id=channel_manager.id)
    session.refresh(program)
    _seed_history(session, today, baltic, instal)
    offer_program(session, program, actor_id=channel_manager.id)
    managers = {
        p.partner_id: p for p in session.scalars(select(Person).where(Person.email.is_not(None)))
    }
    decide(session, program, baltic, DecisionDetails(approve=True), actor_id=managers[baltic.id].id)
    technician = session.scalar(select(Person).where(Person.phone == "+48501000003"))
    decide(
        session,
        program,
        instal,
        DecisionDetails(
            approve=True,
            reason="Installers only for now, with our own cap.",
            roles=["engineer", "technician"],
            cap_per_person_month=1_500,
        ),
        actor_id=managers[instal.id].id,
    )
    launch_program(session, program, actor_id=channel_manager.id)
    _seed_activity(session, today, technician, record_activity, Activity)
    from channel.expiry import release_due
    from core.db import utcnow

    release_due(session, utcnow())
    return 1


def _people_by_phone(session: Session) -> dict[str, Person]:
    return {p.phone: p for p in session.scalars(select(Person))}


def _seed_history(session: Session, today, baltic, instal) -> None:
    """Last quarter's activity, before the program: what simulations and estimates read."""
    from datetime import timedelta

    from channel.ledger import Activity

    people = _people_by_phone(session)
    for day in range(20, 100, 9):
        when = today - timedelta(days=day)
        session.add_all(
            [
                Activity(
                    kind=EventKind.SALE,
                    occurred_at=when,
                    partner_id=baltic.id,
                    person_id=people["+37120000003"].id,
                    source_key=f"demo:history:sale:{day}",
                    sku="NH-B24",
                    quantity=3 + day % 4,
                ),
                Activity(
                    kind=EventKind.INSTALL,
                    occurred_at=when,
                    partner_id=instal.id,
                    person_id=people["+48501000003"].id,
                    source_key=f"demo:history:install:{day}",
                    sku="NH-HP8",
                    serial=history_serial(day),
                ),
            ]
        )
    session.flush()


def _seed_activity(session, today, technician, record_activity, activity_class) -> None:
    from datetime import timedelta
    from decimal import Decimal

    people = _people_by_phone(session)
    seller, buyer = people["+37120000003"], people["+37120000004"]
    engineer = people["+48501000002"]
    events = [
        (EventKind.SALE, seller, dict(sku="NH-B24", quantity=6), 10),
        (EventKind.SALE, seller, dict(sku="NH-HP8", quantity=2), 6),
        (EventKind.INSTALL, technician, dict(sku="NH-HP8", serial="NH8-240001"), 5),
        (EventKind.INSTALL, technician, dict(sku="NH-B35", serial="NB35-240017"), 3),
        (EventKind.INSTALL, engineer, dict(sku="NH-HP8", serial="NH8-240002"), 2),
        # Instal approved installers only.
        (EventKind.SALE, engineer, dict(sku="NH-B24", quantity=4), 2),
        (EventKind.ORDER, buyer, dict(sku="NH-B24", quantity=24, amount=Decimal("16800.00")), 4),
        (
            EventKind.PAYMENT,
            buyer,
            dict(
                amount=Decimal("16800.00"),
                due_on=(today + timedelta(days=20)).date(),
                paid_on=(today - timedelta(days=1)).date(),
            ),
            1,
        ),
    ]
    for index, (kind, person, facts, days_ago) in enumerate(events):
        record_activity(
            session,
            activity_class(
                kind=kind,
                occurred_at=today - timedelta(days=days_ago, hours=-9),
                partner_id=person.partner_id,
                person_id=person.id,
                source_key=f"demo:{kind}:{index}",
                **facts,
            ),
            return_window=timedelta(days=7),
        )
