"""Password sign-in with a known, an unknown and a password-less e-mail, timed side by side.

World: `bench/world.py` (printed first: 50 partners in five countries, 2,000 field staff in
four roles, a manager per partner, three live programs, a year of sell-out history), plus
`add_channel_mix` (a third of the staff with an e-mail address and no password); every
partner manager gets a password. Argon2id at the production cost (README: time 3, memory
64 MiB, parallelism 4), the app's own test client. Every attempt uses a wrong password, as an
attacker probing addresses would: a manager's e-mail, an unknown e-mail, and a field staff
member's e-mail (known, no password). The three kinds are interleaved in one loop, so the
machine's noise falls on all alike. The baseline is the known e-mail itself: each kind's
median over the known e-mail's (want within 10%).

    python bench/sign_in_timing.py [--database postgresql|sqlite] [--rounds 30] [--size small]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Output, world_app  # noqa: E402
from bench.world import SIZES, add_channel_mix  # noqa: E402
from core.db import get_session  # noqa: E402
from roles.auth import make_password_hasher  # noqa: E402
from roles.models import Person  # noqa: E402

PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_COST": 65536, "ARGON2_PARALLELISM": 4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--size", default="realistic", choices=sorted(SIZES))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--results",
        help="add the figures at the top of this file (bench/results/…), above the runs it keeps",
    )
    args = parser.parse_args()
    out = Output("sign_in_timing")
    config = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, **PRODUCTION_ARGON2}
    with world_app(args.database, args.size, config) as (app, world):
        add_channel_mix(app, world)
        out.add(f"{args.database}: {world.describe()}; every partner manager has a password")
        with app.app_context():
            db = get_session()
            manager_hash = make_password_hasher(app.config).hash("the right password")
            managers = [partner.manager_id for partner in world.partners]
            db.execute(
                update(Person).where(Person.id.in_(managers)).values(password_hash=manager_hash)
            )
            db.commit()
            manager = db.scalar(select(Person.email).where(Person.id == managers[0]))
            staff = db.scalar(
                select(Person.email).where(
                    Person.email.like("staff%"), Person.password_hash.is_(None)
                )
            )
        client = app.test_client()
        kinds = {
            "known e-mail": manager,
            "unknown e-mail": "nobody@bench.example",
            "known, no password": staff,
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind, email in kinds.items():
                started = time.perf_counter()
                response = client.post("/sign-in", data={"email": email, "password": "wrong!"})
                times[kind].append(time.perf_counter() - started)
                assert response.status_code == 400
    known = statistics.median(times["known e-mail"])
    out.add(
        f"{args.database}: {args.rounds} rounds, argon2id t=3 m=64MiB p=4; "
        "baseline: the known e-mail's median"
    )
    for kind, seconds in times.items():
        median = statistics.median(seconds)
        out.add(f"  {kind:20} median {median * 1000:7.1f} ms   ratio {median / known:5.2f}")
    out.finish(args.results)


if __name__ == "__main__":
    main()
