"""Benchmark: importing sell-out lines against a plain bulk INSERT of the same rows.

Runs side by side in one process, on SQLite and on PostgreSQL, and prints lines per second
and the ratio (import time / bulk insert time). Two more timings, in a second database set
up the same way, split the import into what bounds it:

- writes only: the very rows the import wrote (claims, claim lines, activities, ledger
  entries), written again through the same bulk path with no logic at all;
- logic only: the import with its row writes left out (reading, matching, the rules
  engine, building the rows), rolled back.

    .venv/bin/python bench/sales_import.py --rows 100000
"""

import argparse
import contextlib
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from channel.programs import launch_program  # noqa: E402
from channel.sales_import import import_sales, read_sales  # noqa: E402
from core.bulk import BulkWriter  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session, utcnow  # noqa: E402
from roles.permissions import Role  # noqa: E402
from tests.builders import (  # noqa: E402
    add_scheme,
    approve,
    build_world,
    make_group,
    make_product,
    make_program,
    offer,
)


def make_file(rows: int, phones: list[str]) -> bytes:
    today = date.today().isoformat()
    lines = ["invoice_number,line,date,sku,quantity,seller"]
    lines += [
        f"B-{n // 5},{n % 5 + 1},{today},BENCH-1,{n % 7 + 1},{phones[n % len(phones)]}"
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def prepare(url: str) -> tuple[object, list[str]]:
    upgrade_database(url)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        make_product(db, make_group(db, "bench", points=3), "BENCH-1")
        program = make_program(db, partners=[world.partner_a, world.partner_b], days=(-30, 60))
        add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "bench"}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        for partner, people in ((world.partner_a, world.people), (world.partner_b, world.others)):
            approve(db, program, partner, people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        db.commit()
        phones = [world.people[Role.SELLER].phone, world.others[Role.SELLER].phone]
    return app, phones


def bulk_insert_seconds(url: str, data: bytes) -> float:
    engine = create_engine(url)
    table = Table(
        "bench_sales_lines",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("invoice_number", String(64)),
        Column("line", Integer),
        Column("date", Date),
        Column("sku", String(64)),
        Column("quantity", Integer),
        Column("seller", String(64)),
    )
    table.create(engine)
    rows = [
        {
            "invoice_number": r["invoice_number"],
            "line": int(r["line"]),
            "date": date.fromisoformat(r["date"]),
            "sku": r["sku"],
            "quantity": int(r["quantity"]),
            "seller": r["seller"],
        }
        for _, r in read_sales(data)
    ]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def import_seconds(app, data: bytes) -> tuple[float, object]:
    with app.test_request_context():
        db = get_session()
        started = time.perf_counter()
        report = import_sales(db, read_sales(data), now=utcnow())
        db.commit()
        return time.perf_counter() - started, report


@contextlib.contextmanager
def bulk_writes(replacement):
    """Every `BulkWriter.insert` of the block goes through `replacement(original, ...)`."""
    original = BulkWriter.insert
    BulkWriter.insert = lambda writer, table, columns, rows: replacement(
        original, writer, table, columns, rows
    )
    try:
        yield
    finally:
        BulkWriter.insert = original


def import_recording(app, data: bytes) -> tuple[float, object, list]:
    """The import, timed, with the rows it wrote (the recording costs a list per call)."""
    written = []

    def record(original, writer, table, columns, rows):
        rows = list(rows)
        written.append((table, columns, rows))
        original(writer, table, columns, rows)

    with bulk_writes(record):
        seconds, report = import_seconds(app, data)
    return seconds, report, written


def logic_only_seconds(app, data: bytes) -> float:
    def skip(original, writer, table, columns, rows):
        for _ in rows:
            pass

    with bulk_writes(skip), app.test_request_context():
        db = get_session()
        started = time.perf_counter()
        import_sales(db, read_sales(data), now=utcnow())
        elapsed = time.perf_counter() - started
        db.rollback()
    return elapsed


def writes_only_seconds(app, written: list) -> tuple[float, dict[str, float]]:
    """The rows written again, in the import's order: seconds in all and per table."""
    per_table: dict[str, float] = {}
    with app.test_request_context():
        db = get_session()
        writer = BulkWriter(db)
        started = time.perf_counter()
        for table, columns, rows in written:
            before = time.perf_counter()
            writer.insert(table, columns, rows)
            per_table[table.name] = per_table.get(table.name, 0) + time.perf_counter() - before
        db.commit()
        return time.perf_counter() - started, per_table


def run(kind: str, rows: int) -> None:
    with throwaway_database(kind) as url, throwaway_database(kind) as twin_url:
        app, phones = prepare(url)
        data = make_file(rows, phones)
        bulk = bulk_insert_seconds(url, data)
        seconds, report, written = import_recording(app, data)
        app.extensions["partnerlift.engine"].dispose()
        # The same world in a second database, so the written rows fit it id for id.
        twin, _ = prepare(twin_url)
        logic = logic_only_seconds(twin, data)
        writes, per_table = writes_only_seconds(twin, written)
        twin.extensions["partnerlift.engine"].dispose()
    counts = _row_counts(written)
    tables = ", ".join(
        f"{name} {spent / bulk:.1f}x ({counts[name]} rows)" for name, spent in per_table.items()
    )
    print(
        f"{kind:10} {rows:>7} lines  import {rows / seconds:>8.0f} lines/s  "
        f"bulk insert {rows / bulk:>9.0f} lines/s  ratio {seconds / bulk:>6.1f}x  "
        f"(imported {report.imported}, rejected {len(report.rejected)})\n"
        f"{'':10} {'':7}        writes only {writes / bulk:.1f}x: {tables}\n"
        f"{'':10} {'':7}        logic only {logic / bulk:.1f}x"
    )


def _row_counts(written: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, _columns, rows in written:
        counts[table.name] = counts.get(table.name, 0) + len(rows)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.databases.split(","):
        run(kind.strip(), args.rows)


if __name__ == "__main__":
    main()
