"""What each of a partner's people received as rewards in a year, for payroll: in several
countries a reward from a third party is a taxable benefit.

A reward counts once it was delivered (a fulfilled redemption), in the UTC month it was
fulfilled (a pre-loaded gift-card code: the moment it was handed out). Its value is the face
value of the offer it was redeemed under, in that offer's currency (a 100 PLN card: 100 PLN),
copied onto the redemption then; a reward without one is worth its points at the point value
the dashboards' liability uses. Each sum is in one currency, never mixed. People
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
    """One person's rewards of one kind fulfilled in one month and valued in one currency;
    `month` is "2026-03", or None for the person's total of the year in that currency (then
    `reward_id` is None too)."""

    person_id: int
    person: str
    reward_id: int | None
    reward: str
    month: str | None
    redemptions: int
    points: int
    value: Decimal
    currency: str


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def received_in(
    session: Session, partner_id: int, year: int, valuation: Valuation
) -> Iterator[Received]:
    """Each person's fulfilled rewards by reward, month and currency, each person followed
    by their totals for the year, one per currency (sums never mix currencies); people by
    name.

    A reward redeemed where its offer had a face value is worth that, in its currency; any
    other at its points × the point value."""
    start, end = year_bounds(year)
    moment = func.coalesce(Redemption.decided_at, Redemption.created_at)
    stmt = (
        select(
            Person.id,
            Person.full_name,
            Reward.id,
            Reward.name,
            Redemption.points,
            Redemption.face_value,
            Redemption.currency,
            moment,
        )
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
    person: tuple[int, str] | None = None
    # One person's sums, in the order met: (reward id, reward, month, currency) and currency
    # -> [redemptions, points, value].
    groups: dict[tuple, list] = {}
    totals: dict[str, list] = {}

    def person_rows() -> Iterator[Received]:
        for (reward_id, reward, month, currency), (count, points, value) in groups.items():
            yield Received(*person, reward_id, reward, month, count, points, value, currency)
        for currency in sorted(totals):
            count, points, value = totals[currency]
            yield Received(*person, None, "", None, count, points, value, currency)

    for person_id, name, reward_id, reward, points, face_value, currency, at in session.execute(
        stmt
    ):
        if person is not None and person[0] != person_id:
            yield from person_rows()
            groups.clear()
            totals.clear()
        person = (person_id, name)
        month = month_key(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
        if face_value is None:
            value, currency = valuation.of(points), valuation.currency
        else:
            value = Decimal(face_value).quantize(CENT)
        for sums in (
            groups.setdefault((reward_id, reward, month, currency), [0, 0, Decimal(0)]),
            totals.setdefault(currency, [0, 0, Decimal(0)]),
        ):
            sums[0] += 1
            sums[1] += points
            sums[2] += value
    if person is not None:
        yield from person_rows()


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
            r.currency,
        ]
