"""The manufacturer and the partner organizations that sell its products.

One `Manufacturer` row per deployment (enforced by a unique singleton column). Partner
organizations form a shallow tree: a distributor may be the `parent` of its dealers.
A `Tier` ranks partners (bronze, silver, gold…); later issues attach benefits to tiers.
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

PARTNER_KINDS = ("distributor", "dealer", "installer", "retailer")
PARTNER_STATUSES = ("active", "suspended", "closed")


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


class PartnerOrganization(Base):
    __tablename__ = "partner_organizations"
    __table_args__ = (
        UniqueConstraint("country", "legal_id"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in PARTNER_STATUSES) + ")", name="status"
        ),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in PARTNER_KINDS) + ")", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="dealer")
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))
    #: Company registration or VAT number, unique within its country.
    legal_id: Mapped[str] = mapped_column(String(64))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="RESTRICT"))
    #: The distributor this dealer buys through, if any.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tier: Mapped[Tier | None] = relationship()
    parent: Mapped["PartnerOrganization | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["PartnerOrganization"]] = relationship(back_populates="parent")
    people = relationship("Person", back_populates="partner", order_by="Person.full_name")
