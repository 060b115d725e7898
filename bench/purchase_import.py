"""Benchmark: importing purchases with their serials, against COPY of the very same rows.

The world: 2,000 partners (200 distributors, each supplying 9 dealers), 200 products, and
`--lines` invoice lines (default 1,000,000) over the last year: five lines an invoice, in
EUR (two thirds) and PLN, each shipping one to three serials (two on average, so 2,000,000
serials by default); one line in ten is a distributor selling units it was shipped on to one
of its dealers. Exchange rates for every day are loaded first.

Both sides run on PostgreSQL, in one process, one after the other:
- import: `import_purchases` over the file's rows as the CLI reads them (checks, the
  serial registry, bulk writes through COPY), one transaction;
- baseline, the physical floor: the rows the import wrote (purchase lines, serials, serial
  events), read back and written again by COPY (psycopg's write_row, values as read) into an
  empty copy of the schema: same columns, indexes and constraints, no logic.

Both wall-clock seconds and CPU seconds (this process, every thread, plus its PostgreSQL
backend, when that runs on this machine) are printed, with their ratios.

    .venv/bin/python bench/purchase_import.py --lines 100000
"""

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from channel.exchange_rates import import_rates  # noqa: E402
from channel.models import Product, ProductGroup  # noqa: E402
from channel.partner_models import PartnerOrganization  # noqa: E402
from channel.purchase_import import import_purchases, read_purchases  # noqa: E402
from channel.purchases import PurchaseLine, Serial, SerialEvent  # noqa: E402
from core.bulk import BulkWriter  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402

DISTRIBUTORS, DEALERS_EACH, PRODUCTS = 200, 9, 200
TODAY = date.today()


def make_world(app) -> None:
    with app.app_context():
        db = get_session()
        group = ProductGroup(code="bench", name="Bench")
        db.add(group)
        db.flush()
        db.add_all(
            Product(sku=f"P-{n:03d}", name=f"Product {n}", group_id=group.id)
            for n in range(PRODUCTS)
        )
        for d in range(DISTRIBUTORS):
            distributor = PartnerOrganization(
                name=f"Distributor {d}", country="LV", legal_id=f"D{d:05d}", kind="distributor"
            )
            db.add(distributor)
            db.flush()
            db.add_all(
                PartnerOrganization(
                    name=f"Dealer {d}-{n}",
                    country="LV",
                    legal_id=f"R{d:05d}{n}",
                    kind="dealer",
                    parent_id=distributor.id,
                )
                for n in range(DEALERS_EACH)
            )
        days = [TODAY - timedelta(days=n) for n in range(370)]
        rates = "Date,PLN\n" + "".join(f"{day},4.{n % 97:04d}\n" for n, day in enumerate(days))
        import_rates(db, rates.encode())
        db.commit()


def make_file(lines: int) -> tuple[bytes, int]:
    """The purchases file, and how many serials it ships."""
    rows = ["document,seller,partner,invoice_number,line,date,sku,quantity,amount,currency,serials"]
    serial, shipped = 0, 0
    recent: list[tuple[int, int, list[str]]] = []  # (distributor, sku, serials) to sell on
    for n in range(lines):
        day = TODAY - timedelta(days=364 - (n * 364) // lines)
        sku = n % PRODUCTS
        if n % 10 == 9 and recent:
            d, sku, units = recent.pop()
            seller, buyer = f"D{d:05d}", f"R{d:05d}{n % DEALERS_EACH}"
            serials = units
        else:
            d = n % DISTRIBUTORS
            seller, buyer = "", f"D{d:05d}"
            count = 1 + n % 3
            serials = [f"SN{serial + k:09d}" for k in range(count)]
            serial += count
            if n % 10 == 3:
                recent.append((d, sku, serials))
        quantity = len(serials)
        currency = "PLN" if n % 3 == 2 else "EUR"
        amount = f"{quantity * (100 + n % 900)}.00"
        rows.append(
            f"invoice,{seller},{buyer},INV-{n // 5},{n % 5 + 1},{day},P-{sku:03d},{quantity},"
            f"{amount},{currency},{' '.join(serials)}"
        )
        shipped += len(serials)
    return ("\n".join(rows) + "\n").encode(), shipped


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by this process and by the PostgreSQL backend `pid`, or None
    when the backend runs on another host. Other jobs on the machine slow both sides'
    wall-clock time, by more or less from run to run; they change CPU time much less."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return time.process_time() + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_seconds(app, data: bytes) -> tuple[float, float | None, object]:
    with app.app_context():
        db = get_session()
        rows = list(read_purchases(data, max_rows=len(data)))
        backend = db.scalar(text("SELECT pg_backend_pid()"))  # the import's own connection
        cpu = cpu_seconds(backend)
        started = time.perf_counter()
        report = import_purchases(db, rows, today=TODAY)
        db.commit()
        seconds = time.perf_counter() - started
        used = cpu_seconds(backend)
        return seconds, None if cpu is None or used is None else used - cpu, report


def copy_seconds(source_app, target_app) -> tuple[float, float | None]:
    """COPY of the rows the import wrote into an empty copy of the schema (same columns,
    indexes and constraints), timed alone."""
    tables = [PurchaseLine.__table__, Serial.__table__, SerialEvent.__table__]
    with source_app.app_context():
        db = get_session()
        rows = {table.name: db.execute(select(table)).all() for table in tables}
        names = {table.name: [c.name for c in table.columns] for table in tables}
    with target_app.app_context():
        db = get_session()
        partners = source_partner_rows(source_app)
        writer = BulkWriter(db)
        writer.insert(PartnerOrganization.__table__, partners[0], partners[1])
        db.commit()
        writer = BulkWriter(db)
        backend = db.scalar(text("SELECT pg_backend_pid()"))
        cpu = cpu_seconds(backend)
        started = time.perf_counter()
        for table in tables:
            writer.insert(table, names[table.name], rows[table.name])
        db.commit()
        seconds = time.perf_counter() - started
        used = cpu_seconds(backend)
        return seconds, None if cpu is None or used is None else used - cpu


def source_partner_rows(app):
    table = PartnerOrganization.__table__
    with app.app_context():
        return [c.name for c in table.columns], get_session().execute(select(table)).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    data, serials = make_file(args.lines)
    print(
        f"world: {DISTRIBUTORS * (DEALERS_EACH + 1)} partners, {PRODUCTS} products, "
        f"{args.lines:,} lines, {serials:,} serials shipped ({len(data) / 1e6:.0f} MB CSV)"
    )
    with throwaway_database("postgresql") as source, throwaway_database("postgresql") as target:
        apps = []
        for url in (source, target):
            upgrade_database(url)
            apps.append(create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}))
        make_world(apps[0])
        imported, imported_cpu, report = import_seconds(apps[0], data)
        assert not report.rejected, report.rejected[:5]
        with apps[0].app_context():
            events = get_session().scalar(text("SELECT count(*) FROM serial_events"))
        copied, copied_cpu = copy_seconds(apps[0], apps[1])
        for app in apps:
            app.extensions["partnerlift.engine"].dispose()
    print(
        f"import: {imported:.1f} s ({args.lines / imported:,.0f} lines/s), "
        f"{report.imported:,} lines, {report.serials:,} serial moves ({events:,} events)"
    )
    print(f"COPY of the same rows: {copied:.1f} s")
    print(f"ratio import / COPY: {imported / copied:.2f}")
    if imported_cpu is not None and copied_cpu is not None:
        print(
            f"CPU seconds (this process and its PostgreSQL backend): import {imported_cpu:.1f}, "
            f"COPY {copied_cpu:.1f}, ratio {imported_cpu / copied_cpu:.2f}"
        )


if __name__ == "__main__":
    main()
