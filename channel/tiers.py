"""Partner tiers computed from what partners do: rolling 12-month volume, points earned, tenure.

A tier is reached when any of its thresholds is met; the highest reached wins. Volume is what
the partner bought (its purchase lines, in EUR at each line's date; a line whose currency has
no rate yet counts once the rate arrives). Points count what was earned, never the spendable
balance. Tenure counts from the contract's start, or from the partner's registration here
while that is unknown. A manual override wins until it expires and is shown as such; every
change of tier is recorded with its reason (a code and its values, never sentences, so that
each reader is told it in their own language) and the moment it took effect.

Tiers move as purchases arrive: an import recomputes each buying partner's tier as of each
day its new lines fall on, in date order, so that a change is dated the day a threshold was
crossed (rebates read tiers by date). Concurrency: whatever writes tier changes first locks
the key TIERS_LOCK (`core.db.lock_keys`) and reads the partners afresh, so an import and the
scheduled recomputation take turns and one crossing is recorded once.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.exchange_rates import RateBook
from channel.partner_models import PartnerOrganization, PartnerStatus, Tier
from channel.signals import tier_changed
from channel.tier_metrics import (
    YEAR,
    DailyVolume,
    points_earned,
    purchase_volume,
    start_of,
    tenure_of,
)
from core.db import Base, lock_keys, utcnow
from core.errors import InvalidInput
from core.states import State, one_of


class TierMetric(State):
    """What a tier threshold measures."""

    VOLUME = "volume", _l("Purchases in the last 12 months, in EUR")
    POINTS = "points", _l("Points earned in the last 12 months")
    TENURE_MONTHS = "tenure_months", _l("Months with us")


class TierReason(State):
    """Why a partner's tier changed (its values are in `TierChange.reason_values`)."""

    #: {"metric", "value", "minimum"} as strings; "since_registration": true when tenure was
    #: counted from the registration here because the contract's start is unknown.
    THRESHOLD_MET = "threshold_met"
    NO_THRESHOLD_MET = "no_threshold_met"
    #: {"until": ISO day, "note": the words of the person who set it}.
    MANUAL = "manual"
    #: {"text": …}: a reason recorded before reasons had codes, in a form not recognised.
    OTHER = "other"


@dataclass(frozen=True)
class WhyTier:
    """A reason for a tier: its code and its values (JSON-safe); "as_of" (an ISO day) when
    the tier was worked out as of the day of new purchases."""

    code: TierReason
    values: dict = field(default_factory=dict)

    def as_of(self, day: date) -> "WhyTier":
        return WhyTier(self.code, {**self.values, "as_of": day.isoformat()})


TIERS_LOCK = "tiers"


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
    __table_args__ = (one_of("reason_code", TierReason),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="CASCADE"), index=True
    )
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    to_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    reason_code: Mapped[str] = mapped_column(String(24))
    #: The values the reason's words need (see `TierReason`).
    reason_values: Mapped[dict] = mapped_column(JSON, default=dict)
    #: NULL for the scheduled recomputation.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    from_tier: Mapped[Tier | None] = relationship(foreign_keys=[from_tier_id])
    to_tier: Mapped[Tier | None] = relationship(foreign_keys=[to_tier_id])

    @property
    def why(self) -> WhyTier:
        return WhyTier(TierReason(self.reason_code), dict(self.reason_values or {}))

    @why.setter
    def why(self, why: WhyTier) -> None:
        self.reason_code, self.reason_values = why.code, why.values


def metrics_of(
    session: Session, partner: PartnerOrganization, now: datetime, program_id=None, rates=None
) -> dict:
    return {
        TierMetric.VOLUME: purchase_volume(session, partner.id, now, rates),
        TierMetric.POINTS: points_earned(session, partner.id, now, program_id),
        TierMetric.TENURE_MONTHS: Decimal(tenure_of(partner, now).months),
    }


def ordered_thresholds(session: Session) -> list[TierThreshold]:
    """Every threshold, the highest tier's first."""
    return list(
        session.scalars(
            select(TierThreshold).join(Tier).order_by(Tier.rank.desc(), TierThreshold.id)
        )
    )


def computed_tier(
    session: Session,
    partner: PartnerOrganization,
    now: datetime,
    rates: RateBook | None = None,
    *,
    thresholds: list[TierThreshold] | None = None,
    volume: DailyVolume | None = None,
) -> tuple[Tier | None, WhyTier]:
    """The highest tier any of whose thresholds the partner meets, and why.

    Each metric is measured only when a threshold asks for it, and once.
    """
    thresholds = ordered_thresholds(session) if thresholds is None else thresholds
    measured: dict = {}

    def measure(metric: str, program_id):
        if (metric, program_id) not in measured:
            if metric == TierMetric.VOLUME:
                value = (
                    volume.as_of(now)
                    if volume is not None
                    else purchase_volume(session, partner.id, now, rates)
                )
            elif metric == TierMetric.POINTS:
                value = points_earned(session, partner.id, now, program_id)
            else:
                value = Decimal(tenure_of(partner, now).months)
            measured[metric, program_id] = value
        return measured[metric, program_id]

    for threshold in thresholds:
        program_id = threshold.program_id if threshold.metric == TierMetric.POINTS else None
        value = measure(threshold.metric, program_id)
        if value >= threshold.minimum:
            values = {
                "metric": str(threshold.metric),
                "value": str(value),
                "minimum": str(threshold.minimum),
            }
            if threshold.metric == TierMetric.TENURE_MONTHS and partner.contract_started_on is None:
                values["since_registration"] = True
            return threshold.tier, WhyTier(TierReason.THRESHOLD_MET, values)
    return None, WhyTier(TierReason.NO_THRESHOLD_MET)


def _overridden(partner: PartnerOrganization, now: datetime) -> bool:
    return bool(
        partner.tier_override_id
        and partner.tier_override_until
        and partner.tier_override_until > now
    )


def _locked_partners(session: Session, *conditions) -> list[PartnerOrganization]:
    """Partners read afresh under the tiers lock: what another transaction committed counts.

    None while no tier has a threshold: tiers are then only ever set by hand.
    """
    lock_keys(session, TIERS_LOCK)
    if session.scalar(select(TierThreshold.id).limit(1)) is None:
        return []
    return list(
        session.scalars(
            select(PartnerOrganization)
            .where(PartnerOrganization.status == PartnerStatus.ACTIVE, *conditions)
            .order_by(PartnerOrganization.id)
            .execution_options(populate_existing=True)
        )
    )


def _announce(session: Session, changes: list[TierChange]) -> None:
    session.flush()
    for change in changes:
        partner = session.get(PartnerOrganization, change.partner_id)
        tier_changed.send(None, session=session, partner=partner, change=change)


def recompute(session: Session, now: datetime) -> list[TierChange]:
    """Bring every active partner's tier up to date; returns the changes made."""
    changes = []
    rates = RateBook(session)
    partners = _locked_partners(session)
    thresholds = ordered_thresholds(session) if partners else []
    for partner in partners:
        if _overridden(partner, now):
            target, why = (
                partner.tier_override,
                _manual(partner.tier_override_until, partner.tier_override_reason),
            )
        else:
            target, why = computed_tier(session, partner, now, rates, thresholds=thresholds)
        if (target.id if target else None) != partner.tier_id:
            change = TierChange(
                at=now,
                partner_id=partner.id,
                from_tier_id=partner.tier_id,
                to_tier_id=target.id if target else None,
                why=why,
            )
            session.add(change)
            partner.tier_id = target.id if target else None
            changes.append(change)
    _announce(session, changes)
    return changes


def recompute_after_purchases(
    session: Session, days_by_partner: dict[int, set[date]], now: datetime
) -> list[TierChange]:
    """Move each buying partner's tier as of each day its new purchase lines fall on.

    Days in order; the tier as of a day counts that whole day's lines and a change is dated
    the start of the day (UTC). Then as of `now`, as the scheduled recomputation would (old
    lines fall out of the twelve months). A partner whose override lasts is left to it, and
    days an override covered keep the tier it set.
    """
    changes = []
    if not days_by_partner:
        return changes
    rates = RateBook(session)
    partners = _locked_partners(session, PartnerOrganization.id.in_(days_by_partner))
    thresholds = ordered_thresholds(session) if partners else []
    for partner in partners:
        if _overridden(partner, now):
            continue
        first = min(days_by_partner[partner.id]) - YEAR
        volume = DailyVolume(session, partner.id, first, now.date(), rates)
        history = session.execute(
            select(TierChange.at, TierChange.from_tier_id, TierChange.to_tier_id)
            .where(TierChange.partner_id == partner.id)
            .order_by(TierChange.at, TierChange.id)
        ).all()
        days = sorted(day for day in days_by_partner[partner.id] if start_of(day) < now)
        moments = [(start_of(day), start_of(day + timedelta(days=1))) for day in days]
        for at, counted_until in [*moments, (now, now)]:
            if partner.tier_override_until and at < partner.tier_override_until:
                continue  # the override was winning then
            held = _tier_at(history, partner.tier_id, at)
            target, why = computed_tier(
                session,
                partner,
                min(counted_until, now),
                thresholds=thresholds,
                volume=volume,
            )
            target_id = target.id if target else None
            if target_id == held:
                continue
            change = TierChange(
                at=at,
                partner_id=partner.id,
                from_tier_id=held,
                to_tier_id=target_id,
                why=why.as_of(at.date()),
            )
            session.add(change)
            changes.append(change)
            history = sorted(
                [*history, (at, held, target_id)], key=lambda c: c[0]
            )  # a later change, if any, stays after this one
            if all(c[0] <= at for c in history):
                partner.tier_id = target_id
    _announce(session, changes)
    return changes


def _tier_at(history, current: int | None, at: datetime) -> int | None:
    """The tier in effect at `at` by the dated changes (`current` if none)."""
    if not history:
        return current
    tier_id = history[0][1]
    for change_at, _, to_tier_id in history:
        if change_at > at:
            break
        tier_id = to_tier_id
    return tier_id


def purchase_days(lines) -> dict[int, set[date]]:
    """{partner id: the days of its lines} of (partner id, day) pairs."""
    days: dict[int, set[date]] = defaultdict(set)
    for partner_id, day in lines:
        days[partner_id].add(day)
    return dict(days)


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
        why=_manual(until, partner.tier_override_reason),
        actor_id=actor_id,
    )
    partner.tier_id = tier.id
    session.add(change)
    session.flush()
    tier_changed.send(None, session=session, partner=partner, change=change)
    return change


def _manual(until: datetime, note: str | None) -> WhyTier:
    return WhyTier(TierReason.MANUAL, {"until": until.date().isoformat(), "note": note or ""})


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
