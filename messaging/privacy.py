"""What `messaging` keeps about a person, for their data export and their erasure; and the
retention of message texts (MESSAGE_RETENTION_DAYS), which blanks them the same way.

Blanking keeps each row's kind, channel, status, times, source and person, so counts,
delivery results, campaign results and attribution stay as they were; only what was said,
and to which number or address, goes.
"""

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from messaging.conversation_models import VISIBLE_TO_PERSON, Conversation, ConversationEntry
from messaging.models import (
    ChannelBlock,
    ChannelConsent,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    WhatsAppWindow,
)
from roles.privacy import rows
from roles.signals import person_erased, person_exported


def export(_sender, *, session, person) -> dict:
    sent = session.scalars(
        select(OutboxMessage).where(OutboxMessage.person_id == person.id).order_by(OutboxMessage.id)
    )
    received = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.person_id == person.id)
        .order_by(InboundMessage.id)
    )
    consents = session.scalars(select(ChannelConsent).where(ChannelConsent.person_id == person.id))
    conversation = session.scalars(
        select(ConversationEntry)
        .where(_entries_of(person.id), ConversationEntry.kind.in_(VISIBLE_TO_PERSON))
        .order_by(ConversationEntry.id)
    )
    return {
        "conversation": rows(conversation, "at", "kind", "channel", "body"),
        "messages_to_them": rows(
            sent, "created_at", "channel", "recipient", "kind", "subject", "body", "status"
        ),
        "messages_from_them": rows(received, "received_at", "channel", "from_number", "body"),
        "consents": rows(consents, "channel", "opted_out", "changed_at", "source"),
    }


def erase(_sender, *, session, person, upload_folder) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, note="not sent: the person was erased")
        .execution_options(synchronize_session=False)
    )
    _blank_outbox(session, OutboxMessage.person_id == person.id)
    _blank_inbound(session, InboundMessage.person_id == person.id)
    _blank_entries(session, _entries_of(person.id))  # internal notes about them too
    for model in (ChannelConsent, ChannelBlock, WhatsAppWindow):
        session.execute(delete(model).where(model.person_id == person.id))


def _blank_outbox(session, *where) -> None:
    session.execute(
        update(OutboxMessage)
        .where(*where)
        .values(
            recipient="",
            subject=None,
            body="",
            note=None,
            template_values=None,
            content_variables=None,
        )
        .execution_options(synchronize_session=False)
    )


def _blank_inbound(session, *where) -> None:
    session.execute(
        update(InboundMessage)
        .where(*where)
        .values(from_number="", body="", reply="")
        .execution_options(synchronize_session=False)
    )


def _entries_of(person_id: int):
    return ConversationEntry.conversation_id.in_(
        select(Conversation.id).where(Conversation.person_id == person_id)
    )


def _blank_entries(session, *where) -> None:
    session.execute(
        update(ConversationEntry)
        .where(*where)
        .values(body="")
        .execution_options(synchronize_session=False)
    )


def _old_entries(before: datetime) -> tuple:
    return (ConversationEntry.at < before, ConversationEntry.body != "")


def _old_outbox(before: datetime) -> tuple:
    """Outgoing messages written before `before`, done with (never a pending one), not blank."""
    return (
        OutboxMessage.created_at < before,
        OutboxMessage.status != OutboxStatus.PENDING,
        or_(OutboxMessage.body != "", OutboxMessage.recipient != ""),
    )


def _old_inbound(before: datetime) -> tuple:
    return (
        InboundMessage.received_at < before,
        or_(InboundMessage.body != "", InboundMessage.from_number != ""),
    )


def count_expired_texts(session, *, before: datetime) -> tuple[int, int, int]:
    """(outgoing, incoming, conversation entries) whose texts `purge_expired_texts` would blank."""
    return (
        session.scalar(select(func.count(OutboxMessage.id)).where(*_old_outbox(before))),
        session.scalar(select(func.count(InboundMessage.id)).where(*_old_inbound(before))),
        session.scalar(select(func.count(ConversationEntry.id)).where(*_old_entries(before))),
    )


def purge_expired_texts(session, *, before: datetime, limit: int = 1000) -> tuple[int, int, int]:
    """Blank the texts and numbers of up to `limit` outgoing and `limit` incoming messages
    and `limit` conversation entries older than `before`; returns how many of each. Call
    again until all are 0 (the caller commits in between, so a large backlog never holds
    one long transaction)."""
    outgoing = session.scalars(
        select(OutboxMessage.id).where(*_old_outbox(before)).order_by(OutboxMessage.id).limit(limit)
    ).all()
    incoming = session.scalars(
        select(InboundMessage.id)
        .where(*_old_inbound(before))
        .order_by(InboundMessage.id)
        .limit(limit)
    ).all()
    if outgoing:
        _blank_outbox(session, OutboxMessage.id.in_(outgoing), *_old_outbox(before))
    entries = session.scalars(
        select(ConversationEntry.id)
        .where(*_old_entries(before))
        .order_by(ConversationEntry.id)
        .limit(limit)
    ).all()
    if incoming:
        _blank_inbound(session, InboundMessage.id.in_(incoming))
    if entries:
        _blank_entries(session, ConversationEntry.id.in_(entries))
    session.flush()
    return len(outgoing), len(incoming), len(entries)


def connect_handlers() -> None:
    person_exported.connect(export)
    person_erased.connect(erase)
