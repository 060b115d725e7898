"""Benchmark: install claims checked against a small and a large serial registry.

Two worlds, side by side on PostgreSQL, the same but for the registry's size: 10,000 serials
and `--serials` (default 2,000,000) shipped to 200 distributors; a program paying installs,
approved by the dealer whose technician claims. In each, the technician submits the same
`--claims` install claims (default 1,000: a third on serials in the dealer's chain, a third
on serials of another chain, a third invented), each a whole `submit_claim` with the fraud
rules and the serial checks, rolled back at the end. The ratio large / small should stay near
1: every check is an index look-up.

    .venv/bin/python bench/serial_checks.py --serials 2000000
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from channel.claims import ClaimDetails, submit_claim  # noqa: E402
from channel.programs import launch_program  # noqa: E402
from channel.purchases import Serial  # noqa: E402
from core.bulk import BulkWriter  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from roles.permissions import Role  # noqa: E402
from tests.builders import (  # noqa: E402
    add_scheme,
    approve,
    build_world,
    make_partner,
    make_person,
    make_program,
    offer,
)

TODAY = date.today()
DISTRIBUTORS = 200


def make_world(app, serials: int) -> int:
    """The registry and the claimant; returns the technician's id."""
    with app.app_context():
        db = get_session()
        world = build_world(db)
        distributors = [
            make_partner(db, kind="distributor", legal_id=f"D{n:04d}") for n in range(DISTRIBUTORS)
        ]
        dealer = make_partner(db, legal_id="DEALER", parent=distributors[0])
        technician = make_person(db, dealer, ["technician"])
        program = make_program(db, partners=[dealer])
        add_scheme(db, program, ["technician"], ("install", {"points_per_install": 10}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, dealer, make_person(db, dealer, ["partner_manager"]))
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        writer = BulkWriter(db)
        now = datetime.now(UTC)
        holders = [d.id for d in distributors]
        for first in range(0, serials, 200_000):
            count = min(200_000, serials - first)
            ids = writer.next_ids(Serial.__table__, count)
            writer.insert_values(
                Serial.__table__,
                ("id", "serial", "sku", "status", "holder_id", "updated_at"),
                (
                    (sid, f"S{first + n:08d}", "P-1", "shipped", holders[(first + n) % DISTRIBUTORS], now)
                    for n, sid in enumerate(ids)
                ),
            )  # fmt: skip
        db.commit()
        db.connection().exec_driver_sql("ANALYZE serials")
        db.commit()
        return technician.id


def claims_seconds(app, technician_id: int, claims: int, serials: int) -> float:
    from roles.models import Person

    with app.app_context():
        db = get_session()
        person = db.get(Person, technician_id)
        wanted = []
        for n in range(claims):
            if n % 3 == 0:  # in the dealer's chain: shipped to distributor 0
                wanted.append(f"S{(n * DISTRIBUTORS) % serials:08d}")
            elif n % 3 == 1:  # another distributor's
                wanted.append(f"S{(n * DISTRIBUTORS + 1) % serials:08d}")
            else:
                wanted.append(f"X{n:08d}")
        started = time.perf_counter()
        for serial in wanted:
            submit_claim(
                db,
                person,
                ClaimDetails(kind="install", occurred_on=TODAY, serial=serial),
                today=TODAY,
            )
        seconds = time.perf_counter() - started
        db.rollback()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serials", type=int, default=2_000_000)
    parser.add_argument("--claims", type=int, default=1_000)
    args = parser.parse_args()
    sizes = (10_000, args.serials)
    print(
        f"world: registries of {sizes[0]:,} and {sizes[1]:,} serials, {args.claims:,} claims each"
    )
    timings = {}
    with throwaway_database("postgresql") as small, throwaway_database("postgresql") as large:
        apps = {}
        for size, url in zip(sizes, (small, large), strict=True):
            upgrade_database(url)
            apps[size] = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
            technician = make_world(apps[size], size)
            claims_seconds(apps[size], technician, 50, size)  # warm up
            timings[size] = claims_seconds(apps[size], technician, args.claims, size)
        for app in apps.values():
            app.extensions["partnerlift.engine"].dispose()
    for size in sizes:
        print(
            f"{size:>9,} serials: {timings[size]:.2f} s ({timings[size] / args.claims * 1000:.1f} ms a claim)"
        )
    print(f"ratio large / small: {timings[sizes[1]] / timings[sizes[0]]:.2f}")


if __name__ == "__main__":
    main()
