"""The manufacturer, its partner organizations and the tiers that rank them.

One `Manufacturer` row per deployment (enforced by a unique singleton column). Partner
organizations form a shallow tree: a distributor may be the `parent` of its dealers.
A `Tier` ranks partners (bronze, silver, gold…); `channel.tiers` computes it from what they do.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.states import State, one_of


class PartnerKind(State):
    DISTRIBUTOR = "distributor", _l("Distributor")
    DEALER = "dealer", _l("Dealer")
    INSTALLER = "installer", _l("Installer")
    RETAILER = "retailer", _l("Retailer")


class PartnerStatus(State):
    ACTIVE = "active", _l("Active")
    SUSPENDED = "suspended", _l("Suspended")
    CLOSED = "closed", _l("Closed")


class Manufacturer(Base):
    __tablename__ = "manufacturers"
    __table_args__ = (CheckConstraint("singleton", name="one_per_deployment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Always true and unique: a deployment serves exactly one manufacturer.
    singleton: Mapped[bool] = mapped_column(Boolean, default=True, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))


class Tier(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Higher is better; unique so tiers have one order.
    rank: Mapped[int] = mapped_column(Integer, unique=True)
    #: Rules that use it multiply their points by it (1.5: half as much again).
    multiplier: Mapped[Decimal] = mapped_column(
        Numeric(4, 2), default=Decimal(1), server_default="1"
    )


class PartnerOrganization(Base):
    __tablename__ = "partner_organizations"
    __table_args__ = (
        UniqueConstraint("country", "legal_id"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        one_of("status", PartnerStatus),
        one_of("kind", PartnerKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=PartnerKind.DEALER)
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))
    #: Company registration or VAT number, unique within its country.
    legal_id: Mapped[str] = mapped_column(String(64))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="RESTRICT"))
    #: The distributor this dealer buys through, if any.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=PartnerStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The day its contract with the manufacturer started; tenure counts from it. NULL:
    #: unknown, and tenure counts from `created_at` (the day it was registered here).
    contract_started_on: Mapped[date | None] = mapped_column(Date)
    #: A tier set by hand, shown as such, until `tier_override_until`; then computed again.
    tier_override_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="RESTRICT")
    )
    tier_override_until: Mapped[datetime | None]
    tier_override_reason: Mapped[str | None] = mapped_column(String(255))

    tier: Mapped[Tier | None] = relationship(foreign_keys=[tier_id])
    tier_override: Mapped[Tier | None] = relationship(foreign_keys=[tier_override_id])
    parent: Mapped["PartnerOrganization | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["PartnerOrganization"]] = relationship(back_populates="parent")
    people = relationship("Person", back_populates="partner", order_by="Person.full_name")
