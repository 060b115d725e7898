"""Rollups of closed months, stored by a command and then read: engagement and people's earnings.

Engagement (enrolled people, and those of them active: earned points or made a claim in the
month) takes a `count(DISTINCT)` over people × enrolments for each month, so reading a year
of it live costs a year of scans. `refresh_engagement` stores each closed month's counts by
(program, partner, role) in `EngagementMonth`, with "any program" (0) and "any role" ("")
rows so that a person in two programs or two roles still counts once; the dashboards sum
them (a person has one company, so partners and countries add up). The month in progress is
never stored: `channel.dashboards.engagement` reads it live, and reads live any closed month
not refreshed yet. `check_engagement` recounts every stored month (`flask ledger check`);
a month changes after it closed only by a late enrolment edit or a person moving company,
and `flask rollups refresh --all` recounts them.

`EarningMonth` holds what each person earned in a closed month (by program and partner), for
the people's leader board and a partner's staff earnings: entries count in the month they
are written, so a closed month's sums never change. `MonthRefresh` marks the months stored.

Two refreshes at once: each month's `MonthRefresh` row is written first (an upsert), so the
second refresh of a month waits on its lock until the first commits, then recounts it again.
"""

from datetime import UTC, datetime

from sqlalchemy import case, delete, exists, func, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from channel.claim_models import Claim
from channel.ledger import EARNED_KINDS, EntryKind, LedgerEntry, LedgerMonth
from channel.models import EarningMonth, EarningTotal, EngagementMonth, Enrollment, MonthRefresh
from channel.partner_models import PartnerOrganization
from channel.rollups import NO_PROGRAM, created_month
from core.db import utcnow
from core.months import month_key
from roles.models import Person, RoleAssignment

#: `EngagementMonth.program_id` of the "any program" rows, and `role` of the "any role" rows.
ANY_PROGRAM = 0
ANY_ROLE = ""

COLUMNS = ("month", "program_id", "partner_id", "role", "enrolled", "active")
EARNING_COLUMNS = ("month", "person_id", "program_id", "partner_id", "points", "lines")
TOTAL_COLUMNS = ("month", "person_id", "program_id", "partner_id", "points")


def month_bounds(key: str) -> tuple[datetime, datetime]:
    """[start, end) of the UTC month `key` ("2026-11")."""
    year, month = map(int, key.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)


def _counts_sql(key: str, per_program: bool, per_role: bool):
    """One month's (month, program, partner, role, enrolled, active) rows, as the live
    engagement counts them."""
    start, end = month_bounds(key)
    overlapping = (
        Enrollment.enrolled_at < end,
        or_(Enrollment.ended_at.is_(None), Enrollment.ended_at >= start),
    )
    claimed = select(Claim.person_id).where(Claim.created_at >= start, Claim.created_at < end)
    earned = (
        LedgerEntry.kind == EntryKind.EARN,
        LedgerEntry.month == key,
        LedgerEntry.person_id.is_not(None),
    )
    if per_program:
        enrolled = select(Enrollment.person_id, Enrollment.program_id).where(*overlapping)
        enrolled = enrolled.subquery("enrolled")
        program = enrolled.c.program_id
        earned_in = exists().where(
            *earned, LedgerEntry.person_id == Person.id, LedgerEntry.program_id == program
        )
    else:
        enrolled = select(Enrollment.person_id).where(*overlapping).distinct().subquery("enrolled")
        program = literal(ANY_PROGRAM)
        earned_in = Person.id.in_(select(LedgerEntry.person_id).where(*earned))
    role = RoleAssignment.role if per_role else literal(ANY_ROLE)
    active = or_(earned_in, Person.id.in_(claimed))
    stmt = (
        select(
            literal(key).label("month"),
            program.label("program_id"),
            Person.partner_id.label("partner_id"),
            role.label("role"),
            func.count(func.distinct(Person.id)).label("enrolled"),
            func.count(func.distinct(case((active, Person.id)))).label("active"),
        )
        .join(enrolled, enrolled.c.person_id == Person.id)
        .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
    )
    if per_role:
        stmt = stmt.join(RoleAssignment, RoleAssignment.person_id == Person.id)
    groups = [Person.partner_id]
    if per_program:
        groups.append(program)
    if per_role:
        groups.append(RoleAssignment.role)
    return stmt.group_by(*groups)


def engagement_sql(key: str):
    """Every `EngagementMonth` row of month `key`, counted from enrolments, entries and claims."""
    return union_all(
        *(
            _counts_sql(key, per_program, per_role)
            for per_program in (False, True)
            for per_role in (False, True)
        )
    )


def earnings_sql(dialect: str, key: str | None = None):
    """`EarningMonth` rows counted from the entries: of month `key`, or of every month."""
    month = created_month(dialect).label("month")
    program = func.coalesce(LedgerEntry.program_id, NO_PROGRAM).label("program_id")
    stmt = select(
        month,
        LedgerEntry.person_id,
        program,
        LedgerEntry.partner_id,
        func.sum(LedgerEntry.points).label("points"),
        func.count().label("lines"),
    ).where(
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.to_pool.is_(False),
        LedgerEntry.person_id.is_not(None),
    )
    if key is not None:
        start, end = month_bounds(key)
        stmt = stmt.where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    return stmt.group_by(month, LedgerEntry.person_id, program, LedgerEntry.partner_id)


def previous_month(key: str) -> str:
    year, month = map(int, key.split("-"))
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def totals_sql(key: str, previous_stored: bool):
    """`EarningTotal` rows of month `key`: the previous month's totals plus this month's
    earnings when the previous month is stored, else summed from every entry before its end."""
    if previous_stored:
        parts = union_all(
            select(
                EarningTotal.person_id,
                EarningTotal.program_id,
                EarningTotal.partner_id,
                EarningTotal.points,
            ).where(EarningTotal.month == previous_month(key)),
            select(
                EarningMonth.person_id,
                EarningMonth.program_id,
                EarningMonth.partner_id,
                EarningMonth.points,
            ).where(EarningMonth.month == key),
        ).subquery("earned")
    else:
        parts = (
            select(
                LedgerEntry.person_id,
                func.coalesce(LedgerEntry.program_id, NO_PROGRAM).label("program_id"),
                LedgerEntry.partner_id,
                LedgerEntry.points,
            )
            .where(
                LedgerEntry.kind.in_(EARNED_KINDS),
                LedgerEntry.to_pool.is_(False),
                LedgerEntry.person_id.is_not(None),
                LedgerEntry.created_at < month_bounds(key)[1],
            )
            .subquery("earned")
        )
    c = parts.c
    return select(
        literal(key).label("month"),
        c.person_id,
        c.program_id,
        c.partner_id,
        func.sum(c.points).label("points"),
    ).group_by(c.person_id, c.program_id, c.partner_id)


def closed_months(session: Session, now: datetime) -> list[str]:
    """Every month that has ended, from the first enrolment's or entry's on, oldest first."""
    enrolled = session.scalar(select(func.min(Enrollment.enrolled_at)))
    written = session.scalar(select(func.min(LedgerMonth.month)))
    firsts = [k for k in (enrolled and month_key(enrolled), written) if k]
    months: list[str] = []
    if not firsts:
        return months
    key, current = min(firsts), month_key(now)
    while key < current:
        months.append(key)
        key = month_key(month_bounds(key)[1])
    return months


def refresh_months(session: Session, months: list[str], now: datetime | None = None) -> int:
    """Store the engagement and earnings of `months` (closed ones only), replacing what was
    stored; returns how many months were stored."""
    now = now or utcnow()
    current = month_key(now)
    dialect = session.get_bind().dialect.name
    months = sorted({m for m in months if m < current})
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stored = stored_months(session, [previous_month(m) for m in months])
    for key in months:
        mark = insert(MonthRefresh).values(month=key, refreshed_at=now)
        session.execute(
            mark.on_conflict_do_update(
                index_elements=["month"], set_={"refreshed_at": mark.excluded.refreshed_at}
            )
        )
        for table in (EngagementMonth, EarningMonth, EarningTotal):
            session.execute(delete(table).where(table.month == key))
        session.execute(
            EngagementMonth.__table__.insert().from_select(COLUMNS, engagement_sql(key))
        )
        session.execute(
            EarningMonth.__table__.insert().from_select(EARNING_COLUMNS, earnings_sql(dialect, key))
        )
        totals = totals_sql(key, previous_month(key) in stored)
        session.execute(EarningTotal.__table__.insert().from_select(TOTAL_COLUMNS, totals))
        stored.add(key)
    session.flush()
    return len(months)


def months_to_refresh(session: Session, now: datetime, everything: bool = False) -> list[str]:
    """The closed months not stored yet and the last closed one (or, `everything`, all)."""
    closed = closed_months(session, now)
    if everything:
        return closed
    stored = set(session.scalars(select(MonthRefresh.month)))
    return sorted({m for m in closed if m not in stored} | set(closed[-1:]))


def stored_months(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` have their engagement and earnings stored."""
    if not keys:
        return set()
    return set(session.scalars(select(MonthRefresh.month).where(MonthRefresh.month.in_(keys))))


def stored_between(session: Session, first: str, until: str) -> set[str]:
    """The stored months in [first, until)."""
    return set(
        session.scalars(
            select(MonthRefresh.month).where(
                MonthRefresh.month >= first, MonthRefresh.month < until
            )
        )
    )


def check_months(session: Session) -> list[str]:
    """Every stored engagement count and earning sum that differs from a recount, one line each."""
    wrong = []
    dialect = session.get_bind().dialect.name
    for key in session.scalars(select(MonthRefresh.month).order_by(MonthRefresh.month)):
        counted = {
            tuple(r[:4]): (int(r.enrolled), int(r.active))
            for r in session.execute(engagement_sql(key))
        }
        stored = {
            (r.month, r.program_id, r.partner_id, r.role): (r.enrolled, r.active)
            for r in session.scalars(select(EngagementMonth).where(EngagementMonth.month == key))
        }
        wrong += [
            f"engagement {k}: stored {stored.get(k, (0, 0))}, counted {counted.get(k, (0, 0))}"
            for k in sorted(set(counted) | set(stored))
            if stored.get(k, (0, 0)) != counted.get(k, (0, 0))
        ]
        summed = {
            tuple(r[:4]): (int(r.points), int(r.lines))
            for r in session.execute(earnings_sql(dialect, key))
        }
        kept = {
            (r.month, r.person_id, r.program_id, r.partner_id): (r.points, r.lines)
            for r in session.scalars(select(EarningMonth).where(EarningMonth.month == key))
        }
        wrong += [
            f"earnings {k}: stored {kept.get(k, (0, 0))}, ledger {summed.get(k, (0, 0))}"
            for k in sorted(set(summed) | set(kept))
            if kept.get(k, (0, 0)) != summed.get(k, (0, 0))
        ]
        totals = {tuple(r[1:4]): int(r.points) for r in session.execute(totals_sql(key, False))}
        held = {
            (r.person_id, r.program_id, r.partner_id): r.points
            for r in session.scalars(select(EarningTotal).where(EarningTotal.month == key))
        }
        wrong += [
            f"earnings through {key} {k}: stored {held.get(k, 0)}, ledger {totals.get(k, 0)}"
            for k in sorted(set(totals) | set(held))
            if held.get(k, 0) != totals.get(k, 0)
        ]
    return wrong
