"""The campaign pages and the scheduled send from the command line."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from core.db import utcnow
from messaging.campaigns.models import Campaign
from messaging.models import OutboxMessage, Treatment
from roles.permissions import Role
from tests.builders import login_as
from tests.messaging.campaigns.helpers import make_campaign


def _form(**extra):
    return {
        "name": "Install week",
        "roles": ["technician"],
        "activity": "",
        "activity_days": "30",
        "holdout_percent": "0",
        "default_language": "en",
        "body_en": "Hi {first_name}, 2x points on installs https://example.com/x",
        "body_ru": "Привет, {first_name}!",
        **extra,
    }


def test_a_channel_manager_writes_previews_and_sends_a_campaign(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post("/campaigns/new", data=_form())
    assert response.status_code == 302
    campaign = db.scalar(select(Campaign))
    assert {(v.language, v.role) for v in campaign.variants} == {("en", ""), ("ru", "")}
    page = client.get(response.location).get_data(as_text=True)
    assert "2 people" in page  # two technicians in the world
    assert "Hi Anna, 2x points on installs http://localhost/l/" in page
    assert "€0.10" in page  # two SMS segments' worth at 0.05
    response = client.post(f"/campaigns/{campaign.id}", data={"action": "send"})
    assert response.location.endswith(f"/campaigns/{campaign.id}/results")
    assert db.scalar(select(func.count(OutboxMessage.id))) == 2
    results = client.get(response.location).get_data(as_text=True)
    assert "<svg" in results and "Claims per person" in results


def test_a_campaign_form_with_problems_is_refused_with_all_of_them(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/campaigns/new", data=_form(body_en="", body_ru="Hi {nmae}", holdout_percent="10")
    )
    assert response.status_code == 400
    assert db.scalar(select(Campaign)) is None


def test_results_pages_render_in_right_to_left_languages(client, db, world):
    manager = world.people[Role.CHANNEL_MANAGER]
    manager.language = "fa"
    db.commit()
    login_as(client, manager)
    campaign = make_campaign(db, roles=("technician",))
    db.commit()
    client.post(f"/campaigns/{campaign.id}", data={"action": "send"})
    page = client.get(f"/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert 'dir="rtl"' in page and "<svg" in page
    # Laid out from the right by the geometry (no CSS flip): each bar ends at the right edge.
    bars = re.findall(r'<rect x="([\d.]+)" y="1" height="8" width="([\d.]+)"', page)
    assert len(bars) == 4 and all(float(x) + float(w) == 100 for x, w in bars)
    assert client.get("/campaigns/triggers").status_code == 200


def test_the_scheduled_campaigns_go_out_once_from_the_command(app, db, world):
    due = make_campaign(db, roles=("technician",), name="Due")
    later = make_campaign(db, roles=("technician",), name="Later")
    due.status, due.scheduled_at = "scheduled", utcnow() - timedelta(minutes=1)
    later.status, later.scheduled_at = "scheduled", utcnow() + timedelta(days=1)
    db.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["messaging", "campaigns"])
    assert first.exit_code == 0, first.output
    assert "2 messages" in first.output
    second = runner.invoke(args=["messaging", "campaigns"])
    assert second.exit_code == 0 and second.output == ""
    assert db.scalar(select(func.count(Treatment.id))) == 2
    db.refresh(later)
    assert later.status == "scheduled"
