"""Benchmark: the outbox worker's send rate against a bare loop, and a configured rate held.

Both talk to the same local fake of Twilio's Messages API through the same real twilio
client, in one run, so the ratio (worker messages/s ÷ bare-loop messages/s) is measured side
by side on this machine. The fake runs in a process of its own, as Twilio is remote, so it
does not share the benchmark's interpreter lock. Then the worker sends with a configured carrier rate and the rate
it actually held is printed against the one configured.

    .venv/bin/python bench/messaging_send.py --messages 1000
"""

import argparse
import logging
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.databases import throwaway_database  # noqa: E402

logging.getLogger("alembic").setLevel(logging.WARNING)
from core.cli import upgrade_database  # noqa: E402
from core.db import get_session  # noqa: E402
from messaging.cli import _deliver  # noqa: E402
from messaging.outbox import enqueue  # noqa: E402
from messaging.transports import TwilioTransport  # noqa: E402
from roles.permissions import Role  # noqa: E402
from tests.builders import build_world  # noqa: E402
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


def twilio_config(fake, rate: str) -> dict:
    return {
        "MESSAGING_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_URL": fake.url,
        "MESSAGING_SMS_RATE": Decimal(rate),
        "QUIET_HOURS": "",
    }


def bare_loop(fake, count: int, to: str) -> float:
    """The same twilio client, the same fake, no database: the ceiling for the worker."""
    client = TwilioTransport(twilio_config(fake, "0")).client
    started = time.perf_counter()
    for n in range(count):
        client.messages.create(to=to, from_=SENDER, body=f"Your balance: {n} points")
    return count / (time.perf_counter() - started)


def worker_rate(app, count: int, threads: int | None = None) -> float:
    with app.app_context():
        db = get_session()
        person = db.info.get("bench_person")
        person = build_world(db).people[Role.TECHNICIAN] if person is None else person
        for n in range(count):
            enqueue(
                db,
                person_id=person.id,
                channel="sms",
                recipient=person.phone,
                kind="bench",
                body=f"Your balance: {n} points",
            )
        db.commit()
        started = time.perf_counter()
        sent, failed = _deliver(limit=count, idle_seconds=0, threads=threads)
        elapsed = time.perf_counter() - started
    assert (sent, failed) == (count, 0), (sent, failed)
    return count / elapsed


def run(kind: str, count: int, paced: int, rate: str, threads) -> None:
    with throwaway_database(kind) as url:
        upgrade_database(url)
        with RemoteFake() as fake:
            base = {"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url}
            app = create_app({**base, **twilio_config(fake, "0")})
            bare = bare_loop(fake, count, "+37120000001")
            worker = worker_rate(app, count, threads)
            threads = threads or app.config["MESSAGING_WORKER_THREADS"]
            print(
                f"{kind:10} {count:>6} messages  worker ({threads} threads) {worker:>7.1f}/s  bare loop {bare:>7.1f}/s  "
                f"ratio {worker / bare:.2f} (target ≥ 0.70)"
            )
            app.extensions["partnerlift.engine"].dispose()
            paced_app = create_app({**base, **twilio_config(fake, rate)})
            held = worker_rate(paced_app, paced, threads)
            # n messages at r a second take (n - 1) / r seconds: the first goes at once.
            held_rate = held * (paced - 1) / paced
            print(
                f"{kind:10} {paced:>6} messages  configured {Decimal(rate):>5} segments/s  "
                f"held {held_rate:>6.2f}/s  off by {abs(held_rate / float(rate) - 1):.1%} (target ≤ 10%)"
            )
            paced_app.extensions["partnerlift.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--paced-messages", type=int, default=201)
    parser.add_argument("--rate", default="20", help="Segments a second for the paced run.")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--threads", type=int, default=None, help="Worker threads (default: config)."
    )
    args = parser.parse_args()
    for kind in args.databases.split(","):
        run(kind.strip(), args.messages, args.paced_messages, args.rate, args.threads)


if __name__ == "__main__":
    main()
