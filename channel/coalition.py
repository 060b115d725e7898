"""Coalition brands: other companies whose rewards are paid for in the program's points.

A brand is paid each month for the points people spent on its rewards, at its agreed rate
(money per point, Decimal, in its own currency). A cancelled redemption is netted in the
month of its cancellation, so a month already settled never changes: the month's points
are those of redemptions made in it, less those of redemptions cancelled in it.
The amount is rounded once, half up, to the currency's cents.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Numeric, String, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from channel.rebate_models import InvalidPeriod, period_bounds
from channel.rewards import Redemption, RedemptionStatus, Reward
from core.db import Base, utcnow
from core.errors import InvalidInput
from core.states import State, one_of

CENT = Decimal("0.01")


class BrandFulfilment(State):
    CODES = "codes", _l("By pre-loaded codes")
    EXPORT = "export", _l("By export of its redemptions")


class Brand(Base):
    __tablename__ = "brands"
    __table_args__ = (
        one_of("fulfilment", BrandFulfilment),
        CheckConstraint("rate_per_point > 0", name="rate_per_point"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3))
    #: Money per point paid to the brand, in its currency.
    rate_per_point: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    fulfilment: Mapped[str] = mapped_column(String(16), default=BrandFulfilment.CODES)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class SettlementLine:
    redemption_id: int
    reward_name: str
    points: int  # negative for a cancellation netted in this month
    at: datetime


@dataclass(frozen=True)
class Settlement:
    brand: Brand
    month: date
    lines: list[SettlementLine]

    @property
    def points(self) -> int:
        return sum(line.points for line in self.lines)

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.points) * self.brand.rate_per_point).quantize(CENT, ROUND_HALF_UP)


def parse_month(text: str) -> date:
    """'2026-11' → the first day of that month; anything else (a quarter too) is refused."""
    try:
        if "Q" in (text or "").upper():
            raise InvalidPeriod({})
        start, _ = period_bounds(text)
    except InvalidPeriod:
        raise InvalidInput({"month": _l("Give the month as YYYY-MM, e.g. 2026-11.")}) from None
    return start


def _bounds(month: date) -> tuple[datetime, datetime]:
    _, last = period_bounds(f"{month:%Y-%m}")
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)


def settle(session: Session, brand: Brand, month: date) -> Settlement:
    """The brand's settlement for one calendar month (UTC)."""
    start, end = _bounds(month)
    rows = session.execute(
        select(Redemption, Reward.name)
        .join(Reward, Reward.id == Redemption.reward_id)
        .where(
            Reward.brand_id == brand.id,
            or_(
                and_(Redemption.created_at >= start, Redemption.created_at < end),
                and_(
                    Redemption.status == RedemptionStatus.CANCELLED,
                    Redemption.decided_at >= start,
                    Redemption.decided_at < end,
                ),
            ),
        )
        .order_by(Redemption.id)
    ).all()
    lines = []
    for redemption, reward_name in rows:
        if start <= redemption.created_at < end:
            lines.append(
                SettlementLine(redemption.id, reward_name, redemption.points, redemption.created_at)
            )
        cancelled_at = redemption.decided_at
        if (
            redemption.status == RedemptionStatus.CANCELLED
            and cancelled_at is not None
            and start <= cancelled_at < end
        ):
            lines.append(
                SettlementLine(redemption.id, reward_name, -redemption.points, cancelled_at)
            )
    lines.sort(key=lambda line: (line.at, line.redemption_id))
    return Settlement(brand, month, lines)


def brands(session: Session) -> list[Brand]:
    return list(session.scalars(select(Brand).order_by(Brand.name)))
