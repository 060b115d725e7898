"""The one place that writes outbox rows, and delivery of pending rows through a transport."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from messaging.models import OutboxMessage
from messaging.transports import Transport, TransportError


def enqueue(
    session: Session,
    *,
    person_id: int | None,
    channel: str,
    recipient: str,
    kind: str,
    body: str,
    subject: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        person_id=person_id,
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=subject,
        body=body,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def deliver_pending(session: Session, transport: Transport, limit: int = 100) -> tuple[int, int]:
    """Hand pending messages to the transport, oldest first; returns (sent, failed)."""
    pending = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    for message in pending:
        message.attempts += 1
        try:
            message.provider_id = transport.send(message)
        except TransportError as error:
            message.status = "failed"
            message.last_error = str(error)[:255]
            failed += 1
        else:
            message.status = "sent"
            message.sent_at = utcnow()
            sent += 1
        session.flush()
    return sent, failed
