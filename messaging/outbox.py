"""The one place that writes outbox rows, and delivery of pending rows through a transport."""

import random
from datetime import timedelta

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.orm import Session

from core.db import utcnow
from messaging.models import ChannelBlock, ChannelConsent, OutboxMessage
from messaging.pacing import Pacer
from messaging.policy import (
    PHONE_CHANNELS,
    Policy,
    address,
    cap_until,
    channel_order,
    quiet_until,
    unusable_channels,
)
from messaging.segments import count_segments
from messaging.transports import PermanentFailure, TransientFailure, Transport
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
    category: str = "transactional",
    fallback_of_id: int | None = None,
    note: str | None = None,
    source: str | None = None,
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
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def message_segments(channel: str, body: str) -> int:
    """What the message costs in SMS segments; one for every other channel."""
    return max(count_segments(body).segments, 1) if channel == "sms" else 1


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
)


def enqueue_many(session: Session, rows: list[dict], *, now, with_ids: bool = False):
    """Write many messages in one executemany (a campaign's chunk), as `enqueue` would one by one.

    Each row gives BULK_COLUMNS; segments are counted here. With `with_ids`, the rows' ids
    are drawn first and returned in the order of `rows` (for rows that others point at, such
    as tracked links): a plain executemany is pipelined by the driver, several times faster
    than an INSERT … RETURNING of the same rows.
    """
    if not rows:
        return []
    fixed = {"status": "pending", "attempts": 0, "priority": 0, "created_at": now}
    params = [
        {
            **fixed,
            **{column: row.get(column) for column in BULK_COLUMNS},
            "segments": message_segments(row["channel"], row["body"]),
        }
        for row in rows
    ]
    ids = allocate_ids(session, len(rows)) if with_ids else []
    for row, id_ in zip(params, ids, strict=False):
        row["id"] = id_
    session.connection().execute(insert(OutboxMessage.__table__), params)
    return ids


def allocate_ids(session: Session, count: int) -> list[int]:
    """`count` new outbox ids: from the sequence on PostgreSQL; on SQLite, after the highest,
    which is safe there because the transaction holds the database's one write lock."""
    if session.bind.dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('outbox_messages', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    highest = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    return list(range(highest + 1, highest + 1 + count))


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: up to 2^attempts × 5 s, at most an hour."""
    ceiling = min(5 * 2**attempts, 3600)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def _claim_next(session: Session, now) -> tuple[OutboxMessage | None, str | None]:
    """The next message due, locked so other workers skip it (SKIP LOCKED on PostgreSQL),
    with why its channel may not be used for its person (opted out, failed for good)."""
    stmt = (
        select(OutboxMessage, func.coalesce(_opted_out, _blocked))
        .where(
            OutboxMessage.status == "pending",
            (OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now),
        )
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row else (None, None)


_opted_out = (
    select(literal("opted out"))
    .where(
        ChannelConsent.person_id == OutboxMessage.person_id,
        ChannelConsent.channel == OutboxMessage.channel,
        ChannelConsent.opted_out.is_(True),
    )
    .scalar_subquery()
)
_blocked = (
    select(literal("error ") + ChannelBlock.error_code)
    .where(
        ChannelBlock.person_id == OutboxMessage.person_id,
        ChannelBlock.channel == OutboxMessage.channel,
    )
    .scalar_subquery()
)


def _wait_until(session: Session, message: OutboxMessage, policy: Policy, now):
    """(when, why) if the message must wait: the recipient's night or their weekly cap."""
    if message.category == "critical" or message.person_id is None:
        return None, None
    if message.channel in PHONE_CHANNELS and policy.quiet_start is not None:
        person = session.get(Person, message.person_id)
        until = quiet_until(policy, now, person.timezone if person else None)
        if until is not None:
            return until, "quiet hours"
    if message.category == "nudge":
        until = cap_until(session, policy, message, now)
        if until is not None:
            return until, "weekly nudge cap"
    return None, None


def deliver_next(
    session: Session,
    transport: Transport,
    *,
    now,
    max_attempts: int = 8,
    rng: random.Random | None = None,
    policy: Policy | None = None,
    pacer: Pacer | None = None,
    lease: timedelta | None = None,
) -> OutboxMessage | None:
    """Send the next due message; the caller commits at once, keeping the duplicate window small.

    A message that must wait (quiet hours, weekly cap) gets a later `next_attempt_at` and
    stays pending; one for a channel the person opted out of or that failed for good is not
    sent there but falls back to their next channel.

    With a `lease`, the message is first committed as in flight (due again only when the
    lease runs out, should this worker die), so no transaction stays open while the provider
    answers and several workers, or threads, overlap their waits; a crash then repeats a
    message only if the provider had already taken it, the same window as without a lease.
    """
    message, refused = _claim_next(session, now)
    if message is None:
        return None
    until, why = _wait_until(session, message, policy or Policy(), now)
    if until is not None:
        message.next_attempt_at, message.note = (
            until,
            f"{why}: waits until {until:%Y-%m-%d %H:%M} UTC",
        )
        session.flush()
        return message
    if refused:
        message.status = "failed"
        fall_back(session, message, refused)
        session.flush()
        return message
    message.attempts += 1
    if lease is not None:
        message.next_attempt_at = now + lease
        session.commit()
    if pacer is not None:
        pacer.wait(message)
    try:
        message.provider_id, message.provider_status = transport.send(message)
    except TransientFailure as failure:
        message.last_error = failure.code[:255]
        if message.attempts >= max_attempts:
            message.status = "failed"
        else:
            message.next_attempt_at = now + backoff(message.attempts, rng or random.Random())
    except PermanentFailure as failure:
        record_permanent_failure(session, message, failure.code)
    else:
        message.status, message.sent_at, message.last_error = "sent", utcnow(), None
        message.status_at, message.next_attempt_at = message.sent_at, None
    session.flush()
    return message


def record_permanent_failure(session: Session, message: OutboxMessage, code: str) -> None:
    """The provider refused `message` for good (at sending or by a later status callback):
    the channel is blocked for the person and the message falls back to their next one."""
    message.status, message.last_error = "failed", code[:255]
    if message.person_id is not None:
        _block(session, message.person_id, message.channel, code)
        fall_back(session, message, f"error {code}")


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
            return enqueue(
                session,
                person_id=person.id,
                channel=channel,
                recipient=address(person, channel),
                kind=message.kind,
                subject=message.subject,
                body=message.body,
                priority=message.priority,
                category=message.category,
                fallback_of_id=message.id,
                note=f"instead of {message.channel} ({reason})"[:255],
                source=message.source,
            )
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
