"""What each of a partner's people received as rewards in a year, for payroll: in several
countries a reward from a third party is a taxable benefit.

A reward counts once it was delivered (a fulfilled redemption), in the UTC month it was
fulfilled (a pre-loaded gift-card code: the moment it was handed out). Its value is its
points at the point value the dashboards' liability uses (Decimal, in that currency). People
are counted with the partner they work for now: its payroll is the one that reports them.
Rows come from the database in order and are summed as they stream, a month at a time.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.rewards import Redemption, RedemptionStatus, Reward
from core.months import month_key
from roles.models import Person

#: Years a report may be asked for: wide enough for any payroll, each with a UTC start.
YEARS = (2000, 2999)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Valuation:
    """What one point is worth in money, for the report."""

    point_value: Decimal
    currency: str

    def of(self, points: int) -> Decimal:
        return (Decimal(points) * self.point_value).quantize(CENT)


@dataclass(frozen=True)
class Received:
    """One person's rewards of one kind fulfilled in one month; `month` is "2026-03", or
    None for the person's total of the year (then `reward_id` is None too)."""

    person_id: int
    person: str
    reward_id: int | None
    reward: str
    month: str | None
    redemptions: int
    points: int
    value: Decimal


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def received_in(
    session: Session, partner_id: int, year: int, valuation: Valuation
) -> Iterator[Received]:
    """Each person's fulfilled rewards by reward and month, each person followed by their total
    for the year; people by name."""
    start, end = year_bounds(year)
    moment = func.coalesce(Redemption.decided_at, Redemption.created_at)
    stmt = (
        select(Person.id, Person.full_name, Reward.id, Reward.name, Redemption.points, moment)
        .join(Person, Person.id == Redemption.person_id)
        .join(Reward, Reward.id == Redemption.reward_id)
        .where(
            Person.partner_id == partner_id,
            Redemption.status == RedemptionStatus.FULFILLED,
            moment >= start,
            moment < end,
        )
        .order_by(Person.full_name, Person.id, Reward.id, moment, Redemption.id)
        .execution_options(yield_per=2000)
    )
    group: list | None = None  # [person id, person, reward id, reward, month, count, points]
    person_total: list | None = None  # [person id, person, count, points]

    def month_row(g) -> Received:
        return Received(g[0], g[1], g[2], g[3], g[4], g[5], g[6], valuation.of(g[6]))

    def total_row(t) -> Received:
        return Received(t[0], t[1], None, "", None, t[2], t[3], valuation.of(t[3]))

    for person_id, name, reward_id, reward, points, at in session.execute(stmt):
        month = month_key(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
        if group is not None and (group[0], group[2], group[4]) == (person_id, reward_id, month):
            group[5] += 1
            group[6] += points
            person_total[2] += 1
            person_total[3] += points
            continue
        if group is not None:
            yield month_row(group)
        if person_total is not None and person_total[0] != person_id:
            yield total_row(person_total)
            person_total = None
        group = [person_id, name, reward_id, reward, month, 1, points]
        if person_total is None:
            person_total = [person_id, name, 0, 0]
        person_total[2] += 1
        person_total[3] += points
    if group is not None:
        yield month_row(group)
        yield total_row(person_total)


TAX_HEADER = [
    "year",
    "person_id",
    "person",
    "reward_id",
    "reward",
    "month",
    "redemptions",
    "points",
    "value",
    "currency",
]


def tax_rows(session: Session, partner_id: int, year: int, valuation: Valuation):
    """The report as rows of plain values for the exports (a person's total: month "total")."""
    for r in received_in(session, partner_id, year, valuation):
        yield [
            year,
            r.person_id,
            r.person,
            r.reward_id if r.reward_id is not None else "",
            r.reward,
            r.month or "total",
            r.redemptions,
            r.points,
            r.value,
            valuation.currency,
        ]
