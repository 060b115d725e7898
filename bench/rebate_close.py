"""Benchmark: closing a rebate period in the realistic world, against the floor of the same
reading (one SQL aggregate) and writing (COPY of the very rows the close wrote).

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff,
200 SKUs, three live programs, a year of sell-out history; `--partners N` for N partners
instead), plus `add_rates` (PLN, ILS and USD per euro for every day) and
`add_sell_in_program`: tiers bronze, silver and gold held in turn, a fifth of the partners
moved to gold during the quarter, and the demo's "Sell-in rebates" (a volume rebate of 1,
1.5 or 2% by tier and a cumulative discount in three steps) approved by every partner; then
`add_purchase_lines`: `--lines` purchase lines (realistic 250,000, small 10,000) over the
last complete quarter, every partner and SKU, each in the buyer's currency, by COPY;
ANALYZE, as autovacuum would.

Measured on the same database, each in a transaction rolled back after:
- close: `close_period` for the quarter (on PostgreSQL one set-based statement per program:
  conversion, tiers, percents, steps, the statements and their lines), flushed;
- the floor of the same reading: one SELECT of the sums per partner and currency over the
  quarter's lines (GROUP BY);
- the floor of the same writing: every row the close inserted (statements and their lines),
  ids and all, written again by `core.bulk` (COPY on PostgreSQL, one transaction of
  executemany on SQLite) into the same tables. A statement shows each purchase line's
  amount, rate and converted amount per rule, so no close can write less.
The ratio to read is close / (aggregate + COPY).

    .venv/bin/python bench/rebate_close.py --size realistic --lines 250000
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FLOOR, Output, measure, world_app  # noqa: E402
from bench.world import SIZES, add_purchase_lines, add_rates, add_sell_in_program  # noqa: E402
from channel.purchases import PurchaseLine  # noqa: E402
from channel.rebate_models import period_bounds  # noqa: E402
from channel.rebates import close_period  # noqa: E402
from core.db import get_session  # noqa: E402

LINES = {"small": 10_000, "realistic": 250_000}
TODAY = date.today()


def last_quarter() -> str:
    quarter = (TODAY.month - 1) // 3
    return f"{TODAY.year}-Q{quarter}" if quarter else f"{TODAY.year - 1}-Q4"


def aggregate_seconds(db, period: str) -> float:
    start, end = period_bounds(period)
    started = time.perf_counter()
    db.execute(
        select(PurchaseLine.partner_id, PurchaseLine.currency, func.sum(PurchaseLine.amount))
        .where(PurchaseLine.invoiced_on.between(start, end))
        .group_by(PurchaseLine.partner_id, PurchaseLine.currency)
    ).all()
    seconds = time.perf_counter() - started
    db.rollback()
    return seconds


def run(kind: str, size: str, partners: int | None, lines: int, out: Output) -> None:
    period = last_quarter()
    start, end = period_bounds(period)
    with world_app(kind, size, partners=partners) as (app, world):
        add_rates(app, world)
        add_sell_in_program(app, world, period_start=start)
        add_purchase_lines(app, world, lines, start, end)
        with app.test_request_context():
            db = get_session()
            if kind == "postgresql":
                db.execute(text("ANALYZE"))
                db.commit()
            out.add(f"{kind}: {world.describe()}", f"{kind}: baseline: {FLOOR[kind]}")
            aggregate_seconds(db, period)  # the cache warmed for all
            done = measure(db, lambda: close_period(db, period, today=TODAY), warm_up=False)
            aggregated = aggregate_seconds(db, period)
    written = {table.name: len(rows) for table, rows in done.written}
    statements, rebate_lines = written.get("rebate_statements", 0), written.get("rebate_lines", 0)
    out.add(
        f"{kind}: close of {period}: {statements} statements of {rebate_lines} lines",
        *done.lines(kind, "close"),
        f"{kind}: one SQL aggregate of the same sums: {aggregated:.2f} s",
        f"{kind}: ratio close / (aggregate + COPY of its rows): "
        f"{done.seconds / (aggregated + done.floor):.2f}x",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument("--partners", type=int, help="partners, if not the size's")
    parser.add_argument("--lines", type=int, help="purchase lines in the quarter")
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    out = Output("rebate_close")
    for kind in args.databases.split(","):
        run(kind.strip(), args.size, args.partners, args.lines or LINES[args.size], out)
    out.finish(args.results)


if __name__ == "__main__":
    main()
