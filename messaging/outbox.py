"""The one place that writes outbox rows: a message, a campaign's many, and the same message
again on the next channel when one fails for good (delivery is `messaging.delivery`)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bulk import BulkWriter
from core.db import utcnow
from messaging.models import (
    ChannelBlock,
    MessageCategory,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
)
from messaging.policy import address, channel_order, unusable_channels
from messaging.segments import count_segments
from messaging.whatsapp import close_window, route
from roles.models import Person


def enqueue(
    session: Session,
    *,
    person_id: int | None,
    channel: str,
    recipient: str,
    kind: str,
    body: str,
    subject: str | None = None,
    priority: int = 0,
    category: str = MessageCategory.TRANSACTIONAL,
    fallback_of_id: int | None = None,
    note: str | None = None,
    source: str | None = None,
    template_values: dict | None = None,
    content_sid: str | None = None,
    content_variables: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        person_id=person_id,
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=subject,
        body=body,
        priority=priority,
        category=category,
        segments=message_segments(channel, body),
        fallback_of_id=fallback_of_id,
        note=note,
        source=source,
        template_values=template_values,
        content_sid=content_sid,
        content_variables=content_variables,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def message_segments(channel: str, body: str) -> int:
    """What the message costs in SMS segments; one for every other channel."""
    return max(count_segments(body).segments, 1) if channel == MessageChannel.SMS else 1


#: The columns `enqueue_many` fills from each row; the rest take the same defaults as `enqueue`.
BULK_COLUMNS = (
    "person_id",
    "channel",
    "recipient",
    "kind",
    "subject",
    "body",
    "category",
    "source",
    "template_values",
)


def enqueue_many(session: Session, rows: list[dict], *, now, with_ids: bool = False):
    """Write many messages at once (a campaign's chunk, an import's nudges), as `enqueue`
    would one by one: by COPY on PostgreSQL, one executemany on SQLite (`core.bulk`).

    Each row gives BULK_COLUMNS; segments are counted here. With `with_ids`, the rows' ids
    are drawn first and returned in the order of `rows` (for rows that others point at, such
    as tracked links).
    """
    if not rows:
        return []
    table = OutboxMessage.__table__
    writer = BulkWriter(session)
    columns = (*BULK_COLUMNS, "segments")
    values = [
        (
            *(row.get(column) for column in BULK_COLUMNS),
            message_segments(row["channel"], row["body"]),
        )
        for row in rows
    ]
    ids = []
    if with_ids:
        ids = writer.next_ids(table, len(rows))
        columns += ("id",)
        values = [(*row, id_) for row, id_ in zip(values, ids, strict=True)]
    writer.insert_values(
        table,
        columns,
        values,
        constants={
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "priority": 0,
            "created_at": now,
        },
    )
    return ids


def record_permanent_failure(session: Session, message: OutboxMessage, code: str) -> None:
    """The provider refused `message` for good (at sending or by a later status callback):
    the channel is blocked for the person and the message falls back to their next one."""
    message.status, message.last_error = OutboxStatus.FAILED, code[:255]
    if message.person_id is not None:
        _block(session, message.person_id, message.channel, code)
        fall_back(session, message, f"error {code}")


def record_window_closed(session: Session, message: OutboxMessage, code: str, *, now) -> None:
    """WhatsApp refused `message` because the person's window had closed (63016): nothing
    is blocked. The same message goes again by an approved template, or, with none, by the
    person's next channel; and the window we knew of is forgotten."""
    message.status, message.last_error = OutboxStatus.FAILED, code[:255]
    if message.person_id is None:
        return
    close_window(session, message.person_id, message.sent_at or now)
    person = session.get(Person, message.person_id)
    if message.content_sid or person is None:  # refused as a template too: not by WhatsApp
        fall_back(session, message, f"error {code}")
        return
    chosen = route(session, message, person.language, now, closed=True)
    if chosen.template is None:
        fall_back(session, message, f"error {code}, {chosen.note}")
        return
    message.note = f"error {code}: sent again by template {chosen.template.content_sid}"
    _again(
        session,
        message,
        message.channel,
        message.recipient,
        chosen.note,
        template_values=message.template_values,
        content_sid=chosen.template.content_sid,
        content_variables=chosen.variables,
    )


def _again(session: Session, message: OutboxMessage, channel, recipient, note, **more):
    """The same message once more, on `channel`, in place of `message`."""
    return enqueue(
        session,
        person_id=message.person_id,
        channel=channel,
        recipient=recipient,
        kind=message.kind,
        subject=message.subject,
        body=message.body,
        priority=message.priority,
        category=message.category,
        fallback_of_id=message.id,
        note=note[:255],
        source=message.source,
        **more,
    )


def fall_back(session: Session, message: OutboxMessage, reason: str) -> OutboxMessage | None:
    """Write the same message for the person's next usable channel after this one."""
    person = session.get(Person, message.person_id)
    if person is None:
        message.note = f"not sent: {reason}"[:255]
        return None
    order = channel_order(person)
    later = order[order.index(message.channel) + 1 :] if message.channel in order else order
    unusable = unusable_channels(session, person.id)
    for channel in later:
        if channel not in unusable and address(person, channel):
            message.note = f"{message.channel} {reason}: sent by {channel} instead"[:255]
            note = f"instead of {message.channel} ({reason})"
            return _again(session, message, channel, address(person, channel), note)
    message.note = f"{message.channel} {reason}: no other channel left"[:255]
    return None


def _block(session: Session, person_id: int, channel: str, code: str) -> None:
    exists = session.scalar(
        select(ChannelBlock).where(
            ChannelBlock.person_id == person_id, ChannelBlock.channel == channel
        )
    )
    if exists is None:
        session.add(ChannelBlock(person_id=person_id, channel=channel, error_code=code[:32]))
        session.flush()
    else:
        exists.error_code, exists.at = code[:32], utcnow()
