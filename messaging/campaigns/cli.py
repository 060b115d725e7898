"""`flask messaging campaigns`: send the scheduled campaigns that are due."""

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import get_session, utcnow
from messaging.campaigns.models import Campaign
from messaging.campaigns.operations import due_campaigns, send_campaign


@click.command("campaigns")
@with_appcontext
def send_campaigns_command():
    """Send every scheduled campaign whose time has come; safe to run again (from cron)."""
    db = get_session()
    base_url = current_app.config["PUBLIC_URL"]
    now = utcnow()
    for campaign_id in due_campaigns(db, now):
        campaign = db.get(Campaign, campaign_id)
        report = send_campaign(db, campaign, now, base_url=base_url)
        db.commit()
        if report is not None:
            click.echo(
                f"campaign {campaign_id}: {report.messages} messages, "
                f"{report.treated} treated, {report.held_out} held out"
            )
    raise SystemExit(0)
