"""`flask messaging …`: deliver the outbox and read it from a terminal."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core.db import get_session
from messaging.models import OutboxMessage
from messaging.outbox import deliver_pending
from messaging.transports import transport_from_config

messaging_cli = AppGroup("messaging", help="Deliver and inspect outgoing messages.")


@messaging_cli.command("deliver")
@click.option("--limit", default=100, show_default=True, help="Most messages to send in this run.")
def deliver_command(limit):
    """Send pending outbox messages through the configured transport."""
    db = get_session()
    sent, failed = deliver_pending(db, transport_from_config(current_app.config), limit)
    db.commit()
    click.echo(f"sent {sent}, failed {failed}")
    raise SystemExit(1 if failed else 0)


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
