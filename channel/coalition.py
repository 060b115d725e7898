"""Coalition brands: other companies whose rewards are paid for in the program's points.

A brand is paid each month for the points people spent on its rewards, at its agreed rate
(money per point, Decimal, in its own currency). A cancelled redemption is netted in the
month of its cancellation, so a month already settled never changes: the month's points
are those of redemptions made in it, less those of redemptions cancelled in it.
The amount is rounded once, half up, to the currency's cents.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Numeric, String, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from channel.exports import Table
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


#: The most money per point a brand may be paid: within Numeric(12, 6).
MAX_RATE = Decimal("1000000")
RATE_STEP = Decimal("0.000001")


@dataclass(frozen=True)
class BrandDetails:
    name: str
    currency: str
    rate_per_point: str
    fulfilment: str
    contact: str = ""


def save_brand(session: Session, details: BrandDetails, existing: Brand | None = None) -> Brand:
    """Add a brand, or change one; every problem reported at once."""
    errors = {}
    name = (details.name or "").strip()
    if not name:
        errors["name"] = _l("Give the brand a name.")
    elif len(name) > 200:
        errors["name"] = _l("At most %(max)s characters.", max=200)
    contact = (details.contact or "").strip()
    if len(contact) > 200:
        errors["contact"] = _l("At most %(max)s characters.", max=200)
    currency = (details.currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency) or currency not in list_currencies():
        errors["currency"] = _l("Give the currency as its three-letter code, e.g. EUR.")
    try:
        rate = Decimal(str(details.rate_per_point or "").strip().replace(",", "."))
        if not rate.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        rate = None
    if rate is None or rate <= 0 or rate >= MAX_RATE or rate != rate.quantize(RATE_STEP):
        errors["rate_per_point"] = _l(
            "Give the money paid per point: above zero, below %(max)s, at most six decimals.",
            max=MAX_RATE,
        )
    if details.fulfilment not in list(BrandFulfilment):
        errors["fulfilment"] = _l("Choose how the brand delivers its rewards.")
    if errors:
        raise InvalidInput(errors)
    brand = existing or Brand()
    brand.name, brand.contact, brand.currency = name, contact, currency
    brand.rate_per_point, brand.fulfilment = rate, details.fulfilment
    try:
        with session.begin_nested():
            session.add(brand)
            session.flush()
    except IntegrityError:
        raise InvalidInput({"name": _l("Another brand has this name.")}) from None
    return brand


def rewards_of(session: Session, brand_id: int) -> list[Reward]:
    return list(
        session.scalars(select(Reward).where(Reward.brand_id == brand_id).order_by(Reward.name))
    )


def rewards_without_brand(session: Session) -> list[Reward]:
    """The manufacturer's own rewards, which a brand may take over."""
    return list(
        session.scalars(
            select(Reward)
            .where(Reward.brand_id.is_(None), Reward.active.is_(True))
            .order_by(Reward.name)
        )
    )


def give_reward_to_brand(session: Session, brand: Brand, reward: Reward | None) -> None:
    """From now on the brand offers the reward and is paid for its redemptions."""
    if reward is None or reward.brand_id is not None:
        raise InvalidInput({"reward_id": _l("Choose one of the manufacturer's own rewards.")})
    reward.brand_id = brand.id
    session.flush()


def settlement_table(session: Session, brand: Brand, month: date) -> Table:
    """The month's settlement as an export: a line per redemption, then the total."""
    settlement = settle(session, brand, month)
    rows = [
        [
            f"R{line.redemption_id}",
            line.reward_name,
            line.at,
            line.points,
            brand.rate_per_point,
            "",
            brand.currency,
        ]
        for line in settlement.lines
    ]
    rows.append(
        [
            "total",
            "",
            "",
            settlement.points,
            brand.rate_per_point,
            settlement.amount,
            brand.currency,
        ]
    )
    return Table(
        name=f"{month:%Y-%m}",
        header=["reference", "reward", "at", "points", "rate_per_point", "amount", "currency"],
        rows=rows,
    )
