"""The product catalog, programs, partners' decisions on them and their audit trail.

The partners and tiers programs are offered to are in `channel.partner_models`; a program's
schemes and earning rules in `channel.scheme_models`.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channel.partner_models import PartnerOrganization, Tier
from channel.scheme_models import Scheme
from core.db import Base, utcnow
from core.states import State, one_of


class ProgramStatus(State):
    """A program moves draft → offered → active → closed."""

    DRAFT = "draft", _l("Draft")
    OFFERED = "offered", _l("Offered")
    ACTIVE = "active", _l("Active")
    CLOSED = "closed", _l("Closed")

    @classmethod
    def open_for_decisions(cls) -> tuple["ProgramStatus", ...]:
        """Offered or running: partners may decide on it, and their staff be enrolled."""
        return (cls.OFFERED, cls.ACTIVE)


class SerialCheck(State):
    """How a program treats an install claimed on a serial number the registry never saw."""

    REFUSE = "refuse", _l("Refuse serial numbers we never shipped")
    REVIEW = "review", _l("Send serial numbers we never shipped to review")
    OFF = "off", _l("Do not check serial numbers")


class DecisionOutcome(State):
    APPROVED = "approved", _l("Approved")
    DECLINED = "declined", _l("Declined")


class AuditAction(State):
    """What an audit entry records (not kept by a constraint: old rows keep their words)."""

    CREATED = "created", _l("Created")
    EDITED = "edited", _l("Edited")
    CHANGED = "changed", _l("Changed (new version)")
    OFFERED = "offered", _l("Offered")
    LAUNCHED = "launched", _l("Launched")
    CLOSED = "closed", _l("Closed")
    APPROVED = "approved", _l("Approved")
    DECLINED = "declined", _l("Declined")
    ENROLMENT = "enrolment", _l("Enrolment")


# ---------------------------------------------------------------- the product catalog


class ProductGroup(Base):
    """A product line ("boilers", "heat pumps"): rules may target a whole group."""

    __tablename__ = "product_groups"
    __table_args__ = (CheckConstraint("default_points_per_unit >= 0", name="points_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Points one unit earns when neither the product nor the rule says otherwise.
    default_points_per_unit: Mapped[int | None] = mapped_column(Integer)

    products: Mapped[list["Product"]] = relationship(back_populates="group", order_by="Product.sku")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("points_per_unit >= 0", name="points_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[int] = mapped_column(
        ForeignKey("product_groups.id", ondelete="RESTRICT"), index=True
    )
    #: Points one unit earns by default; NULL: the group's default.
    points_per_unit: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[ProductGroup] = relationship(back_populates="products")

    @property
    def unit_points(self) -> int | None:
        if self.points_per_unit is not None:
            return self.points_per_unit
        return self.group.default_points_per_unit


# ---------------------------------------------------------------- programs
#
# A program moves draft → offered → active → closed. Once offered, its terms and schemes
# are versioned: every change bumps `version`, snapshots the terms in ProgramVersion and
# retires changed scheme rules rather than editing them, so a partner that approved
# version N keeps running exactly version N until its management approves the change.


class Program(Base):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="period"),
        one_of("status", ProgramStatus),
        one_of("serial_check", SerialCheck),
        CheckConstraint("point_value > 0", name="point_value_positive"),
        CheckConstraint("budget_points IS NULL OR budget_points > 0", name="budget_positive"),
        CheckConstraint(
            "cap_per_person_month IS NULL OR cap_per_person_month > 0", name="person_cap_positive"
        ),
        CheckConstraint(
            "cap_per_partner IS NULL OR cap_per_partner > 0", name="partner_cap_positive"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: In the channel manager's language; translations are ProgramText rows.
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ProgramStatus.DRAFT, index=True)
    #: The period is [starts_at, ends_at).
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: ISO 4217 code of the money amounts (EUR, PLN, ILS, IRR…).
    currency: Mapped[str] = mapped_column(String(3))
    #: What one point is worth in `currency`.
    point_value: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    budget_points: Mapped[int | None] = mapped_column(Integer)
    cap_per_person_month: Mapped[int | None] = mapped_column(Integer)
    cap_per_partner: Mapped[int | None] = mapped_column(Integer)
    #: Staff see where they stand among peers in their role (and hear when they reach the top).
    show_leaderboard: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: What an install claim on a serial the registry never saw gets (`SerialCheck`).
    serial_check: Mapped[str] = mapped_column(
        String(8), default=SerialCheck.REVIEW, server_default=SerialCheck.REVIEW.value
    )
    #: Bumped by every change made after the program was first offered.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Offered only to the partners it targets that are at this tier or above; NULL: to every
    #: partner it targets (`channel.tier_benefits`).
    min_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="RESTRICT"))
    #: Early access: from this moment the partners it targets below `min_tier` are offered it
    #: too; NULL: never.
    tier_only_until: Mapped[datetime | None]

    texts: Mapped[list["ProgramText"]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="ProgramText.language"
    )
    min_tier: Mapped[Tier | None] = relationship(foreign_keys=[min_tier_id])
    targets: Mapped[list["ProgramTarget"]] = relationship(
        back_populates="program", cascade="all, delete-orphan"
    )
    schemes: Mapped[list[Scheme]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="Scheme.id"
    )

    @property
    def last_moment(self) -> datetime:
        """The last instant inside the period, for showing its last day (ends_at is exclusive)."""
        return self.ends_at - timedelta(microseconds=1)

    @property
    def budget_money(self) -> Decimal | None:
        return None if self.budget_points is None else self.budget_points * self.point_value

    def text_in(self, language: str) -> tuple[str, str]:
        """Name and description in `language`, falling back to the original."""
        for text in self.texts:
            if text.language == language:
                return text.name, text.description
        return self.name, self.description


class ProgramText(Base):
    __tablename__ = "program_texts"
    __table_args__ = (UniqueConstraint("program_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    program: Mapped[Program] = relationship(back_populates="texts")


class ProgramTarget(Base):
    """A partner organization, or a whole tier, the program is offered to."""

    __tablename__ = "program_targets"
    __table_args__ = (
        CheckConstraint("(partner_id IS NULL) <> (tier_id IS NULL)", name="partner_or_tier"),
        UniqueConstraint("program_id", "partner_id"),
        UniqueConstraint("program_id", "tier_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="CASCADE")
    )
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))

    program: Mapped[Program] = relationship(back_populates="targets")
    partner: Mapped[PartnerOrganization | None] = relationship()
    tier: Mapped[Tier | None] = relationship()


class ProgramVersion(Base):
    """The program-level terms as they stood at one version (caps, budget, period)."""

    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    #: {"starts_at", "ends_at", "cap_per_person_month", "cap_per_partner", "budget_points",
    #:  "point_value", "currency"} as JSON-safe strings and numbers.
    terms: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgramDecision(Base):
    """A partner management's current answer to a program; its history is in the audit log."""

    __tablename__ = "program_decisions"
    __table_args__ = (
        UniqueConstraint("program_id", "partner_id"),
        one_of("outcome", DecisionOutcome),
        CheckConstraint(
            "cap_per_person_month IS NULL OR cap_per_person_month > 0", name="person_cap_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    #: The program version management said yes to; staff earn under exactly that version.
    approved_version: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    #: Roles allowed to take part; NULL: every role the program targets.
    roles: Mapped[list | None] = mapped_column(JSON)
    #: A per-person monthly cap below the program's.
    cap_per_person_month: Mapped[int | None] = mapped_column(Integer)
    #: Staff earnings go to the company pool that management distributes.
    pay_to_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    program: Mapped[Program] = relationship()
    partner: Mapped[PartnerOrganization] = relationship()
    exclusions: Mapped[list["DecisionExclusion"]] = relationship(
        back_populates="decision", cascade="all, delete-orphan"
    )

    @property
    def excluded_person_ids(self) -> frozenset[int]:
        return frozenset(e.person_id for e in self.exclusions)


class DecisionExclusion(Base):
    """A named person management left out of a program."""

    __tablename__ = "decision_exclusions"
    __table_args__ = (UniqueConstraint("decision_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("program_decisions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))

    decision: Mapped[ProgramDecision] = relationship(back_populates="exclusions")


class Enrollment(Base):
    """A person taking part in a program (after their management approved it)."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("program_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the person left (excluded, role withdrawn, program declined); NULL while in.
    ended_at: Mapped[datetime | None]

    @hybrid_property
    def current(self) -> bool:
        """Still taking part: in a query, the condition for enrolments that have not ended."""
        return self.ended_at is None

    @current.inplace.expression
    @classmethod
    def _current_condition(cls):
        return cls.ended_at.is_(None)


class AuditEntry(Base):
    """One recorded decision or change: who, when, what, and the value before."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: NULL for the system (automatic enrolment).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    #: The partner the entry concerns; NULL for a change to the program itself.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="CASCADE"), index=True
    )
    #: An AuditAction; the decision's outcome for a partner's decision.
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    previous: Mapped[object | None] = mapped_column(JSON)
    new: Mapped[object | None] = mapped_column(JSON)
    program_version: Mapped[int] = mapped_column(Integer)

    actor = relationship("Person")


class EngagementMonth(Base):
    """Enrolled and active people of a closed month, by (program, partner, role): what the
    dashboards' engagement counts, stored by `flask rollups refresh` (`channel.month_rollups`)
    so that a year of history is one read. `program_id` 0 is "any program" and `role` ""
    "any role": a person enrolled in two programs or holding two roles counts once there.
    """

    __tablename__ = "engagement_months"
    __table_args__ = (UniqueConstraint("month", "program_id", "partner_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The UTC month counted ("2026-11").
    month: Mapped[str] = mapped_column(String(7))
    program_id: Mapped[int] = mapped_column(Integer)
    #: The people's company when the month was stored.
    partner_id: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    enrolled: Mapped[int] = mapped_column(Integer)
    active: Mapped[int] = mapped_column(Integer)


class EarningMonth(Base):
    """Points each person earned (earn and reverse entries, not the pool's) in a closed month,
    by program and partner, as the entries say: the dashboards' leader board of people and a
    partner's staff earnings. Stored by `flask rollups refresh`; a closed month's entries never
    change, so neither does its row. `program_id` 0 is "no program"."""

    __tablename__ = "earning_months"
    __table_args__ = (
        UniqueConstraint("month", "person_id", "program_id", "partner_id"),
        # A partner's staff earnings read only its own people's rows.
        Index("ix_earning_months_partner_month", "partner_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The UTC month of the entries' `created_at` ("2026-11").
    month: Mapped[str] = mapped_column(String(7))
    person_id: Mapped[int] = mapped_column(Integer)
    program_id: Mapped[int] = mapped_column(Integer)
    partner_id: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)


class EarningTotal(Base):
    """What each person earned from the first entry through the end of a closed month, by
    program and partner (earn and reverse entries, not the pool's): a period's earnings are
    the difference of two months' totals, so the people's leader board reads two months'
    rows whatever the period's length. Stored with `EarningMonth` by `flask rollups refresh`
    (the previous month's totals plus the month's earnings)."""

    __tablename__ = "earning_totals"
    __table_args__ = (UniqueConstraint("month", "person_id", "program_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The last month counted ("2026-11"): entries written before its end.
    month: Mapped[str] = mapped_column(String(7))
    person_id: Mapped[int] = mapped_column(Integer)
    program_id: Mapped[int] = mapped_column(Integer)
    partner_id: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)


class MonthRefresh(Base):
    """A closed month whose engagement and earnings rows are stored (a month can have none)."""

    __tablename__ = "month_refreshes"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
