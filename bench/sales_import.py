"""Benchmark: the sell-out import in the realistic world, against COPY of the very rows it wrote.

World: `bench/world.py` (printed first: 50 partners, 2,000 field staff in four roles, 200
SKUs in groups, three live programs with budgets, caps and a leaderboard, a year of history).
The file: `--lines` sell-out lines across the first `--sellers` staff, dated over the last
twelve months, every SKU, several lines an invoice.

Baseline, the physical floor of the same work: every row the import inserted, in every
table (claims, claim lines, activities, ledger entries, trigger deliveries, hold-out draws,
outbox messages…), read back after the import and written again into the same database by
`core.bulk` — COPY on PostgreSQL, one transaction of executemany on SQLite. The rows the
import updates in place (balances, monthly rollups) are left out of the floor. Each
measurement runs in a transaction that is rolled back, the baseline's too, so every point
starts from the same world; neither commits.

Sweeps hold everything else still: `--sweep-sellers` (the world gets as many staff as the
largest point) and `--sweep-lines`. Each point also prints the SQL statements the import sent.

    .venv/bin/python bench/sales_import.py --lines 100000 --sellers 2000
    .venv/bin/python bench/sales_import.py --sweep-sellers 2,200,2000,20000 --lines 100000
    .venv/bin/python bench/sales_import.py --sweep-lines 10000,100000 --sellers 2000
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from bench.harness import (  # noqa: E402
    copy_seconds,
    header,
    highest_ids,
    keep,
    load,
    rows_written,
)
from bench.world import SIZES, build_world  # noqa: E402
from channel.sales_import import import_sales, read_sales  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session, utcnow  # noqa: E402
from tests.statements import statements_sent  # noqa: E402

BASELINE = {
    "postgresql": "COPY (core.bulk) of every row the import inserted, same database, same "
    "transaction shape (rolled back)",
    "sqlite": "one transaction of executemany (core.bulk) of every row the import inserted, "
    "same database (rolled back)",
}


@dataclass
class Point:
    lines: int
    sellers: int
    imported: int
    seconds: float
    statements: int
    rows: int
    floor: float

    def line(self, kind: str) -> str:
        return (
            f"{kind:10} {self.lines:>7} lines {self.sellers:>6} sellers  "
            f"import {self.seconds:7.1f} s {self.lines / self.seconds:>7.0f} lines/s "
            f"({self.statements} statements)  floor {self.floor:6.2f} s for {self.rows} rows  "
            f"ratio {self.seconds / self.floor:5.1f}x  (imported {self.imported})"
        )


def measure(app, data: bytes, lines: int, sellers: int) -> Point:
    """The import and its floor (`bench.harness`), each in a transaction rolled back after."""
    with app.test_request_context():
        db = get_session()
        highest = highest_ids(db)
        db.rollback()
        with statements_sent(db.get_bind().engine) as sent:
            started = time.perf_counter()
            report = import_sales(db, read_sales(data, max_rows=lines + 1), now=utcnow())
            db.flush()
            seconds = time.perf_counter() - started
        written = rows_written(db, highest)
        floor = copy_seconds(db, written)
    return Point(
        lines,
        sellers,
        report.imported,
        seconds,
        len(sent),
        sum(len(rows) for _, rows in written),
        floor,
    )


def run(kind, size: str, people: int, lines: list[int], sellers: list[int], out: list) -> None:
    with throwaway_database(kind) as url:
        upgrade_database(url)
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
        world = build_world(app, SIZES[size], people=max(*sellers, people or SIZES[size].people))
        out.append(f"{kind}: {world.describe()}")
        out.append(f"{kind}: baseline: {BASELINE[kind]}")
        print(*out[-2:], sep="\n", flush=True)
        # Warm-up, not measured: templates compiled, statements cached, as in a running app.
        measure(app, world.sales_file(500, 50, invoice="WARM"), 500, 50)
        points = []
        for n_lines in lines:
            for n_sellers in sellers:
                data = world.sales_file(n_lines, n_sellers, invoice=f"B{n_lines}x{n_sellers}")
                point = measure(app, data, n_lines, n_sellers)
                points.append(point)
                out.append(point.line(kind))
                print(out[-1], flush=True)
        if len(points) > 1:
            out += _spreads(kind, points)
            print(*out[-3:], sep="\n", flush=True)
        app.extensions["partnerlift.engine"].dispose()


def _spreads(kind: str, points: list[Point]) -> list[str]:
    """How flat the sweep is: the import's lines/s, its floor's (the work itself: more
    sellers, more people to message, record and draw), and the ratio between them."""
    rates = [p.lines / p.seconds for p in points]
    floors = [p.lines / p.floor for p in points]
    ratios = [p.seconds / p.floor for p in points]
    return [
        f"{kind}: lines/s from {min(rates):.0f} to {max(rates):.0f}: "
        f"spread {max(rates) / min(rates):.2f}x (target ≤ 1.5x)",
        f"{kind}: the floor's lines/s from {min(floors):.0f} to {max(floors):.0f}: "
        f"spread {max(floors) / min(floors):.2f}x (the same work, at COPY speed)",
        f"{kind}: ratio to the floor from {min(ratios):.1f}x to {max(ratios):.1f}x: "
        f"spread {max(ratios) / min(ratios):.2f}x",
    ]


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument("--people", type=int, help="field staff, if more than the size's")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--sellers", type=int, default=2_000)
    parser.add_argument("--sweep-sellers", type=_numbers, help="e.g. 2,200,2000,20000")
    parser.add_argument("--sweep-lines", type=_numbers, help="e.g. 10000,100000,1000000")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    lines = args.sweep_lines or [args.lines]
    sellers = args.sweep_sellers or [args.sellers]
    out = header("sales_import")
    print(*out, sep="\n", flush=True)
    for kind in args.databases.split(","):
        run(kind.strip(), args.size, args.people, lines, sellers, out)
    out.append(f"load average after: {load()}")
    print(out[-1])
    keep(args.results, out)


if __name__ == "__main__":
    main()
