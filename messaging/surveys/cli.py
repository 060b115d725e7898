"""`flask messaging surveys`: the hourly round of surveys — expiry, the one reminder, and the
"inactive" surveys to people who stopped claiming."""

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import get_session, utcnow
from messaging.surveys.dialogue import DialogueSettings, expire_and_remind
from messaging.surveys.triggers import invite_inactive, links_from_config


@click.command("surveys")
@with_appcontext
def surveys_command():
    """Expire invitations past their survey's close, send due reminders (one each) and invite
    people idle for an "inactive" survey's days; safe to run again (from cron)."""
    config = current_app.config
    links = links_from_config(config)
    settings = DialogueSettings(tuple(config["LANGUAGES"]), config["BABEL_DEFAULT_LOCALE"], links)
    db = get_session()
    now = utcnow()
    tick = expire_and_remind(db, now, settings)
    db.commit()
    invited = invite_inactive(db, now, links=links)
    db.commit()
    click.echo(
        f"surveys: {tick.expired} expired, {tick.reminded} reminded, {tick.closed} closed, "
        f"{invited.invited} invited for inactivity ({invited.held_out} held out)"
    )
    raise SystemExit(0)
