"""`flask messaging …`: deliver the outbox and read it from a terminal."""

import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core.db import get_session, utcnow
from messaging.models import OutboxMessage
from messaging.outbox import deliver_next
from messaging.pacing import Pacer
from messaging.policy import Policy
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
def worker_command(idle_seconds, stop_after):
    """Send from the outbox continuously; run several on PostgreSQL, one on SQLite."""
    _deliver(limit=None, idle_seconds=idle_seconds, stop_after=stop_after)


def _deliver(*, limit, idle_seconds, stop_after=0.0):
    """One message per transaction: committed right after the provider took it."""
    config = current_app.config
    transport = transport_from_config(config)
    policy = Policy.from_config(config)
    pacer = Pacer.from_config(config, current_app.extensions["partnerlift.engine"])
    db = get_session()
    started, sent, failed = time.monotonic(), 0, 0
    while limit is None or sent + failed < limit:
        if stop_after and time.monotonic() - started > stop_after:
            break
        message = deliver_next(
            db,
            transport,
            now=utcnow(),
            max_attempts=config["MESSAGING_MAX_ATTEMPTS"],
            policy=policy,
            pacer=pacer,
        )
        db.commit()
        if message is None:
            if not idle_seconds:
                break
            time.sleep(idle_seconds)
            continue
        sent += message.status == "sent"
        failed += message.status == "failed"
    return sent, failed


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
