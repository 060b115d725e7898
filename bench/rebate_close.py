"""Benchmark: closing a rebate period against one SQL aggregate of the same sums.

The world: `--partners` partners (default 10,000: one in ten a distributor), three tiers with
a volume rebate of 1, 1.5 and 2 percent, every partner approved the program, a fifth of them
changed tier during the quarter, and `--lines` purchase lines (default 250,000: a quarter of a
million-lines year) spread over the quarter, a third in PLN (with a rate for every day).

All run on PostgreSQL, one after the other, on the same database:
- close: `close_period` for the quarter (on PostgreSQL one set-based statement per program:
  conversion, tiers, percents, the statements and their lines), in one transaction, rolled
  back after timing;
- the issue's baseline, the floor of the same reading: one SELECT of the sums per partner
  and currency over the quarter's lines (GROUP BY);
- the floor of the same writing: the statements and lines the close wrote, read back and
  written again by COPY (the same rows, ids included, into the same tables with the same
  indexes, foreign keys and checks), rolled back after. The close must write a line per
  purchase line and rule (the statement shows each line's amount, rate and converted
  amount), so no close can be faster than this.

    .venv/bin/python bench/rebate_close.py --partners 10000 --lines 250000
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from channel.exchange_rates import import_rates  # noqa: E402
from channel.models import DecisionOutcome, ProgramDecision  # noqa: E402
from channel.partner_models import PartnerOrganization, Tier  # noqa: E402
from channel.programs import launch_program  # noqa: E402
from channel.purchases import PurchaseLine, purchase_key  # noqa: E402
from channel.rebate_models import RebateLine, RebateStatement, period_bounds  # noqa: E402
from channel.rebates import close_period  # noqa: E402
from channel.tiers import TierChange, TierReason, WhyTier  # noqa: E402
from core.bulk import BulkWriter  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from roles.permissions import Role  # noqa: E402
from tests.builders import add_scheme, build_world, make_program, offer  # noqa: E402

TODAY = date.today()


def last_quarter() -> str:
    quarter = (TODAY.month - 1) // 3
    return f"{TODAY.year}-Q{quarter}" if quarter else f"{TODAY.year - 1}-Q4"


def make_world(app, partners: int, lines: int, period: str) -> None:
    start, end = period_bounds(period)
    days = (end - start).days + 1
    with app.app_context():
        db = get_session()
        world = build_world(db)
        tiers = [
            Tier(code=c, name=c.title(), rank=r)
            for r, c in enumerate(("bronze", "silver", "gold"), 1)
        ]
        db.add_all(tiers)
        db.flush()
        writer = BulkWriter(db)
        ids = writer.next_ids(PartnerOrganization.__table__, partners)
        writer.insert_values(
            PartnerOrganization.__table__,
            ("id", "name", "country", "legal_id", "kind", "tier_id", "status", "created_at"),
            (
                (pid, f"Partner {n}", "LV", f"B{n:06d}", "distributor" if n % 10 == 0 else "dealer",
                 tiers[n % 2].id, "active", datetime.now(UTC))
                for n, pid in enumerate(ids)
            ),
        )  # fmt: skip
        program = make_program(db, tiers=tiers, days=(-400, 200), name="Sell-in rebates")
        add_scheme(
            db,
            program,
            [],
            ("volume_rebate", {"percent_by_tier": {"bronze": "1", "silver": "1.5", "gold": "2"}}),
            company=True,
        )
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        db.add_all(
            ProgramDecision(
                program_id=program.id,
                partner_id=pid,
                outcome=DecisionOutcome.APPROVED,
                approved_version=program.version,
                decided_by_id=world.people[Role.PARTNER_MANAGER].id,
            )
            for pid in ids
        )
        db.add_all(
            TierChange(
                partner_id=pid,
                from_tier_id=tiers[n % 2].id,
                to_tier_id=tiers[2].id,
                at=datetime.combine(
                    start + timedelta(days=n % days), datetime.min.time(), tzinfo=UTC
                ),
                why=WhyTier(TierReason.OTHER, {"text": "bench"}),
            )
            for n, pid in enumerate(ids)
            if n % 5 == 0
        )
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        rates = "Date,PLN\n" + "".join(
            f"{start + timedelta(days=d) - timedelta(days=7)},4.{d % 97:04d}\n"
            for d in range(days + 7)
        )
        import_rates(db, rates.encode())
        line_ids = writer.next_ids(PurchaseLine.__table__, lines)
        writer.insert_values(
            PurchaseLine.__table__,
            ("id", "source_key", "seller_id", "partner_id", "document", "number", "line",
             "invoiced_on", "sku", "quantity", "amount", "currency", "imported_at"),
            (
                (lid, purchase_key(None, "invoice", f"Q-{n // 5}", n % 5 + 1), None,
                 ids[n % partners], "invoice", f"Q-{n // 5}", n % 5 + 1,
                 start + timedelta(days=n % days), "P-1", 1 + n % 4,
                 Decimal(100 + n % 900), "PLN" if n % 3 == 2 else "EUR", datetime.now(UTC))
                for n, lid in enumerate(line_ids)
            ),
        )  # fmt: skip
        db.commit()
        # Statistics, as autovacuum keeps them on a database in use.
        db.execute(text("ANALYZE"))
        db.commit()


def close_seconds(app, period: str) -> tuple[float, dict]:
    """(seconds of the close, the rows it wrote by table), rolled back after."""
    with app.app_context():
        db = get_session()
        started = time.perf_counter()
        close_period(db, period, today=TODAY)
        db.flush()
        seconds = time.perf_counter() - started
        written = {
            table: db.execute(select(table)).all()
            for table in (RebateStatement.__table__, RebateLine.__table__)
        }
        db.rollback()
        return seconds, written


def copy_seconds(app, written: dict) -> float:
    """COPY of the very rows the close wrote, rolled back after."""
    with app.app_context():
        db = get_session()
        writer = BulkWriter(db)
        started = time.perf_counter()
        for table, rows in written.items():
            writer.insert_values(table, [c.name for c in table.columns], rows)
        db.flush()
        seconds = time.perf_counter() - started
        db.rollback()
        return seconds


def aggregate_seconds(app, period: str) -> float:
    start, end = period_bounds(period)
    with app.app_context():
        db = get_session()
        started = time.perf_counter()
        db.execute(
            select(PurchaseLine.partner_id, PurchaseLine.currency, func.sum(PurchaseLine.amount))
            .where(PurchaseLine.invoiced_on.between(start, end))
            .group_by(PurchaseLine.partner_id, PurchaseLine.currency)
        ).all()
        seconds = time.perf_counter() - started
        db.rollback()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=250_000)
    args = parser.parse_args()
    period = last_quarter()
    print(f"world: {args.partners:,} partners, {args.lines:,} purchase lines in {period}")
    with throwaway_database("postgresql") as url:
        upgrade_database(url)
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
        make_world(app, args.partners, args.lines, period)
        aggregate_seconds(app, period)  # warm the cache for all
        closed, written = close_seconds(app, period)
        aggregated = aggregate_seconds(app, period)
        copied = copy_seconds(app, written)
        app.extensions["partnerlift.engine"].dispose()
    statements, lines = (len(rows) for rows in written.values())
    print(f"close: {closed:.2f} s, {statements:,} statements of {lines:,} lines")
    print(f"one SQL aggregate of the same sums: {aggregated:.2f} s")
    print(f"COPY of the same statements and lines: {copied:.2f} s")
    print(f"ratio close / aggregate: {closed / aggregated:.1f}")
    print(f"ratio close / (aggregate + COPY of its rows): {closed / (aggregated + copied):.2f}")


if __name__ == "__main__":
    main()
