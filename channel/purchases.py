"""Purchases (sell-in) and the serial registry: what partners bought, and where each shipped
unit has been since.

Design:
- A purchase line is one line of an invoice or credit note: from the manufacturer to a
  partner (`seller_id` NULL) or from a distributor to a dealer it supplies. Its `source_key`
  (seller, document, number, line) is unique, so a line is stored once however often, and
  however concurrently, it is imported. Quantity and amount are signed: a credit note's are
  negative. Amounts stay in the invoice's currency; converting them is the business of what
  pays on them (`channel.exchange_rates`), at the invoice's date.
- The registry holds one row per serial number ever shipped: the partner holding it now, its
  state, and the line that shipped it there. Every change is also a `SerialEvent`, so the
  registry answers both "where is it" and "what happened to it".
- States move one way: shipped (by the manufacturer) -> sold on (by the partner holding it,
  to a partner it supplies) -> installed; a credit note returns it from the partner holding
  it. Writers lock the serial rows they change (FOR UPDATE on PostgreSQL), so an import and an
  install claim of one serial take turns.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.states import State, one_of

#: The length of a serial number and of an invoice number.
MAX_SERIAL = 100
MAX_NUMBER = 64


class DocumentKind(State):
    INVOICE = "invoice", _l("Invoice")
    CREDIT_NOTE = "credit_note", _l("Credit note")


class SerialStatus(State):
    SHIPPED = "shipped", _l("Shipped")
    SOLD_ON = "sold_on", _l("Sold on to a dealer")
    INSTALLED = "installed", _l("Installed")
    RETURNED = "returned", _l("Returned")


def normal_serial(raw) -> str:
    """A serial number as stored and compared: no surrounding spaces, upper case."""
    return str(raw or "").strip().upper()


def purchase_key(seller_legal_id: str | None, document: str, number: str, line: int) -> str:
    """The line's unique key: one seller never issues two documents of one kind and number."""
    return f"purchase:{seller_legal_id or '-'}:{document}:{number}:{line}"


class PurchaseLine(Base):
    __tablename__ = "purchase_lines"
    __table_args__ = (
        one_of("document", DocumentKind),
        CheckConstraint(
            "(document = 'invoice' AND quantity > 0 AND amount >= 0) OR "
            "(document = 'credit_note' AND quantity < 0 AND amount <= 0)",
            name="signed_by_document",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique: see purchase_key.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: The distributor that invoiced; NULL when the manufacturer did.
    seller_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: The partner that bought.
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    document: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(MAX_NUMBER))
    line: Mapped[int] = mapped_column(Integer)
    invoiced_on: Mapped[date] = mapped_column(Date, index=True)
    sku: Mapped[str] = mapped_column(String(64))
    #: Units; negative on a credit note.
    quantity: Mapped[int] = mapped_column(Integer)
    #: Net amount in `currency`; negative on a credit note.
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Serial(Base):
    __tablename__ = "serials"
    __table_args__ = (one_of("status", SerialStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(MAX_SERIAL), unique=True)
    sku: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    #: The partner holding the unit now (who last bought it, or returned it).
    holder_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: The purchase line that brought it to its holder; NULL for a serial from a bare list.
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_lines.id", ondelete="RESTRICT"), index=True
    )
    installed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT")
    )
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SerialEvent(Base):
    """One thing that happened to a serial: shipped, sold on, installed, returned."""

    __tablename__ = "serial_events"
    __table_args__ = (one_of("status", SerialStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serials.id", ondelete="CASCADE"), index=True)
    #: The state the serial entered.
    status: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT")
    )
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_lines.id", ondelete="RESTRICT")
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    happened_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
