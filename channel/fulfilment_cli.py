"""`flask fulfilment run`: send due gift card orders to the provider and ask about placed ones.

Run it from the worker's schedule (every minute): each order is committed on its own, so a
worker killed mid-call loses at most that one try, and the next run sends the same
idempotency key again."""

import click
from flask import current_app
from flask.cli import AppGroup

from channel.fulfilment import place_next, poll_next
from channel.giftcard_provider import provider_from_config
from core.db import get_session

fulfilment_cli = AppGroup("fulfilment", help="Deliver redeemed rewards.")

#: Orders one run handles at most of each kind, so a run always ends.
BATCH = 500


@fulfilment_cli.command("run")
def run_command():
    """Place due gift card orders, then poll placed ones."""
    provider = provider_from_config(current_app.config)
    if provider is None:
        click.echo("GIFTCARD_PROVIDER_URL is not set: nothing to send.")
        return
    db = get_session()
    counts = {}
    for name, step in (("placed", place_next), ("polled", poll_next)):
        done = 0
        while done < BATCH and step(db, provider) is not None:
            db.commit()
            done += 1
        db.commit()
        counts[name] = done
    click.echo(f"{counts['placed']} order(s) sent, {counts['polled']} asked about.")
