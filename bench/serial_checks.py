"""Benchmark: install claims checked against a small and a large serial registry, in the
realistic world, each against COPY of the very rows the claims wrote.

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff in
four roles, 200 SKUs, three live programs, "Sell-out core" paying 50 points an install to
technicians and procurement, a year of sell-out history), plus `date_history` (each
history claim made on its own day, so the burst rule sees each person's usual pace) and
`add_serial_registry`:
serials shipped to the partners in turn, by COPY, then ANALYZE. First the registry holds
`max(10,000, partners × (claims + 60))` serials; then it grows, in the same database, to
`--serials` (realistic 2,000,000, small 100,000), and the same claims run again.

The claims: `--claims` install claims (realistic 1,000, small 100), spread over the world's
technicians, a third on a serial shipped to the claimant's own partner, a third on another
partner's, a third on a serial nobody shipped; each a whole `submit_claim` (the fraud rules,
the serial checks, the ledger), all in one transaction, flushed, rolled back after. Sixty
like them (on other serials) run first, untimed: the SQL statements they send are counted.
The floor: every row the claims inserted, ids and all, written again by `core.bulk` (COPY on
PostgreSQL, executemany on SQLite) into the same tables. The ratio large / small should stay near 1: every check is an index look-up.

    .venv/bin/python bench/serial_checks.py --serials 2000000 --claims 1000
"""

import argparse
import sys
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import FLOOR, Output, measure, world_app  # noqa: E402
from bench.world import SIZES, add_serial_registry, date_history  # noqa: E402
from channel.claims import ClaimDetails, submit_claim  # noqa: E402
from core.db import get_session  # noqa: E402
from roles.models import Person  # noqa: E402
from tests.statements import statements_sent  # noqa: E402

SERIALS = {"small": 100_000, "realistic": 2_000_000}
CLAIMS = {"small": 100, "realistic": 1_000}
TODAY = date.today()
WARM = 60


def wanted_claims(world, claims: int) -> list[tuple[int, str]]:
    """(technician's id, serial) of each claim; the same in both registries."""
    technicians = world.staff_in_role("technician")
    index = {partner.id: n for n, partner in enumerate(world.partners)}
    partners = len(world.partners)
    wanted = []
    for n in range(claims):
        person_id, partner_id = technicians[n % len(technicians)]
        own = index[partner_id]
        if n % 3 == 0:  # shipped to the claimant's partner
            wanted.append((person_id, f"S{own + partners * n:08d}"))
        elif n % 3 == 1:  # shipped to the next partner
            wanted.append((person_id, f"S{(own + 1) % partners + partners * n:08d}"))
        else:
            wanted.append((person_id, f"X{n:08d}"))
    return wanted


def submit_all(db, wanted: list[tuple[int, str]]) -> int:
    people = {}
    for person_id, serial in wanted:
        person = people.get(person_id) or people.setdefault(person_id, db.get(Person, person_id))
        submit_claim(
            db, person, ClaimDetails(kind="install", occurred_on=TODAY, serial=serial), today=TODAY
        )
    return len(wanted)


def run(kind: str, size: str, serials: int, claims: int, out: Output) -> None:
    with world_app(kind, size) as (app, world):
        date_history(app, world)
        small = max(10_000, len(world.partners) * (claims + WARM))
        # The warm-up's claims are like the measured ones, on other serials.
        wanted, warm = wanted_claims(world, claims), wanted_claims(world, claims + WARM)[claims:]
        out.add(f"{kind}: {world.describe()}", f"{kind}: baseline: {FLOOR[kind]}")
        timings = {}
        for registry in (small, serials):
            add_serial_registry(app, world, registry - (small if registry != small else 0),
                                first=small if registry != small else 0)  # fmt: skip
            with app.test_request_context():
                db = get_session()
                with statements_sent(app.extensions["partnerlift.engine"]) as sent:
                    submit_all(db, warm)  # warm-up, not timed: its statements counted
                db.rollback()
                done = measure(db, partial(submit_all, db, wanted), warm_up=False)
            timings[registry] = (done.seconds, done.cpu)
            out.add(
                f"{kind}: registry of {registry} serials: {claims} claims, "
                f"{done.seconds / claims * 1000:.1f} ms a claim, "
                f"{len(sent) / len(warm):.1f} SQL statements a claim (the warm-up's {len(warm)})",
                *done.lines(kind, "claims"),
            )
    (wall, cpu), (wall_small, cpu_small) = timings[serials], timings[small]
    out.add(
        f"{kind}: ratio large / small registry: {wall / wall_small:.2f}"
        + (f" (CPU seconds {cpu / cpu_small:.2f})" if cpu is not None and cpu_small else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument("--serials", type=int, help="the large registry (realistic 2,000,000)")
    parser.add_argument("--claims", type=int, help="install claims (realistic 1,000)")
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    out = Output("serial_checks")
    for kind in args.databases.split(","):
        run(
            kind.strip(),
            args.size,
            args.serials or SERIALS[args.size],
            args.claims or CLAIMS[args.size],
            out,
        )
    out.finish(args.results)


if __name__ == "__main__":
    main()
