"""Password sign-in with a known, an unknown and a password-less e-mail, timed side by side.

World: 2,000 people (a tenth with a password, as managers are), argon2id at the production
cost (README: time 3, memory 64 MiB, parallelism 4), the app's own test client on PostgreSQL
(or SQLite). Every attempt uses a wrong password, as an attacker probing addresses would.
The three kinds are interleaved in one loop, so the machine's noise falls on all alike; the
figure to read is each kind's median over the known e-mail's (want within 10%).

    python bench/sign_in_timing.py [--database postgresql|sqlite] [--rounds 30]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from roles.auth import make_password_hasher  # noqa: E402
from roles.models import Person  # noqa: E402

PEOPLE = 2_000
PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_COST": 65536, "ARGON2_PARALLELISM": 4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with throwaway_database(args.database) as url:
        upgrade_database(url)
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "DATABASE_URL": url,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                **PRODUCTION_ARGON2,
            }
        )
        with app.app_context():
            db = get_session()
            manager_hash = make_password_hasher(app.config).hash("the right password")
            for n in range(PEOPLE):
                db.add(
                    Person(
                        full_name=f"Person {n}",
                        phone=f"+3712{n:07d}",
                        email=f"person{n}@example.com",
                        password_hash=manager_hash if n % 10 == 0 else None,
                    )
                )
            db.commit()
        client = app.test_client()
        kinds = {
            "known e-mail": "person0@example.com",
            "unknown e-mail": "nobody@example.com",
            "known, no password": "person1@example.com",
        }
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind, email in kinds.items():
                started = time.perf_counter()
                response = client.post("/sign-in", data={"email": email, "password": "wrong!"})
                times[kind].append(time.perf_counter() - started)
                assert response.status_code == 400
        known = statistics.median(times["known e-mail"])
        print(f"{args.database}, {PEOPLE:,} people, {args.rounds} rounds, argon2id t=3 m=64MiB p=4")
        for kind, seconds in times.items():
            median = statistics.median(seconds)
            print(f"  {kind:20} median {median * 1000:7.1f} ms   ratio {median / known:5.2f}")


if __name__ == "__main__":
    main()
