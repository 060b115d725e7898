"""Benchmark: the dashboard queries on PostgreSQL with generated data, with their plans.

Fills a database of its own with partners, people, enrolments, claims and ledger entries
(generate_series, in seconds), runs every dashboard figure for the last 12 months, and
prints each figure's time and, for each SQL statement it ran, EXPLAIN ANALYZE's time and
the tables it read by sequential scan (with the rows they returned).

    .venv/bin/python bench/dashboard_queries.py --people 20000 --entries 1000000
"""

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from channel import channel_dashboard as cd  # noqa: E402
from channel import dashboards as d  # noqa: E402
from channel import partner_dashboard as pd  # noqa: E402
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402

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
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


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


def figures(db, months, start, end):
    """Every figure the channel dashboard shows, by name."""
    value = Decimal("0.01")
    return {
        "engagement by month": lambda: d.engagement(db, months),
        "engagement by role (last month)": lambda: d.engagement(db, months[-1:], by="role"),
        "engagement by country (last month)": lambda: d.engagement(db, months[-1:], by="country"),
        "points and liability": lambda: cd.points_summary(db, start, end, value),
        "budget use": lambda: cd.budget_use(db),
        "claims by status and flag": lambda: cd.claim_figures(db, start, end),
        "top partners": lambda: cd.top_partners(db, start, end),
        "top people": lambda: cd.top_people(db, start, end),
        "training completion": lambda: cd.training_completion(db, start, end),
        "one partner's staff earnings": lambda: pd.staff_earnings(db, _a_partner(db), start, end),
    }


def _a_partner(db) -> int:
    return db.execute(text("SELECT min(id) FROM partner_organizations")).scalar()


def measure(url: str, months_back: int = 12) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url})
    engine = app.extensions["partnerlift.engine"]
    captured: list = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    now = datetime.now(UTC)
    months = d.last_months(now.date(), months_back)
    start, end = months[0].start, now + timedelta(days=1)
    with app.test_request_context():
        db = get_session()
        for name, run in figures(db, months, start, end).items():
            captured.clear()
            started = time.perf_counter()
            run()
            took = (time.perf_counter() - started) * 1000
            statements = list(captured)
            print(f"\n{name}: {took:.0f} ms, {len(statements)} statement(s)")
            with engine.connect() as connection:
                for statement, parameters in statements[:2]:
                    ms, scans = explain(connection, statement, parameters)
                    seq = ", ".join(f"{t} ({rows:,} rows)" for t, rows in scans) or "none"
                    print(f"  plan: {ms:.1f} ms; sequential scans: {seq}")
                if len(statements) > 2:
                    print(f"  (plans of the other {len(statements) - 2} statements alike)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--entries", type=int, default=1000000)
    parser.add_argument("--postgres", default=POSTGRES, help="a server URL ending in a database")
    parser.add_argument("--months", type=int, default=12, help="the period, in months")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", help="measure a database kept by --keep (migrated first)")
    args = parser.parse_args()
    if args.reuse:
        upgrade_database(args.reuse)
        with create_engine(args.reuse).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        measure(args.reuse, args.months)
        return
    name = f"partnerlift_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{args.postgres.rpartition('/')[0]}/{name}"
    try:
        upgrade_database(url)
        seconds = fill(url, args.people, args.entries)
        print(f"{args.people:,} people, {args.entries:,} ledger entries in {seconds:.0f} s")
        if args.keep:
            print(f"kept: --reuse {url}")
        measure(url, args.months)
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
