"""The one place that writes outbox rows, and delivery of pending rows through a transport."""

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from messaging.models import ChannelBlock, OutboxMessage
from messaging.transports import PermanentFailure, TransientFailure, Transport


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
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: up to 2^attempts × 5 s, at most an hour."""
    ceiling = min(5 * 2**attempts, 3600)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def _claim_next(session: Session, now):
    """The next message due, locked so other workers skip it (SKIP LOCKED on PostgreSQL)."""
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            (OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now),
        )
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalar(stmt)


def deliver_next(
    session: Session,
    transport: Transport,
    *,
    now,
    max_attempts: int = 8,
    rng: random.Random | None = None,
) -> OutboxMessage | None:
    """Send the next due message; the caller commits at once, keeping the duplicate window small."""
    message = _claim_next(session, now)
    if message is None:
        return None
    message.attempts += 1
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
    session.flush()
    return message


def record_permanent_failure(session: Session, message: OutboxMessage, code: str) -> None:
    """The provider refused `message` for good (at sending or by a later status callback)."""
    message.status, message.last_error = "failed", code[:255]
    if message.person_id is not None:
        _block(session, message.person_id, message.channel, code)


def _block(session: Session, person_id: int, channel: str, code: str) -> None:
    exists = session.scalar(
        select(ChannelBlock).where(
            ChannelBlock.person_id == person_id, ChannelBlock.channel == channel
        )
    )
    if exists is None:
        session.add(ChannelBlock(person_id=person_id, channel=channel, error_code=code[:32]))
    else:
        exists.error_code, exists.at = code[:32], utcnow()


def deliver_pending(session: Session, transport: Transport, limit: int = 100) -> tuple[int, int]:
    """Send up to `limit` due messages (flushing each); returns (sent, failed)."""
    sent = failed = 0
    for _ in range(limit):
        message = deliver_next(session, transport, now=utcnow())
        if message is None:
            break
        sent += message.status == "sent"
        failed += message.status == "failed"
    return sent, failed
