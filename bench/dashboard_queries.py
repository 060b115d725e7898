"""Benchmark: both dashboards, warm, at several sizes of ledger history side by side.

World (per size, a PostgreSQL database of its own): the benchmarks' shared world
(`bench/world.py`, realistic by default: 50 partners in five countries, 2,000 field staff in
four roles, 200 SKUs in 10 groups, three live programs with budgets, caps and several rules,
every partner approving, 20,000 sell-out lines imported through the product's own import),
its people enrolled for the last 18 months, and on top of it `--entries` ledger entries of
history written straight into the tables in one statement (each of the staff in turn; earn,
every 10th round a redemption, every 37th an expiry, every 53rd a reversal) spread evenly over the last 540 days across the
world's staff and programs, a claim per ten entries (one in twenty flagged), training for a
quarter of the staff. The ledger's monthly rollups, the claims' monthly counts, the people's
months and the balances are then rebuilt from the rows as the migrations build them, and the
closed months' engagement and earnings stored by `flask rollups refresh` (timed).

What is timed: GET /dashboard (the channel manager, last 12 months) and GET
/partners/<id>/dashboard through the app's test client, after two warm-up requests, the
median of `--repeat`; the baseline is GET /healthz (one `SELECT 1`) in the same rounds, and
each page's growth is its time at a size over its time at the smallest. Then every figure
each page reads (`channel_dashboard.page_figures`, `partner_dashboard.page_figures`: the very
list the pages call) one by one with its statements, and, with --plans, EXPLAIN ANALYZE of
each statement with the tables it read by sequential scan.

    .venv/bin/python bench/dashboard_queries.py --entries 100000 1000000 10000000

`fill` (below) is the older world of generated people the load test still builds.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, event, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.world import SIZES, build_world  # noqa: E402
from channel import channel_dashboard as cd  # noqa: E402
from channel import dashboards as d  # noqa: E402
from channel import partner_dashboard as pd  # noqa: E402
from channel.claim_models import ClaimMonth  # noqa: E402
from channel.claim_rollups import claim_months_sql  # noqa: E402
from channel.ledger import LedgerMonth, ProgramBudgetUse  # noqa: E402
from channel.month_rollups import months_to_refresh, refresh_months  # noqa: E402
from channel.partner_models import PartnerOrganization  # noqa: E402
from channel.person_months import PersonMonth, person_months_sql  # noqa: E402
from channel.rollups import budget_sql, rollup_sql  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session, utcnow  # noqa: E402
from roles.browser_sessions import TOKEN_KEY  # noqa: E402
from roles.models import Person, RoleAssignment  # noqa: E402
from roles.sign_in_sessions import session_policy, start_sign_in_session  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "dashboard_queries.md"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

FILL = """
INSERT INTO partner_organizations (name, kind, country, legal_id, status, created_at)
SELECT 'Partner ' || g, 'dealer', (ARRAY['LV','PL','IL','LT','EE'])[1 + g % 5], 'B' || g,
       'active', now() - interval '3 years'
FROM generate_series(1, :partners) g;

INSERT INTO people (partner_id, full_name, phone, language, timezone, preferred_channel,
                    active, created_at)
SELECT (SELECT min(id) FROM partner_organizations) + g % :partners, 'Person ' || g,
       '+999' || g, 'en', 'UTC', 'sms', true, now() - interval '2 years'
FROM generate_series(1, :people) g;

INSERT INTO role_assignments (person_id, role)
SELECT id, (ARRAY['seller','engineer','technician','procurement'])[1 + id % 4] FROM people;

INSERT INTO programs (name, description, status, starts_at, ends_at, currency, point_value,
                      budget_points, version, created_at)
SELECT 'Program ' || g, '', 'active', now() - interval '2 years', now() + interval '1 year',
       'EUR', 0.01, 100000000, 1, now()
FROM generate_series(1, 3) g;

INSERT INTO enrollments (program_id, person_id, enrolled_at, ended_at)
SELECT (SELECT min(id) FROM programs) + p.id % 3, p.id, now() - interval '18 months',
       CASE WHEN p.id % 10 = 0 THEN now() - interval '4 months' END
FROM people p;

INSERT INTO ledger_entries (created_at, posting_key, line, account_key, bucket, kind, points,
                            program_id, partner_id, person_id, to_pool, budget_points, reason,
                            month)
SELECT t, 'bench:' || g, 0, 'person:' || p.id, 'available',
       CASE WHEN g % 10 = 0 THEN 'redeem' WHEN g % 37 = 0 THEN 'expire' ELSE 'earn' END,
       CASE WHEN g % 10 = 0 OR g % 37 = 0 THEN -1 ELSE 10 END,
       (SELECT min(id) FROM programs) + p.id % 3, p.partner_id, p.id, false,
       CASE WHEN g % 10 = 0 OR g % 37 = 0 THEN 0 ELSE 10 END, '{}', to_char(t, 'YYYY-MM')
FROM (
    SELECT g, now() - (g % 540) * interval '1 day' AS t,
           (SELECT min(id) FROM people) + (g::bigint * 7919) % :people AS person
    FROM generate_series(1, :entries) g
) s JOIN people p ON p.id = s.person;

INSERT INTO claims (person_id, partner_id, kind, status, occurred_on, amount, flags, created_at)
SELECT p.id, p.partner_id, 'install',
       (ARRAY['approved','approved','approved','pending','rejected'])[1 + g % 5],
       (now() - (g % 540) * interval '1 day')::date, 0,
       CASE WHEN g % 20 = 0 THEN '["burst"]' ELSE '[]' END::json,
       now() - (g % 540) * interval '1 day'
FROM generate_series(1, :claims) g
JOIN people p ON p.id = (SELECT min(id) FROM people) + (g::bigint * 104729) % :people;

INSERT INTO activities (kind, occurred_at, partner_id, person_id, source_key, quantity, amount,
                        is_first_order, share_percent, created_at)
SELECT 'training', now() - (g % 365) * interval '1 day', p.partner_id, p.id,
       'bench:training:' || g, 0, 0, false, 100, now()
FROM generate_series(1, :people / 4) g
JOIN people p ON p.id = (SELECT min(id) FROM people) + (g * 31) % :people;

INSERT INTO balances (account_key, pending, available)
SELECT account_key, 0, sum(points) FROM ledger_entries GROUP BY account_key
HAVING sum(points) >= 0;

ANALYZE;
"""


#: Ledger history on top of the world: entries spread over 540 days across the world's field
#: staff (numbered 0…n-1 in `staff`) and its programs, claims and training alongside.
HISTORY = """
UPDATE enrollments SET enrolled_at = now() - interval '18 months';

CREATE TEMPORARY TABLE staff AS
SELECT row_number() OVER (ORDER BY p.id) - 1 AS n, p.id, p.partner_id
FROM people p JOIN role_assignments r ON r.person_id = p.id
WHERE r.role IN ('seller', 'engineer', 'technician', 'procurement');

CREATE TEMPORARY TABLE bench_programs AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM programs;

INSERT INTO ledger_entries (created_at, posting_key, line, account_key, bucket, kind, points,
                            program_id, partner_id, person_id, to_pool, budget_points, reason,
                            month)
SELECT t, 'history:' || g, 0, 'person:' || s.id, 'available', k,
       CASE k WHEN 'earn' THEN 10 WHEN 'reverse' THEN -10 ELSE -1 END,
       CASE WHEN k IN ('earn', 'reverse') THEN pr.id END, s.partner_id, s.id, false,
       CASE k WHEN 'earn' THEN 10 WHEN 'reverse' THEN -10 ELSE 0 END, '{}',
       to_char(t AT TIME ZONE 'UTC', 'YYYY-MM')
FROM (
    SELECT g, now() - (g % 540) * interval '1 day' - (g % 7) * interval '1 minute' AS t,
           -- By the round (one entry for each of the staff): everyone earns first.
           CASE WHEN (g / :staff + 1) % 10 = 0 THEN 'redeem'
                WHEN (g / :staff + 1) % 37 = 0 THEN 'expire'
                WHEN (g / :staff + 1) % 53 = 0 THEN 'reverse' ELSE 'earn' END AS k,
           g % :staff AS who
    FROM generate_series(1, :entries) g
) h
JOIN staff s ON s.n = h.who
JOIN bench_programs pr ON pr.n = h.who % :programs;

INSERT INTO claims (person_id, partner_id, kind, status, occurred_on, amount, flags, created_at)
SELECT s.id, s.partner_id, 'install',
       (ARRAY['approved','approved','approved','pending','rejected'])[1 + g % 5],
       (now() - (g % 540) * interval '1 day')::date, 0,
       CASE WHEN g % 20 = 0 THEN '["burst"]' ELSE '[]' END::json,
       now() - (g % 540) * interval '1 day' - (g % 7) * interval '1 minute'
FROM generate_series(1, :claims) g
JOIN staff s ON s.n = (g::bigint * 104729) % :staff;

INSERT INTO activities (kind, occurred_at, partner_id, person_id, source_key, quantity, amount,
                        is_first_order, share_percent, created_at)
SELECT 'training', now() - (g % 365) * interval '1 day', s.partner_id, s.id,
       'history:training:' || g, 0, 0, false, 100, now()
FROM generate_series(1, :staff / 4) g
JOIN staff s ON s.n = (g * 31) % :staff;

DELETE FROM balances;

INSERT INTO balances (account_key, pending, available)
SELECT account_key, sum(CASE WHEN bucket = 'pending' THEN points ELSE 0 END),
       sum(CASE WHEN bucket = 'available' THEN points ELSE 0 END)
FROM ledger_entries GROUP BY account_key
"""


def _rebuild_rollups(connection) -> None:
    """Every rollup rebuilt from the rows, as the migrations build them from an existing ledger."""
    for table, columns, recount in (
        (
            LedgerMonth.__table__,
            ["month", "kind", "program_id", "partner_id", "points", "budget_points", "lines"],
            rollup_sql("postgresql"),
        ),
        (ProgramBudgetUse.__table__, ["program_id", "budget_points"], budget_sql()),
        (
            ClaimMonth.__table__,
            ["month", "partner_id", "status", "flag", "claims"],
            claim_months_sql("postgresql"),
        ),
        (
            PersonMonth.__table__,
            [
                "month",
                "person_id",
                "program_id",
                "partner_id",
                "earn_lines",
                "claims",
                "points",
                "lines",
            ],
            person_months_sql("postgresql"),
        ),
    ):
        connection.execute(table.delete())
        connection.execute(table.insert().from_select(columns, recount))


def _secondary_indexes(connection) -> list[tuple[str, str]]:
    """(name, definition) of the ledger's indexes that back no constraint."""
    return list(
        connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entries' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        )
    )


def add_history(url: str, entries: int) -> float:
    """`entries` ledger entries of history (and their claims and training) on top of the
    world in `url`, the rollups and balances rebuilt; returns the seconds it took. The
    ledger's secondary indexes are dropped for the load and built again after it, as a bulk
    load does."""
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        staff = connection.execute(
            text(
                "SELECT count(*) FROM role_assignments WHERE role IN "
                "('seller', 'engineer', 'technician', 'procurement')"
            )
        ).scalar()
        programs = connection.execute(text("SELECT count(*) FROM programs")).scalar()
        params = {
            "entries": entries,
            "claims": max(entries // 10, 1),
            "staff": staff,
            "programs": programs,
        }
        indexes = _secondary_indexes(connection)
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        connection.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        for statement in HISTORY.split(";\n"):
            if statement.strip():
                connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER USER"))
        for _, definition in indexes:
            connection.execute(text(definition))
        _rebuild_rollups(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def fill(url: str, people: int, entries: int) -> float:
    engine = create_engine(url)
    started = time.perf_counter()
    params = {
        "people": people,
        "partners": max(people // 20, 1),
        "entries": entries,
        "claims": max(entries // 10, 1),
    }
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        for statement in FILL.split(";\n"):
            if statement.strip():
                connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER USER"))
        _rebuild_rollups(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def refresh(url: str) -> tuple[int, float]:
    """`flask rollups refresh` on the filled database: (months stored, seconds)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    with app.app_context():
        db = get_session()
        started = time.perf_counter()
        stored = refresh_months(db, months_to_refresh(db, utcnow()), utcnow())
        db.commit()
        took = time.perf_counter() - started
    app.extensions["partnerlift.engine"].dispose()
    return stored, took


def _walk(node, scans):
    if node.get("Node Type") == "Seq Scan":
        scans.append(
            (node["Relation Name"], node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
        )
    for child in node.get("Plans", ()):
        _walk(child, scans)


def explain(connection, statement, parameters) -> tuple[float, list]:
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
    ).scalar()[0]
    scans: list = []
    _walk(plan["Plan"], scans)
    return plan["Execution Time"], scans


class Counter:
    """SQL statements run on an engine while `counting` is on."""

    def __init__(self, engine):
        self.statements: list = []
        self.counting = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting:
            self.statements.append((statement, parameters))

    def run(self, work):
        self.statements, self.counting = [], True
        started = time.perf_counter()
        try:
            work()
        finally:
            self.counting = False
        return (time.perf_counter() - started) * 1000, list(self.statements)


def _sign_in(app, db, client, person) -> None:
    token = start_sign_in_session(db, person, session_policy(app.config), utcnow())
    db.commit()
    with client.session_transaction() as session:
        session.update({"_user_id": str(person.id), "_fresh": True, TOKEN_KEY: token})


def _managers(db) -> tuple[Person, Person, PartnerOrganization]:
    partner = db.scalars(select(PartnerOrganization).order_by(PartnerOrganization.id)).first()
    made = []
    for role, company in (("channel_manager", None), ("partner_manager", partner)):
        person = Person(
            partner_id=company.id if company else None,
            full_name=f"Bench {role}",
            phone=f"+3712{len(made)}{uuid.uuid4().int % 10**6:06d}",
            email=f"{role}@bench.example",
            language="en",
            timezone="UTC",
            role_assignments=[RoleAssignment(role=role)],
        )
        db.add(person)
        made.append(person)
    db.commit()
    return made[0], made[1], partner


@dataclass
class Size:
    """One database of the run, with the app and signed-in clients that read it."""

    entries: int
    url: str
    world: str = ""
    filled: float = 0.0
    refreshed: float = 0.0
    app: object = None
    counter: Counter | None = None
    partner_id: int = 0
    #: page name -> (client, path)
    pages: dict = field(default_factory=dict)
    #: page name -> times of its requests, ms
    times: dict = field(default_factory=dict)
    #: page name -> statements of its last request
    statements: dict = field(default_factory=dict)


def prepare(size: Size) -> None:
    """The size's app, with /healthz and both pages signed in and warmed (two requests each)."""
    size.app = app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": size.url})
    size.counter = Counter(app.extensions["partnerlift.engine"])
    with app.app_context():
        db = get_session()
        channel_manager, partner_manager, partner = _managers(db)
        size.partner_id = partner.id
        for name, person, path in (
            ("/healthz", None, "/healthz"),
            ("/dashboard", channel_manager, "/dashboard"),
            ("partner dashboard", partner_manager, f"/partners/{partner.id}/dashboard"),
        ):
            client = app.test_client()
            if person is not None:
                _sign_in(app, db, client, person)
            for _ in range(2):
                assert client.get(path).status_code == 200, path
            size.pages[name] = (client, path)
            size.times[name] = []


def time_pages(sizes: list[Size], repeat: int) -> None:
    """Every page of every size in turn, `repeat` rounds: the sizes share the machine's load."""
    for _ in range(repeat):
        for size in sizes:
            for name, (client, path) in size.pages.items():
                took, statements = size.counter.run(lambda c=client, p=path: c.get(p))
                size.times[name].append(took)
                size.statements[name] = len(statements)


def median(size: Size, page: str) -> float:
    return statistics.median(size.times[page])


def figures_one_by_one(size: Size, plans: bool) -> None:
    app, counter = size.app, size.counter
    engine = app.extensions["partnerlift.engine"]
    with app.test_request_context():
        db = get_session()
        now = utcnow()
        months = d.last_months(now.date())
        # The page's default period: the last 12 months up to the end of today.
        start = months[0].start
        end = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
        partner = db.get(PartnerOrganization, size.partner_id)
        channel = cd.page_figures(db, start, end, months, Decimal("0.01"))
        mine = pd.page_figures(db, partner, start, end, months, now)
        for page, figures in (("/dashboard", channel), ("partner dashboard", mine)):
            total = 0
            print(f"  {page}: its figures one by one")
            for name, read in figures.items():
                took, statements = counter.run(read)
                total += len(statements)
                print(f"    {name}: {took:.0f} ms, {len(statements)} statement(s)")
                if plans:
                    with engine.connect() as connection:
                        for statement, parameters in statements:
                            ms, scans = explain(connection, statement, parameters)
                            seq = ", ".join(f"{t} ({rows:,} rows)" for t, rows in scans) or "none"
                            print(f"      plan: {ms:.1f} ms; sequential scans: {seq}")
            print(
                f"    ({total} statements of the page's {size.statements[page]}; "
                "the others sign the manager in and render)"
            )


def _machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?"
        )
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}"


def write_results(args, sizes: list[Size], loads: tuple) -> None:
    smallest = sizes[0]
    lines = [
        "# Dashboards at growing ledger history",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/dashboard_queries.py "
        f"--size {args.size}{f' --people {args.people}' if args.people else ''} "
        f"--entries {' '.join(map(str, args.entries))} --repeat {args.repeat}`.",
        "",
        f"- Machine: {_machine()}, shared with other work; 1-minute load average "
        f"{loads[0]:.2f} before the run, {loads[1]:.2f} at its end.",
        f"- World (`bench/world.py`): {smallest.world.removeprefix('world: ')}; its people "
        "enrolled for 18 months; then the ledger history of each row below on top (entries "
        "over 540 days across its staff and programs, a claim per 10 entries; see the bench's "
        "docstring).",
        "- Each page warm (two requests first) through the app's test client, the sizes' "
        "requests interleaved round by round so that they share the machine's load; median of "
        "the rounds. Baseline: GET /healthz in the same rounds. Growth: time ÷ time at the "
        "smallest size.",
        "",
        "| Ledger entries of history | History written, s | Rollups refresh, s | /healthz ms "
        "| /dashboard ms | statements | growth | ÷ /healthz "
        "| partner dashboard ms | statements | growth | ÷ /healthz |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sizes:
        health = median(size, "/healthz")
        cells = [
            f"{size.entries:,}",
            f"{size.filled:.0f}",
            f"{size.refreshed:.1f}",
            f"{health:.1f}",
        ]
        for page in ("/dashboard", "partner dashboard"):
            ms = median(size, page)
            cells += [
                f"{ms:.0f}",
                str(size.statements[page]),
                f"{ms / median(smallest, page):.2f}",
                f"{ms / health:.0f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="realistic", help="the world")
    parser.add_argument("--people", type=int, help="field staff (default: the world's)")
    parser.add_argument("--entries", type=int, nargs="+", default=[100000, 1000000])
    parser.add_argument("--repeat", type=int, default=15, help="rounds of timed requests")
    parser.add_argument("--postgres", default=POSTGRES, help="a server URL ending in a database")
    parser.add_argument("--plans", action="store_true", help="EXPLAIN ANALYZE every statement")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args()
    loads = [os.getloadavg()[0]]
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    sizes: list[Size] = []
    try:
        for entries in sorted(args.entries):
            name = f"partnerlift_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            size = Size(entries, f"{args.postgres.rpartition('/')[0]}/{name}")
            sizes.append(size)
            upgrade_database(size.url)
            app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": size.url})
            world = build_world(app, SIZES[args.size], people=args.people)
            app.extensions["partnerlift.engine"].dispose()
            size.world = world.describe()
            size.filled = add_history(size.url, entries)
            stored, size.refreshed = refresh(size.url)
            print(
                f"{size.world}\n  + {entries:,} ledger entries of history in "
                f"{size.filled:.0f} s; engagement and earnings of {stored} closed months "
                f"stored in {size.refreshed:.1f} s",
                flush=True,
            )
            prepare(size)
        time_pages(sizes, args.repeat)
        for size in sizes:
            print(f"\n{size.entries:,} ledger entries")
            for page in size.pages:
                print(
                    f"  {page}: median {median(size, page):.0f} ms of {args.repeat}, "
                    f"{size.statements[page]} statements"
                )
            figures_one_by_one(size, args.plans)
        loads.append(os.getloadavg()[0])
        print("\nentries      /dashboard           partner dashboard    (÷ the smallest size)")
        for size in sizes:
            print(
                f"{size.entries:>10,}  "
                + "  ".join(
                    f"{median(size, p):7.0f} ms {median(size, p) / median(sizes[0], p):5.2f}×"
                    for p in ("/dashboard", "partner dashboard")
                )
            )
        if not args.no_write:
            write_results(args, sizes, tuple(loads))
    finally:
        for size in sizes:
            if size.app is not None:
                size.app.extensions["partnerlift.engine"].dispose()
            with admin.connect() as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{size.url.rpartition("/")[2]}" WITH (FORCE)')
                )
        admin.dispose()


if __name__ == "__main__":
    main()
