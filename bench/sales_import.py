"""Benchmark: importing sell-out lines against a plain bulk INSERT of the same rows.

Runs both side by side in one process, on SQLite and on PostgreSQL, each in a database of
its own, and prints lines per second and the ratio (import time / bulk insert time).

    .venv/bin/python bench/sales_import.py --rows 100000
"""

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from channel.programs import launch_program  # noqa: E402
from channel.sales_import import import_sales, read_sales  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
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

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
        report = import_sales(db, read_sales(data), region="LV", today=date.today())
        db.commit()
        return time.perf_counter() - started, report


def run(kind: str, rows: int, workdir: Path) -> None:
    if kind == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex}.sqlite3"
        url = f"sqlite:///{path}"

        def cleanup():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = f"partnerlift_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = POSTGRES.rsplit("/", 1)[0] + "/" + name

        def cleanup():
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    try:
        app, phones = prepare(url)
        data = make_file(rows, phones)
        bulk = bulk_insert_seconds(url, data)
        seconds, report = import_seconds(app, data)
        app.extensions["partnerlift.engine"].dispose()
        print(
            f"{kind:10} {rows:>7} lines  import {rows / seconds:>8.0f} lines/s  "
            f"bulk insert {rows / bulk:>9.0f} lines/s  ratio {seconds / bulk:>6.1f}x  "
            f"(imported {report.imported}, rejected {len(report.rejected)})"
        )
    finally:
        if cleanup:
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir())
    for kind in args.databases.split(","):
        run(kind.strip(), args.rows, workdir)


if __name__ == "__main__":
    main()
