"""The partner manager's figures: staff earnings, the company pool, approvals and tier progress.

Plain data for the partner manager's dashboard and its exports, for one partner and a
period; its engagement chart is counted by `channel.dashboards`, and staff earnings read the
closed months' earnings stored by `flask rollups refresh` (`channel.dashboards.people_earnings`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from channel.claim_models import Claim, ClaimStatus
from channel.dashboards import Filters, Month, engagement, people_earnings
from channel.ledger import Balance, EntryKind, LedgerEntry
from channel.models import DecisionOutcome, Program, ProgramDecision, ProgramStatus
from channel.partner_models import Tier
from channel.pool import pool_history
from channel.postings import pool_account
from channel.rebate_reports import outlook
from channel.tier_benefits import benefits_of
from channel.tiers import TierMetric
from roles.models import RoleAssignment


@dataclass(frozen=True)
class StaffEarnings:
    program_id: int
    program: str
    role: str
    people: int
    points: int


def staff_earnings(
    session: Session, partner_id: int, start: datetime, end: datetime
) -> list[StaffEarnings]:
    """Points the partner's people earned in the period, per program and role held."""
    earned = people_earnings(session, start, end, Filters(partner_id=partner_id))
    stmt = (
        select(
            Program.id,
            Program.name,
            RoleAssignment.role,
            func.count(func.distinct(earned.c.person_id)),
            func.sum(earned.c.points),
        )
        .select_from(earned)
        .join(Program, Program.id == earned.c.program_id)
        .join(RoleAssignment, RoleAssignment.person_id == earned.c.person_id)
        .group_by(Program.id, Program.name, RoleAssignment.role)
        .order_by(Program.name, RoleAssignment.role)
    )
    return [StaffEarnings(*row[:4], int(row[4])) for row in session.execute(stmt)]


@dataclass(frozen=True)
class PoolFigures:
    pending: int
    available: int
    #: Points the pool received and handed out in the period.
    received: int
    distributed: int


def pool_figures(session: Session, partner_id: int, start: datetime, end: datetime) -> PoolFigures:
    account = pool_account(partner_id)
    balance = session.execute(
        select(Balance.pending, Balance.available).where(Balance.account_key == account)
    ).first()
    received, distributed = session.execute(
        select(
            func.coalesce(
                func.sum(case((LedgerEntry.kind == EntryKind.EARN, LedgerEntry.points))), 0
            ),
            func.coalesce(
                func.sum(case((LedgerEntry.kind == EntryKind.TRANSFER, LedgerEntry.points))), 0
            ),
        ).where(
            LedgerEntry.account_key == account,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
    ).one()
    return PoolFigures(
        balance.pending if balance else 0,
        balance.available if balance else 0,
        int(received),
        -int(distributed),
    )


@dataclass(frozen=True)
class PendingApprovals:
    #: Programs offered and not yet decided, or changed since management approved them.
    programs: list[Program]
    claims: int


def pending_approvals(session: Session, partner) -> PendingApprovals:
    from channel.approvals import programs_for_partner

    decisions = {
        d.program_id: d
        for d in session.scalars(
            select(ProgramDecision).where(ProgramDecision.partner_id == partner.id)
        )
    }
    waiting = []
    for program in programs_for_partner(session, partner):
        if program.status not in ProgramStatus.open_for_decisions():
            continue
        decision = decisions.get(program.id)
        if decision is None or (
            decision.outcome == DecisionOutcome.APPROVED
            and (decision.approved_version or 0) < program.version
        ):
            waiting.append(program)
    claims = session.scalar(
        select(func.count()).where(
            Claim.partner_id == partner.id, Claim.status == ClaimStatus.PENDING
        )
    )
    return PendingApprovals(waiting, claims)


@dataclass(frozen=True)
class TierStep:
    metric: str
    minimum: Decimal
    current: Decimal

    @property
    def missing(self) -> Decimal:
        return max(self.minimum - self.current, Decimal(0))


@dataclass(frozen=True)
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    #: Any one of these reaches the next tier.
    steps: list[TierStep]


def tier_progress(session: Session, partner, now: datetime) -> TierProgress:
    from channel.tiers import TierThreshold, metrics_of

    above = select(Tier).order_by(Tier.rank)
    if partner.tier is not None:
        above = above.where(Tier.rank > partner.tier.rank)
    next_tier = session.scalars(above.limit(1)).first()
    steps = []
    if next_tier is not None:
        thresholds = session.scalars(
            select(TierThreshold).where(TierThreshold.tier_id == next_tier.id)
        ).all()
        cache: dict = {}
        for threshold in thresholds:
            key = threshold.program_id if threshold.metric == TierMetric.POINTS else None
            if key not in cache:
                cache[key] = metrics_of(session, partner, now, key)
            steps.append(
                TierStep(threshold.metric, threshold.minimum, cache[key][threshold.metric])
            )
    return TierProgress(partner.tier, next_tier, steps)


def recent_distributions(session: Session, partner, limit: int = 10) -> list[LedgerEntry]:
    """The latest points the partner's pool handed out to its people, newest first."""
    history = pool_history(session, partner)
    return [entry for entry in history if entry.kind == EntryKind.TRANSFER][:limit]


def page_figures(
    session: Session, partner, start: datetime, end: datetime, months: list[Month], now: datetime
) -> dict[str, Callable[[], object]]:
    """Every figure the partner manager's dashboard shows, by name, each read when called:
    the page reads them all, `bench/dashboard_queries.py` times them one by one."""
    mine = Filters(partner_id=partner.id)
    return {
        "engagement by month": lambda: engagement(session, months, mine),
        "engagement by role": lambda: engagement(session, months[-1:], mine, "role"),
        "staff earnings": lambda: staff_earnings(session, partner.id, start, end),
        "pool": lambda: pool_figures(session, partner.id, start, end),
        "recent distributions": lambda: recent_distributions(session, partner),
        "pending approvals": lambda: pending_approvals(session, partner),
        "tier progress": lambda: tier_progress(session, partner, now),
        "tier benefits": lambda: benefits_of(session, partner.tier_id),
        "rebate outlook": lambda: outlook(session, partner, now.date()),
    }
