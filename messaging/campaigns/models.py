"""Campaigns and their variants, tracked links and their clicks.

A `Campaign` is a message a channel manager writes once per language (and, where a role
needs its own words, per role) and sends to a segment of partner staff chosen by its
filters. When it goes out, every person of the segment gets a `Treatment` row under the
campaign's source key ("campaign:<id>"): treated people get one outbox message, held-out
people (the control group, drawn at random from the recorded seed) get nothing. Links in a
message become `TrackedLink`s, one per link per message, so a click names the message and
with it the person and the source.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of


class CampaignStatus(State):
    DRAFT = "draft", _l("Draft")
    SCHEDULED = "scheduled", _l("Scheduled")
    SENT = "sent", _l("Sent")
    CANCELLED = "cancelled", _l("Cancelled")


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        one_of("status", CampaignStatus),
        CheckConstraint("holdout_percent BETWEEN 0 AND 50", name="holdout_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT, index=True)
    #: The segment: {"roles": [...], "partner_ids": [...], "tier_ids": [...], "countries":
    #: [...], "languages": [...], "program_ids": [...], "activity": "idle"|"active"|"",
    #: "activity_days": 30}; an empty list means no restriction on that dimension.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Share of the segment held out as the control group, in percent.
    holdout_percent: Mapped[int] = mapped_column(Integer, default=10)
    #: Seeds the hold-out draw, so the draw can be replayed and checked.
    seed: Mapped[int] = mapped_column(Integer)
    #: The variant for people whose language has none of its own.
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    #: When a scheduled campaign goes out (`flask messaging campaigns` sends due ones).
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    variants: Mapped[list["CampaignVariant"]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="(CampaignVariant.language, CampaignVariant.role)",
    )

    @property
    def source(self) -> str:
        return f"campaign:{self.id}"


class CampaignVariant(Base):
    """The campaign's text in one language, for every role ("") or for one role."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "language", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    #: A role value ("technician"), or "" for everyone in that language.
    role: Mapped[str] = mapped_column(String(32), default="")
    #: E-mail subject; the campaign's name when empty.
    subject: Mapped[str] = mapped_column(String(255), default="")
    #: The text, with {first_name} and {full_name} placeholders and plain http(s) links.
    body: Mapped[str] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship(back_populates="variants")


class TrackedLink(Base):
    """A link in one message: /l/<token> records a click and redirects to `target_url` only."""

    __tablename__ = "tracked_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL-safe random token, the only thing in the short link.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    target_url: Mapped[str] = mapped_column(String(2000))


class LinkClick(Base):
    __tablename__ = "link_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_links.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
