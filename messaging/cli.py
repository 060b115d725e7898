"""`flask messaging …`: deliver the outbox and read it from a terminal."""

import threading
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import click
import requests
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from twilio.base.exceptions import TwilioException

from channel.expiry import points_lifetime
from core.db import get_session, make_engine, utcnow
from messaging.content_templates import apply_sync, fetch_templates, message_kinds
from messaging.delivery import OutcomeWriter, lease_due, record_outcome, send_one
from messaging.models import MessageChannel, OutboxMessage, OutboxStatus
from messaging.pacing import Pacer
from messaging.policy import Policy
from messaging.privacy import count_expired_texts, purge_expired_texts
from messaging.reminders import run_daily
from messaging.transports import transport_from_config, twilio_client

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

    def take(self, wanted: int) -> int:
        with self.lock:
            if self.left is None:
                return wanted
            granted = max(min(wanted, self.left), 0)
            self.left -= granted
            return granted

    def give_back(self, count: int) -> None:
        with self.lock:
            if self.left is not None:
                self.left += count

    def count(self, status: str) -> None:
        with self.lock:
            self.sent += status == OutboxStatus.SENT
            self.failed += status == OutboxStatus.FAILED


def _deliver(*, limit, idle_seconds, stop_after=0.0, threads=None):
    """Messages leased a few at a time in one short transaction, each sent with no
    transaction open and its outcome committed right after the provider answers.

    Several threads keep several messages in flight, so the database's work overlaps the
    provider's answers; the carrier rate is held by the pacer whatever the thread count.
    When SMS is paced, a thread leases one message at a time, so a sign-in code never waits
    behind a thread's batch of paced messages.
    """
    app = current_app._get_current_object()
    config = app.config
    threads = threads or config["MESSAGING_WORKER_THREADS"]
    transport = transport_from_config(config)
    policy = Policy.from_config(config)
    pacer = Pacer.from_config(config, app.extensions["partnerlift.engine"])
    lease = timedelta(seconds=config["MESSAGING_LEASE_SECONDS"])
    batch = 1 if pacer.rates.get(MessageChannel.SMS) else config["MESSAGING_LEASE_BATCH"]
    max_attempts = config["MESSAGING_MAX_ATTEMPTS"]
    budget, started = _Budget(limit), time.monotonic()

    def run():
        with app.app_context():
            db = get_session()
            if not isinstance(db.bind, Engine):  # bound to one connection, as in the tests
                if db.bind.dialect.name == "postgresql":
                    event.listen(db, "after_begin", _relaxed_commit)
                _work(db, None)
                return
            # The thread keeps two connections for its life: one for its leases (no pool
            # check-out, ping and reset around each lease) and one for the outcomes, each a
            # precompiled UPDATE in autocommit: one statement, one round trip.
            with own_engine.connect() as leases, own_engine.connect() as outcomes:
                if own_engine.dialect.name == "postgresql":
                    leases.exec_driver_sql("SET synchronous_commit TO OFF")
                    leases.commit()
                    outcomes = outcomes.execution_options(isolation_level="AUTOCOMMIT")
                    outcomes.exec_driver_sql("SET synchronous_commit TO OFF")
                    outcomes.commit()
                own = app.extensions["partnerlift.sessionmaker"](bind=leases)
                writer = OutcomeWriter(outcomes)
                try:
                    _work(own, writer)
                finally:
                    writer.close()
                    own.close()

    def _work(db, recorder):
        while granted := budget.take(batch):
            if stop_after and time.monotonic() - started > stop_after:
                budget.give_back(granted)
                return
            with writes:
                flights, handled = lease_due(
                    db,
                    now=utcnow(),
                    policy=policy,
                    lease=lease,
                    limit=granted,
                    autocommit=recorder.connection if recorder else None,
                )
            budget.give_back(granted - handled)
            for _ in range(handled - len(flights)):
                budget.count("deferred")  # waiting, or gone to another channel
            for flight in flights:
                pacer.wait(flight)
                outcome = send_one(transport, flight)
                # A permanent failure falls back to another channel: that takes the session.
                if recorder is None or outcome[0] in ("permanent", "window"):
                    with writes:
                        status = record_outcome(db, flight, outcome, max_attempts=max_attempts)
                        db.commit()
                else:
                    with writes:  # committed when it returns, before the next message goes
                        status = record_outcome(
                            recorder, flight, outcome, max_attempts=max_attempts
                        )
                budget.count(status)
            if not handled:
                if not idle_seconds:
                    return
                time.sleep(idle_seconds)

    engine = app.extensions["partnerlift.engine"]
    # SQLite writes one transaction at a time: the threads take turns on a lock of ours,
    # which wakes the next at once, rather than in SQLite's busy handler, which sleeps
    # (1, 2, 5, 10… ms) between tries. PostgreSQL's threads write side by side.
    writes = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
    # The threads' connections are opened for them, outside the app's pool (which is sized
    # for requests, not for two connections held by each of the worker's threads).
    in_memory = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
    own_engine = (
        engine
        if in_memory
        else make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    )
    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads - 1)]
    try:
        for worker in workers:
            worker.start()
        run()
        for worker in workers:
            worker.join()
    finally:
        if own_engine is not engine:
            own_engine.dispose()
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


@messaging_cli.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep texts this many days [default: MESSAGE_RETENTION_DAYS].",
)
def purge_command(days):
    """Blank the texts and numbers of messages older than the retention period (never one
    still waiting to be sent); counts, statuses and campaign results stay. Run it daily."""
    days = days or current_app.config["MESSAGE_RETENTION_DAYS"]
    if not days:
        click.echo("MESSAGE_RETENTION_DAYS is 0: message texts are kept; nothing blanked.")
        return
    db = get_session()
    before = utcnow() - timedelta(days=days)
    expired = count_expired_texts(db, before=before)
    done = [0, 0, 0]
    with click.progressbar(length=sum(expired), label="Blanking message texts") as bar:
        while any(batch := purge_expired_texts(db, before=before)):
            db.commit()
            done = [sum(pair) for pair in zip(done, batch, strict=True)]
            bar.update(sum(batch))
    current_app.logger.info(
        "message retention: %s outgoing and %s incoming messages, %s conversation entries blanked",
        *done,
    )
    click.echo(
        f"blanked {done[0]} outgoing and {done[1]} incoming messages, {done[2]} conversation "
        f"entries, from before {before:%Y-%m-%d %H:%M} UTC"
    )


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


templates_cli = AppGroup("templates", help="WhatsApp's Content templates, from Twilio.")
messaging_cli.add_command(templates_cli)


@templates_cli.command("sync")
def templates_sync_command():
    """Read every Content template in the Twilio account and WhatsApp's verdict on each;
    add new ones, update changed and rejected ones, mark removed ones. Exit code 1 when no
    Twilio account is configured or Twilio cannot be reached (nothing is changed then)."""
    config = current_app.config
    if not config.get("TWILIO_ACCOUNT_SID") or not config.get("TWILIO_AUTH_TOKEN"):
        click.echo("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set", err=True)
        raise SystemExit(1)
    try:
        fetched = fetch_templates(twilio_client(config))
    except (TwilioException, requests.RequestException) as error:
        click.echo(f"Twilio's Content API did not answer: {type(error).__name__}", err=True)
        raise SystemExit(1) from None
    db = get_session()
    kinds = message_kinds(Path(current_app.root_path) / current_app.template_folder)
    report = apply_sync(db, fetched, kinds, utcnow())
    db.commit()
    current_app.logger.info(
        "templates sync: %s new, %s changed, %s rejected, %s removed",
        len(report.new),
        len(report.changed),
        len(report.rejected),
        len(report.removed),
    )
    click.echo(
        f"new {len(report.new)}, changed {len(report.changed)}, rejected "
        f"{len(report.rejected)}, removed {len(report.removed)}, unchanged {report.unchanged}"
    )
