"""Messages as people read them: each person's in-app inbox, and the whole outbox for admins."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from messaging.models import MessageChannel, OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class MessagePage:
    messages: list[OutboxMessage]
    total: int
    #: The ids of the page's messages that were unread until it was opened.
    unread: frozenset[int] = frozenset()


def outbox_page(session: Session, page: int, per_page: int) -> MessagePage:
    """Every outgoing message, newest first, one page of them."""
    messages = session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    total = session.scalar(select(func.count(OutboxMessage.id)))
    return MessagePage(list(messages), total)


def _inbox_of(person_id: int):
    return (
        OutboxMessage.person_id == person_id,
        OutboxMessage.channel == MessageChannel.INAPP,
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.body != "",  # blanked after MESSAGE_RETENTION_DAYS
    )


def open_inbox(
    session: Session, person_id: int, page: int, per_page: int, *, now: datetime
) -> MessagePage:
    """The person's in-app messages, newest first; the page's unread ones are marked read."""
    mine = _inbox_of(person_id)
    messages = session.scalars(
        select(OutboxMessage)
        .where(*mine)
        .order_by(OutboxMessage.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    total = session.scalar(select(func.count(OutboxMessage.id)).where(*mine))
    unread = frozenset(m.id for m in messages if m.read_at is None)
    if unread:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(unread))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
    return MessagePage(list(messages), total, unread)


def unread_count(session: Session, person_id: int) -> int:
    return session.scalar(
        select(func.count(OutboxMessage.id)).where(
            *_inbox_of(person_id), OutboxMessage.read_at.is_(None)
        )
    )
