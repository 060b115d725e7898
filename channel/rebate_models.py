"""Rebate statements and their lines (what a period close wrote), and the periods they cover.

A statement is unique per program, partner and period; a purchase line is paid once per
program and rule (`channel.rebates` explains the close that writes them).
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channel.models import Program
from channel.partner_models import PartnerOrganization
from channel.purchases import PurchaseLine
from core.db import Base, UTCDateTime, utcnow
from core.errors import InvalidInput

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidPeriod(InvalidInput):
    """A period that cannot be closed: unreadable, or not over yet."""


class RebateStatement(Base):
    """What one partner earned under one program's company rules in one period."""

    __tablename__ = "rebate_statements"
    __table_args__ = (UniqueConstraint("program_id", "partner_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: "2026-Q4" or "2026-11".
    period: Mapped[str] = mapped_column(String(7))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: The credit memo's reference in the manufacturer's books.
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    partner: Mapped[PartnerOrganization] = relationship()
    program: Mapped[Program] = relationship()
    lines: Mapped[list["RebateLine"]] = relationship(
        back_populates="statement", order_by="RebateLine.id", cascade="all, delete-orphan"
    )


class RebateLine(Base):
    """One purchase line's rebate under one rule: the amount, the rate, what it came to."""

    __tablename__ = "rebate_lines"
    __table_args__ = (UniqueConstraint("program_id", "purchase_line_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("rebate_statements.id", ondelete="CASCADE"), index=True
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    purchase_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_lines.id", ondelete="RESTRICT"), index=True
    )
    rule: Mapped[str] = mapped_column(String(32))
    #: The purchase line's amount in its own currency, the rate applied, and the result.
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(16, 6))
    converted: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    rebate: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: The tier whose percent applied (volume rebates).
    tier_code: Mapped[str | None] = mapped_column(String(32))
    #: The earlier period this line belongs to, when it came in after that period was closed.
    true_up_of: Mapped[str | None] = mapped_column(String(7))

    statement: Mapped[RebateStatement] = relationship(back_populates="lines")
    purchase: Mapped[PurchaseLine] = relationship()


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of "2026-Q4" or "2026-11"."""
    text = (period or "").strip().upper()
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    elif match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        start = date(year, month, 1)
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    else:
        raise InvalidPeriod(
            {
                "period": _l(
                    "“%(period)s” is not a period: write 2026-Q4 or 2026-11.", period=text[:20]
                )
            }
        )
    return start, end - timedelta(days=1)


def period_of(day: date, like: str) -> str:
    """The period of `day`, a quarter or a month as `like` is."""
    if "Q" in like.upper():
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"
