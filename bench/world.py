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
"""

import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from channel.approvals import DecisionDetails, decide
from channel.models import Product, ProductGroup, Program, ProgramTarget
from channel.partner_models import PartnerOrganization
from channel.programs import launch_program, offer_program
from channel.sales_import import import_sales, read_sales
from channel.scheme_models import EarningRule, Scheme, SchemeRole
from core.bulk import BulkWriter
from core.db import get_session, utcnow
from messaging.models import ChannelConsent, Tip
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


@dataclass(frozen=True)
class WorldSize:
    partners: int
    people: int
    groups: int
    skus: int
    #: Sell-out lines of the year before, imported before any benchmark runs.
    history_lines: int


SIZES = {
    "small": WorldSize(partners=10, people=200, groups=4, skus=40, history_lines=2_000),
    "realistic": WorldSize(partners=50, people=2_000, groups=10, skus=200, history_lines=20_000),
}


@dataclass
class BenchWorld:
    size: WorldSize
    #: Field staff who earn on sell-out lines, by (person id, phone), in a fixed order.
    staff: list[tuple[int, str]] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    program_ids: list[int] = field(default_factory=list)
    rules: int = 0
    built_in: float = 0.0

    def describe(self) -> str:
        s = self.size
        return (
            f"world: {s.partners} partners in {len(COUNTRIES)} countries, {s.people} field staff "
            f"in {len(FIELD_ROLES)} roles (+{s.partners} managers), {len(LANGUAGES)} languages; "
            f"{s.skus} SKUs in {s.groups} groups; {len(self.program_ids)} live programs "
            f"({self.rules} rules, budgets, caps per person-month and per partner, one "
            "leaderboard); "
            f"{s.history_lines} sell-out lines of history over 12 months; "
            f"built in {self.built_in:.0f} s"
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


def build_world(app, size: WorldSize, *, people: int | None = None) -> BenchWorld:
    """Fill the app's (empty, migrated) database with a world of `size` (with `people` field
    staff instead, for sweeps over the number of sellers)."""
    if people is not None:
        size = replace(size, people=people)
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
