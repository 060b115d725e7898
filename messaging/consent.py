"""Consent per person and channel: nothing is sent to a channel the person opted out of."""

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from messaging.models import ChannelConsent

#: session=, person_id=, channel=, opted_out=: a person's consent on a channel changed.
consent_changed = Namespace().signal("consent-changed")


def opted_out_channels(session: Session, person_id: int) -> set[str]:
    return set(
        session.scalars(
            select(ChannelConsent.channel).where(
                ChannelConsent.person_id == person_id, ChannelConsent.opted_out.is_(True)
            )
        )
    )


def is_opted_out(session: Session, person_id: int, channel: str) -> bool:
    return channel in opted_out_channels(session, person_id)


def set_consent(
    session: Session, person_id: int, channel: str, *, opted_out: bool, source: str
) -> bool:
    """Record the person's choice on `channel`; returns whether it changed anything."""
    row = session.scalar(
        select(ChannelConsent).where(
            ChannelConsent.person_id == person_id, ChannelConsent.channel == channel
        )
    )
    if row is None:
        if not opted_out:
            return False  # consent is the default: nothing changes, nothing to record
        row = ChannelConsent(person_id=person_id, channel=channel, opted_out=False)
        session.add(row)
    if row.opted_out == opted_out:
        return False
    row.opted_out, row.changed_at, row.source = opted_out, utcnow(), source[:64]
    session.flush()
    consent_changed.send(
        None, session=session, person_id=person_id, channel=channel, opted_out=opted_out
    )
    return True


def set_stopped_channels(
    session: Session, person_id: int, offered, stopped, *, source: str
) -> None:
    """The person's choice among the `offered` channels: nothing by those in `stopped`,
    messages again by the others."""
    for channel in offered:
        set_consent(session, person_id, channel, opted_out=channel in stopped, source=source)
