"""The outbox: every message PartnerLift sends is first a row here.

Rows are written in the same transaction as the business change that caused them, so a
rolled-back change sends nothing; a transport later delivers pending rows and records
the outcome on the row.
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

OUTBOX_STATUSES = ("pending", "sent", "failed")
#: Every channel a message can go over; in-app is the last resort, always there.
MESSAGE_CHANNELS = ("whatsapp", "sms", "email", "inapp")
#: critical: sign-in codes and replies to the person's own SMS (no quiet hours, no cap, first
#: in the queue); transactional: answers to something the person did; nudge: counted against
#: the weekly cap.
CATEGORIES = ("critical", "transactional", "nudge")


def _one_of(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),
        CheckConstraint(_one_of("channel", MESSAGE_CHANNELS), name="channel"),
        CheckConstraint(_one_of("category", CATEGORIES), name="category"),
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
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
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
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(
        String(16), default="transactional", server_default="transactional"
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
    source: Mapped[str | None] = mapped_column(String(64), index=True)


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
    channel: Mapped[str] = mapped_column(String(16), default="sms")
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
