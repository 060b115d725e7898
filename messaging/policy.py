"""When and where a message may go: consent, blocked channels, quiet hours, the weekly cap.

Critical messages (sign-in codes, answers to the person's own SMS) skip quiet hours and the
cap; nothing skips consent. Quiet hours apply to the channels that buzz a phone (SMS and
WhatsApp), in the recipient's own time zone; a message due at night waits until morning.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from core.bulk import in_values
from core.zones import zone_named
from messaging.models import (
    ChannelBlock,
    ChannelConsent,
    MessageCategory,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
)

#: The order a message falls back in when a channel fails for good.
FALLBACK_ORDER = tuple(MessageChannel)
PHONE_CHANNELS = frozenset({MessageChannel.SMS, MessageChannel.WHATSAPP})


@dataclass(frozen=True)
class Policy:
    quiet_start: time | None = None
    quiet_end: time | None = None
    nudges_per_week: int = 0  # 0: no cap
    #: A nudge not sent within this long after it was queued is dropped; None: kept forever.
    nudge_lifetime: timedelta | None = None

    @classmethod
    def from_config(cls, config) -> "Policy":
        start, end = parse_quiet_hours(config.get("QUIET_HOURS") or "")
        hours = int(config.get("NUDGE_LIFETIME_HOURS") or 0)
        return cls(
            start,
            end,
            int(config.get("NUDGES_PER_WEEK") or 0),
            timedelta(hours=hours) if hours > 0 else None,
        )

    def nudge_outlived(self, message: OutboxMessage, moment: datetime) -> bool:
        """Whether a nudge sent at `moment` would come later than its lifetime allows."""
        return (
            message.category == MessageCategory.NUDGE
            and self.nudge_lifetime is not None
            and moment >= message.created_at + self.nudge_lifetime
        )


def parse_quiet_hours(text: str) -> tuple[time | None, time | None]:
    """ "21:00-08:00" → (21:00, 08:00); an empty text means no quiet hours."""
    if not text.strip():
        return None, None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise RuntimeError(f"QUIET_HOURS must look like 21:00-08:00, not {text!r}") from None
    return (start, end) if start != end else (None, None)


def quiet_until(policy: Policy, now: datetime, timezone: str | None) -> datetime | None:
    """The end of the recipient's quiet hours if `now` falls inside them, else None."""
    if policy.quiet_start is None:
        return None
    local = now.astimezone(zone_named(timezone))
    start, end, clock = policy.quiet_start, policy.quiet_end, local.time()
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    else:  # over midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo).astimezone(now.tzinfo)


def cap_until(session: Session, policy: Policy, message: OutboxMessage, now: datetime):
    """When the person may get another nudge, if this week's are used up; else None."""
    if not policy.nudges_per_week or message.person_id is None:
        return None
    week_ago = now - timedelta(days=7)
    recent = session.scalars(
        select(OutboxMessage.sent_at)
        .where(
            OutboxMessage.person_id == message.person_id,
            OutboxMessage.category == MessageCategory.NUDGE,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.sent_at > week_ago,
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(policy.nudges_per_week)
    ).all()
    if len(recent) < policy.nudges_per_week:
        return None
    return recent[-1] + timedelta(days=7)


def unusable_channels(session: Session, person_id: int) -> dict[str, str]:
    """Channels not to use for the person, each with why: opted out, or failed for good."""
    return unusable_channels_among(session, [person_id]).get(person_id, {})


def unusable_channels_among(session: Session, person_ids) -> dict[int, dict[str, str]]:
    """`unusable_channels` of many people at once: {person id: {channel: why}}, for those
    with any."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = [
        *session.execute(
            select(ChannelConsent.person_id, ChannelConsent.channel, literal("opted out")).where(
                in_values(session, ChannelConsent.person_id, ids),
                ChannelConsent.opted_out.is_(True),
            )
        ),
        *session.execute(
            select(
                ChannelBlock.person_id,
                ChannelBlock.channel,
                literal("error ") + ChannelBlock.error_code,
            ).where(in_values(session, ChannelBlock.person_id, ids))
        ),
    ]
    why: dict[int, dict[str, str]] = {}
    for person_id, channel, reason in sorted(rows, key=lambda row: row[2] != "opted out"):
        why.setdefault(person_id, {}).setdefault(channel, reason)
    return why


def address(person, channel: str) -> str | None:
    if channel in PHONE_CHANNELS:
        return person.phone
    if channel == MessageChannel.EMAIL:
        return person.email
    return str(person.id)  # in-app: the person's own inbox


def channel_order(person) -> list[str]:
    """The person's preferred channel, then the ones after it in WhatsApp → SMS → e-mail → in-app."""
    preferred = person.preferred_channel
    if preferred not in FALLBACK_ORDER:
        return list(FALLBACK_ORDER)
    return list(FALLBACK_ORDER[FALLBACK_ORDER.index(preferred) :])


def usable_channels(session: Session, person, unusable: dict[str, str] | None = None) -> list[str]:
    """The person's channels in order, without the unusable ones (read when not given)."""
    if unusable is None:
        unusable = unusable_channels(session, person.id)
    return [c for c in channel_order(person) if c not in unusable and address(person, c)]
