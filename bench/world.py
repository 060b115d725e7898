"""The one world the benchmarks run in: partners, people, a catalog, programs and a year of history.

Realistic by default (`SIZES["realistic"]`): 50 partners in five countries, 2,000 field staff
in four roles (seller, engineer, technician, procurement) plus a manager per partner, in six
languages and their partners' time zones, 2% opted out of SMS; 200 SKUs in 10 product
groups, with tips; three live programs over the last thirteen months, each with several
rules (points per group, per SKU, installs), a budget and caps (per person and month, per
partner, and a lower per-person cap some partners set when approving), one showing its
leaderboard; every partner approved every program; and a claims history of sell-out lines
over the last twelve months, imported through the product's own import so that ledger,
balances, rollups, leaderboards and tips already hold a year of data.

People, roles and consent rows are written by COPY on PostgreSQL (`core.bulk`); programs
and decisions go through the product's operations, so enrolments are what they would be.

    world = build_world(app, SIZES["realistic"])
    print(world.describe())

A bench that needs more adds it to the built world with one of the functions at the end,
each written the way an operator would (the product's own imports and operations) unless
it says otherwise, and each saying what it adds in `world.extras` (printed by `describe`):
`add_channel_mix` (e-mail addresses, WhatsApp and e-mail preferences, blocked channels),
`add_rates` (a daily reference rate), `BenchWorld.purchases_file` (invoice lines with
serials), `add_sell_in_program` (tiers, tier changes and a rebate program),
`add_purchase_lines` and `add_serial_registry` (by COPY, for sizes an import would take
too long to reach).
"""

import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select, update

from channel.approvals import DecisionDetails, decide
from channel.claim_models import Claim
from channel.exchange_rates import import_rates
from channel.models import Product, ProductGroup, Program, ProgramTarget
from channel.partner_models import PartnerOrganization, Tier
from channel.programs import launch_program, offer_program
from channel.purchases import PurchaseLine, Serial, purchase_key
from channel.sales_import import import_sales, read_sales
from channel.scheme_models import EarningRule, Scheme, SchemeRole
from channel.tiers import TierChange, TierReason, WhyTier
from core.bulk import BulkWriter
from core.db import get_session, utcnow
from messaging.models import ChannelBlock, ChannelConsent, Tip
from roles.models import Person, RoleAssignment

COUNTRIES = (
    ("LV", "Europe/Riga", "+3712"),
    ("PL", "Europe/Warsaw", "+4850"),
    ("LT", "Europe/Vilnius", "+3706"),
    ("EE", "Europe/Tallinn", "+3725"),
    ("IL", "Asia/Jerusalem", "+9725"),
)
LANGUAGES = ("en", "lv", "pl", "ru", "he", "fa")
FIELD_ROLES = ("seller", "engineer", "technician", "procurement")
TIERS = ("bronze", "silver", "gold")
CURRENCIES = {"LV": "EUR", "PL": "PLN", "LT": "EUR", "EE": "EUR", "IL": "ILS"}


@dataclass(frozen=True)
class WorldSize:
    partners: int
    people: int
    groups: int
    skus: int
    #: Sell-out lines of the year before, imported before any benchmark runs.
    history_lines: int


@dataclass(frozen=True)
class WorldPartner:
    id: int
    country: str
    legal_id: str
    manager_id: int


SIZES = {
    "small": WorldSize(partners=10, people=200, groups=4, skus=40, history_lines=2_000),
    "realistic": WorldSize(partners=50, people=2_000, groups=10, skus=200, history_lines=20_000),
}


@dataclass
class BenchWorld:
    size: WorldSize
    #: Field staff who earn on sell-out lines, by (person id, phone), in a fixed order: the
    #: n-th works for `partners[n % len(partners)]` in the role `FIELD_ROLES[n % 4]`.
    staff: list[tuple[int, str]] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    program_ids: list[int] = field(default_factory=list)
    rules: int = 0
    built_in: float = 0.0
    partners: list[WorldPartner] = field(default_factory=list)
    channel_manager_id: int = 0
    #: What the add_* functions added, in words, for `describe`.
    extras: list[str] = field(default_factory=list)

    def staff_in_role(self, role: str) -> list[tuple[int, int]]:
        """(person id, partner id) of every field staff member in `role`."""
        return [
            (person_id, self.partners[n % len(self.partners)].id)
            for n, (person_id, _) in enumerate(self.staff)
            if FIELD_ROLES[n % len(FIELD_ROLES)] == role
        ]

    def describe(self) -> str:
        s = self.size
        return (
            f"world: {s.partners} partners in {len(COUNTRIES)} countries, {s.people} field staff "
            f"in {len(FIELD_ROLES)} roles (+{s.partners} managers), {len(LANGUAGES)} languages; "
            f"{s.skus} SKUs in {s.groups} groups; {len(self.program_ids)} live programs "
            f"({self.rules} rules, budgets, caps per person-month and per partner, one "
            "leaderboard); "
            f"{s.history_lines} sell-out lines of history over 12 months; "
            f"built in {self.built_in:.0f} s" + "".join(f"; {extra}" for extra in self.extras)
        )

    def sales_file(self, lines: int, sellers: int, *, invoice: str, seed: int = 1) -> bytes:
        """A sell-out CSV of `lines` lines across the first `sellers` staff, over the last
        twelve months (each day at least a day old, so no seller's zone sees it in the
        future), several lines an invoice, all SKUs, quantities 1–12."""
        if sellers > len(self.staff):
            raise ValueError(f"the world has {len(self.staff)} staff, not {sellers}")
        rng = random.Random(seed)
        today = datetime.now(UTC).date()
        days = [(today - timedelta(days=1 + n)).isoformat() for n in range(365)]
        rows = ["invoice_number,line,date,sku,quantity,seller"]
        for n in range(lines):
            phone = self.staff[n % sellers][1]
            rows.append(
                f"{invoice}-{n // 4},{n % 4 + 1},{rng.choice(days)},"
                f"{rng.choice(self.skus)},{rng.randint(1, 12)},{phone}"
            )
        return ("\n".join(rows) + "\n").encode()

    def purchases_file(self, lines: int, *, invoice: str, days: int = 365) -> bytes:
        """A purchases CSV (the README's columns) of `lines` invoice lines over the last
        `days` days, oldest first, five lines an invoice, every partner and SKU, each line
        in the buyer's currency and shipping one to three serials (named after `invoice`);
        one line in ten is a partner selling on to another partner units it was shipped
        earlier in the file."""
        today = datetime.now(UTC).date()
        rows = [
            "document,seller,seller_country,partner,country,invoice_number,line,date,sku,"
            "quantity,amount,currency,serials"
        ]
        serial = 0
        to_sell_on: list[tuple[WorldPartner, str, list[str]]] = []
        partners = self.partners
        for n in range(lines):
            day = today - timedelta(days=days - (n * days) // lines)
            if n % 10 == 9 and to_sell_on:
                seller, sku, serials = to_sell_on.pop()
                buyer = partners[(partners.index(seller) + 1 + n % 7) % len(partners)]
                if buyer == seller:
                    buyer = partners[(partners.index(seller) + 1) % len(partners)]
                sold_by = f"{seller.legal_id},{seller.country}"
            else:
                buyer = partners[n % len(partners)]
                sku = self.skus[n % len(self.skus)]
                serials = [f"{invoice}{serial + k:09d}" for k in range(1 + n % 3)]
                serial += len(serials)
                sold_by = ","
                if n % 10 == 3:
                    to_sell_on.append((buyer, sku, serials))
            amount = f"{len(serials) * (100 + n % 900)}.00"
            rows.append(
                f"invoice,{sold_by},{buyer.legal_id},{buyer.country},{invoice}-{n // 5},"
                f"{n % 5 + 1},{day},{sku},{len(serials)},{amount},{CURRENCIES[buyer.country]},"
                f"{' '.join(serials)}"
            )
        return ("\n".join(rows) + "\n").encode()


def build_world(
    app, size: WorldSize, *, people: int | None = None, partners: int | None = None
) -> BenchWorld:
    """Fill the app's (empty, migrated) database with a world of `size` (with `people` field
    staff or `partners` partners instead, for sweeps)."""
    if people is not None:
        size = replace(size, people=people)
    if partners is not None:
        size = replace(size, partners=partners)
    started = time.perf_counter()
    world = BenchWorld(size)
    rng = random.Random(20261204)
    with app.test_request_context():
        db = get_session()
        now = utcnow()
        partners = [
            PartnerOrganization(
                name=f"Partner {n}",
                country=COUNTRIES[n % len(COUNTRIES)][0],
                legal_id=f"{COUNTRIES[n % len(COUNTRIES)][0]}{n:011d}",
                kind="dealer",
            )
            for n in range(size.partners)
        ]
        db.add_all(partners)
        db.flush()
        channel_manager = Person(
            full_name="Channel Manager",
            phone="+3710000001",
            email="cm@bench.example",
            role_assignments=[RoleAssignment(role="channel_manager")],
        )
        managers = [
            Person(
                partner_id=partner.id,
                full_name=f"Manager {n}",
                phone=f"+3711{n:07d}",
                email=f"manager{n}@bench.example",
                timezone=COUNTRIES[n % len(COUNTRIES)][1],
                role_assignments=[RoleAssignment(role="partner_manager")],
            )
            for n, partner in enumerate(partners)
        ]
        db.add_all([channel_manager, *managers])
        db.flush()
        world.channel_manager_id = channel_manager.id
        world.partners = [
            WorldPartner(p.id, p.country, p.legal_id, m.id)
            for p, m in zip(partners, managers, strict=True)
        ]
        world.staff = _write_staff(db, partners, size.people, now, rng)

        groups = [
            ProductGroup(code=f"group-{g}", name=f"Group {g}", default_points_per_unit=5 + g)
            for g in range(size.groups)
        ]
        db.add_all(groups)
        db.flush()
        products = [
            Product(
                sku=f"SKU-{n:04d}",
                name=f"Product {n}",
                group_id=groups[n % size.groups].id,
                points_per_unit=(20 if n % 10 == 0 else None),
            )
            for n in range(size.skus)
        ]
        db.add_all(products)
        db.add_all(
            Tip(product_group_id=group.id, language=language, text=f"Tip {n} on {group.name}.")
            for group in groups
            for language in ("en", "lv", "pl")
            for n in range(2)
        )
        db.flush()
        world.skus = [product.sku for product in products]

        world.program_ids, world.rules = _programs(
            db, partners, managers, channel_manager, groups, products
        )
        db.commit()

        history = world.sales_file(
            size.history_lines, len(world.staff), invoice="HIST", seed=size.history_lines
        )
        import_sales(db, read_sales(history, max_rows=10_000_000), now=utcnow())
        db.commit()
        # As a running database has: the planner's statistics of what is there (autovacuum
        # would gather them soon; a benchmark must not measure plans made without them).
        analyze = "VACUUM ANALYZE" if db.get_bind().dialect.name == "postgresql" else "ANALYZE"
        with db.get_bind().connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(analyze)
    world.built_in = time.perf_counter() - started
    return world


def _write_staff(db, partners, count: int, now, rng) -> list[tuple[int, str]]:
    """Field staff by COPY: people, one role each in turn, 2% opted out of SMS."""
    writer = BulkWriter(db)
    people = Person.__table__
    ids = writer.next_ids(people, count)
    rows, staff = [], []
    for n, person_id in enumerate(ids):
        partner = partners[n % len(partners)]
        country, zone, prefix = next(c for c in COUNTRIES if c[0] == partner.country)
        phone = f"{prefix}{n:07d}"
        language = LANGUAGES[rng.randrange(len(LANGUAGES))]
        rows.append(
            (person_id, partner.id, f"Staff {n}", phone, language, zone, "sms", True, now, 0)
        )
        staff.append((person_id, phone))
    writer.insert_values(
        people,
        (
            "id",
            "partner_id",
            "full_name",
            "phone",
            "language",
            "timezone",
            "preferred_channel",
            "active",
            "created_at",
            "session_epoch",
        ),
        rows,
    )
    roles = RoleAssignment.__table__
    writer.insert_values(
        roles,
        ("id", "person_id", "role"),
        zip(
            writer.next_ids(roles, count),
            ids,
            (FIELD_ROLES[n % len(FIELD_ROLES)] for n in range(count)),
            strict=True,
        ),
    )
    opted_out = ids[::50]
    consents = ChannelConsent.__table__
    writer.insert_values(
        consents,
        ("id", "person_id", "channel", "opted_out", "changed_at", "source"),
        (
            (consent_id, person_id, "sms", True, now, "sms:STOP")
            for consent_id, person_id in zip(
                writer.next_ids(consents, len(opted_out)), opted_out, strict=True
            )
        ),
    )
    return staff


def _programs(db, partners, managers, channel_manager, groups, products) -> tuple[list, int]:
    today = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    half = len(groups) // 2
    specs = [
        # name, terms, schemes: (roles, rules)
        (
            "Sell-out core",
            {"budget_points": 50_000_000, "cap_per_person_month": 4_000},
            [
                (
                    ["seller", "engineer"],
                    [("unit_sold", {"product_group": g.code}) for g in groups[:half]]
                    + [("unit_sold", {"product_sku": products[0].sku, "points_per_unit": 40})],
                ),
                (
                    ["technician", "procurement"],
                    [("unit_sold", {"product_group": g.code, "points_per_unit": 3}) for g in groups]
                    + [("install", {"points_per_install": 50})],
                ),
            ],
        ),
        (
            "Premium range",
            {"budget_points": 20_000_000, "cap_per_partner": 400_000},
            [
                (
                    ["seller", "engineer", "technician", "procurement"],
                    [
                        ("unit_sold", {"product_group": g.code, "points_per_unit": 8})
                        for g in groups[half:]
                    ],
                )
            ],
        ),
        (
            "Top sellers",
            {"budget_points": 10_000_000, "show_leaderboard": True},
            [(["seller"], [("unit_sold", {"product_group": g.code}) for g in groups])],
        ),
    ]
    ids = []
    rules_count = sum(len(rules) for _, _, schemes in specs for _, rules in schemes)
    for name, terms, schemes in specs:
        program = Program(
            name=name,
            starts_at=today - timedelta(days=400),
            ends_at=today + timedelta(days=60),
            currency="EUR",
            point_value=Decimal("0.01"),
            status="draft",
            version=1,
            targets=[ProgramTarget(partner_id=p.id) for p in partners],
            **terms,
        )
        db.add(program)
        db.flush()
        for roles, rules in schemes:
            db.add(
                Scheme(
                    program_id=program.id,
                    name="+".join(roles),
                    added_in_version=1,
                    role_links=[SchemeRole(role=r) for r in roles],
                    rules=[EarningRule(kind=k, params=p, added_in_version=1) for k, p in rules],
                )
            )
        db.flush()
        db.refresh(program)
        offer_program(db, program, actor_id=channel_manager.id)
        for n, (partner, manager) in enumerate(zip(partners, managers, strict=True)):
            # One partner in five lowers the program's per-person cap for its staff.
            conditions = {"cap_per_person_month": 2_500} if n % 5 == 0 else {}
            decide(
                db,
                program,
                partner,
                DecisionDetails(approve=True, **conditions),
                actor_id=manager.id,
            )
        launch_program(db, program, actor_id=channel_manager.id)
        ids.append(program.id)
    return ids, rules_count


# What some benches add to the world -------------------------------------------------------


def add_channel_mix(app, world: BenchWorld) -> None:
    """E-mail addresses for a third of the field staff; preferred channels SMS three times in
    five, WhatsApp and e-mail once each; WhatsApp blocked (a permanent failure) for 1%."""
    people = Person.__table__
    with app.test_request_context():
        db = get_session()
        ids = [person_id for person_id, _ in world.staff]
        changes = []
        for n, person_id in enumerate(ids):
            channel = ("sms", "sms", "whatsapp", "sms", "email")[n % 5]
            email = f"staff{n}@bench.example" if n % 3 == 0 or channel == "email" else None
            if channel != "sms" or email:
                changes.append({"person": person_id, "channel": channel, "email": email})
        db.connection().execute(
            update(people)
            .where(people.c.id == bindparam("person"))
            .values(preferred_channel=bindparam("channel"), email=bindparam("email")),
            changes,
        )
        writer = BulkWriter(db)
        blocked = ids[::100]
        blocks = ChannelBlock.__table__
        writer.insert_values(
            blocks,
            ("id", "person_id", "channel", "error_code", "at"),
            (
                (block_id, person_id, "whatsapp", "63016", utcnow())
                for block_id, person_id in zip(
                    writer.next_ids(blocks, len(blocked)), blocked, strict=True
                )
            ),
        )
        db.commit()
    world.extras.append(
        "channels: a third with e-mail, SMS 3 in 5, WhatsApp and e-mail 1 in 5 each, "
        "1% WhatsApp blocked"
    )


def date_history(app, world: BenchWorld) -> None:
    """Each claim of the history made on the day it is dated (noon UTC), as if the year had
    been claimed day by day rather than imported in one go: filters on how recently people
    claimed (a campaign's "idle for 30 days") then see the year as it was."""
    claims = Claim.__table__
    with app.test_request_context():
        db = get_session()
        days = db.scalars(select(claims.c.occurred_on).distinct()).all()
        for day in days:
            db.execute(
                update(claims)
                .where(claims.c.occurred_on == day)
                .values(created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC))
            )
        db.commit()
    world.extras.append("each history claim made on its own day")


def add_rates(app, world: BenchWorld, days: int = 400) -> None:
    """A reference rate for every day of the last `days` (PLN, ILS, USD per euro), imported."""
    today = datetime.now(UTC).date()
    rows = ["Date,PLN,ILS,USD"] + [
        f"{today - timedelta(days=n)},4.{2000 + n % 97:04d},3.{9000 + n % 89:04d},1.{n % 83:04d}"
        for n in range(days + 1)
    ]
    with app.test_request_context():
        db = get_session()
        import_rates(db, ("\n".join(rows) + "\n").encode())
        db.commit()
    world.extras.append(f"daily rates for {days} days")


def add_sell_in_program(app, world: BenchWorld, *, period_start: date) -> int:
    """Tiers (bronze, silver, gold) held in turn by the partners, a fifth of them moved to gold
    during the period from `period_start`, and the demo's "Sell-in rebates" program (a
    volume rebate of 1, 1.5 or 2% by tier and a cumulative discount in three steps) approved
    by every partner and launched. Returns the program's id."""
    with app.test_request_context():
        db = get_session()
        tiers = [Tier(code=c, name=c.title(), rank=r) for r, c in enumerate(TIERS, 1)]
        db.add_all(tiers)
        db.flush()
        partners = {p.id: p for p in db.scalars(select(PartnerOrganization))}
        for n, partner in enumerate(world.partners):
            partners[partner.id].tier_id = tiers[n % 2].id
        db.add_all(
            TierChange(
                partner_id=partner.id,
                from_tier_id=tiers[n % 2].id,
                to_tier_id=tiers[2].id,
                at=datetime.combine(
                    period_start + timedelta(days=n % 80), datetime.min.time(), tzinfo=UTC
                ),
                why=WhyTier(TierReason.OTHER, {"text": "bench"}),
            )
            for n, partner in enumerate(world.partners)
            if n % 5 == 0
        )
        today = datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
        program = Program(
            name="Sell-in rebates",
            starts_at=today - timedelta(days=400),
            ends_at=today + timedelta(days=180),
            currency="EUR",
            point_value=Decimal("0.01"),
            status="draft",
            version=1,
            targets=[ProgramTarget(partner_id=p.id) for p in world.partners],
        )
        db.add(program)
        db.flush()
        rebate = {"percent_by_tier": {"gold": "2", "silver": "1.5"}, "default_percent": "1"}
        steps = [
            {"from_amount": "10000", "percent": "0.5"},
            {"from_amount": "30000", "percent": "1"},
            {"from_amount": "90000", "percent": "1.5"},
        ]
        db.add(
            Scheme(
                program_id=program.id,
                name="Company purchases",
                company_level=True,
                added_in_version=1,
                rules=[
                    EarningRule(kind="volume_rebate", params=rebate, added_in_version=1),
                    EarningRule(
                        kind="cumulative_discount", params={"steps": steps}, added_in_version=1
                    ),
                ],
            )
        )
        db.flush()
        db.refresh(program)
        offer_program(db, program, actor_id=world.channel_manager_id)
        for partner in world.partners:
            decide(
                db,
                program,
                partners[partner.id],
                DecisionDetails(approve=True),
                actor_id=partner.manager_id,
            )
        launch_program(db, program, actor_id=world.channel_manager_id)
        db.commit()
        program_id = program.id
    world.extras.append(
        "tiers bronze/silver/gold, a fifth of partners moved to gold in the period; "
        "a sell-in rebate program (volume rebate by tier, cumulative discount) approved by all"
    )
    return program_id


def add_purchase_lines(app, world: BenchWorld, lines: int, start: date, end: date) -> None:
    """`lines` invoice lines (no serials) from `start` to `end`, by COPY: five lines an
    invoice, every partner and SKU, each in the buyer's currency."""
    days = (end - start).days + 1
    table = PurchaseLine.__table__
    now = utcnow()
    partners = world.partners
    with app.test_request_context():
        db = get_session()
        writer = BulkWriter(db)
        for first in range(0, lines, 100_000):
            count = min(100_000, lines - first)
            writer.insert_values(
                table,
                ("id", "source_key", "seller_id", "partner_id", "document", "number", "line",
                 "invoiced_on", "sku", "quantity", "amount", "currency", "imported_at"),
                (
                    (line_id, purchase_key(None, "invoice", f"Q-{n // 5}", n % 5 + 1), None,
                     partners[n % len(partners)].id, "invoice", f"Q-{n // 5}", n % 5 + 1,
                     start + timedelta(days=n % days), world.skus[n % len(world.skus)],
                     1 + n % 4, Decimal(100 + n % 900),
                     CURRENCIES[partners[n % len(partners)].country], now)
                    for n, line_id in zip(
                        range(first, first + count), writer.next_ids(table, count), strict=True
                    )
                ),
            )  # fmt: skip
        db.commit()
    world.extras.append(f"{lines} purchase lines from {start} to {end} (COPY)")


def add_serial_registry(app, world: BenchWorld, serials: int, *, first: int = 0) -> None:
    """Serials `first` to `first + serials` ("S00000000"…) shipped to the partners in turn,
    by COPY, then ANALYZE (as autovacuum would)."""
    table = Serial.__table__
    now = utcnow()
    partners = world.partners
    with app.test_request_context():
        db = get_session()
        writer = BulkWriter(db)
        for start in range(first, first + serials, 200_000):
            count = min(200_000, first + serials - start)
            writer.insert_values(
                table,
                ("id", "serial", "sku", "status", "holder_id", "updated_at"),
                (
                    (serial_id, f"S{n:08d}", world.skus[n % len(world.skus)], "shipped",
                     partners[n % len(partners)].id, now)
                    for n, serial_id in zip(
                        range(start, start + count), writer.next_ids(table, count), strict=True
                    )
                ),
            )  # fmt: skip
        db.commit()
        if db.get_bind().dialect.name == "postgresql":
            db.connection().exec_driver_sql("ANALYZE serials")
            db.commit()
    world.extras.append(f"{first + serials} serials in the registry (COPY)")
