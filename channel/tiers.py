"""Partner tiers computed from what partners do: rolling 12-month volume, points earned, tenure.

A tier is reached when any of its thresholds is met; the highest reached wins. Points count
what was earned, never the spendable balance. A manual override wins until it expires and
is shown as such; every change of tier is recorded with its reason.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.ledger import EARNED_KINDS, Activity, LedgerEntry
from channel.partner_models import PartnerOrganization, PartnerStatus, Tier
from channel.rule_params import EventKind
from channel.signals import tier_changed
from core.db import Base, utcnow
from core.errors import InvalidInput
from core.states import State, one_of


class TierMetric(State):
    """What a tier threshold measures."""

    VOLUME = "volume", _l("Purchases in the last 12 months")
    POINTS = "points", _l("Points earned in the last 12 months")
    TENURE_MONTHS = "tenure_months", _l("Months with us")


YEAR = timedelta(days=365)


class TierThreshold(Base):
    """One way to reach a tier: e.g. 50 000 of purchases in 12 months, or 24 months with us."""

    __tablename__ = "tier_thresholds"
    __table_args__ = (
        one_of("metric", TierMetric),
        CheckConstraint("minimum > 0", name="minimum_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(16))
    minimum: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: For the points metric: count points of this program only; NULL: of every program.
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))

    tier: Mapped[Tier] = relationship()


class TierChange(Base):
    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="CASCADE"), index=True
    )
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    to_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(255))
    #: NULL for the scheduled recomputation.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    from_tier: Mapped[Tier | None] = relationship(foreign_keys=[from_tier_id])
    to_tier: Mapped[Tier | None] = relationship(foreign_keys=[to_tier_id])


def metrics_of(
    session: Session, partner: PartnerOrganization, now: datetime, program_id=None
) -> dict:
    since = now - YEAR
    volume = session.scalar(
        select(func.coalesce(func.sum(Activity.amount), 0)).where(
            Activity.partner_id == partner.id,
            Activity.kind == EventKind.PURCHASE,
            Activity.occurred_at >= since,
            Activity.occurred_at < now,
        )
    )
    earned = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.partner_id == partner.id,
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.created_at >= since,
        LedgerEntry.created_at < now,
    )
    if program_id is not None:
        earned = earned.where(LedgerEntry.program_id == program_id)
    created = partner.created_at
    months = (now.year - created.year) * 12 + (now.month - created.month) - (now.day < created.day)
    return {
        TierMetric.VOLUME: Decimal(volume),
        TierMetric.POINTS: Decimal(session.scalar(earned)),
        TierMetric.TENURE_MONTHS: Decimal(max(months, 0)),
    }


def computed_tier(
    session: Session, partner: PartnerOrganization, now: datetime
) -> tuple[Tier | None, str]:
    """The highest tier any of whose thresholds the partner meets, and why."""
    thresholds = session.scalars(
        select(TierThreshold).join(Tier).order_by(Tier.rank.desc(), TierThreshold.id)
    ).all()
    cache: dict = {}
    for threshold in thresholds:
        key = threshold.program_id if threshold.metric == TierMetric.POINTS else None
        if key not in cache:
            cache[key] = metrics_of(session, partner, now, key)
        value = cache[key][threshold.metric]
        if value >= threshold.minimum:
            return threshold.tier, f"{threshold.metric} {value} ≥ {threshold.minimum}"
    return None, "no threshold met"


def recompute(session: Session, now: datetime) -> list[TierChange]:
    """Bring every active partner's tier up to date; returns the changes made."""
    changes = []
    partners = session.scalars(
        select(PartnerOrganization)
        .where(PartnerOrganization.status == PartnerStatus.ACTIVE)
        .order_by(PartnerOrganization.id)
    ).all()
    for partner in partners:
        if (
            partner.tier_override_id
            and partner.tier_override_until
            and partner.tier_override_until > now
        ):
            target, reason = (
                partner.tier_override,
                f"manual until {partner.tier_override_until.date()}: {partner.tier_override_reason}",
            )
        else:
            target, reason = computed_tier(session, partner, now)
        if (target.id if target else None) != partner.tier_id:
            change = TierChange(
                at=now,
                partner_id=partner.id,
                from_tier_id=partner.tier_id,
                to_tier_id=target.id if target else None,
                reason=reason[:255],
            )
            session.add(change)
            partner.tier_id = target.id if target else None
            changes.append(change)
    session.flush()
    for change in changes:
        partner = session.get(PartnerOrganization, change.partner_id)
        tier_changed.send(None, session=session, partner=partner, change=change)
    return changes


def override_tier(
    session: Session,
    partner: PartnerOrganization,
    tier: Tier,
    *,
    until: datetime,
    reason: str,
    actor_id: int,
    now: datetime,
) -> TierChange:
    """Set a tier by hand for a limited time, recorded with its reason."""
    reason = " ".join((reason or "").split())
    errors = {}
    if until <= now:
        errors["until"] = _l("An override must end in the future.")
    if not reason:
        errors["reason"] = _l("Say why the tier is set by hand.")
    if errors:
        raise InvalidInput(errors)
    partner.tier_override_id, partner.tier_override_until = tier.id, until
    partner.tier_override_reason = reason[:255]
    change = TierChange(
        at=now,
        partner_id=partner.id,
        from_tier_id=partner.tier_id,
        to_tier_id=tier.id,
        reason=f"manual until {until.date()}: {reason}"[:255],
        actor_id=actor_id,
    )
    partner.tier_id = tier.id
    session.add(change)
    session.flush()
    tier_changed.send(None, session=session, partner=partner, change=change)
    return change


def tiers_by_rank(session: Session) -> list[Tier]:
    return list(session.scalars(select(Tier).order_by(Tier.rank)))


def tier_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Tier.code)))


def recent_tier_changes(session: Session, partner: PartnerOrganization, limit: int = 10):
    """The partner's latest changes of tier, newest first."""
    return list(
        session.scalars(
            select(TierChange)
            .where(TierChange.partner_id == partner.id)
            .order_by(TierChange.id.desc())
            .limit(limit)
        )
    )


def tier_by_id(session: Session, tier_id: int | None) -> Tier | None:
    return session.get(Tier, tier_id) if tier_id is not None else None
