"""Builders for campaign tests."""

from datetime import UTC, datetime

from messaging.campaigns.audience import SegmentFilters
from messaging.campaigns.operations import CampaignDraft, save_campaign

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BASE = "https://pl.example"


def make_campaign(db, *, texts=None, holdout=0, actor=None, name="Spring push", **filters):
    draft = CampaignDraft(
        name=name,
        filters=SegmentFilters(**filters),
        holdout_percent=holdout,
        default_language="en",
        texts=texts or {("en", ""): ("", "Hello {first_name}")},
    )
    return save_campaign(db, draft, actor_id=actor.id if actor else None)
