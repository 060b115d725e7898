"""`flask seed-demo`: load the demo data set."""

import click
from flask import current_app
from flask.cli import with_appcontext

from channel.demo import DEMO_PASSWORD, seed_demo
from core.db import get_session
from roles.auth import make_password_hasher


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo manufacturer, partners and staff (safe to run again)."""
    db = get_session()
    created = seed_demo(db, make_password_hasher(current_app.config).hash(DEMO_PASSWORD))
    db.commit()
    click.echo("demo loaded: " + ", ".join(f"{n} new {k}" for k, n in created.items()))
