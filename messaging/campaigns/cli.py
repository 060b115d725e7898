"""`flask messaging campaigns`: send the scheduled campaigns that are due."""

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import get_session, utcnow
from messaging.campaigns.models import Campaign
from messaging.campaigns.operations import due_campaigns, send_campaign
from messaging.campaigns.sending import LINK


@click.command("campaigns")
@with_appcontext
def send_campaigns_command():
    """Send every scheduled campaign whose time has come; safe to run again (from cron).

    Exits 1 when a campaign with links could not go because PUBLIC_URL is not set.
    """
    db = get_session()
    base_url = current_app.config["PUBLIC_URL"] or ""
    now, stuck = utcnow(), False
    for campaign_id in due_campaigns(db, now):
        campaign = db.get(Campaign, campaign_id)
        if not base_url and any(LINK.search(v.body) for v in campaign.variants):
            click.echo(f"campaign {campaign_id}: has links; set PUBLIC_URL to send it", err=True)
            stuck = True
            continue
        report = send_campaign(db, campaign, now, base_url=base_url)
        db.commit()
        if report is not None:
            click.echo(
                f"campaign {campaign_id}: {report.messages} messages, "
                f"{report.treated} treated, {report.held_out} held out"
            )
    raise SystemExit(1 if stuck else 0)
