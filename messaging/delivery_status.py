"""Delivery statuses the provider reports later (Twilio's status callbacks), recorded on the
outbox row. A status only ever moves forward: callbacks arrive late, twice or out of order,
and one that would move a message back (sent after delivered) changes nothing.
"""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import OutboxMessage
from messaging.outbox import record_permanent_failure, record_window_closed
from messaging.transports import PERMANENT_CODES, WINDOW_CLOSED_CODES

log = logging.getLogger(__name__)

#: How far along a message is; a callback is recorded only when it ranks higher than the
#: status already known. Statuses of inbound messages (receiving, received) rank nowhere.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
FAILED_STATUSES = frozenset({"undelivered", "failed"})


def record_delivery_status(
    session: Session, message_sid: str, status: str, error_code: str | None, *, now: datetime
) -> OutboxMessage | None:
    """Record `status` on the message Twilio knows as `message_sid`, if it moves it forward.

    The row is locked first (FOR UPDATE on PostgreSQL; SQLite writes one at a time), so two
    callbacks at once cannot both read the old status and leave the lower one last. A
    failure with a permanent error code is handled as one found at sending. Returns the
    message, or None for a MessageSid we never sent.
    """
    status = (status or "").strip().lower()
    message = session.scalar(
        select(OutboxMessage).where(OutboxMessage.provider_id == message_sid).with_for_update()
    )
    if message is None:
        log.info("status callback for an unknown message status=%s", status)
        return None
    rank = STATUS_RANK.get(status)
    if rank is None:
        log.info("status callback ignored message=%s status=%s", message.id, status[:32])
        return message
    if rank <= STATUS_RANK.get(message.provider_status or "", -1):
        return message
    message.provider_status, message.status_at = status, now
    code = (error_code or "").strip()
    if status in FAILED_STATUSES:
        # Twilio's codes are ASCII digits; "²" is a digit to str.isdigit() but not to int().
        number = int(code) if code.isascii() and code.isdigit() else None
        if number in PERMANENT_CODES:
            record_permanent_failure(session, message, str(number))
        elif number in WINDOW_CLOSED_CODES:
            record_window_closed(session, message, str(number), now=now)
        elif code:
            message.last_error = code[:255]
    session.flush()
    log.info("status callback message=%s status=%s error=%s", message.id, status, code or "-")
    return message
