"""Results of any message source ("campaign:12", "trigger:points_earned"): delivery, clicks,
replies, opt-outs and claims attributed to it, and its uplift against its control group.

Attribution: a reply, an opt-out or a claim by a person within ATTRIBUTION_WINDOW_DAYS after
the first message the source sent them counts for the source (a person messaged by two
sources counts for both). Uplift compares everyone assigned to the treated group with the
held-out group over the N days after each person's assignment (intention to treat: a
treated person whose message never arrived still counts as treated).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, literal, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from channel.claim_models import Claim, ClaimStatus
from channel.ledger import EntryKind, LedgerEntry
from core.db import UTCDateTime
from messaging.campaigns.models import Campaign, CampaignStatus, LinkClick, TrackedLink
from messaging.campaigns.uplift import GroupStats, Uplift, uplift
from messaging.conversation_models import ConversationEntry
from messaging.models import (
    ChannelConsent,
    InboundMessage,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
    Treatment,
)
from roles.models import Person


class plus_days(ColumnElement):
    """`moment + days` in SQL, on PostgreSQL and SQLite alike."""

    inherit_cache = True
    type = UTCDateTime()

    def __init__(self, moment, days: int):
        self.moment, self.days = moment, int(days)


@compiles(plus_days, "postgresql")
def _plus_days_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.moment, **kw)} + make_interval(days => {element.days}))"


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    # The same text form SQLAlchemy stores (microseconds; SQLite keeps milliseconds).
    moment = compiler.process(element.moment, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f000', {moment}, '+{element.days} days')"


@dataclass(frozen=True)
class Delivery:
    messages: int
    pending: int
    sent: int
    delivered: int
    failed: int
    #: Read (WhatsApp's read receipts; in-app messages the person opened), counted within
    #: delivered.
    read: int


@dataclass(frozen=True)
class Engagement:
    people_messaged: int
    clicked: int
    replied: int
    opted_out: int
    #: Claims made within the window, and by how many people.
    claims: int
    claimants: int


@dataclass(frozen=True)
class Results:
    source: str
    treated: int
    held_out: int
    delivery: Delivery
    engagement: Engagement
    claims: Uplift
    points: Uplift
    window_days: int
    uplift_days: int


def delivery(session: Session, source: str, partner_id: int | None = None) -> Delivery:
    """What became of the source's messages; with `partner_id`, of those to its people only."""
    delivered = or_(
        OutboxMessage.provider_status.in_(("delivered", "read")),
        and_(
            OutboxMessage.channel == MessageChannel.INAPP, OutboxMessage.status == OutboxStatus.SENT
        ),
    )
    failed = or_(
        OutboxMessage.status == OutboxStatus.FAILED,
        OutboxMessage.provider_status.in_(("failed", "undelivered")),
    )
    read = or_(
        OutboxMessage.provider_status == "read",
        and_(OutboxMessage.channel == MessageChannel.INAPP, OutboxMessage.read_at.is_not(None)),
    )
    row = session.execute(
        select(
            func.count(OutboxMessage.id),
            func.count(case((OutboxMessage.status == OutboxStatus.PENDING, 1))),
            func.count(case((OutboxMessage.status == OutboxStatus.SENT, 1))),
            func.count(case((delivered, 1))),
            func.count(case((failed, 1))),
            func.count(case((read, 1))),
        ).where(
            OutboxMessage.source == source,
            OutboxMessage.person_id.in_(select(Person.id).where(Person.partner_id == partner_id))
            if partner_id is not None
            else true(),
        )
    ).one()
    return Delivery(*row)


def _first_messages(source: str):
    """Each person's first message from the source that went out, and when."""
    return (
        select(
            OutboxMessage.person_id.label("person_id"),
            func.min(OutboxMessage.sent_at).label("at"),
        )
        .where(
            OutboxMessage.source == source,
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.person_id.is_not(None),
        )
        .group_by(OutboxMessage.person_id)
        .subquery()
    )


def engagement(session: Session, source: str, window_days: int) -> Engagement:
    first = _first_messages(source)
    until = plus_days(first.c.at, window_days)

    def people(model, person, moment, *more):
        return session.scalar(
            select(func.count(distinct(first.c.person_id))).join(
                model,
                and_(person == first.c.person_id, moment >= first.c.at, moment < until, *more),
            )
        )

    clicked = session.scalar(
        select(func.count(distinct(OutboxMessage.person_id)))
        .select_from(LinkClick)
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .join(OutboxMessage, OutboxMessage.id == TrackedLink.message_id)
        .where(OutboxMessage.source == source)
    )
    claims, claimants = session.execute(
        select(func.count(Claim.id), func.count(distinct(Claim.person_id))).join(
            first,
            and_(
                Claim.person_id == first.c.person_id,
                Claim.created_at >= first.c.at,
                Claim.created_at < until,
                Claim.status != ClaimStatus.REJECTED,
            ),
        )
    ).one()
    return Engagement(
        people_messaged=session.scalar(select(func.count()).select_from(first)),
        clicked=clicked,
        replied=people(InboundMessage, InboundMessage.person_id, InboundMessage.received_at),
        opted_out=people(
            ChannelConsent,
            ChannelConsent.person_id,
            ChannelConsent.changed_at,
            ChannelConsent.opted_out.is_(True),
        ),
        claims=claims,
        claimants=claimants,
    )


@dataclass(frozen=True)
class Reply:
    """A message counted as a reply to a source, and where it can be read and answered."""

    received_at: datetime
    channel: str
    body: str
    #: The command it was ("STOP", "BAL"…); None for text a person reads.
    command: str | None
    person_name: str
    #: The conversation it landed in; None for a command.
    conversation_id: int | None


def replies(session: Session, source: str, window_days: int, limit: int) -> list[Reply]:
    """The newest `limit` of the messages `engagement` counts as replies to the source."""
    first = _first_messages(source)
    rows = session.execute(
        select(
            InboundMessage.received_at,
            InboundMessage.channel,
            InboundMessage.body,
            InboundMessage.command,
            Person.full_name,
            ConversationEntry.conversation_id,
        )
        .join(
            first,
            and_(
                InboundMessage.person_id == first.c.person_id,
                InboundMessage.received_at >= first.c.at,
                InboundMessage.received_at < plus_days(first.c.at, window_days),
            ),
        )
        .join(Person, Person.id == InboundMessage.person_id)
        .outerjoin(ConversationEntry, ConversationEntry.inbound_message_id == InboundMessage.id)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    return [Reply(*row) for row in rows]


def _group_stats(session: Session, per_person) -> dict[bool, GroupStats]:
    """Count, sum and sum of squares of `per_person` (a subquery: treatment id, held_out, x)."""
    rows = session.execute(
        select(
            per_person.c.held_out,
            func.count(),
            func.coalesce(func.sum(per_person.c.x), 0),
            func.coalesce(func.sum(per_person.c.x * per_person.c.x), 0),
        ).group_by(per_person.c.held_out)
    ).all()
    stats = {True: GroupStats(0, 0, 0), False: GroupStats(0, 0, 0)}
    for held_out, n, total, squares in rows:
        stats[bool(held_out)] = GroupStats(int(n), int(total), int(squares))
    return stats


def uplifts(session: Session, source: str, days: int) -> tuple[Uplift, Uplift]:
    """(claims per person, points earned per person), treated against held out."""
    until = plus_days(Treatment.at, days)
    claims = (
        select(Treatment.id, Treatment.held_out, func.count(Claim.id).label("x"))
        .outerjoin(
            Claim,
            and_(
                Claim.person_id == Treatment.person_id,
                Claim.created_at >= Treatment.at,
                Claim.created_at < until,
                Claim.status != ClaimStatus.REJECTED,
            ),
        )
        .where(Treatment.source == source)
        .group_by(Treatment.id, Treatment.held_out)
        .subquery()
    )
    points = (
        select(
            Treatment.id,
            Treatment.held_out,
            func.coalesce(func.sum(LedgerEntry.points), literal(0)).label("x"),
        )
        .outerjoin(
            LedgerEntry,
            and_(
                LedgerEntry.person_id == Treatment.person_id,
                LedgerEntry.kind == EntryKind.EARN,
                LedgerEntry.created_at >= Treatment.at,
                LedgerEntry.created_at < until,
            ),
        )
        .where(Treatment.source == source)
        .group_by(Treatment.id, Treatment.held_out)
        .subquery()
    )
    by_claims = _group_stats(session, claims)
    by_points = _group_stats(session, points)
    return uplift(by_claims[False], by_claims[True]), uplift(by_points[False], by_points[True])


def results(session: Session, source: str, *, window_days: int, uplift_days: int) -> Results:
    counts = dict(
        session.execute(
            select(Treatment.held_out, func.count())
            .where(Treatment.source == source)
            .group_by(Treatment.held_out)
        ).all()
    )
    by_claims, by_points = uplifts(session, source, uplift_days)
    return Results(
        source=source,
        treated=counts.get(False, 0),
        held_out=counts.get(True, 0),
        delivery=delivery(session, source),
        engagement=engagement(session, source, window_days),
        claims=by_claims,
        points=by_points,
        window_days=window_days,
        uplift_days=uplift_days,
    )


def trigger_sources(session: Session) -> list[str]:
    """Every trigger that has sent or held out anyone, by name."""
    return sorted(
        set(
            session.scalars(
                select(Treatment.source).distinct().where(Treatment.source.like("trigger:%"))
            )
        )
        | set(
            session.scalars(
                select(OutboxMessage.source)
                .distinct()
                .where(OutboxMessage.source.like("trigger:%"))
            )
        )
    )


def campaigns_newest_first(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def people_reached(session: Session, sources) -> dict[str, int]:
    """How many people each source treated (its control group left out)."""
    return dict(
        session.execute(
            select(Treatment.source, func.count())
            .where(Treatment.source.in_(list(sources)), Treatment.held_out.is_(False))
            .group_by(Treatment.source)
        ).all()
    )


def recent_campaign_results(
    session: Session, limit: int, window_days: int
) -> list[tuple[Campaign, Delivery, Engagement]]:
    """The latest sent campaigns with their delivery and engagement."""
    sent = session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.SENT)
        .order_by(Campaign.sent_at.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    return [
        (c, delivery(session, c.source), engagement(session, c.source, window_days)) for c in sent
    ]
