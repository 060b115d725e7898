"""Benchmark: importing purchases with their serials in the realistic world, against COPY of
the very rows the import wrote.

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff,
200 SKUs in 10 groups, three live programs, a year of sell-out history), plus `add_rates`:
a reference rate (PLN, ILS, USD per euro) for every day of the last 400. The file
(`BenchWorld.purchases_file`): `--lines` invoice lines (realistic 100,000, small 5,000) over
the last year, oldest first, five lines an invoice, every partner and SKU, each in the
buyer's currency (EUR, PLN or ILS), shipping one to three serials (two on average); one line
in ten is a partner selling on units it was shipped earlier in the file.

Measured, each in a transaction rolled back after, so both start from the same world:
1. the import (`import_purchases` over the rows as the CLI reads them: checks, the serial
   registry, bulk writes through COPY, tiers recomputed), flushed;
2. the floor: every row the import inserted (purchase lines, serials, serial events…), ids
   and all, written again by `core.bulk` (COPY on PostgreSQL, one transaction of executemany
   on SQLite) into the same tables. The rows it updates in place are left out of the floor.
A small file of 500 lines is imported first, unmeasured, as in a running app. Wall-clock and
CPU seconds (this process and its PostgreSQL backend) are printed, with their ratios.

    .venv/bin/python bench/purchase_import.py --size realistic --lines 100000
"""

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FLOOR, Output, measure, world_app  # noqa: E402
from bench.world import SIZES, add_rates  # noqa: E402
from channel.purchase_import import import_purchases, read_purchases  # noqa: E402
from core.db import get_session  # noqa: E402

LINES = {"small": 5_000, "realistic": 100_000}


def run(kind: str, size: str, lines: int, out: Output) -> None:
    with world_app(kind, size) as (app, world):
        add_rates(app, world)
        out.add(f"{kind}: {world.describe()}", f"{kind}: baseline: {FLOOR[kind]}")
        data = world.purchases_file(lines, invoice="B")
        rows = list(read_purchases(data, max_rows=lines + 1))
        warm = list(read_purchases(world.purchases_file(500, invoice="W"), max_rows=501))
        with app.test_request_context():
            db = get_session()
            import_purchases(db, warm, today=date.today())  # warm-up, not measured
            db.rollback()
            done = measure(
                db, lambda: import_purchases(db, rows, today=date.today()), warm_up=False
            )
    report = done.result
    assert not report.rejected, report.rejected[:5]
    out.add(
        f"{kind}: file: {lines} lines, {len(data) / 1e6:.1f} MB; imported {report.imported}, "
        f"{report.serials} serial moves; {lines / done.seconds:.0f} lines/s",
        *done.lines(kind, "import"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument("--lines", type=int, help="invoice lines (realistic 100,000)")
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    out = Output("purchase_import")
    for kind in args.databases.split(","):
        run(kind.strip(), args.size, args.lines or LINES[args.size], out)
    out.finish(args.results)


if __name__ == "__main__":
    main()
