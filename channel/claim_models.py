"""The claim tables (a claim, its invoice lines, the people sharing it) and their states.

A claim is what a person says they sold, installed, ordered or paid. It waits in `pending`
while flagged, becomes `approved` (and earns) or `rejected` (with its reason), and an approved
sale that comes back is `returned`. The rules that flag a claim live in `channel.fraud`, the
steps that move it in `channel.claims`.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, index_where_set, utcnow
from core.states import State, one_of
from roles.models import Person


class ClaimKind(State):
    SALE = "sale"
    INSTALL = "install"
    ORDER = "order"
    PAYMENT = "payment"
    REFERRAL = "referral"


class ClaimStatus(State):
    PENDING = "pending", _l("Waiting for review")
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")
    RETURNED = "returned", _l("Returned, points taken back")


#: The statuses of a claim that still counts: compared against by the fraud rules.
LIVE_STATUSES = (ClaimStatus.PENDING, ClaimStatus.APPROVED)


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        one_of("kind", ClaimKind),
        one_of("status", ClaimStatus),
        # Only install and referral claims carry these: indexed where set, so the bulk of
        # sales claims (imports) maintain no index entries for them.
        index_where_set("ix_claims_serial", "serial", where="serial"),
        index_where_set(
            "ix_claims_referred_partner_id", "referred_partner_id", where="referred_partner_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    #: Old values loaded before a change: `channel.claim_rollups` moves the counts from them.
    status: Mapped[str] = mapped_column(
        String(16), default=ClaimStatus.PENDING, index=True, active_history=True
    )
    #: The day it happened (sale, install, order or payment).
    occurred_on: Mapped[date] = mapped_column(Date)
    invoice_number: Mapped[str | None] = mapped_column(String(64), index=True)
    serial: Mapped[str | None] = mapped_column(String(100))
    #: For a referral: the partner organization the claimant brought in.
    referred_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT")
    )
    site: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    due_on: Mapped[date | None] = mapped_column(Date)
    #: Fraud rules that flagged it, by name; empty for a clean claim.
    flags: Mapped[list] = mapped_column(JSON, default=list, active_history=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    #: For imported sell-out data: the source line's key; importing it again changes nothing.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    lines: Mapped[list["ClaimLine"]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimLine.line_no"
    )
    shares: Mapped[list["ClaimShare"]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimShare.id"
    )
    #: Its proof, in the order sent: uploaded on the web or texted as photos (MMS, WhatsApp).
    photos: Mapped[list["ClaimPhoto"]] = relationship(
        back_populates="claim",
        cascade="all, delete-orphan",
        order_by="ClaimPhoto.position",
        lazy="selectin",
    )


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    __table_args__ = (
        UniqueConstraint("claim_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    claim: Mapped[Claim] = relationship(back_populates="lines")


class ClaimPhoto(Base):
    """One proof file of a claim (an invoice photo, the serial plate), stored by
    `channel.uploads` under a random name; the claim's first is number 1."""

    __tablename__ = "claim_photos"
    __table_args__ = (
        UniqueConstraint("claim_id", "position"),
        CheckConstraint("position > 0", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    #: The stored file's random name (`channel.uploads.proof_path`).
    name: Mapped[str] = mapped_column(String(64))
    #: Read from the bytes, never from what the phone said.
    mime_type: Mapped[str] = mapped_column(String(32))

    claim: Mapped[Claim] = relationship(back_populates="photos")


class ClaimShare(Base):
    """A person credited with part of a sale (a seller and the engineer who specified it)."""

    __tablename__ = "claim_shares"
    __table_args__ = (
        UniqueConstraint("claim_id", "person_id"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    percent: Mapped[int] = mapped_column(Integer)

    claim: Mapped[Claim] = relationship(back_populates="shares")


class ClaimMonth(Base):
    """Claims counted by (UTC month created, partner, status, fraud flag), for the dashboards:
    a row with `flag` "" counts the claims, a row per flag name the claims it flagged. Kept
    equal to the claims by `channel.claim_rollups` in the same transaction as each claim's
    insert and change (an additive upsert); claims name no program, so neither do these."""

    __tablename__ = "claim_months"
    __table_args__ = (UniqueConstraint("month", "partner_id", "status", "flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The UTC month of the claims' `created_at` ("2026-11").
    month: Mapped[str] = mapped_column(String(7))
    partner_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    #: A fraud rule's name, or "" for the row that counts every claim.
    flag: Mapped[str] = mapped_column(String(64))
    claims: Mapped[int] = mapped_column(Integer, default=0)
