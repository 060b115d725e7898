"""What both dashboards share: the period and filters they are read for, and engagement.

Every function takes the session, a period and filters and returns rows of ints and
Decimals: no Flask, no formatting. "Active in a month" means made a claim or earned points
(an earn entry of that month); "enrolled" means an enrolment that covers part of the month.
Closed months' engagement and people's earnings are read from the rollups
`channel.month_rollups` stores; the month in progress (and a month not stored yet) is
counted live, from the enrolments and each person's month (`channel.person_months`, kept
with every posting and claim), never from the month's entries: its cost follows the people,
not the volume. `split_period` cuts a period into the whole months rollups answer and the
part months at either end that only the entries can.
The channel manager's other figures are in `channel.channel_dashboard`, the partner
manager's in `channel.partner_dashboard`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, func, null, or_, select, union_all
from sqlalchemy.orm import Session

from channel.ledger import EARNED_KINDS, LedgerEntry
from channel.models import EarningMonth, EarningTotal, EngagementMonth, Enrollment
from channel.month_rollups import (
    ANY_PROGRAM,
    ANY_ROLE,
    month_bounds,
    previous_month,
    stored_between,
    stored_months,
)
from channel.partner_models import PartnerOrganization
from channel.person_months import PersonMonth
from core.db import utcnow
from core.months import month_key
from roles.models import Person, RoleAssignment


@dataclass(frozen=True)
class Filters:
    """What a dashboard is narrowed to; None: everything."""

    program_id: int | None = None
    partner_id: int | None = None
    country: str | None = None


#: No filter: the whole channel.
EVERYTHING = Filters()


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
    return partner_filters(select(Person.id), filters, Person.partner_id)


def enrolled_people(month: Month, filters: Filters):
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
    """Who earned points (an earn entry counted against the month; in the program, if one is
    chosen) or made a claim in the month: from `PersonMonth`, a row per person at most, kept
    with every posting and claim, not from the month's entries."""
    done = PersonMonth
    earned = done.earn_lines > 0
    if filters.program_id is not None:
        earned = and_(earned, done.program_id == filters.program_id)
    active = select(done.person_id).where(done.month == month.key, or_(earned, done.claims > 0))
    # The outer count keeps only these people anyway; narrowing first spares a partner's
    # dashboard from collecting every active person in the channel.
    people = _people_in_scope(filters)
    if people is not None:
        active = active.where(done.person_id.in_(people))
    return active


def engagement(
    session: Session, months: list[Month], filters: Filters = EVERYTHING, by: str | None = None
) -> list[Engagement]:
    """Enrolled and active people per month, overall or `by` "role", "partner" or "country":
    stored months in one read, the others counted one by one."""
    now = utcnow()
    stored = stored_months(session, [m.key for m in months if m.end <= now])
    rows = _stored_engagement(session, stored, filters, by) if stored else []
    for month in months:
        if month.key not in stored:
            rows += _live_engagement(session, month, filters, by)
    return sorted(rows, key=lambda r: (r.month, str(r.group)))


def _stored_engagement(session: Session, keys: set[str], filters: Filters, by: str | None):
    stored = EngagementMonth
    group = {
        "role": stored.role,
        "partner": stored.partner_id,
        "country": PartnerOrganization.country,
    }.get(by)
    stmt = select(
        stored.month, func.sum(stored.enrolled), func.sum(stored.active), *([group] if by else [])
    ).where(
        stored.month.in_(sorted(keys)),
        stored.program_id == (filters.program_id or ANY_PROGRAM),
        stored.role != ANY_ROLE if by == "role" else stored.role == ANY_ROLE,
    )
    if by == "country":
        stmt = stmt.join(PartnerOrganization, PartnerOrganization.id == stored.partner_id)
    stmt = partner_filters(stmt, filters, stored.partner_id).group_by(
        stored.month, *([group] if by else [])
    )
    return [
        Engagement(month, grp[0] if by else None, int(enrolled), int(active))
        for month, enrolled, active, *grp in session.execute(stmt)
        if enrolled
    ]


def _live_engagement(session: Session, month: Month, filters: Filters, by: str | None):
    group = {
        "role": RoleAssignment.role,
        "partner": Person.partner_id,
        "country": PartnerOrganization.country,
    }.get(by)
    active = Person.id.in_(_active_people(month, filters))
    counts = (
        func.count(func.distinct(Person.id)),
        func.count(func.distinct(case((active, Person.id)))),
    )
    stmt = (
        select(*counts, *([group] if by else []))
        .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
        .where(Person.id.in_(enrolled_people(month, filters)))
    )
    if by == "role":
        stmt = stmt.join(RoleAssignment, RoleAssignment.person_id == Person.id)
    if by is not None:
        stmt = stmt.group_by(group)
    stmt = partner_filters(stmt, filters, Person.partner_id)
    return [
        Engagement(month.key, grp[0] if by else None, enrolled, active_count)
        for enrolled, active_count, *grp in session.execute(stmt)
        if enrolled
    ]


#: The breakdowns `engagement_breakdowns` returns, by their `engagement(by=…)` name.
BREAKDOWNS = ("role", "country", "partner")


def engagement_breakdowns(
    session: Session, months: list[Month], latest: list[Month], filters: Filters = EVERYTHING
) -> dict[str | None, list[Engagement]]:
    """What `engagement` returns over `months` (key None) and `by` each of `BREAKDOWNS` over
    `latest`, as the channel dashboard shows them, in fewer reads: a month not stored (the
    month in progress) is counted live in one statement, by partner, whose rows add up to the
    overall, country and partner figures (a person has one company), and by role."""
    now = utcnow()
    keys = {m.key for m in months} | {m.key for m in latest}
    stored = stored_months(session, sorted(k for k in keys if month_bounds(k)[1] <= now))
    result: dict[str | None, list[Engagement]] = {None: [], **{by: [] for by in BREAKDOWNS}}
    ended = {m.key for m in months if m.key in stored}
    if ended:
        result[None] += _stored_engagement(session, ended, filters, None)
    for by in BREAKDOWNS:
        ended = {m.key for m in latest if m.key in stored}
        if ended:
            result[by] += _stored_engagement(session, ended, filters, by)
    month_keys, latest_keys = {m.key for m in months}, {m.key for m in latest}
    for month in {m.key: m for m in [*months, *latest] if m.key not in stored}.values():
        by_partner, by_role = _live_month(session, month, filters, month.key in latest_keys)
        totals: dict[str | None, dict] = {None: {}, "country": {}, "partner": {}}
        for partner_id, country, enrolled, active in by_partner:
            for by, group in ((None, None), ("country", country), ("partner", partner_id)):
                counted = totals[by].setdefault(group, [0, 0])
                counted[0] += enrolled
                counted[1] += active
        wanted = [None] if month.key in month_keys else []
        if month.key in latest_keys:
            wanted += ["country", "partner"]
        for by in wanted:
            result[by] += [
                Engagement(month.key, group, enrolled, active)
                for group, (enrolled, active) in totals[by].items()
                if enrolled
            ]
        result["role"] += [
            Engagement(month.key, role, enrolled, active)
            for role, enrolled, active in by_role
            if enrolled
        ]
    return {by: sorted(rows, key=lambda r: (r.month, str(r.group))) for by, rows in result.items()}


def _live_month(session: Session, month: Month, filters: Filters, roles: bool):
    """A month's enrolled and active people counted live in one statement: (partner_id,
    country, enrolled, active) rows, and with `roles` (role, enrolled, active) rows. The
    people are listed once, a row each with whether they were active, and both counts read
    that list: a person holds a role once, so neither needs a `count(DISTINCT)`."""
    active = Person.id.in_(_active_people(month, filters))
    people = (
        select(
            Person.id.label("person_id"),
            Person.partner_id,
            PartnerOrganization.country,
            case((active, 1), else_=0).label("active"),
        )
        .join(PartnerOrganization, PartnerOrganization.id == Person.partner_id)
        .where(Person.id.in_(enrolled_people(month, filters)))
    )
    people = partner_filters(people, filters, Person.partner_id).cte("enrolled_people")
    c = people.c
    by_partner = select(
        c.partner_id,
        c.country,
        null().label("role"),
        func.count().label("enrolled"),
        func.sum(c.active).label("active"),
    ).group_by(c.partner_id, c.country)
    parts = [by_partner]
    if roles:
        by_role = (
            select(
                null(),
                null(),
                RoleAssignment.role,
                func.count(),
                func.sum(c.active),
            )
            .select_from(people)
            .join(RoleAssignment, RoleAssignment.person_id == c.person_id)
            .group_by(RoleAssignment.role)
        )
        parts.append(by_role)
    partners, role_rows = [], []
    counted = union_all(*parts) if len(parts) > 1 else parts[0]
    for partner_id, country, role, enrolled, active_count in session.execute(counted):
        if role is None:
            partners.append((partner_id, country, int(enrolled), int(active_count or 0)))
        else:
            role_rows.append((role, int(enrolled), int(active_count or 0)))
    return partners, role_rows


def partner_filters(stmt, filters: Filters, partner_column):
    if filters.partner_id is not None:
        stmt = stmt.where(partner_column == filters.partner_id)
    if filters.country is not None:
        stmt = stmt.where(
            partner_column.in_(
                select(PartnerOrganization.id).where(PartnerOrganization.country == filters.country)
            )
        )
    return stmt


def ledger_filters(stmt, filters: Filters):
    if filters.program_id is not None:
        stmt = stmt.where(LedgerEntry.program_id == filters.program_id)
    return partner_filters(stmt, filters, LedgerEntry.partner_id)


# ---------------------------------------------------------------- whole months and part months


@dataclass(frozen=True)
class Span:
    """A period as the rollups can answer it: months [first, until) read whole from the
    rollups (`until` None: every month from `first` on), and part months from the entries."""

    first: str | None
    until: str | None
    whole: bool
    parts: list[tuple[datetime, datetime]]


def _month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)


def split_period(start: datetime | None, end: datetime, now: datetime) -> Span:
    """[start, end) (start None: from the first entry) as whole months and part months."""
    first = None
    if start is not None:
        first = _month_start(start)
        if first < start:
            first = _next_month(first)
    # Nothing is written after now: up to now, the month holding `end` is whole so far.
    until = None if end > now else _month_start(end)
    if first is not None and until is not None and until <= first:
        return Span(None, None, False, [(start, end)])
    parts = []
    if start is not None and start < first:
        parts.append((start, first))
    if until is not None and until < end:
        parts.append((until, end))
    return Span(
        month_key(first) if first else None, month_key(until) if until else None, True, parts
    )


def people_earnings(
    session: Session,
    start: datetime,
    end: datetime,
    filters: Filters,
    stored: set[str] | None = None,
):
    """(person_id, program_id, partner_id, points) of what people (not pools) earned in
    [start, end): sums of the closed months `flask rollups refresh` stored, the other months
    and part months entry by entry; a subquery. `stored`: the stored months, if read."""
    now = utcnow()
    span = split_period(start, end, now)
    unstored: list[str] = []
    if span.whole:
        whole_start = month_bounds(span.first)[0]
        whole_end = month_bounds(span.until)[0] if span.until else end
        if stored is None:
            stored = stored_between(session, span.first, span.until or "9999-12")
        unstored = [key for key in _month_keys(whole_start, whole_end) if key not in stored]
    else:
        stored = set()
    rolled = select(
        EarningMonth.person_id,
        EarningMonth.program_id,
        EarningMonth.partner_id,
        EarningMonth.points,
    )
    if stored:
        rolled = rolled.where(EarningMonth.month >= span.first)
        if span.until is not None:
            rolled = rolled.where(EarningMonth.month < span.until)
    else:
        rolled = rolled.where(EarningMonth.id.is_(None))
    if filters.program_id is not None:
        rolled = rolled.where(EarningMonth.program_id == filters.program_id)
    parts = [partner_filters(rolled, filters, EarningMonth.partner_id)]
    if unstored:
        parts.append(_earned_months(unstored, filters))
    parts += [_earned_entries(part_start, part_end, filters) for part_start, part_end in span.parts]
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("earned")


def _month_keys(start: datetime, end: datetime) -> list[str]:
    """The months [start, end) touches, `start` a month's first instant."""
    keys = []
    while start < end:
        keys.append(month_key(start))
        start = month_bounds(keys[-1])[1]
    return keys


def _earned_months(keys: list[str], filters: Filters):
    """What people earned in the whole months `keys` not stored by the refresh (the month in
    progress, mostly), from `PersonMonth`: a row per person and program at most."""
    earned = select(
        PersonMonth.person_id,
        PersonMonth.program_id,
        PersonMonth.partner_id,
        PersonMonth.points,
    ).where(PersonMonth.month.in_(keys), PersonMonth.lines > 0)
    if filters.program_id is not None:
        earned = earned.where(PersonMonth.program_id == filters.program_id)
    return partner_filters(earned, filters, PersonMonth.partner_id)


def _earned_entries(start: datetime, end: datetime, filters: Filters):
    entries = select(
        LedgerEntry.person_id,
        LedgerEntry.program_id,
        LedgerEntry.partner_id,
        LedgerEntry.points,
    ).where(
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.to_pool.is_(False),
        LedgerEntry.person_id.is_not(None),
        LedgerEntry.created_at >= start,
        LedgerEntry.created_at < end,
    )
    return ledger_filters(entries, filters)


def people_totals(session: Session, start: datetime, end: datetime, filters: Filters):
    """`people_earnings` as the leader board needs it, whose cost does not grow with the
    period's months: the earnings through the last stored month in the period less those
    through the month before it (`EarningTotal`, two months' rows), the months after it and
    part months entry by entry. Falls back to `people_earnings` when the month before the
    period is not stored. A person's rows may add up to 0."""
    span = split_period(start, end, utcnow())
    if not span.whole or span.first is None:
        return people_earnings(session, start, end, filters)
    before = previous_month(span.first)
    stored = stored_between(session, before, span.until or "9999-12")
    if before not in stored:
        return people_earnings(session, start, end, filters, stored - {before})
    last = max(stored)
    whole_end = month_bounds(span.until)[0] if span.until else end
    after = _month_keys(month_bounds(last)[1], whole_end)
    parts = []
    for month, sign in ((last, 1), (before, -1)):
        totals = select(
            EarningTotal.person_id,
            EarningTotal.program_id,
            EarningTotal.partner_id,
            (EarningTotal.points * sign).label("points"),
        ).where(EarningTotal.month == month)
        if filters.program_id is not None:
            totals = totals.where(EarningTotal.program_id == filters.program_id)
        parts.append(partner_filters(totals, filters, EarningTotal.partner_id))
    if after:
        parts.append(_earned_months(after, filters))
    parts += [_earned_entries(part_start, part_end, filters) for part_start, part_end in span.parts]
    return union_all(*parts).subquery("earned")
