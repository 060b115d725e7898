"""Writing, scheduling and sending campaigns: the operations the pages and the CLI call."""

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config import LANGUAGES
from core.errors import InvalidInput
from messaging.campaigns.audience import ClaimActivity, SegmentFilters
from messaging.campaigns.models import (
    Campaign,
    CampaignStatus,
    CampaignVariant,
    LinkClick,
    TrackedLink,
)
from messaging.campaigns.sending import PLACEHOLDERS, SendReport, write_campaign
from messaging.variants import sync_variants
from roles.permissions import PARTNER_ROLES

log = logging.getLogger(__name__)
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
#: A campaign may still change (be edited, scheduled or cancelled) only in these.
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


@dataclass
class CampaignDraft:
    name: str
    filters: SegmentFilters
    holdout_percent: int
    default_language: str
    #: (language, role or "") -> (subject, body); empty bodies are no variant.
    texts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


def _check(draft: CampaignDraft) -> dict:
    errors = {}
    if not draft.name.strip():
        errors["name"] = _l("Give the campaign a name.")
    if not 0 <= draft.holdout_percent <= 50:
        errors["holdout_percent"] = _l("The control group is between 0 and 50 percent.")
    if (
        draft.filters.activity not in set(ClaimActivity)
        or not 1 <= draft.filters.activity_days <= 365
    ):
        errors["activity_days"] = _l("Activity is counted over 1 to 365 days.")
    if draft.default_language not in LANGUAGES:
        errors["default_language"] = _l("Choose a language.")
    texts = {key: value for key, value in draft.texts.items() if value[1].strip()}
    if (draft.default_language, "") not in texts:
        errors["texts"] = _l("Write the message for everyone in the main language.")
    for (language, role), (_subject, body) in texts.items():
        if language not in LANGUAGES or (role and role not in PARTNER_ROLES):
            errors["texts"] = _l("Choose a language.")
        unknown = set(PLACEHOLDER.findall(body)) - set(PLACEHOLDERS)
        if unknown:
            errors["texts"] = _l(
                "Only {first_name} and {full_name} can be filled in; not %(unknown)s.",
                unknown=", ".join(sorted(unknown)),
            )
    return errors


def save_campaign(
    session: Session, draft: CampaignDraft, *, actor_id: int, campaign: Campaign | None = None
) -> Campaign:
    """Create a campaign, or change one not sent yet; every problem is reported at once."""
    errors = _check(draft)
    if campaign is not None and campaign.status not in EDITABLE:
        errors["status"] = _l("A campaign that was sent or cancelled cannot change.")
    if errors:
        raise InvalidInput(errors)
    if campaign is None:
        campaign = Campaign(
            seed=secrets.randbits(31), created_by_id=actor_id, status=CampaignStatus.DRAFT
        )
        session.add(campaign)
    campaign.name = draft.name.strip()[:200]
    campaign.filters = draft.filters.to_json()
    campaign.holdout_percent = draft.holdout_percent
    campaign.default_language = draft.default_language
    wanted = {key: value for key, value in draft.texts.items() if value[1].strip()}

    def fill(variant: CampaignVariant, subject: str | None, body: str) -> None:
        variant.subject, variant.body = (subject or "").strip()[:255], body.strip()

    sync_variants(campaign.variants, wanted, CampaignVariant, fill)
    session.flush()
    return campaign


def schedule_campaign(session: Session, campaign: Campaign, at: datetime | None, now) -> None:
    """Schedule the campaign for `at`, or take it back to a draft with None."""
    if campaign.status not in EDITABLE:
        raise InvalidInput({"status": _l("A campaign that was sent or cancelled cannot change.")})
    if at is not None and at <= now:
        raise InvalidInput({"scheduled_at": _l("Choose a time in the future, or send it now.")})
    campaign.scheduled_at = at
    campaign.status = CampaignStatus.SCHEDULED if at else CampaignStatus.DRAFT
    session.flush()


def cancel_campaign(session: Session, campaign: Campaign) -> None:
    if campaign.status not in EDITABLE:
        raise InvalidInput({"status": _l("A campaign that was sent or cancelled cannot change.")})
    campaign.status = CampaignStatus.CANCELLED
    session.flush()


def send_campaign(session: Session, campaign: Campaign, now, *, base_url: str) -> SendReport | None:
    """Send the campaign now: None if it was already sent (or cancelled) meanwhile.

    The status moves with a conditional UPDATE in the same transaction as every row written,
    so two senders at once (a click and the scheduler) send it once: the second one waits on
    the row's lock and then finds it sent.
    """
    claimed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_(EDITABLE))
        .values(status=CampaignStatus.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    session.refresh(campaign)
    report = write_campaign(session, campaign, now, base_url=base_url)
    log.info(
        "campaign %s sent: %s treated, %s held out, %s messages",
        campaign.id,
        report.treated,
        report.held_out,
        report.messages,
    )
    return report


def due_campaigns(session: Session, now) -> list[int]:
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)
            .order_by(Campaign.scheduled_at, Campaign.id)
        )
    )


def follow_link(session: Session, token: str, now) -> str | None:
    """Record a click on a tracked link; its stored target, or None for an unknown token."""
    link = session.scalar(select(TrackedLink).where(TrackedLink.token == token))
    if link is None:
        return None
    session.add(LinkClick(link_id=link.id, at=now))
    session.flush()
    return link.target_url
