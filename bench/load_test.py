"""Benchmark: a load test of gunicorn on PostgreSQL with a realistic mix of traffic.

Builds (or reuses) a PostgreSQL database of that many people and ledger entries with the
dashboard benchmark's generator, runs `flask db upgrade`, starts gunicorn with several
workers (rate limits counted in Redis), and runs locust headless on loopback for a bounded
time with bench/load_users.py: field staff signed in by password checking their balance and
submitting install and sale claims, signed inbound SMS (BAL, HELP), channel and partner
managers on their dashboards, API sell-out imports with a write token and Idempotency-Key,
survey answers by SMS (signed inbound replies, a survey opened for the run to enough of
the seeded people, at a fixed rate of at least 1,000 a minute) and a /healthz probe in the
same run. Prints, per request type and overall, the requests,
failures, throughput, p50/p95/p99 and the ratio of each p95 to /healthz's p95, and writes
the same report to bench/results/load_test.md.

    .venv/bin/python bench/load_test.py --people 20000 --entries 1000000 --duration 60
"""

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard_queries import fill  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
RESULTS = ROOT / "bench" / "results" / "load_test.md"
SATURATION_RESULTS = ROOT / "bench" / "results" / "load_test_saturation.md"
#: Everyone seeded signs in with this password (hashed with the bench's cheap argon2 cost).
PASSWORD = "load-test-password"  # noqa: S105
TWILIO_AUTH_TOKEN = "load-test-twilio-auth-token"  # noqa: S105
LOAD_PROGRAM = "Load test: installs and sales"
#: Each run opens a survey of its own under this name (the previous run's is closed first).
LOAD_SURVEY = "Load test: three questions by SMS"
#: The questions the run's survey asks by SMS, and what the simulated people answer to each:
#: an NPS score, a rating, a choice by its number.
SURVEY_QUESTIONS = (
    ("nps", "How likely are you to recommend us?", "9"),
    ("rating", "How easy is claiming?", "4"),
    ("single_choice", "What stops you claiming more?", "2"),
)
SURVEY_CHOICES = ("Price", "Time", "Paperwork")
SKUS = [f"LT-{n:03d}" for n in range(1, 21)]
#: Only for the bench: sign-in stays a real argon2id check, at a cost that leaves the two
#: cores to the traffic being measured (the production default is 3 passes over 64 MiB).
CHEAP_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1"}
#: High enough that the load is never throttled; still counted, in Redis, on every request.
LIMITS = {
    "LOGIN_RATE_LIMIT": "100000 per minute",
    "API_RATE_LIMIT": "100000 per minute",
    "TWILIO_WEBHOOK_RATE_LIMIT": "100000 per minute",
}

SEED = """
UPDATE people SET email = 'staff' || id || '@load.example', password_hash = :hash
WHERE partner_id IS NOT NULL;

INSERT INTO people (partner_id, full_name, phone, email, password_hash, language, timezone,
                    preferred_channel, active, created_at)
SELECT id, 'Manager of ' || name, '+998' || id, 'manager' || id || '@load.example', :hash,
       'en', 'UTC', 'sms', true, now() - interval '2 years'
FROM partner_organizations;

INSERT INTO people (partner_id, full_name, phone, email, password_hash, language, timezone,
                    preferred_channel, active, created_at)
VALUES (NULL, 'Channel Manager', '+9970', 'channel@load.example', :hash, 'en', 'UTC', 'sms',
        true, now() - interval '3 years');

INSERT INTO role_assignments (person_id, role)
SELECT id, 'partner_manager' FROM people WHERE email LIKE 'manager%@load.example';

INSERT INTO role_assignments (person_id, role)
SELECT id, 'channel_manager' FROM people WHERE email = 'channel@load.example'
"""


def _app(url: str):
    from app import create_app

    return create_app(
        {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, **_argon2_config()}
    )


def _argon2_config() -> dict:
    return {name: int(value) for name, value in CHEAP_ARGON2.items()}


def seed(url: str) -> None:
    """Sign-in for everyone, a manager per partner, a channel manager, a catalog, and a
    launched program every partner approved (with a third of the ledger as its history), so
    claims and imports earn points."""
    from channel.approvals import DecisionDetails, decide
    from channel.models import Product, ProductGroup
    from channel.partner_models import PartnerOrganization
    from channel.programs import ProgramDetails, launch_program, offer_program, save_program
    from channel.schemes import RuleInput, SchemeDetails, save_scheme
    from core.db import get_session
    from roles.auth import make_password_hasher
    from roles.models import Person

    app = _app(url)
    with app.test_request_context():
        db = get_session()
        password_hash = make_password_hasher(app.config).hash(PASSWORD)
        for statement in SEED.split(";\n"):
            db.execute(text(statement), {"hash": password_hash})
        group = ProductGroup(code="load", name="Load test products", default_points_per_unit=10)
        db.add(group)
        db.flush()
        for n, sku in enumerate(SKUS, 1):
            db.add(Product(sku=sku, name=f"Product {n}", group_id=group.id, points_per_unit=n))
        db.flush()
        channel_manager = db.scalar(select(Person).where(Person.email == "channel@load.example"))
        partners = db.scalars(select(PartnerOrganization).order_by(PartnerOrganization.id)).all()
        now = datetime.now(UTC)
        program = save_program(
            db,
            ProgramDetails(
                name=LOAD_PROGRAM,
                starts_at=now - timedelta(days=30),
                ends_at=now + timedelta(days=335),
                currency="EUR",
                point_value="0.01",
                budget_points=1_000_000_000,
                partner_ids=[p.id for p in partners],
            ),
            actor_id=channel_manager.id,
        )
        for details in (
            SchemeDetails(
                "Installers",
                ["engineer", "technician"],
                rules=[RuleInput("install", {"points_per_install": 50})],
            ),
            SchemeDetails(
                "Sellers", ["seller"], rules=[RuleInput("unit_sold", {"product_group": "load"})]
            ),
        ):
            save_scheme(db, program, details, actor_id=channel_manager.id)
        db.refresh(program)
        offer_program(db, program, actor_id=channel_manager.id)
        managers = dict(
            db.execute(
                select(Person.partner_id, Person.id).where(
                    Person.email.like("manager%@load.example")
                )
            ).all()
        )
        for partner in partners:
            decide(
                db, program, partner, DecisionDetails(approve=True), actor_id=managers[partner.id]
            )
        launch_program(db, program, actor_id=channel_manager.id)
        # The program has run for as long as the generated ledger goes back: it takes over the
        # history of the first generated program, so every award is checked against it.
        db.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        db.execute(
            text(
                "UPDATE ledger_entries SET program_id = :program "
                "WHERE program_id = (SELECT min(id) FROM programs)"
            ),
            {"program": program.id},
        )
        db.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER USER"))
        db.commit()
    with create_engine(url).connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def open_load_survey(url: str, *, people: int, public_url: str, secret_key: str) -> list[str]:
    """Close the previous run's survey (its open invitations expire as any would) and open a
    new one by SMS to at least `people` field staff, so that each is asked its first question;
    returns the phones of those being asked, who then answer in the run."""
    from channel.partner_models import PartnerOrganization
    from core.db import get_session
    from messaging.campaigns.audience import SegmentFilters
    from messaging.surveys.authoring import (
        QuestionDraft,
        SurveyDraft,
        add_question,
        close_survey,
        open_survey,
        save_survey,
    )
    from messaging.surveys.links import SurveyLinks
    from messaging.surveys.models import InvitationState, Survey, SurveyInvitation, SurveyStatus
    from roles.models import Person

    app = _app(url)
    links = SurveyLinks(secret=secret_key, base_url=public_url)
    with app.app_context():
        db = get_session()
        now = datetime.now(UTC)
        for previous in db.scalars(
            select(Survey).where(Survey.name == LOAD_SURVEY, Survey.status == SurveyStatus.OPEN)
        ):
            close_survey(db, previous, now, links=links)
        db.commit()
        # The seeded partners have 20 people each, three in four of them field staff.
        partners = db.scalars(
            select(PartnerOrganization.id)
            .order_by(PartnerOrganization.id)
            .limit(max(people // 15 + 1, 1))
        ).all()
        survey = save_survey(
            db,
            SurveyDraft(
                name=LOAD_SURVEY,
                closes_at=now + timedelta(days=7),
                filters=SegmentFilters(
                    roles=("seller", "engineer", "technician"), partner_ids=tuple(partners)
                ),
                texts={("en", ""): ("Three questions", "Three questions, {first_name}.")},
            ),
            now,
            actor_id=None,
        )
        for kind, words, _answer in SURVEY_QUESTIONS:
            add_question(
                db,
                survey,
                QuestionDraft(
                    kind,
                    {("en", ""): words},
                    choices=[{"en": c} for c in SURVEY_CHOICES] if kind == "single_choice" else [],
                ),
            )
        open_survey(db, survey, now, links=links)
        db.commit()
        return list(
            db.scalars(
                select(Person.phone)
                .join(SurveyInvitation, SurveyInvitation.person_id == Person.id)
                .where(
                    SurveyInvitation.survey_id == survey.id,
                    SurveyInvitation.state == InvitationState.ASKING,
                    SurveyInvitation.channel == "sms",
                )
                .order_by(Person.id)
            )
        )


def is_seeded(url: str) -> bool:
    """Whether a previous run built this database to the end (its seed commits last)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text("SELECT count(*) FROM programs WHERE name = :name"),
                    {"name": LOAD_PROGRAM},
                ).scalar()
            )
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def database(args) -> tuple[str, bool]:
    """The URL of the load test's database, built now if missing (or --rebuild)."""
    name = args.database or f"partnerlift_load_{args.people}_{args.entries}"
    url = f"{args.postgres.rpartition('/')[0]}/{name}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if exists and (args.rebuild or not is_seeded(url)):
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url, bool(exists)


def drop(args, url: str) -> None:
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)'))
    admin.dispose()


def flask(env: dict, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout


def plan(
    url: str,
    *,
    public_url: str,
    api_token: str,
    seed_value: int,
    respondents: list[str],
    answer_users: int,
    answers_per_minute: int,
) -> dict:
    """What the simulated users need: who signs in, which phones text, what sells, who
    answers the survey and how fast."""
    pick = random.Random(seed_value)
    with create_engine(url).connect() as connection:
        staff = connection.execute(
            text(
                "SELECT p.id, p.email, p.phone, r.role FROM people p "
                "JOIN role_assignments r ON r.person_id = p.id "
                "WHERE p.email LIKE 'staff%@load.example' "
                "AND r.role IN ('seller', 'engineer', 'technician')"
            )
        ).all()
        managers = connection.execute(
            text("SELECT email, partner_id FROM people WHERE email LIKE 'manager%@load.example'")
        ).all()
    field = pick.sample(staff, min(len(staff), 2000))
    return {
        "seed": seed_value,
        "password": PASSWORD,
        "public_url": public_url,
        "twilio_auth_token": TWILIO_AUTH_TOKEN,
        "api_token": api_token,
        "skus": SKUS,
        "field_staff": [
            {"email": s.email, "claims": "sale" if s.role == "seller" else "install"} for s in field
        ],
        "phones": [s.phone for s in pick.sample(staff, min(len(staff), 5000))],
        "sellers": [s.email for s in staff if s.role == "seller"][:5000],
        "partner_managers": [
            {"email": m.email, "partner_id": m.partner_id}
            for m in pick.sample(managers, min(len(managers), 200))
        ],
        "channel_manager": "channel@load.example",
        "respondents": respondents,
        "survey_answers": [answer for _kind, _words, answer in SURVEY_QUESTIONS],
        "survey_questions": [words for _kind, words, _answer in SURVEY_QUESTIONS],
        "answer_users": answer_users,
        "answers_per_user_second": answers_per_minute / 60 / answer_users,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped while starting")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz in time")


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by linear interpolation, as numpy's default."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = (len(sorted_values) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(samples_file: Path) -> tuple[list[dict], float]:
    """Per request type and overall: requests, failures, req/s, p50/p95/p99, p95 ÷ /healthz."""
    times: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    last = 0.0
    for line in samples_file.read_text().splitlines():
        at, name, ms, failed = line.split("\t")
        times[name].append(float(ms))
        failures[name] += int(failed)
        last = max(last, float(at))
    window = max(last, 1e-9)
    rows = []
    everything = []
    for name in sorted(times):
        values = sorted(times[name])
        everything += values
        rows.append(_row(name, values, failures[name], window))
    everything.sort()
    rows.append(_row("All requests", everything, sum(failures.values()), window))
    healthz = next((r for r in rows if r["name"] == "GET /healthz"), None)
    for row in rows:
        row["ratio"] = row["p95"] / healthz["p95"] if healthz and healthz["p95"] else None
    return rows, window


def _row(name: str, values: list[float], failed: int, window: float) -> dict:
    return {
        "name": name,
        "requests": len(values),
        "failures": failed,
        "rps": len(values) / window,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| Request | Requests | Failures | req/s | p50 ms | p95 ms | p99 ms | p95 ÷ /healthz p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.1f}" if r["ratio"] is not None else "–"
        name = f"**{r['name']}**" if r["name"] == "All requests" else r["name"]
        lines.append(
            f"| {name} | {r['requests']:,} | {r['failures']:,} | {r['rps']:.1f} | "
            f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


def main() -> None:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--entries", type=int, default=1000000, help="ledger entries")
    parser.add_argument("--duration", type=int, default=60, help="seconds of steady load")
    parser.add_argument(
        "--users",
        type=int,
        default=70,
        help="simulated users at once (the survey respondents and 2 probes among them)",
    )
    parser.add_argument(
        "--answers-per-minute", type=int, default=1200, help="survey answers sent a minute"
    )
    parser.add_argument(
        "--answer-users", type=int, default=20, help="simulated users sending survey answers"
    )
    parser.add_argument(
        "--warmup", type=int, default=10, help="seconds of load before measuring starts"
    )
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started a second")
    parser.add_argument(
        "--workers", type=int, default=2 * cores + 1, help="gunicorn workers (2 × cores + 1)"
    )
    parser.add_argument("--postgres", default=POSTGRES, help="a server URL ending in a database")
    parser.add_argument("--database", help="database name (default: by people and entries)")
    parser.add_argument("--rebuild", action="store_true", help="build the dataset again")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    parser.add_argument(
        "--prepare-only", action="store_true", help="build the dataset, start no load"
    )
    parser.add_argument("--redis", default=REDIS, help="rate-limit storage")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the simulated users")
    parser.add_argument(
        "--ramp",
        help="user counts to step through, e.g. 35,70,140,210: prints the saturation point "
        f"(the requests a second at which some kind's p95 passes {SATURATED_MS} ms)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"the Markdown report (default {RESULTS.relative_to(ROOT)}, with --ramp "
        f"{SATURATION_RESULTS.relative_to(ROOT)})",
    )
    args = parser.parse_args()
    args.output = args.output or (SATURATION_RESULTS if args.ramp else RESULTS)

    url, existed = database(args)
    run_id = f"{os.getpid()}-{int(time.time())}"
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "SECRET_KEY": f"load-test-{run_id}",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback, as behind a TLS proxy
        "RATELIMIT_STORAGE_URI": args.redis,
        "RATELIMIT_KEY_PREFIX": f"partnerlift-load-{run_id}",
        "MESSAGING_BACKEND": "development",
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "PUBLIC_URL": public_url,
        "LOG_FORMAT": "json",
        **CHEAP_ARGON2,
        **LIMITS,
    }
    for name in ("FLASK_DEBUG", "TWILIO_ACCOUNT_SID", "SMTP_URL"):
        env.pop(name, None)
    try:
        started = time.perf_counter()
        flask(env, "db", "upgrade")
        if not existed:
            seconds = fill(url, args.people, args.entries)
            print(f"{args.people:,} people, {args.entries:,} ledger entries in {seconds:.0f} s")
            seed(url)
            print(f"dataset ready in {time.perf_counter() - started:.0f} s: {url}")
        else:
            print(f"reusing {url} (--rebuild to build it again)")
        # As cron runs it: closed months' engagement and earnings stored for the dashboards.
        print(flask(env, "rollups", "refresh").strip())
        if args.prepare_only:
            return
        api_token = (
            flask(env, "api", "create-token", "--name", f"load test {run_id}", "--scope", "write")
            .strip()
            .splitlines()[-1]
        )
        run(args, env, url, public_url, port, api_token)
    finally:
        if args.drop:
            drop(args, url)


@dataclass
class Step:
    """One locust run against the running server: its users, its survey respondents and rate,
    and what it measured."""

    users: int
    answer_users: int
    answers_per_minute: int
    respondents: list[str]
    rows: list[dict] = field(default_factory=list)
    window: float = 0.0
    failures: list[dict] = field(default_factory=list)
    load_average: tuple[float, float] = (0.0, 0.0)
    watcher: "BackendWatch | None" = None

    def seconds(self, args) -> float:
        """Ramp, warm-up and steady load."""
        return self.users / args.spawn_rate + args.warmup + args.duration

    def respondents_needed(self, args) -> int:
        """Every respondent answers each question once; a fifth more than the step can use."""
        answers = self.answers_per_minute * (self.seconds(args) + 30) / 60
        return int(answers / len(SURVEY_QUESTIONS) * 1.2) + 1

    def worst(self) -> dict:
        """The kind of request with the highest p95 (the overall row left out)."""
        return max(self.rows[:-1], key=lambda row: row["p95"])


def steps(args) -> list[Step]:
    """One step at --users, or with --ramp one per user count, the survey's respondents and
    rate scaled with the users (the /healthz probes stay two)."""
    counts = [int(n) for n in args.ramp.split(",")] if args.ramp else [args.users]
    return [
        Step(
            users=n,
            answer_users=max(1, round(args.answer_users * n / args.users)),
            answers_per_minute=round(args.answers_per_minute * n / args.users),
            respondents=[],
        )
        for n in counts
    ]


def run(args, env: dict, url: str, public_url: str, port: int, api_token: str) -> None:
    planned = steps(args)
    respondents = open_load_survey(
        url,
        people=sum(step.respondents_needed(args) for step in planned),
        public_url=public_url,
        secret_key=env["SECRET_KEY"],
    )
    print(f"survey opened: {len(respondents):,} people asked its first question by SMS")
    for step in planned:
        step.respondents = respondents[: step.respondents_needed(args)]
        respondents = respondents[len(step.respondents) :]
    with tempfile.TemporaryDirectory(prefix="partnerlift-load-") as work:
        work = Path(work)
        server_log = (work / "gunicorn.log").open("w")
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=server_log,
        )
        try:
            wait_healthy(public_url, server)
            for number, step in enumerate(planned, 1):
                step_dir = work / f"step-{number}"
                step_dir.mkdir()
                run_step(args, env, url, public_url, api_token, step, step_dir)
                if args.ramp:
                    worst = step.worst()
                    print(
                        f"{step.users} users: {step.rows[-1]['rps']:.1f} req/s, "
                        f"worst p95 {worst['p95']:.0f} ms ({worst['name']}), load average "
                        f"{step.load_average[0]:.2f} → {step.load_average[1]:.2f}"
                    )
        finally:
            server.terminate()
            server.wait(timeout=60)
            server_log.close()
        # The app's JSON lines at ERROR, and gunicorn's own (a worker timed out or died).
        errors = [
            line
            for line in (work / "gunicorn.log").read_text().splitlines()
            if '"ERROR"' in line or "[ERROR]" in line or "[CRITICAL]" in line
        ]
    if args.ramp:
        ramp_report(args, planned, errors)
    else:
        report(args, planned[0], errors)


def run_step(args, env, url, public_url, api_token, step: Step, work: Path) -> None:
    plan_file, samples_file = work / "plan.json", work / "samples.tsv"
    plan_file.write_text(
        json.dumps(
            plan(
                url,
                public_url=public_url,
                api_token=api_token,
                seed_value=args.seed,
                respondents=step.respondents,
                answer_users=step.answer_users,
                answers_per_minute=step.answers_per_minute,
            )
        )
    )
    seconds = step.seconds(args)
    print(
        f"locust: {step.users} users ({step.answer_users} answering the survey, "
        f"{step.answers_per_minute:,} answers a minute) for {args.duration} s of steady load "
        f"(after {seconds - args.duration:.0f} s of ramp and warm-up) against {args.workers} "
        "gunicorn workers"
    )
    load_before = os.getloadavg()[0]
    step.watcher = BackendWatch(url, seconds=seconds + 60)
    step.watcher.start()
    locust = subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "load_users.py"),
            "--headless",
            "--host",
            public_url,
            "--users",
            str(step.users),
            "--spawn-rate",
            str(args.spawn_rate),
            "--run-time",
            f"{int(seconds)}s",
            "--stop-timeout",
            "10",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={
            **env,
            "LOAD_TEST_PLAN": str(plan_file),
            "LOAD_TEST_SAMPLES": str(samples_file),
            "LOAD_TEST_WARMUP": str(args.warmup),
        },
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    step.load_average = (load_before, os.getloadavg()[0])
    step.watcher.stop()
    if not samples_file.exists():
        raise SystemExit(f"locust wrote no samples:\n{locust.stderr[-3000:]}")
    step.rows, step.window = summarize(samples_file)
    step.failures = json.loads(samples_file.with_suffix(".failures.json").read_text())


class BackendWatch(threading.Thread):
    """Samples, once a second, the database's busy backends and those waiting for a lock."""

    def __init__(self, url: str, seconds: float):
        super().__init__(daemon=True)
        self.url, self.deadline = url, time.monotonic() + seconds
        self.samples: list[tuple[int, int]] = []
        self._stop_event = threading.Event()

    def run(self):
        engine = create_engine(self.url, pool_size=1)
        name = self.url.rpartition("/")[2]
        with engine.connect() as connection:
            while not self._stop_event.is_set() and time.monotonic() < self.deadline:
                busy, locked = connection.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE state = 'active'), "
                        "count(*) FILTER (WHERE wait_event_type = 'Lock') "
                        "FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).one()
                connection.rollback()
                self.samples.append((busy, locked))
                self._stop_event.wait(1)
        engine.dispose()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=10)

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        busy = [b for b, _ in self.samples]
        locked = [w for _, w in self.samples]
        return (
            f"{statistics.fmean(busy):.1f} busy on average (at most {max(busy)}), "
            f"{statistics.fmean(locked):.1f} waiting for a lock (at most {max(locked)}), "
            f"sampled {len(self.samples)} times"
        )


#: The request the issue's survey target is about (bench/load_users.py SurveyRespondent).
SURVEY_ANSWER = "sms: POST inbound survey answer"
#: The saturation point: the load at which some kind of request's p95 passes this.
SATURATED_MS = 1000


def postgres_version(args) -> str:
    with create_engine(args.postgres).connect() as connection:
        return connection.execute(text("SHOW server_version")).scalar()


def _by_name(rows: list[dict], name: str) -> dict | None:
    return next((r for r in rows if r["name"] == name), None)


def survey_line(step: Step, *, targets: bool = True) -> str:
    """The survey answers' rate and p95 against /healthz's, and the issue's two targets (left
    out of a ramp's steps, whose rate is scaled with their users)."""
    answers, healthz = _by_name(step.rows, SURVEY_ANSWER), _by_name(step.rows, "GET /healthz")
    if answers is None or healthz is None:
        return "Survey answers: not measured."
    ratio = answers["p95"] / healthz["p95"]
    return (
        f"Survey answers through the inbound webhook: {answers['rps'] * 60:,.0f} a minute"
        + (" (target at least 1,000)" if targets else "")
        + f", {answers['failures']:,} failed; p95 {answers['p95']:.1f} ms against /healthz p95 "
        f"{healthz['p95']:.1f} ms in the same run: {ratio:.1f}×"
        + (" (target below 5×)." if targets else ".")
    )


def _setting(args, users: str) -> list[str]:
    return [
        f"- Machine: {machine()}, shared by gunicorn, PostgreSQL {postgres_version(args)}, "
        "Redis and locust (the load generator runs on the same cores), and by other people's "
        "work on the same machine.",
        f"- Data: {args.people:,} people, {args.entries:,} ledger entries on PostgreSQL.",
        f"- Server: gunicorn, {args.workers} sync workers, rate limits in Redis; "
        "messaging backend: development (inbound SMS are answered in the TwiML reply).",
        f"- Load: {users} on loopback, measured over {args.duration} s of steady load after "
        f"the ramp and {args.warmup} s of warm-up (sign-ins excluded); weights: field staff "
        "10, inbound SMS 4, partner managers 2, channel manager 1, API sales imports 1 (20 "
        "lines a request); plus a fixed number of survey respondents answering a "
        "three-question SMS survey (NPS, rating, one choice) at a fixed rate in all, each a "
        "signed webhook with a MessageSid of its own, and 2 /healthz probes at 2 a second "
        "each.",
    ]


def _errors(failures, server_errors) -> list[str]:
    return (
        [
            "Failures by kind:",
            "",
            *(f"- {f['count']} × {f['name']}: {f['error']}" for f in failures[:20]),
            "",
        ]
        if failures
        else []
    ) + (
        [
            f"Server errors logged: {len(server_errors)}; the first:",
            "",
            "```",
            server_errors[0][:2000],
            "```",
            "",
        ]
        if server_errors
        else []
    )


def report(args, step: Step, server_errors) -> None:
    rows = step.rows
    healthz = _by_name(rows, "GET /healthz")
    total = rows[-1]
    text_ = "\n".join(
        [
            "# Load test",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/load_test.py --people "
            f"{args.people} --entries {args.entries} --duration {args.duration} --users "
            f"{args.users} --answers-per-minute {args.answers_per_minute} --answer-users "
            f"{args.answer_users} --workers {args.workers}`.",
            "",
            *_setting(
                args,
                f"{step.users} simulated users ({step.answer_users} of them survey respondents "
                f"sending {step.answers_per_minute:,} answers a minute in all)",
            ),
            f"- 1-minute load average {step.load_average[0]:.2f} before the run, "
            f"{step.load_average[1]:.2f} at its end.",
            f"- PostgreSQL backends of the app during the run: {step.watcher.summary()}.",
            "",
            table(rows),
            "",
            f"Overall: {total['rps']:.1f} requests a second over {step.window:.0f} s, "
            f"{total['failures']:,} failures of {total['requests']:,}; /healthz p95 under this "
            "load: " + (f"{healthz['p95']:.1f} ms." if healthz else "not measured."),
            "",
            survey_line(step),
            "",
            *_errors(step.failures, server_errors),
        ]
    )
    _write(args, text_)


def saturation(planned: list[Step]) -> tuple[Step | None, Step | None]:
    """(the busiest step whose every kind kept its p95 within SATURATED_MS, the first step at
    which some kind's passed it); either None when no step was so."""
    held = passed = None
    for step in planned:
        if step.worst()["p95"] > SATURATED_MS:
            passed = passed or step
        elif passed is None:
            held = step
    return held, passed


def ramp_report(args, planned: list[Step], server_errors) -> None:
    cores = os.cpu_count() or 1
    held, passed = saturation(planned)
    lines = [
        "| Users | Survey answers a minute | req/s | req/s a core | Failures | /healthz p95 ms "
        "| Survey answer p95 ms | Worst p95 ms (kind) | Load average before → after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for step in planned:
        total, worst = step.rows[-1], step.worst()
        healthz, answers = _by_name(step.rows, "GET /healthz"), _by_name(step.rows, SURVEY_ANSWER)
        lines.append(
            f"| {step.users} | {answers['rps'] * 60 if answers else 0:,.0f} | "
            f"{total['rps']:.1f} | {total['rps'] / cores:.1f} | {total['failures']:,} | "
            f"{healthz['p95'] if healthz else 0:.1f} | {answers['p95'] if answers else 0:.1f} | "
            f"{worst['p95']:.0f} ({worst['name']}) | {step.load_average[0]:.2f} → "
            f"{step.load_average[1]:.2f} |"
        )
    if passed is None:
        verdict = (
            f"No step passed {SATURATED_MS} ms at any kind's p95: the saturation point lies "
            f"above {planned[-1].rows[-1]['rps']:.1f} requests a second "
            f"({planned[-1].rows[-1]['rps'] / cores:.1f} a core); ramp further."
        )
    else:
        rps, worst = passed.rows[-1]["rps"], passed.worst()
        verdict = (
            f"Saturation point: {rps:.1f} requests a second ({rps / cores:.1f} a core on "
            f"{cores} cores), with {passed.users} users, where {worst['name']} first passed "
            f"{SATURATED_MS} ms at p95 ({worst['p95']:.0f} ms); 1-minute load average "
            f"{passed.load_average[0]:.2f} → {passed.load_average[1]:.2f}. "
            + (
                f"The busiest step that held every p95 within {SATURATED_MS} ms: "
                f"{held.rows[-1]['rps']:.1f} requests a second ({held.rows[-1]['rps'] / cores:.1f}"
                f" a core) with {held.users} users."
                if held is not None
                else "Even the first step passed it."
            )
        )
    text_ = "\n".join(
        [
            "# Load test: saturation",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/load_test.py --people "
            f"{args.people} --entries {args.entries} --duration {args.duration} --ramp "
            f"{args.ramp} --workers {args.workers}`: the same mix at each user count in turn "
            "(survey respondents and their rate scaled with it), against one gunicorn.",
            "",
            *_setting(args, "each step's simulated users"),
            "",
            *lines,
            "",
            verdict,
            "",
            *(f"- {step.users} users. {survey_line(step, targets=False)}" for step in planned),
            "",
            *_errors([f for step in planned for f in step.failures], server_errors),
        ]
    )
    _write(args, text_)


def _write(args, text_: str) -> None:
    print()
    print(text_)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text_)
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"written to {shown}")


if __name__ == "__main__":
    main()
