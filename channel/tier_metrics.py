"""What tiers measure: a partner's purchase volume in EUR over twelve months, the points its
people earned, and its tenure (from the contract's start, or from its registration here while
that is unknown). Plain measurements; `channel.tiers` turns them into tiers.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channel.exchange_rates import BASE_CURRENCY, NoRate, RateBook
from channel.ledger import EARNED_KINDS, LedgerEntry
from channel.partner_models import PartnerOrganization
from channel.purchases import PurchaseLine

YEAR = timedelta(days=365)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (none if `end` comes first)."""
    months = (end.year - start.year) * 12 + (end.month - start.month) - (end.day < start.day)
    return max(months, 0)


@dataclass(frozen=True)
class Tenure:
    months: int
    #: False: the contract's start is unknown and the months count from the registration here.
    from_contract: bool


def tenure_of(partner: PartnerOrganization, now: datetime) -> Tenure:
    if partner.contract_started_on is not None:
        return Tenure(months_between(partner.contract_started_on, now.date()), True)
    return Tenure(months_between(partner.created_at.date(), now.date()), False)


class DailyVolume:
    """A partner's purchases in EUR by day over a span, read in one query, so that its volume
    as of each day of the span costs no query. Each line is converted at its own day's rate
    (as rebates convert it); a line with no rate yet is left out until the rate arrives."""

    def __init__(self, session: Session, partner_id: int, first: date, last: date, rates=None):
        rates = rates or RateBook(session)
        by_day: dict[date, Decimal] = defaultdict(Decimal)
        for amount, currency, day in session.execute(
            select(PurchaseLine.amount, PurchaseLine.currency, PurchaseLine.invoiced_on).where(
                PurchaseLine.partner_id == partner_id,
                PurchaseLine.invoiced_on >= first,
                PurchaseLine.invoiced_on <= last,
            )
        ):
            try:
                by_day[day] += rates.convert(
                    Decimal(amount), currency, BASE_CURRENCY, day
                ).converted
            except NoRate:
                continue
        self.days = sorted(by_day)
        self.running = list(accumulate((by_day[day] for day in self.days), initial=Decimal(0)))

    def as_of(self, now: datetime) -> Decimal:
        """What was bought in the 365 days whose start is before `now`."""
        last = (now - timedelta(microseconds=1)).date()
        upto = bisect_right(self.days, last)
        since = bisect_right(self.days, last - YEAR)
        return self.running[upto] - self.running[since]


def purchase_volume(
    session: Session, partner_id: int, now: datetime, rates: RateBook | None = None
) -> Decimal:
    """What the partner bought in the 365 days whose start is before `now`, in EUR."""
    last = (now - timedelta(microseconds=1)).date()
    return DailyVolume(session, partner_id, last - YEAR, last, rates).as_of(now)


def points_earned(session: Session, partner_id: int, now: datetime, program_id=None) -> Decimal:
    """Points the partner's people earned in the 365 days to `now` (of one program, if given)."""
    earned = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
        LedgerEntry.partner_id == partner_id,
        LedgerEntry.kind.in_(EARNED_KINDS),
        LedgerEntry.created_at >= now - YEAR,
        LedgerEntry.created_at < now,
    )
    if program_id is not None:
        earned = earned.where(LedgerEntry.program_id == program_id)
    return Decimal(session.scalar(earned))
