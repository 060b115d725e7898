"""The channel manager's figures: points and liability, budgets, claims, leaders, training.

Plain data for the channel manager's dashboard and its exports, read for a period and the
filters of `channel.dashboards` (which also counts engagement, for both dashboards).

Points by month, outstanding points and the partners' leader board read the ledger's monthly
rollups (`channel.rollups`, kept current by every posting) for the months a period covers
whole, and the entries only for a part month at either end: a period that runs up to now
holds its current month whole, since no entry is written after now. The people's leader
board reads the people's earnings through the closed months `flask rollups refresh` stores:
two months' totals whatever the period's length (`channel.dashboards.people_totals`), and the
month in progress from each person's month (`channel.person_months`). The four engagement
figures are counted together (`channel.dashboards.engagement_breakdowns`): the month in
progress once by partner and once by role, not once per chart.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, case, cast, false, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from channel.claim_models import Claim, ClaimMonth
from channel.claim_rollups import ALL_CLAIMS, flag_names
from channel.dashboards import (
    EVERYTHING,
    Filters,
    Month,
    engagement_breakdowns,
    enrolled_people,
    ledger_filters,
    partner_filters,
    people_totals,
    percent,
    split_period,
)
from channel.fulfilment import pending_fulfilment_points
from channel.ledger import EARNED_KINDS, Activity, Balance, EntryKind, LedgerEntry, LedgerMonth
from channel.models import Program, ProgramStatus
from channel.partner_models import PartnerOrganization
from channel.rollups import created_month
from channel.rule_params import EventKind
from core.db import utcnow
from roles.models import Person

#: How many partners and people the leader boards show.
TOP = 10
#: Ledger kinds as the dashboards group them: redeem and refund net out as "redeemed".
FLOW_KINDS = {
    EntryKind.EARN: "issued",
    EntryKind.REVERSE: "reversed",
    EntryKind.REDEEM: "redeemed",
    EntryKind.REFUND: "redeemed",
    EntryKind.EXPIRE: "expired",
}


# ---------------------------------------------------------------- whole months and part months


def _period_entries(
    session: Session, start: datetime | None, end: datetime, filters: Filters, kinds=None
):
    """(month, kind, partner_id, points) of what was written in [start, end): sums of whole
    months from the rollups, part months' entries one by one; a subquery."""
    span = split_period(start, end, utcnow())
    rolled = select(LedgerMonth.month, LedgerMonth.kind, LedgerMonth.partner_id, LedgerMonth.points)
    if not span.whole:
        rolled = rolled.where(false())
    if span.first is not None:
        rolled = rolled.where(LedgerMonth.month >= span.first)
    if span.until is not None:
        rolled = rolled.where(LedgerMonth.month < span.until)
    if kinds is not None:
        rolled = rolled.where(LedgerMonth.kind.in_(kinds))
    if filters.program_id is not None:
        rolled = rolled.where(LedgerMonth.program_id == filters.program_id)
    parts = [partner_filters(rolled, filters, LedgerMonth.partner_id)]
    dialect = session.get_bind().dialect.name
    for part_start, part_end in span.parts:
        entries = select(
            created_month(dialect).label("month"),
            LedgerEntry.kind,
            LedgerEntry.partner_id,
            LedgerEntry.points,
        ).where(LedgerEntry.created_at >= part_start, LedgerEntry.created_at < part_end)
        if kinds is not None:
            entries = entries.where(LedgerEntry.kind.in_(kinds))
        parts.append(ledger_filters(entries, filters))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("written")


# ---------------------------------------------------------------- points and liability


@dataclass
class PointsSummary:
    issued: int = 0
    reversed: int = 0
    redeemed: int = 0
    expired: int = 0
    #: Every point still held (pending and available) at the end of the period.
    outstanding: int = 0
    #: Points redeemed and not yet delivered then (a gift card still to order, goods to ship,
    #: cash to pay): spent from the balances, still owed.
    pending_fulfilment: int = 0
    #: Outstanding and undelivered points at the point value: what the program still owes.
    liability: Decimal = Decimal(0)
    #: Flows by the month they were written in.
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)


def points_summary(
    session: Session,
    start: datetime,
    end: datetime,
    point_value: Decimal,
    filters: Filters = EVERYTHING,
) -> PointsSummary:
    """Points issued, reversed, redeemed and expired in [start, end), outstanding at `end`."""
    summary = PointsSummary()
    written = _period_entries(session, start, end, filters, kinds=list(FLOW_KINDS))
    flows = select(written.c.month, written.c.kind, func.sum(written.c.points)).group_by(
        written.c.month, written.c.kind
    )
    for month, kind, points in session.execute(flows):
        name = FLOW_KINDS[kind]
        setattr(summary, name, getattr(summary, name) + int(points))
        by_kind = summary.by_month.setdefault(month, dict.fromkeys(set(FLOW_KINDS.values()), 0))
        by_kind[name] += int(points)
    if filters == EVERYTHING and end >= utcnow():
        # Everything up to now: the balance rows hold the sums already.
        summary.outstanding = balances_total(session)
    else:
        summary.outstanding = outstanding_points(session, end, filters)
    if filters.program_id is None:
        # A redemption spends no program's points: a program's outstanding points never lost it.
        summary.pending_fulfilment = pending_fulfilment_points(
            session,
            None if end >= utcnow() else end,
            lambda stmt: partner_filters(stmt, filters, Person.partner_id),
        )
    owed = summary.outstanding + summary.pending_fulfilment
    summary.liability = (owed * point_value).quantize(Decimal("0.01"))
    return summary


def outstanding_points(session: Session, at: datetime | None, filters: Filters = EVERYTHING) -> int:
    """Points held by every account (both buckets), from the entries written before `at`."""
    if at is None:
        stmt = ledger_filters(select(func.coalesce(func.sum(LedgerEntry.points), 0)), filters)
        return int(session.scalar(stmt))
    written = _period_entries(session, None, at, filters)
    return int(session.scalar(select(func.coalesce(func.sum(written.c.points), 0))))


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


def budget_use(session: Session, filters: Filters = EVERYTHING) -> list[BudgetUse]:
    """Budget points each program spent so far (earnings net of reversals), as earning counts it:
    summed from the ledger's monthly rollups, not its entries."""
    used = (
        select(
            LedgerMonth.program_id.label("program_id"),
            func.sum(LedgerMonth.budget_points).label("used"),
        )
        .where(LedgerMonth.kind.in_(EARNED_KINDS))
        .group_by(LedgerMonth.program_id)
        .subquery()
    )
    stmt = (
        select(Program, func.coalesce(used.c.used, 0))
        .outerjoin(used, used.c.program_id == Program.id)
        .where(Program.status != ProgramStatus.DRAFT)
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
    session: Session, start: datetime, end: datetime, filters: Filters = EVERYTHING
) -> ClaimFigures:
    """Claims created in [start, end) by status and by fraud flag: whole months from their
    counts (`channel.claim_rollups`, kept with every claim), part months claim by claim."""
    dialect = session.get_bind().dialect.name
    span = split_period(start, end, utcnow())
    rolled = select(ClaimMonth.status, ClaimMonth.flag, ClaimMonth.claims)
    if not span.whole:
        rolled = rolled.where(false())
    if span.first is not None:
        rolled = rolled.where(ClaimMonth.month >= span.first)
    if span.until is not None:
        rolled = rolled.where(ClaimMonth.month < span.until)
    parts = [partner_filters(rolled, filters, ClaimMonth.partner_id)]
    for part_start, part_end in span.parts:
        period = (Claim.created_at >= part_start, Claim.created_at < part_end)
        counted = select(Claim.status, literal(ALL_CLAIMS), func.count()).where(*period)
        parts.append(partner_filters(counted.group_by(Claim.status), filters, Claim.partner_id))
        # Only flagged claims are read: most are clean, and reading JSON costs.
        names = flag_names(dialect)
        flagged = (
            select(Claim.status, names.c.value, func.count())
            .select_from(Claim)
            .join(names, true())
            .where(*period, cast(Claim.flags, String) != "[]")
            .group_by(Claim.status, names.c.value)
        )
        parts.append(partner_filters(flagged, filters, Claim.partner_id))
    by_status, by_flag = Counter(), Counter()
    for status, flag, claims in session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        if flag == ALL_CLAIMS:
            by_status[status] += int(claims)
        else:
            by_flag[flag] += int(claims)
    return ClaimFigures(
        {k: n for k, n in by_status.items() if n},
        {k: n for k, n in by_flag.most_common() if n},
    )


@dataclass(frozen=True)
class Leader:
    id: int
    name: str
    partner: str
    points: int


def top_partners(
    session: Session, start: datetime, end: datetime, filters: Filters = EVERYTHING, limit=TOP
) -> list[Leader]:
    """Partners by points earned in the period (their people's and their pool's)."""
    written = _period_entries(session, start, end, filters, kinds=list(EARNED_KINDS))
    points = func.sum(written.c.points)
    top = (
        select(written.c.partner_id.label("id"), points.label("points"))
        .group_by(written.c.partner_id)
        .order_by(points.desc(), written.c.partner_id)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(top.c.id, PartnerOrganization.name, top.c.points)
        .join(PartnerOrganization, PartnerOrganization.id == top.c.id)
        .order_by(top.c.points.desc(), top.c.id)
    )
    return [Leader(pid, name, name, int(points)) for pid, name, points in session.execute(stmt)]


def top_people(
    session: Session, start: datetime, end: datetime, filters: Filters = EVERYTHING, limit=TOP
) -> list[Leader]:
    """People by points earned in the period (not their pools'); no one whose earnings in it
    net out at 0."""
    earned = people_totals(session, start, end, filters)
    points = func.sum(earned.c.points)
    top = (
        select(earned.c.person_id.label("id"), points.label("points"))
        .group_by(earned.c.person_id)
        .having(points != 0)
        .order_by(points.desc(), earned.c.person_id)
        .limit(limit)
        .subquery()
    )
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
    session: Session, start: datetime, end: datetime, filters: Filters = EVERYTHING
) -> Training:
    """Enrolled people (during the period) who completed at least one course in it."""
    period = Month("", start, end)
    trained = select(Activity.person_id).where(
        Activity.kind == EventKind.TRAINING,
        Activity.occurred_at >= start,
        Activity.occurred_at < end,
    )
    stmt = partner_filters(
        select(
            func.count(func.distinct(Person.id)),
            func.count(func.distinct(case((Person.id.in_(trained), Person.id)))),
        ).where(Person.id.in_(enrolled_people(period, filters))),
        filters,
        Person.partner_id,
    )
    enrolled, done = session.execute(stmt).one()
    return Training(enrolled, done)


# ---------------------------------------------------------------- what the filters offer


@dataclass(frozen=True)
class FilterChoices:
    #: (id, name) of every partner, by name.
    partners: list[tuple[int, str]]
    countries: list[str]
    #: (id, name) of every program, by name.
    programs: list[tuple[int, str]]


def filter_choices(session: Session) -> FilterChoices:
    """What the dashboard can be narrowed to: every partner, country and program."""
    partners = session.execute(
        select(PartnerOrganization.id, PartnerOrganization.name).order_by(PartnerOrganization.name)
    ).all()
    countries = session.scalars(
        select(PartnerOrganization.country).distinct().order_by(PartnerOrganization.country)
    ).all()
    programs = session.execute(select(Program.id, Program.name).order_by(Program.name)).all()
    return FilterChoices(list(partners), list(countries), list(programs))


# ---------------------------------------------------------------- the page


def page_figures(
    session: Session,
    start: datetime,
    end: datetime,
    months: list[Month],
    point_value: Decimal,
    filters: Filters = EVERYTHING,
) -> dict[str, Callable[[], object]]:
    """Every figure the channel manager's dashboard shows, by name, each read when called:
    the page reads them all, `bench/dashboard_queries.py` times them one by one."""
    latest = months[-1:]
    engagements: dict = {}

    def engaged(by: str | None) -> list:
        # The four engagement figures are read together, by the first of them asked for.
        if not engagements:
            engagements.update(engagement_breakdowns(session, months, latest, filters))
        return engagements[by]

    return {
        "filter choices": lambda: filter_choices(session),
        "points and liability": lambda: points_summary(session, start, end, point_value, filters),
        "budget use": lambda: budget_use(session, filters),
        "claims by status and flag": lambda: claim_figures(session, start, end, filters),
        "top partners": lambda: top_partners(session, start, end, filters),
        "top people": lambda: top_people(session, start, end, filters),
        "engagement by month": lambda: engaged(None),
        "engagement by role": lambda: engaged("role"),
        "engagement by country": lambda: engaged("country"),
        "engagement by partner": lambda: engaged("partner"),
        "training completion": lambda: training_completion(session, start, end, filters),
    }
