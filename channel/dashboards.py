"""The figures of the channel manager's and the partner manager's dashboards, as plain data.

Every function takes the session, a period and filters and returns rows of ints and
Decimals: no Flask, no formatting. "Active in a month" means made a claim or earned points
(an earn entry of that month); "enrolled" means an enrolment that covers part of the month.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import String, case, cast, func, or_, select, union
from sqlalchemy.orm import Session

from channel.claims import Claim
from channel.ledger import Activity, Balance, LedgerEntry
from channel.models import Enrollment, Program, ProgramDecision
from channel.partner_models import PartnerOrganization, Tier
from channel.postings import pool_account
from core.db import utcnow
from core.months import month_key
from roles.models import Person, RoleAssignment

TOP = 10
#: Ledger kinds as the dashboards group them: redeem and refund net out as "redeemed".
FLOW_KINDS = {
    "earn": "issued",
    "reverse": "reversed",
    "redeem": "redeemed",
    "refund": "redeemed",
    "expire": "expired",
}


@dataclass(frozen=True)
class Filters:
    """What a dashboard is narrowed to; None: everything."""

    program_id: int | None = None
    partner_id: int | None = None
    country: str | None = None


@dataclass(frozen=True)
class Month:
    key: str  # "2026-11"
    start: datetime
    end: datetime


def month_of(day: date) -> Month:
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=UTC)
    return Month(month_key(day), start, end)


def last_months(until: date, count: int = 12) -> list[Month]:
    """The `count` calendar months ending with the one holding `until`, oldest first."""
    months = [month_of(until)]
    while len(months) < count:
        previous = months[0].start.date().replace(day=1)
        previous = date(previous.year - (previous.month == 1), (previous.month - 2) % 12 + 1, 1)
        months.insert(0, month_of(previous))
    return months


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


# ---------------------------------------------------------------- engagement


@dataclass(frozen=True)
class Engagement:
    month: str
    #: The role, partner id or country code; None for everyone.
    group: str | int | None
    enrolled: int
    active: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.active, self.enrolled)


def _people_in_scope(filters: Filters):
    """The people a partner or country filter keeps (by their company now), or None."""
    if filters.partner_id is None and filters.country is None:
        return None
    return _partner_filters(select(Person.id), filters, Person.partner_id)


def _enrolled_people(month: Month, filters: Filters):
    stmt = select(Enrollment.person_id).where(
        Enrollment.enrolled_at < month.end,
        or_(Enrollment.ended_at.is_(None), Enrollment.ended_at >= month.start),
    )
    if filters.program_id is not None:
        stmt = stmt.where(Enrollment.program_id == filters.program_id)
    people = _people_in_scope(filters)
    if people is not None:
        stmt = stmt.where(Enrollment.person_id.in_(people))
    return stmt


def _active_people(month: Month, filters: Filters):
    earned = select(LedgerEntry.person_id).where(
        LedgerEntry.kind == "earn",
        LedgerEntry.month == month.key,
        LedgerEntry.person_id.is_not(None),
    )
    if filters.program_id is not None:
        earned = earned.where(LedgerEntry.program_id == filters.program_id)
    claimed = select(Claim.person_id).where(
        Claim.created_at >= month.start, Claim.created_at < month.end
    )
    # The outer count keeps only these people anyway; narrowing each set first spares a
    # partner's dashboard from collecting every active person in the channel each month.
    people = _people_in_scope(filters)
    if people is not None:
        earned = earned.where(LedgerEntry.person_id.in_(people))
        claimed = claimed.where(Claim.person_id.in_(people))
    return union(earned, claimed)


def engagement(
    session: Session, months: list[Month], filters: Filters = Filters(), by: str | None = None
) -> list[Engagement]:
    """Enrolled and active people per month, overall or `by` "role", "partner" or "country"."""
    group = {
        "role": RoleAssignment.role,
        "partner": Person.partner_id,
        "country": PartnerOrganization.country,
    }.get(by)
    rows = []
    for month in months:
        active = Person.id.in_(_active_people(month, filters))
        counts = (
            func.count(func.distinct(Person.id)),
            func.count(func.distinct(case((active, Person.id)))),
        )
        stmt = (
            select(*counts, *([group] if by else []))
            .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
            .where(Person.id.in_(_enrolled_people(month, filters)))
        )
        if by == "role":
            stmt = stmt.join(RoleAssignment, RoleAssignment.person_id == Person.id)
        if by is not None:
            stmt = stmt.group_by(group)
        stmt = _partner_filters(stmt, filters, Person.partner_id)
        for enrolled, active_count, *grp in session.execute(stmt):
            if enrolled:
                rows.append(Engagement(month.key, grp[0] if by else None, enrolled, active_count))
    return sorted(rows, key=lambda r: (r.month, str(r.group)))


def _partner_filters(stmt, filters: Filters, partner_column):
    if filters.partner_id is not None:
        stmt = stmt.where(partner_column == filters.partner_id)
    if filters.country is not None:
        stmt = stmt.where(
            partner_column.in_(
                select(PartnerOrganization.id).where(PartnerOrganization.country == filters.country)
            )
        )
    return stmt


# ---------------------------------------------------------------- points and liability


@dataclass
class PointsSummary:
    issued: int = 0
    reversed: int = 0
    redeemed: int = 0
    expired: int = 0
    #: Every point still held (pending and available) at the end of the period.
    outstanding: int = 0
    #: Outstanding points at the point value: what the program still owes.
    liability: Decimal = Decimal(0)
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)


def ledger_filters(stmt, filters: Filters):
    if filters.program_id is not None:
        stmt = stmt.where(LedgerEntry.program_id == filters.program_id)
    return _partner_filters(stmt, filters, LedgerEntry.partner_id)


def points_summary(
    session: Session,
    start: datetime,
    end: datetime,
    point_value: Decimal,
    filters: Filters = Filters(),
) -> PointsSummary:
    """Points issued, reversed, redeemed and expired in [start, end), outstanding at `end`."""
    summary = PointsSummary()
    flows = ledger_filters(
        select(LedgerEntry.month, LedgerEntry.kind, func.sum(LedgerEntry.points))
        .where(
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            LedgerEntry.kind.in_(FLOW_KINDS),
        )
        .group_by(LedgerEntry.month, LedgerEntry.kind),
        filters,
    )
    for month, kind, points in session.execute(flows):
        name = FLOW_KINDS[kind]
        setattr(summary, name, getattr(summary, name) + int(points))
        by_kind = summary.by_month.setdefault(month, dict.fromkeys(set(FLOW_KINDS.values()), 0))
        by_kind[name] += int(points)
    if filters == Filters() and end >= utcnow():
        # Everything up to now: the balance rows hold the sums already.
        summary.outstanding = balances_total(session)
    else:
        summary.outstanding = outstanding_points(session, end, filters)
    summary.liability = (summary.outstanding * point_value).quantize(Decimal("0.01"))
    return summary


def outstanding_points(session: Session, at: datetime | None, filters: Filters = Filters()) -> int:
    """Points held by every account (both buckets), from the entries written before `at`."""
    stmt = ledger_filters(select(func.coalesce(func.sum(LedgerEntry.points), 0)), filters)
    if at is not None:
        stmt = stmt.where(LedgerEntry.created_at < at)
    return int(session.scalar(stmt))


def balances_total(session: Session) -> int:
    """The sum of every cached balance row: what `outstanding_points(None)` must equal."""
    return int(
        session.scalar(select(func.coalesce(func.sum(Balance.pending + Balance.available), 0)))
    )


# ---------------------------------------------------------------- budgets


@dataclass(frozen=True)
class BudgetUse:
    program_id: int
    name: str
    currency: str
    point_value: Decimal
    budget_points: int | None
    used_points: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.used_points, self.budget_points or 0)

    @property
    def used_money(self) -> Decimal:
        return (self.used_points * self.point_value).quantize(Decimal("0.01"))


def budget_use(session: Session, filters: Filters = Filters()) -> list[BudgetUse]:
    """Budget points each program spent so far (earnings net of reversals), as earning counts it."""
    used = (
        select(
            LedgerEntry.program_id.label("program_id"),
            func.sum(LedgerEntry.budget_points).label("used"),
        )
        .where(LedgerEntry.kind.in_(("earn", "reverse")), LedgerEntry.program_id.is_not(None))
        .group_by(LedgerEntry.program_id)
        .subquery()
    )
    stmt = (
        select(Program, func.coalesce(used.c.used, 0))
        .outerjoin(used, used.c.program_id == Program.id)
        .where(Program.status != "draft")
        .order_by(Program.starts_at.desc(), Program.id)
    )
    if filters.program_id is not None:
        stmt = stmt.where(Program.id == filters.program_id)
    return [
        BudgetUse(p.id, p.name, p.currency, p.point_value, p.budget_points, int(points))
        for p, points in session.execute(stmt)
    ]


# ---------------------------------------------------------------- claims, leaders, training


@dataclass
class ClaimFigures:
    by_status: dict[str, int]
    by_flag: dict[str, int]


def claim_figures(
    session: Session, start: datetime, end: datetime, filters: Filters = Filters()
) -> ClaimFigures:
    period = (Claim.created_at >= start, Claim.created_at < end)
    by_status = _partner_filters(
        select(Claim.status, func.count()).where(*period).group_by(Claim.status),
        filters,
        Claim.partner_id,
    )
    flags = Counter()
    # Only flagged claims are read: most are clean, and reading JSON costs.
    flagged = select(Claim.flags).where(*period, cast(Claim.flags, String) != "[]")
    for (names,) in session.execute(_partner_filters(flagged, filters, Claim.partner_id)):
        flags.update(names or ())
    return ClaimFigures(dict(session.execute(by_status).all()), dict(flags.most_common()))


@dataclass(frozen=True)
class Leader:
    id: int
    name: str
    partner: str
    points: int


def _earned_by(column, start: datetime, end: datetime, filters: Filters, limit):
    """The `limit` highest earners by `column` in the period: summed first, named after."""
    points = func.sum(LedgerEntry.points)
    stmt = ledger_filters(
        select(column.label("id"), points.label("points"))
        .where(
            LedgerEntry.kind.in_(("earn", "reverse")),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            column.is_not(None),
        )
        .group_by(column)
        .order_by(points.desc(), column)
        .limit(limit),
        filters,
    )
    if column is LedgerEntry.person_id:
        stmt = stmt.where(LedgerEntry.to_pool.is_(False))
    return stmt.subquery()


def top_partners(
    session: Session, start: datetime, end: datetime, filters: Filters = Filters(), limit=TOP
) -> list[Leader]:
    """Partners by points earned in the period (their people's and their pool's)."""
    top = _earned_by(LedgerEntry.partner_id, start, end, filters, limit)
    stmt = (
        select(top.c.id, PartnerOrganization.name, top.c.points)
        .join(PartnerOrganization, PartnerOrganization.id == top.c.id)
        .order_by(top.c.points.desc(), top.c.id)
    )
    return [Leader(pid, name, name, int(points)) for pid, name, points in session.execute(stmt)]


def top_people(
    session: Session, start: datetime, end: datetime, filters: Filters = Filters(), limit=TOP
) -> list[Leader]:
    top = _earned_by(LedgerEntry.person_id, start, end, filters, limit)
    stmt = (
        select(top.c.id, Person.full_name, PartnerOrganization.name, top.c.points)
        .join(Person, Person.id == top.c.id)
        .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
        .order_by(top.c.points.desc(), top.c.id)
    )
    return [
        Leader(pid, name, partner, int(points))
        for pid, name, partner, points in session.execute(stmt)
    ]


@dataclass(frozen=True)
class Training:
    enrolled: int
    trained: int

    @property
    def share(self) -> Decimal | None:
        return percent(self.trained, self.enrolled)


def training_completion(
    session: Session, start: datetime, end: datetime, filters: Filters = Filters()
) -> Training:
    """Enrolled people (during the period) who completed at least one course in it."""
    period = Month("", start, end)
    trained = select(Activity.person_id).where(
        Activity.kind == "training", Activity.occurred_at >= start, Activity.occurred_at < end
    )
    stmt = _partner_filters(
        select(
            func.count(func.distinct(Person.id)),
            func.count(func.distinct(case((Person.id.in_(trained), Person.id)))),
        ).where(Person.id.in_(_enrolled_people(period, filters))),
        filters,
        Person.partner_id,
    )
    enrolled, done = session.execute(stmt).one()
    return Training(enrolled, done)


# ---------------------------------------------------------------- the partner manager's view


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
    stmt = (
        select(
            Program.id,
            Program.name,
            RoleAssignment.role,
            func.count(func.distinct(LedgerEntry.person_id)),
            func.sum(LedgerEntry.points),
        )
        .join(Program, Program.id == LedgerEntry.program_id)
        .join(RoleAssignment, RoleAssignment.person_id == LedgerEntry.person_id)
        .where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.kind.in_(("earn", "reverse")),
            LedgerEntry.to_pool.is_(False),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
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
            func.coalesce(func.sum(case((LedgerEntry.kind == "earn", LedgerEntry.points))), 0),
            func.coalesce(func.sum(case((LedgerEntry.kind == "transfer", LedgerEntry.points))), 0),
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
        if program.status not in ("offered", "active"):
            continue
        decision = decisions.get(program.id)
        if decision is None or (
            decision.outcome == "approved" and (decision.approved_version or 0) < program.version
        ):
            waiting.append(program)
    claims = session.scalar(
        select(func.count()).where(Claim.partner_id == partner.id, Claim.status == "pending")
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
            key = threshold.program_id if threshold.metric == "points" else None
            if key not in cache:
                cache[key] = metrics_of(session, partner, now, key)
            steps.append(
                TierStep(threshold.metric, threshold.minimum, cache[key][threshold.metric])
            )
    return TierProgress(partner.tier, next_tier, steps)
