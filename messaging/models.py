"""The outbox: every message PartnerLift sends is first a row here.

Rows are written in the same transaction as the business change that caused them, so a
rolled-back change sends nothing; a transport later delivers pending rows and records
the outcome on the row.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

OUTBOX_STATUSES = ("pending", "sent", "failed")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in OUTBOX_STATUSES) + ")", name="status"
        ),
        CheckConstraint("channel IN ('sms', 'whatsapp', 'email')", name="channel"),
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
