"""Goods shipped and cash paid out: one shipment or one cash-out per redemption, and batches.

Kept apart from `channel.rewards` (which only hands a cash-out's bank account over at
redemption) so that `channel.shipments` and `channel.payouts` may import both without a cycle.
A redemption holds at most one shipment and one cash-out (unique keys), so importing a
shipment file twice or building two batches at once cannot ship or pay anything twice.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from schwifty import IBAN
from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException
from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.states import State, one_of


class CashOutState(State):
    REQUESTED = "requested", _l("Waiting for approval")
    APPROVED = "approved", _l("Approved, waiting for payment")
    PAID = "paid", _l("Paid")
    FAILED = "failed", _l("Failed, points refunded")


class BatchFormat(State):
    SEPA = "sepa", _l("SEPA credit transfer (pain.001)")
    CSV = "csv", _l("CSV for the bank")


class CashOutValue(Base):
    """What a cash-out reward pays per redemption: money, in its currency."""

    __tablename__ = "cash_out_values"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    reward_id: Mapped[int] = mapped_column(
        ForeignKey("rewards.id", ondelete="CASCADE"), primary_key=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))


class PayoutBatch(Base):
    """One payment file for the bank: every approved cash-out of one currency, paid once."""

    __tablename__ = "payout_batches"
    __table_args__ = (one_of("format", BatchFormat),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    format: Mapped[str] = mapped_column(String(8))
    #: The file's message id (pain.001 MsgId), unique as the bank requires.
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    #: The file as it was handed to the bank, to download again.
    document: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CashOut(Base):
    """A redemption paid in money to the person's bank account."""

    __tablename__ = "cash_outs"
    __table_args__ = (
        one_of("state", CashOutState),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("state != 'paid' OR batch_id IS NOT NULL", name="paid_in_a_batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(
        ForeignKey("redemptions.id", ondelete="RESTRICT"), unique=True
    )
    #: Validated at request time, stored in its electronic form (no spaces, upper case).
    iban: Mapped[str] = mapped_column(String(34))
    holder: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default=CashOutState.REQUESTED, index=True)
    #: The batch that paid it; set once, together with the state "paid".
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("payout_batches.id", ondelete="RESTRICT"), index=True
    )
    #: Why it failed for good (also the refund's memo).
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class Shipment(Base):
    """Goods of one redemption handed to a carrier, as the supplier's shipment file says."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(
        ForeignKey("redemptions.id", ondelete="RESTRICT"), unique=True
    )
    tracking_number: Mapped[str] = mapped_column(String(100))
    carrier: Mapped[str] = mapped_column(String(100))
    shipped_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def cash_out_value_of(session: Session, reward_id: int) -> CashOutValue | None:
    return session.get(CashOutValue, reward_id)


def checked_iban(text: str | None) -> tuple[str | None, object | None]:
    """(the IBAN in its electronic form, None), or (None, a translated reason it is refused)."""
    cleaned = "".join((text or "").split()).upper()
    if not cleaned:
        return None, _l("Give the IBAN of the account to pay into.")
    try:
        return IBAN(cleaned).compact, None
    except InvalidChecksumDigits:
        return None, _l("This IBAN's check digits do not match: look for a typing mistake.")
    except (SchwiftyException, ValueError):
        return None, _l(
            "This is not a valid IBAN: check the country code, the length and every character."
        )


def bank_code_of(iban: str) -> str | None:
    """The account's BIC where the IBAN's bank registry knows it, else None."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return None
    return str(bic) if bic is not None else None


def cash_out_of(session: Session, redemption_id: int) -> CashOut | None:
    return session.scalar(select(CashOut).where(CashOut.redemption_id == redemption_id))
