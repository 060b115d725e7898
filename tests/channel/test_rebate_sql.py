"""The period close computed in PostgreSQL pays exactly what the Python accrual pays.

PostgreSQL closes in the database (`channel.rebate_sql`); SQLite, and the partner's page,
accrue in Python (`channel.rebate_accrual`). Here both close the same world, each in a
savepoint rolled back after, and must write the same statements, line for line: tiers that
change mid-period (at a day's last instant, twice at once, from no tier), rates a few days
old, too old or missing (held), amounts that land on half a cent (half-even), credit notes,
true-ups of earlier periods, a cumulative discount's steps, a first order, and a program
whose currency is not the euro.
"""

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from channel.exchange_rates import import_rates
from channel.programs import launch_program
from channel.purchases import PurchaseLine, purchase_key
from channel.rebate_accrual import approved_rules
from channel.rebate_models import period_bounds
from channel.rebate_sql import close_program
from channel.rebates import close_program_here, programs_paying
from channel.tiers import TierChange, TierReason, WhyTier
from core.db import get_session, utcnow
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    make_partner,
    make_program,
    make_tier,
    offer,
    utc_today,
)

TODAY = utc_today()


def last_month() -> str:
    year, month = (TODAY.year, TODAY.month - 1) if TODAY.month > 1 else (TODAY.year - 1, 12)
    return f"{year}-{month:02d}"


@pytest.fixture
def session(committed_postgres_app):
    with committed_postgres_app.app_context():
        db = get_session()
        yield db
        db.rollback()


def build(db, seed: int):
    """Programs in EUR and PLN, partners with tier histories, lines over three months."""
    rng = random.Random(seed)
    world = build_world(db)
    manager = world.people[Role.CHANNEL_MANAGER]
    tiers = [make_tier(db, code, rank) for rank, code in enumerate(("bronze", "silver", "gold"))]
    partners = [
        make_partner(db, tier=rng.choice([None, *tiers]), legal_id=f"EQ-{seed}-{n}")
        for n in range(6)
    ]
    start, end = period_bounds(last_month())
    rule_sets = {
        "EUR": [
            ("volume_rebate", {"percent_by_tier": {"silver": "1.5", "gold": "2.25"},
                               "default_percent": "0.5"}),
            ("cumulative_discount", {"steps": [{"from_amount": "1000", "percent": "1"},
                                               {"from_amount": "5000.50", "percent": "2.5"}]}),
            ("first_order_discount", {"percent": "3"}),
        ],
        "PLN": [("volume_rebate", {"percent_by_tier": {"gold": "4"}})],
    }  # fmt: skip
    for currency, rules in rule_sets.items():
        program = make_program(db, partners=partners, days=(-120, 60), currency=currency)
        add_scheme(db, program, [], *rules, company=True)
        offer(db, program, manager)
        for partner in partners[:-1]:  # the last never approves: it earns nothing
            approve(db, program, partner, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=manager.id)
    for partner in partners[:4]:
        for _ in range(rng.randint(1, 3)):
            day = start + timedelta(days=rng.randint(-5, (end - start).days))
            at = rng.choice([time(0), time(12), time(23, 59, 59, 999999)])
            change = TierChange(
                partner_id=partner.id,
                from_tier_id=rng.choice([None, *[t.id for t in tiers]]),
                to_tier_id=rng.choice([None, *[t.id for t in tiers]]),
                at=datetime.combine(day, at, tzinfo=UTC),
                why=WhyTier(TierReason.OTHER, {"text": "equivalence"}),
            )
            db.add(change)
            if rng.random() < 0.3:  # two changes at the same instant: the later id wins
                db.add(
                    TierChange(
                        partner_id=partner.id,
                        from_tier_id=change.to_tier_id,
                        to_tier_id=tiers[0].id,
                        at=change.at,
                        why=WhyTier(TierReason.OTHER, {"text": "equivalence"}),
                    )
                )
    # PLN every day but a gap of ten days (held there); ILS once a week (a few days old).
    first = start - timedelta(days=70)
    gap = range(12, 22)
    pln = "".join(
        f"{first + timedelta(days=d)},{Decimal(4) + Decimal(rng.randint(0, 9999)) / 10000}\n"
        for d in range((end - first).days + 1)
        if d not in gap
    )
    ils = "".join(
        f"{first + timedelta(days=d)},{Decimal(3) + Decimal(rng.randint(0, 9999)) / 10000}\n"
        for d in range(0, (end - first).days + 1, 7)
    )
    import_rates(db, f"Date,PLN\n{pln}".encode())
    import_rates(db, f"Date,ILS\n{ils}".encode())
    for n in range(400):
        partner = rng.choice(partners)
        credit = rng.random() < 0.1
        day = start + timedelta(days=rng.randint(-75, (end - start).days))
        # Cents ending in 5 on odd amounts: half a cent after a conversion or a percent.
        amount = Decimal(rng.randint(1, 400_000)) / 100 + Decimal(rng.choice(["0", "0.05"]))
        number = f"EQ-{n // 3}"
        db.add(
            PurchaseLine(
                source_key=purchase_key(None, "credit_note" if credit else "invoice", number, n),
                seller_id=None,
                partner_id=partner.id,
                document="credit_note" if credit else "invoice",
                number=number,
                line=n,
                invoiced_on=day,
                sku="P-1",
                quantity=-1 if credit else 1,
                amount=-amount if credit else amount,
                currency=rng.choice(["EUR", "EUR", "PLN", "ILS"]),
                imported_at=utcnow(),
            )
        )
    db.flush()


def written(db, close, period: str):
    """What `close` writes for every program, as comparable rows; rolled back after."""
    savepoint = db.begin_nested()
    start, end = period_bounds(period)
    statements, lines, held = [], [], []
    for program in programs_paying(db, start):
        done = close(
            db,
            program,
            approved_rules(db, program),
            period,
            (start, end),
            closed_at=utcnow(),
            actor_id=None,
        )
        held += done.held_ids
        for statement in done.statements:
            statements.append((statement.program_id, statement.partner_id, statement.total,
                               statement.reference, statement.currency))  # fmt: skip
            db.refresh(statement)
            lines += [
                (line.purchase_line_id, line.rule, line.amount, line.currency, line.rate,
                 line.converted, line.percent, line.rebate, line.tier_code, line.true_up_of)
                for line in statement.lines
            ]  # fmt: skip
    savepoint.rollback()
    return statements, lines, held


@pytest.mark.parametrize("seed", range(4))
def test_the_close_in_postgresql_writes_what_the_python_accrual_would(session, seed):
    build(session, seed)
    period = last_month()
    in_database = written(session, close_program, period)
    in_python = written(session, close_program_here, period)
    assert in_database == in_python
    statements, lines, held = in_database
    # The world exercises what it claims to.
    assert len(statements) >= 5 and held
    assert {line[1] for line in lines} == {
        "volume_rebate",
        "cumulative_discount",
        "first_order_discount",
    }
    assert any(line[9] for line in lines) and any(line[2] < 0 for line in lines)
    assert any(line[3] != "EUR" and line[4] != 1 for line in lines)
