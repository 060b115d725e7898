"""`flask messaging …`: deliver the outbox and read it from a terminal."""

import threading
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import event, select

from channel.postings import points_lifetime
from core.db import get_session, utcnow
from messaging.models import OutboxMessage
from messaging.outbox import deliver_next
from messaging.pacing import Pacer
from messaging.policy import Policy
from messaging.reminders import run_daily
from messaging.transports import transport_from_config

messaging_cli = AppGroup("messaging", help="Deliver and inspect outgoing messages.")


@messaging_cli.command("deliver")
@click.option("--limit", default=100, show_default=True, help="Most messages to send in this run.")
def deliver_command(limit):
    """Send due outbox messages through the configured transport, then stop."""
    sent, failed = _deliver(limit=limit, idle_seconds=0)
    click.echo(f"sent {sent}, failed {failed}")
    raise SystemExit(1 if failed else 0)


@messaging_cli.command("worker")
@click.option("--idle-seconds", default=1.0, show_default=True, help="Pause when nothing is due.")
@click.option(
    "--stop-after", default=0.0, help="Stop after this many seconds (0: run until killed)."
)
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 64),
    help="Messages in flight at once [default: MESSAGING_WORKER_THREADS].",
)
def worker_command(idle_seconds, stop_after, threads):
    """Send from the outbox continuously; run several on PostgreSQL, one on SQLite."""
    _deliver(limit=None, idle_seconds=idle_seconds, stop_after=stop_after, threads=threads)


def _relaxed_commit(_session, _transaction, connection) -> None:
    """The worker's commits need not wait for the disk: if PostgreSQL itself crashes, the last
    fraction of a second of outbox bookkeeping may be lost (a message then goes twice or a
    lease runs out), never the business data, which other transactions commit as usual."""
    connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


class _Budget:
    """How many more messages this run may take on, shared by the worker's threads."""

    def __init__(self, limit):
        self.left, self.lock = limit, threading.Lock()
        self.sent = self.failed = 0

    def take(self) -> bool:
        with self.lock:
            if self.left is None:
                return True
            if self.left <= 0:
                return False
            self.left -= 1
            return True

    def give_back(self) -> None:
        with self.lock:
            if self.left is not None:
                self.left += 1

    def count(self, message) -> None:
        with self.lock:
            self.sent += message.status == "sent"
            self.failed += message.status == "failed"


def _deliver(*, limit, idle_seconds, stop_after=0.0, threads=None):
    """Each message in its own short transactions: leased, sent, recorded.

    Several threads keep several messages in flight, so the database's work overlaps the
    provider's answers; the carrier rate is held by the pacer whatever the thread count.
    """
    app = current_app._get_current_object()
    config = app.config
    threads = threads or config["MESSAGING_WORKER_THREADS"]
    transport = transport_from_config(config)
    policy = Policy.from_config(config)
    pacer = Pacer.from_config(config, app.extensions["partnerlift.engine"])
    lease = timedelta(seconds=config["MESSAGING_LEASE_SECONDS"])
    budget, started = _Budget(limit), time.monotonic()

    def run():
        with app.app_context():
            db = get_session()
            if db.bind.dialect.name == "postgresql":
                event.listen(db, "after_begin", _relaxed_commit)
            while budget.take():
                if stop_after and time.monotonic() - started > stop_after:
                    budget.give_back()
                    return
                message = deliver_next(
                    db,
                    transport,
                    now=utcnow(),
                    max_attempts=config["MESSAGING_MAX_ATTEMPTS"],
                    policy=policy,
                    pacer=pacer,
                    lease=lease,
                )
                db.commit()
                if message is None:
                    budget.give_back()
                    if not idle_seconds:
                        return
                    time.sleep(idle_seconds)
                    continue
                budget.count(message)

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads - 1)]
    for worker in workers:
        worker.start()
    run()
    for worker in workers:
        worker.join()
    return budget.sent, budget.failed


@messaging_cli.command("outbox")
@click.option("--last", default=10, show_default=True, help="How many of the newest messages.")
def outbox_command(last):
    """Print the newest outbox messages (development: read sign-in codes here)."""
    db = get_session()
    for message in db.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(last)):
        click.echo(
            f"#{message.id} {message.created_at:%Y-%m-%d %H:%M} {message.channel} {message.recipient} [{message.status}]"
        )
        click.echo(f"    {message.body}")


@messaging_cli.command("nudges")
def nudges_command():
    """Send today's trigger messages: programs still undecided, people inactive, points
    expiring. Run it daily from cron; a second run the same day sends nothing again."""
    db = get_session()
    lifetime = points_lifetime(current_app.config["POINTS_LIFETIME_MONTHS"])
    counts = run_daily(db, utcnow(), lifetime=lifetime)
    db.commit()
    summary = ", ".join(f"{trigger} {count}" for trigger, count in counts.items())
    current_app.logger.info("daily nudges: %s", summary)
    click.echo(summary)
