"""Activities (what partners' people did) and the points ledger (what it earned).

An `Activity` is one business event — a sale line, an install, an order, a payment, a
course completed, a referral, an enrolment, a company purchase — unique by its source key.
The ledger is append-only: `record_awards` is the one function that writes `LedgerEntry`
rows, and every entry names the activity, program, scheme and rule behind it with the
numbers used. Balances and cap usage are sums over entries, never stored counters.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base, utcnow
from roles.rule_params import EventKind
from roles.rules import Event, Outcome, Usage

ACTIVITY_KINDS = tuple(kind.value for kind in EventKind)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in ACTIVITY_KINDS) + ")", name="kind"
        ),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: Who did it; NULL for a company event (a purchase from the manufacturer).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    #: Unique at the source ("sale:INV-17:2", "install:SN123", "enrolment:4:9"): recording
    #: the same activity twice changes nothing.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    #: Money amount of the sale, order, payment or purchase (in the program's currency).
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    serial: Mapped[str | None] = mapped_column(String(100))
    module: Mapped[str | None] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    is_first_order: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("activity_id", "rule_id"),
        CheckConstraint("points >= 0", name="points_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: Who earned it; NULL for company-level rules.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    #: Paid into the partner's company pool rather than to the person.
    to_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(Integer, default=0)
    #: What the entry costs the program's budget in points (a cashback's money counts too).
    budget_points: Mapped[int] = mapped_column(Integer, default=0)
    #: A money credit (cashback) in the program's currency.
    money: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="RESTRICT"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="RESTRICT"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("earning_rules.id", ondelete="RESTRICT"))
    rule_kind: Mapped[str] = mapped_column(String(32))
    #: Once-only key ("serial:SN1", "person:7:module:m3", "person:7:welcome") the rule paid for.
    once_key: Mapped[str | None] = mapped_column(String(200))
    #: The numbers the rules engine used, as it returned them.
    reason: Mapped[dict] = mapped_column(JSON)
    #: The month the points count against for per-person caps ("2026-11"), in UTC.
    month: Mapped[str] = mapped_column(String(7))

    activity: Mapped[Activity] = relationship()


def activity_event(activity: Activity, sku_group: str | None, unit_points: int | None) -> Event:
    return Event(
        kind=EventKind(activity.kind),
        occurred_at=activity.occurred_at,
        partner_id=activity.partner_id,
        person_id=activity.person_id,
        key=activity.source_key,
        sku=activity.sku,
        product_group=sku_group,
        unit_points=unit_points,
        quantity=activity.quantity,
        amount=activity.amount,
        serial=activity.serial,
        module=activity.module,
        due_on=activity.due_on,
        paid_on=activity.paid_on,
        is_first_order=activity.is_first_order,
    )


def program_usage(
    session: Session,
    program_id: int,
    *,
    period: tuple[datetime, datetime],
    before_activity_id: int | None = None,
) -> Usage:
    """The program's running totals, summed from its ledger entries.

    Purchases for cumulative discounts count within `period`, and only those recorded
    before `before_activity_id` (the activity being evaluated adds its own amount).
    """
    usage = Usage()
    rows = session.execute(
        select(
            LedgerEntry.partner_id,
            LedgerEntry.person_id,
            LedgerEntry.month,
            LedgerEntry.rule_id,
            LedgerEntry.once_key,
            LedgerEntry.points,
            LedgerEntry.budget_points,
            LedgerEntry.money,
            LedgerEntry.discount_percent,
            LedgerEntry.rule_kind,
            Activity.amount,
            Activity.is_first_order,
        )
        .join(Activity, Activity.id == LedgerEntry.activity_id)
        .where(LedgerEntry.program_id == program_id)
        .order_by(LedgerEntry.id)
    )
    for row in rows:
        usage.program_points += row.budget_points
        usage.partner_points[row.partner_id] = (
            usage.partner_points.get(row.partner_id, 0) + row.budget_points
        )
        if row.person_id is not None:
            key = (row.person_id, row.month)
            usage.person_month_points[key] = usage.person_month_points.get(key, 0) + row.points
        if row.once_key:
            usage.awarded_keys.add((row.rule_id, row.once_key))
        if row.money:
            key = (row.partner_id, row.month)
            usage.cashback_month[key] = usage.cashback_month.get(key, Decimal(0)) + row.money
        if row.rule_kind == "cumulative_discount" and row.discount_percent is not None:
            usage.partner_discount[row.partner_id] = row.discount_percent
        if row.rule_kind == "first_order_discount":
            usage.first_order_partners.add(row.partner_id)
    purchases = (
        select(Activity.partner_id, func.sum(Activity.amount))
        .where(
            Activity.kind == EventKind.PURCHASE.value,
            Activity.occurred_at >= period[0],
            Activity.occurred_at < period[1],
        )
        .group_by(Activity.partner_id)
    )
    if before_activity_id is not None:
        purchases = purchases.where(Activity.id < before_activity_id)
    usage.partner_purchases = {partner: total for partner, total in session.execute(purchases)}
    return usage


def record_awards(session: Session, activity: Activity, outcome: Outcome) -> list[LedgerEntry]:
    """The one write path of the ledger: an entry per award, appended, never changed."""
    moment = activity.occurred_at.astimezone(UTC)
    month = f"{moment.year:04d}-{moment.month:02d}"
    entries = [
        LedgerEntry(
            program_id=award.program_id,
            partner_id=award.partner_id,
            person_id=award.person_id,
            to_pool=award.to_pool,
            points=award.points,
            budget_points=award.budget_cost,
            money=award.money,
            discount_percent=award.discount_percent,
            activity_id=activity.id,
            scheme_id=award.scheme_id,
            rule_id=award.rule_id,
            rule_kind=award.kind.value,
            once_key=award.key,
            reason=award.reason,
            month=month,
        )
        for award in outcome.awards
    ]
    session.add_all(entries)
    session.flush()
    return entries
