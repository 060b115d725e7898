"""What the rebate pages show: closed periods, statements, and a partner's outlook (what the
current period has earned so far, and what the next threshold is worth)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from channel.earning import earning_programs
from channel.exchange_rates import BASE_CURRENCY
from channel.partner_models import PartnerOrganization, Tier
from channel.rebate_accrual import Accrual, accrue, rules_of
from channel.rebate_models import RebateLine, RebateStatement, period_of
from channel.rule_params import RuleKind
from channel.tier_metrics import purchase_volume, start_of
from channel.tiers import TierMetric, TierThreshold


def closed_periods(session: Session) -> list:
    """(period, statements, currency, total) of every closed period, newest first."""
    return session.execute(
        select(
            RebateStatement.period,
            func.count(RebateStatement.id).label("statements"),
            RebateStatement.currency,
            func.sum(RebateStatement.total).label("total"),
        )
        .group_by(RebateStatement.period, RebateStatement.currency)
        .order_by(RebateStatement.period.desc(), RebateStatement.currency)
    ).all()


def period_statements(session: Session, period: str) -> list[RebateStatement]:
    return list(
        session.scalars(
            select(RebateStatement)
            .where(RebateStatement.period == period.strip().upper())
            .options(selectinload(RebateStatement.partner), selectinload(RebateStatement.program))
            .order_by(RebateStatement.id)
        )
    )


def partner_statements(session: Session, partner_id: int) -> list[RebateStatement]:
    return list(
        session.scalars(
            select(RebateStatement)
            .where(RebateStatement.partner_id == partner_id)
            .options(selectinload(RebateStatement.program))
            .order_by(RebateStatement.ends_on.desc(), RebateStatement.id.desc())
        )
    )


def statement_with_lines(session: Session, statement_id: int) -> RebateStatement | None:
    return session.scalar(
        select(RebateStatement)
        .where(RebateStatement.id == statement_id)
        .options(
            selectinload(RebateStatement.lines).selectinload(RebateLine.purchase),
            selectinload(RebateStatement.partner),
            selectinload(RebateStatement.program),
        )
    )


def later_true_ups(session: Session, statement: RebateStatement) -> list[RebateLine]:
    """Lines of `statement`'s period paid on later statements (credit notes or purchases that
    came in after the close, or waited for a rate): shown on both statements."""
    return list(
        session.scalars(
            select(RebateLine)
            .join(RebateStatement, RebateStatement.id == RebateLine.statement_id)
            .where(
                RebateStatement.program_id == statement.program_id,
                RebateStatement.partner_id == statement.partner_id,
                RebateLine.true_up_of == statement.period,
            )
            .options(selectinload(RebateLine.purchase), selectinload(RebateLine.statement))
            .order_by(RebateLine.id)
        )
    )


@dataclass
class NextStep:
    """Buying `missing` more moves the partner from `percent` to `next_percent`."""

    rule: RuleKind
    missing: Decimal
    percent: Decimal
    next_percent: Decimal
    #: The tier reached, for a volume rebate.
    tier: Tier | None = None
    #: The currency of `missing` (the program's; EUR for tier thresholds); None: the program's.
    currency: str | None = None


@dataclass
class Outlook:
    accrual: Accrual
    steps: list[NextStep]


def outlook(session: Session, partner: PartnerOrganization, today: date) -> list[Outlook]:
    """For each program paying `partner` on its purchases: the current quarter so far."""
    period = period_of(today, "Q")
    found = []
    # The active programs it approved, with their terms, in a fixed number of statements.
    for earning in earning_programs(session, partner):
        program, rules = earning.program, rules_of(earning.terms)
        if not rules:
            continue
        accrual = accrue(session, program, partner, period, rules=rules)
        steps = []
        for rule in rules:
            step = _next_step(session, rule, partner, accrual, today)
            if step is not None:
                steps.append(step)
        found.append(Outlook(accrual, steps))
    return found


def _next_step(session, rule, partner, accrual: Accrual, today: date) -> NextStep | None:
    params = rule.params
    if rule.kind is RuleKind.CUMULATIVE_DISCOUNT:
        reached = [s.percent for s in params.steps if accrual.purchases >= s.from_amount]
        ahead = [s for s in params.steps if accrual.purchases < s.from_amount]
        if not ahead:
            return None
        return NextStep(
            rule.kind,
            ahead[0].from_amount - accrual.purchases,
            reached[-1] if reached else Decimal(0),
            ahead[0].percent,
        )
    if rule.kind is RuleKind.VOLUME_REBATE:
        return _next_tier(session, params, partner, accrual.currency, today)
    return None


def _next_tier(session, params, partner, currency: str, today: date) -> NextStep | None:
    """The next tier up that pays a higher rebate and is reached by purchase volume."""
    current = session.get(Tier, partner.tier_id) if partner.tier_id else None
    percent = params.percent_by_tier.get(current.code if current else "", params.default_percent)
    ladder = session.execute(
        select(Tier, TierThreshold.minimum)
        .join(TierThreshold, TierThreshold.tier_id == Tier.id)
        .where(
            TierThreshold.metric == TierMetric.VOLUME, Tier.rank > (current.rank if current else -1)
        )
        .order_by(Tier.rank)
    ).all()
    for tier, minimum in ladder:
        next_percent = params.percent_by_tier.get(tier.code)
        if next_percent is not None and next_percent > (percent or 0):
            # Tier thresholds count purchases in EUR, as the tiers do.
            volume = purchase_volume(session, partner.id, start_of(today + timedelta(days=1)))
            if volume >= minimum:
                return None  # reached: the tier moves at its next recomputation
            return NextStep(
                RuleKind.VOLUME_REBATE,
                max(Decimal(minimum) - volume, Decimal(0)),
                percent or Decimal(0),
                next_percent,
                tier,
                currency=BASE_CURRENCY,
            )
    return None
