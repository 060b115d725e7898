"""Conversations: what a person writes to us that is not a command, and what we answer.

Each person has one conversation, kept for good: it is open while someone should answer and
done when answered; a new message from the person opens it again, so the whole thread stays
one (on their phone too). Its entries are the person's messages (SMS, WhatsApp or "Ask us"
on the phone), our replies, the automatic acknowledgement, and internal notes that are
never sent. A person's conversation is unique in the database, and the day of its last
acknowledgement is set by a conditional update, so two messages at once make one
conversation and at most one acknowledgement a day.

Messages from numbers we do not know open no conversation: they stay inbound messages with
no person, shown to the manufacturer's people only.
"""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of
from messaging.models import MessageChannel


class ConversationStatus(State):
    OPEN = "open", _l("Open")
    DONE = "done", _l("Done")


class EntryKind(State):
    """Who wrote an entry of a conversation, and whether the person sees it."""

    FROM_PERSON = "person", _l("Message")
    REPLY = "reply", _l("Reply")
    ACKNOWLEDGEMENT = "ack", _l("Automatic acknowledgement")
    #: Internal: for the people working the inbox, never sent or shown to the person.
    NOTE = "note", _l("Internal note")


#: The entries the person sees in their thread.
VISIBLE_TO_PERSON = (EntryKind.FROM_PERSON, EntryKind.REPLY, EntryKind.ACKNOWLEDGEMENT)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        one_of("status", ConversationStatus),
        one_of("last_channel", MessageChannel),
        CheckConstraint("unread >= 0", name="unread_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default=ConversationStatus.OPEN, index=True)
    #: The colleague who answers it; NULL: anyone.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    #: The person's messages nobody working the inbox has opened yet (shared by the team).
    unread: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The channel the person last wrote from: a reply goes back on it.
    last_channel: Mapped[str] = mapped_column(String(16))
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: When it was last opened (first message, or a message after it was done).
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    #: The person's own day of the last automatic acknowledgement: one a day at most.
    acknowledged_on: Mapped[date | None]

    person = relationship("Person", foreign_keys=[person_id])
    assignee = relationship("Person", foreign_keys=[assignee_id])


class ConversationEntry(Base):
    __tablename__ = "conversation_entries"
    __table_args__ = (
        one_of("kind", EntryKind),
        one_of("channel", MessageChannel),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    #: The person's messages: where they wrote from; replies and acknowledgements: where
    #: they went; notes: in-app.
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    #: Who wrote a reply or a note; NULL for the person's own messages and acknowledgements.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    #: The SMS or WhatsApp message this entry is (its MessageSid is unique there).
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL"), unique=True
    )
    #: The outbox row that carries a reply or an acknowledgement.
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    author = relationship("Person", foreign_keys=[author_id])
    outbox_message = relationship("OutboxMessage")
