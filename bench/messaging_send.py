"""Benchmark: the outbox worker's send rate against a bare loop, like for like, and a configured rate held.

Both talk to the same local fake of Twilio's Messages API through the same real twilio
client, in one run, so the ratio (worker messages/s ÷ bare-loop messages/s) is measured side
by side on this machine. The fake runs in a process of its own, as Twilio is remote, so it
does not share the benchmark's interpreter lock; like Twilio's API it keeps connections alive
(HTTP/1.1), so neither side pays a TCP connect a message.

The world: `bench/world.py` (printed first; `--size realistic`: 50 partners in five countries,
2,000 field staff in four roles and six languages, 2% opted out of SMS, three live programs
and a year of claims history). The recipients are `--people` of its staff (default 1,000),
taken in the world's order among those who may get SMS, each message in the person's
language; the opted-out are left out of both sides, as the bare loop cannot know them, but
every message the worker sends is still checked against consent, blocks, quiet hours (on,
set to the far side of the clock from now in every recipient's zone, so the run is never in
anyone's night) and the weekly cap. The baseline is a bare loop of `client.messages.create`
over the same recipients and bodies with the SAME number of threads as the worker (no
database), in `--rounds` rounds that alternate which side goes first; each side's CPU per
message (this process, the fake's and, on PostgreSQL, the database server's backends) is
printed beside its rate, as the steadier figure on a shared machine: on two cores the ratio
follows the worker's CPU in all three against the bare loop's in two. Then the worker sends with pacing on at a configured carrier rate, as several
senders (worker threads; on PostgreSQL also two workers sharing the rate through the
database), and the rate it held is printed against the one configured. Results and the load
average are written to bench/results/.

    .venv/bin/python bench/messaging_send.py --messages 1000 --threads 1,4
"""

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402
from bench.harness import keep  # noqa: E402
from bench.world import SIZES, build_world  # noqa: E402

logging.getLogger("alembic").setLevel(logging.WARNING)
logging.getLogger("messaging.transports").setLevel(
    logging.WARNING
)  # the world's e-mails, kept locally
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.cli import _deliver  # noqa: E402
from messaging.models import ChannelConsent, OutboxMessage  # noqa: E402
from messaging.outbox import enqueue_many  # noqa: E402
from messaging.policy import Policy, quiet_until  # noqa: E402
from messaging.transports import TwilioTransport  # noqa: E402
from roles.models import Person  # noqa: E402
from tests.messaging.fake_twilio import ACCOUNT_SID, AUTH_TOKEN  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SENDER = "+37120099999"


class RemoteFake:
    """tests/messaging/fake_twilio.py served by another process."""

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.messaging.fake_twilio"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.url = self.process.stdout.readline().strip()
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """CPU time the fake's process has used so far (user and system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCPU:
    """CPU time of the PostgreSQL backends serving database `name` on this machine, read from
    /proc every 10 ms while a side sends (the worker's connections live no longer than one
    `_deliver`, so they are sampled as they come and go); empty for SQLite. The sampling
    thread's own CPU is kept apart, so that it is not counted as the side's."""

    def __init__(self, name: str | None):
        self.title = f" {name} ".encode() if name else None
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.own = 0.0

    def sample(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
                if not title.startswith(b"postgres: ") or self.title not in title:
                    continue
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        started = time.thread_time()
        while not self.stop.wait(0.01):
            self.sample()
        self.own = time.thread_time() - started

    @contextmanager
    def measuring(self):
        """Yields a list that holds, after the block, the backends' CPU seconds in it."""
        spent: list[float] = []
        if self.title is None:
            yield spent
            return
        self.seen.clear()
        self.sample()
        before = dict(self.seen)
        sampler = threading.Thread(target=self.run, daemon=True)
        self.stop.clear()
        sampler.start()
        try:
            yield spent
        finally:
            self.stop.set()
            sampler.join()
            self.sample()
            spent.append(sum(cpu - before.get(pid, 0.0) for pid, cpu in self.seen.items()))


class Side:
    """One side's rounds: messages, seconds, and CPU seconds (ours, the fake's, the database
    server's) while it sent."""

    def __init__(self, fake, database: str | None = None):
        self.fake, self.database = fake, DatabaseCPU(database)
        self.messages = self.seconds = self.cpu = self.fake_cpu = self.server_cpu = 0.0
        self.rates: list[float] = []

    @contextmanager
    def sending(self):
        """Around the timed part only (not the enqueueing or the checks after)."""
        cpu, fake_cpu = time.process_time(), self.fake.cpu_seconds()
        with self.database.measuring() as server:
            yield
        self.cpu += time.process_time() - cpu - self.database.own
        self.fake_cpu += self.fake.cpu_seconds() - fake_cpu
        self.server_cpu += sum(server)

    def add(self, count: int, rate: float) -> None:
        self.messages += count
        self.seconds += count / rate
        self.rates.append(rate)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def cpu_ms(self) -> str:
        server = (
            f" + {self.server_cpu / self.messages * 1000:.2f} in PostgreSQL"
            if self.server_cpu
            else ""
        )
        return (
            f"{self.cpu / self.messages * 1000:.2f} ms CPU/msg here "
            f"+ {self.fake_cpu / self.messages * 1000:.2f} in the fake{server}"
        )


#: A one-segment balance message in each of the world's languages.
BODIES = {
    "lv": "Jūsu bilance: {n} punkti",
    "pl": "Twoje saldo: {n} punktów",
    "ru": "Ваш баланс: {n} баллов",
    "en": "Your balance: {n} points",
    "he": "היתרה שלך: {n} נקודות",
    "fa": "موجودی شما: {n} امتیاز",
}


def far_quiet_hours(now: datetime) -> str:
    """Ten quiet hours on the far side of the clock from `now` (UTC): local time in every
    zone of the world is UTC+0…+3:30, so the run falls outside every recipient's night."""
    start, end = (now + timedelta(hours=8)).hour, (now + timedelta(hours=18)).hour
    return f"{start:02d}:00-{end:02d}:00"


def twilio_config(fake, rate: str, quiet: str) -> dict:
    return {
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_URL": fake.url,
        "MESSAGING_SMS_RATE": Decimal(rate),
        "QUIET_HOURS": quiet,
    }


def recipients(app, world, count: int) -> list[tuple[int, str, str, str]]:
    """The first `count` of the world's staff who may get SMS: (id, phone, zone, body template)."""
    with app.app_context():
        db = get_session()
        opted_out = set(
            db.scalars(
                select(ChannelConsent.person_id).where(
                    ChannelConsent.channel == "sms", ChannelConsent.opted_out.is_(True)
                )
            )
        )
        ids = [person_id for person_id, _ in world.staff if person_id not in opted_out][:count]
        if len(ids) < count:
            raise SystemExit(f"the world has {len(ids)} staff who may get SMS, not {count}")
        people = {
            row.id: row
            for row in db.execute(
                select(Person.id, Person.phone, Person.timezone, Person.language).where(
                    Person.id.in_(ids)
                )
            )
        }
        policy = Policy.from_config(app.config)
        now = datetime.now(UTC)
        zones = {people[i].timezone for i in ids}
        assert all(quiet_until(policy, now, zone) is None for zone in zones), zones
        return [(i, people[i].phone, people[i].timezone, BODIES[people[i].language]) for i in ids]


def languages(people) -> str:
    shares = Counter(body for *_, body in people)
    by_body = {body: language for language, body in BODIES.items()}
    return ", ".join(f"{by_body[body]} {n / len(people):.0%}" for body, n in shares.most_common())


def drain(app) -> int:
    """Deliver what the world left pending (its enrolment and points notices), untimed: the
    outbox then holds their history, as a customer's does, and nothing of theirs is due."""
    with app.app_context():
        sent, failed = _deliver(limit=None, idle_seconds=0, threads=4)
        get_session().close()
    return sent + failed


def messages(people, count: int, offset: int = 0) -> list[dict]:
    return [
        {
            "person_id": person_id,
            "channel": "sms",
            "recipient": phone,
            "kind": "bench",
            "category": "transactional",
            "body": body.format(n=offset + n),
        }
        for n, (person_id, phone, _, body) in ((n, people[n % len(people)]) for n in range(count))
    ]


def in_threads(threads: int, work, count: int) -> float:
    """Seconds for `threads` threads to share `count` calls of work(n)."""
    chunks = [range(t, count, threads) for t in range(threads)]
    workers = [threading.Thread(target=lambda c=c: [work(n) for n in c]) for c in chunks]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started


def bare_loop(fake, rows: list[dict], threads: int, side: Side | None = None) -> float:
    """The same twilio client, the same fake, recipients and bodies, the same number of
    threads, no database: the ceiling for the worker."""
    client = TwilioTransport(twilio_config(fake, "0", "")).client

    def send(n):
        row = rows[n]
        client.messages.create(to=row["recipient"], from_=SENDER, body=row["body"])

    with side.sending() if side else nullcontext():
        elapsed = in_threads(threads, send, len(rows))
    return len(rows) / elapsed


def worker_rate(app, rows: list[dict], threads: int, workers: int = 1, side: Side | None = None):
    """Messages a second for `workers` workers of `threads` threads each; and the segments sent."""
    with app.app_context():
        db = get_session()
        enqueue_many(db, rows, now=datetime.now(UTC))
        db.commit()
    results = []

    def one_worker():
        with app.app_context():
            results.append(_deliver(limit=len(rows), idle_seconds=0, threads=threads))
            get_session().close()

    with side.sending() if side else nullcontext():
        elapsed = in_threads(workers, lambda _: one_worker(), workers)
    sent = sum(s for s, _ in results)
    assert sent == len(rows) and not any(f for _, f in results), results
    with app.app_context():
        db = get_session()
        table = OutboxMessage.__table__
        sent = db.execute(
            select(table.c.sent_at, table.c.segments)
            .where(table.c.kind == "bench")
            .order_by(table.c.sent_at)
        ).all()
        db.execute(table.delete().where(table.c.kind == "bench"))
        db.commit()
    segments = sum(n for _, n in sent)
    # The carrier's view: n segments at r a second span (n - the first's) / r seconds from the
    # first send to the last (the first goes at once).
    span = (sent[-1].sent_at - sent[0].sent_at).total_seconds()
    carried = (segments - sent[0].segments) / span if span else float("inf")
    return len(rows) / elapsed, segments, elapsed, carried


def run(kind: str, args, lines: list[str]) -> None:
    quiet = far_quiet_hours(datetime.now(UTC))
    with throwaway_database(kind) as url:
        upgrade_database(url)
        with RemoteFake() as fake:
            base = {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}
            app = create_app({**base, **twilio_config(fake, "0", quiet)})
            world = build_world(app, SIZES[args.size])
            people = recipients(app, world, args.people)
            drained = drain(app)
            lines.append(f"{kind}: {world.describe()}")
            lines.append(
                f"{kind}: {len(people)} recipients of its staff ({languages(people)}; "
                f"{len({zone for _, _, zone, _ in people})} zones), SMS, consent and blocks checked, "
                f"quiet hours on ({quiet} local, outside every recipient's night now); "
                f"baseline: bare client.messages.create loop, same recipients/bodies, same threads, "
                f"no database; the fake Twilio keeps connections alive for both; "
                f"the world's own {drained} pending messages delivered first, untimed"
            )
            print(lines[-2], lines[-1], sep="\n", flush=True)
            for threads in args.threads:
                # Rounds alternate which side goes first, so a change in the machine's load
                # during the run falls on both sides alike.
                # Both sides sample the database server's processes alike (the bare loop's
                # come to nothing), so the sampling costs both the same.
                database = url.rsplit("/", 1)[1] if kind == "postgresql" else None
                bare, worker = Side(fake, database), Side(fake, database)
                for round_ in range(args.rounds):
                    rows = messages(people, args.messages, offset=round_ * args.messages)
                    for side in (bare, worker) if round_ % 2 == 0 else (worker, bare):
                        if side is bare:
                            bare.add(len(rows), bare_loop(fake, rows, threads, bare))
                        else:
                            worker.add(len(rows), worker_rate(app, rows, threads, side=worker)[0])
                rounds = ", ".join(
                    f"{w / b:.2f}" for w, b in zip(worker.rates, bare.rates, strict=True)
                )
                lines.append(
                    f"{kind:10} {args.rounds}×{args.messages} messages  {threads} thread(s)  "
                    f"worker {worker.rate:>7.1f}/s  bare loop {bare.rate:>7.1f}/s  "
                    f"ratio {worker.rate / bare.rate:.2f} (target ≥ 0.80; rounds {rounds}); "
                    f"worker {worker.cpu_ms()}, bare loop {bare.cpu_ms()}; load {os.getloadavg()[0]:.2f}"
                )
                print(lines[-1], flush=True)
            app.extensions["partnerlift.engine"].dispose()
            paced_app = create_app({**base, **twilio_config(fake, args.rate, quiet)})
            # Several senders: 4 threads; on PostgreSQL two workers of 2 threads sharing the rate.
            workers, threads = (2, 2) if kind == "postgresql" else (1, 4)
            rows = messages(people, args.paced_messages)
            _, segments, elapsed, carried = worker_rate(paced_app, rows, threads, workers)
            # Including the worker's start and end (its first lease, the last answer and record).
            overall = (segments - 1) / elapsed
            rate = float(args.rate)
            lines.append(
                f"{kind:10} {args.paced_messages:>6} messages ({segments} segments) to {min(len(people), args.paced_messages)} recipients, "
                f"{workers} worker(s) × {threads} threads  configured {Decimal(args.rate)} segments/s  "
                f"held {carried:.2f}/s from first send to last, off by {abs(carried / rate - 1):.1%} (target ≤ 2%); "
                f"{overall:.2f}/s over the whole run with start and end ({abs(overall / rate - 1):.1%})"
            )
            print(lines[-1], flush=True)
            paced_app.extensions["partnerlift.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument(
        "--people", type=int, default=1000, help="Recipients among the world's staff."
    )
    parser.add_argument(
        "--size", default="realistic", choices=sorted(SIZES), help="bench/world.py size."
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="Side-by-side rounds per thread count."
    )
    parser.add_argument("--paced-messages", type=int, default=1000)
    parser.add_argument("--rate", default="20", help="Segments a second for the paced run.")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--threads", default="1,4", help="Thread counts, each run side by side.")
    parser.add_argument("--results", default=str(ROOT / "bench/results/messaging_send.md"))
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    lines = [f"# messaging_send — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()}"]
    for kind in args.databases.split(","):
        run(kind.strip(), args, lines)
    lines.append(f"load average after: {os.getloadavg()}")
    print(lines[-1])
    keep(args.results, lines)


if __name__ == "__main__":
    main()
