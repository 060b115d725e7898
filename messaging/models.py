"""The outbox: every message PartnerLift sends is first a row here.

Rows are written in the same transaction as the business change that caused them, so a
rolled-back change sends nothing; a transport later delivers pending rows and records
the outcome on the row.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, index_where_set, utcnow
from core.states import State, one_of
from roles.models import ContactChannel


class OutboxStatus(State):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class MessageChannel(State):
    """Every channel a message can go over: the ones a person may prefer, and in-app, the
    last resort, always there."""

    WHATSAPP = ContactChannel.WHATSAPP.value, _l("WhatsApp")
    SMS = ContactChannel.SMS.value, _l("SMS")
    EMAIL = ContactChannel.EMAIL.value, _l("E-mail")
    INAPP = "inapp", _l("In-app")


class MessageCategory(State):
    """How a message is treated on its way out."""

    #: Sign-in codes and replies to the person's own SMS: no quiet hours, no cap, first in the
    #: queue.
    CRITICAL = "critical"
    #: Answers to something the person did.
    TRANSACTIONAL = "transactional"
    #: Counted against the weekly cap.
    NUDGE = "nudge"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        one_of("status", OutboxStatus),
        one_of("channel", MessageChannel),
        one_of("category", MessageCategory),
        index_where_set("ix_outbox_messages_source", "source", where="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    #: E.164 number or e-mail address, fixed when the message was written.
    recipient: Mapped[str] = mapped_column(String(254))
    #: The message kind, the folder name under templates/messaging/ ("sign_in_code").
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    #: No index of its own: four values, and every query by status has a narrower one
    #: (the person, the source; pending ones `ix_outbox_messages_due`).
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    #: The transport's id for the message (Twilio's MessageSid), once accepted.
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The provider's status as last reported (queued, sent, delivered, failed…).
    provider_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(255))
    #: Higher goes first: sign-in codes jump the queue.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: After a transient failure: not before this moment (exponential backoff with jitter).
    #: No index of its own: the worker finds due messages by `ix_outbox_messages_due`, and
    #: each lease and outcome writes this column, so an index on it would cost every message.
    next_attempt_at: Mapped[datetime | None]
    category: Mapped[str] = mapped_column(
        String(16),
        default=MessageCategory.TRANSACTIONAL,
        server_default=MessageCategory.TRANSACTIONAL.value,
    )
    #: SMS segments (cost), counted when the message was written.
    segments: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: Why the message is waiting or went elsewhere (quiet hours, weekly cap, fallback).
    note: Mapped[str | None] = mapped_column(String(255))
    #: The message this one replaces after that one's channel failed permanently.
    fallback_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    #: When the provider last reported a status (API response or status callback).
    status_at: Mapped[datetime | None]
    #: In-app messages: when the person opened their inbox and saw it.
    read_at: Mapped[datetime | None]
    #: What sent it, for results and attribution: "campaign:12", "trigger:points_earned";
    #: NULL for messages that are neither (sign-in codes, welcomes).
    #: Indexed only where set (`ix_outbox_messages_source`): most messages have none, and
    #: each outcome would otherwise add an entry for them.
    source: Mapped[str | None] = mapped_column(String(64))
    #: WhatsApp: the values a Content template may ask for, by name ("points": "120"), taken
    #: from the message's context when it was written and formatted in the person's language.
    template_values: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    #: WhatsApp outside the person's 24-hour window: the approved Content template it goes
    #: by, and that template's variables as Twilio wants them ('{"1": "Anna"}').
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[str | None] = mapped_column(Text)


#: The worker's queue in the order it takes messages (`messaging.delivery._due`): a lease walks
#: it and stops after its few rows, whatever the backlog, instead of sorting every pending row.
#: Pending rows only: the sent history stays out of it.
Index(
    "ix_outbox_messages_due",
    OutboxMessage.priority.desc(),
    OutboxMessage.id,
    sqlite_where=text("status = 'pending'"),
    postgresql_where=text("status = 'pending'"),
)


class ChannelBlock(Base):
    """A channel that failed permanently for a person: not tried again blindly."""

    __tablename__ = "channel_blocks"
    __table_args__ = (UniqueConstraint("person_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    #: The provider's error code, e.g. Twilio's 21211 (invalid number) or 21610 (opted out).
    error_code: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelConsent(Base):
    """A person's consent on one channel: STOP / START by SMS, the profile page, an admin."""

    __tablename__ = "channel_consents"
    __table_args__ = (UniqueConstraint("person_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Where the change came from: "sms:STOP", "profile", "admin"…
    source: Mapped[str] = mapped_column(String(64))


class InboundMessage(Base):
    """An SMS a person sent us; MessageSid is unique so a retried webhook acts once."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default=MessageChannel.SMS)
    from_number: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    #: The command understood ("BAL", "STOP"…), or NULL for an unknown one.
    command: Mapped[str | None] = mapped_column(String(16))
    #: The TwiML reply text sent back, so a retry answers the same.
    reply: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SenderPace(Base):
    """When each sender may send next: shared by every worker, so the rate holds in total."""

    __tablename__ = "sender_paces"

    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_free_at: Mapped[datetime]


class Treatment(Base):
    """A person's assignment for a campaign or a trigger, recorded once: treated or held out.

    The held-out people (the control group) get nothing from that source; comparing what
    both groups did afterwards gives the message's uplift.
    """

    __tablename__ = "treatments"
    __table_args__ = (UniqueConstraint("source", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The same key as OutboxMessage.source: "campaign:12", "trigger:points_earned".
    source: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- triggered nudges
#
# A trigger is a domain event (points earned, a claim decided, a program offered…) or a
# daily check (inactive, points expiring, an approval still waiting) that messages the
# people concerned. Each program switches each trigger on or off (TriggerSetting; no row:
# on, with the default days). TriggerDelivery records every occasion a person was
# messaged (or held out) once, so events and the daily command never send anything twice.


class Trigger(State):
    """Every trigger; "trigger:<name>" is the source of its messages and treatments."""

    POINTS_EARNED = "points_earned", _l("Points earned: the new balance and a tip")
    CLAIM_DECIDED = "claim_decided", _l("Claim approved or rejected")
    APPROVAL_REQUEST = "approval_request", _l("Program awaits the partner's decision")
    ENROLLED = "enrolled", _l("Enrolled: their role's rule")
    INACTIVE = "inactive", _l("Inactive: one next step for their role")
    EXPIRING = "expiring", _l("Points about to expire")
    TIER_REACHED = "tier_reached", _l("Their company reached a higher tier")
    LEADERBOARD = (
        "leaderboard",
        _l("Reached the top three of their role (when the leaderboard is shown)"),
    )


class TriggerSetting(Base):
    """One program's choice for one trigger: on or off, and its number of days."""

    __tablename__ = "trigger_settings"
    __table_args__ = (
        UniqueConstraint("program_id", "trigger"),
        one_of("trigger", Trigger),
        CheckConstraint("days IS NULL OR days > 0", name="days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Inactive for, expiring within, or undecided for this many days; NULL: the default.
    days: Mapped[int | None] = mapped_column(Integer)


class Tip(Base):
    """A short "Did you know…" for a product group, in one language, kept by the channel manager.

    Points-earned messages carry one for the product group just sold or installed.
    """

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NULL: a tip about no product in particular (used when the group is unknown or has none).
    product_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_groups.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(255))
    #: A short article on the product line, if any.
    link_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product_group = relationship("ProductGroup")


class TriggerDelivery(Base):
    """A person messaged (or held out) for one occasion of a trigger: at most once."""

    __tablename__ = "trigger_deliveries"
    __table_args__ = (
        UniqueConstraint("trigger", "person_id", "occasion"),
        one_of("trigger", Trigger),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: What the message was about, unique per trigger and person: "claim:12", "program:3",
    #: "reminder:3", "since:2026-01-05" (inactive), "2025-02" (expiring points of that month).
    occasion: Mapped[str] = mapped_column(String(100))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="SET NULL"))
    #: In the control group: nothing was sent.
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The tip the message carried, so the next one is another.
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- WhatsApp
#
# WhatsApp takes free text only within 24 hours of the person's last message to us (their
# window); outside it, only a template WhatsApp approved, sent as a Twilio Content SID with
# its variables. WhatsAppWindow keeps each person's last inbound WhatsApp message; the
# registry of Content templates (ContentTemplate) is synced from Twilio's Content API.


class WhatsAppWindow(Base):
    """When a person last wrote to us on WhatsApp: their window is open for 24 hours after."""

    __tablename__ = "whatsapp_windows"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    last_inbound_at: Mapped[datetime]


class TemplateApproval(State):
    """WhatsApp's verdict on a Content template, as Twilio's approval requests report it."""

    UNSUBMITTED = "unsubmitted", _l("Not submitted")
    RECEIVED = "received", _l("Received")
    PENDING = "pending", _l("Pending")
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")
    PAUSED = "paused", _l("Paused")
    DISABLED = "disabled", _l("Disabled")
    #: No longer in the Twilio account: kept for the record, never used.
    REMOVED = "removed", _l("Removed")


class TemplateCategory(State):
    """WhatsApp's category of a template, which sets its price."""

    UTILITY = "utility", _l("Utility")
    MARKETING = "marketing", _l("Marketing")
    AUTHENTICATION = "authentication", _l("Authentication")


class ContentTemplate(Base):
    """A Twilio Content template: what message kind in which language it stands for."""

    __tablename__ = "content_templates"
    __table_args__ = (
        one_of("approval", TemplateApproval),
        one_of("category", TemplateCategory),  # NULL (not yet categorised) passes
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Twilio's Content SID ("HX…").
    content_sid: Mapped[str] = mapped_column(String(64), unique=True)
    friendly_name: Mapped[str] = mapped_column(String(255), default="")
    #: The message kind it stands for ("points_earned", "campaign"); NULL until someone says.
    kind: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Two-letter language ("lv"), from Twilio's ("lv", "en_US" → "en").
    language: Mapped[str] = mapped_column(String(8))
    #: Twilio's content type: "twilio/text", or "twilio/quick-reply" (buttons, whose taps
    #: come back as inbound messages with the button's text, the command word).
    content_type: Mapped[str] = mapped_column(
        String(32), default="twilio/text", server_default="twilio/text"
    )
    #: The message values that fill {{1}}, {{2}}…, in that order ("first_name", "points").
    variables: Mapped[list] = mapped_column(JSON, default=list)
    approval: Mapped[str] = mapped_column(String(16), default=TemplateApproval.UNSUBMITTED)
    #: Why WhatsApp rejected it, as Twilio reports.
    rejection_reason: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(16))
    #: Twilio's last change to the template, to tell a changed one at the next sync.
    updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
