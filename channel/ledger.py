"""Activities (what partners' people did), the points ledger and its balances.

An `Activity` is one business event — a sale line, an install, an order, a payment, a
course completed, a referral, an enrolment, a company purchase — unique by its source key.
The ledger is append-only: `channel.postings.post` is the one function that writes
`LedgerEntry` rows (and the `Balance` rows kept equal to their sums); every earning names
the activity, program, scheme and rule behind it with the numbers used.
"""

from datetime import date, datetime
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
from roles.rules import Event, Usage

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
    #: This person's share of a sale credited to several people, in percent.
    share_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    #: The claim it was approved from, if any.
    claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


ENTRY_KINDS = ("earn", "release", "reverse", "expire", "redeem", "refund", "transfer")
BUCKETS = ("pending", "available")


class LedgerEntry(Base):
    """One line of a posting. Never updated or deleted: corrections are reversing postings.

    A posting is the set of lines written under one idempotency key (`posting_key`);
    writing the same key again returns the original lines and writes nothing.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("posting_key", "line"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in ENTRY_KINDS) + ")", name="kind"),
        CheckConstraint("bucket IN (" + ", ".join(f"'{b}'" for b in BUCKETS) + ")", name="bucket"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The idempotency key of the posting this line belongs to.
    posting_key: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer, default=0)
    #: The balance it moves: "person:7" or "pool:3" (a partner's company pool).
    account_key: Mapped[str] = mapped_column(String(40), index=True)
    bucket: Mapped[str] = mapped_column(String(16), default="available")
    #: earn, release (pending → available), reverse, expire, redeem, refund, transfer.
    kind: Mapped[str] = mapped_column(String(16), default="earn")
    #: Signed: credits are positive, debits negative.
    points: Mapped[int] = mapped_column(Integer, default=0)
    #: A human-readable reason for entries no rule produced (a transfer, a redemption).
    memo: Mapped[str | None] = mapped_column(String(255))
    #: The entry this one releases, reverses or refunds.
    refers_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), index=True
    )
    #: For a pending earning: when it becomes available (after the return window).
    available_at: Mapped[datetime | None]
    program_id: Mapped[int | None] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner_organizations.id", ondelete="RESTRICT"), index=True
    )
    #: Who earned it (or receives it); NULL for company-level rules and pool lines.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    #: The line moves the partner's company pool rather than a person's balance.
    to_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What the line costs the program's budget in points (a cashback's money counts too).
    budget_points: Mapped[int] = mapped_column(Integer, default=0)
    #: A money credit (cashback) in the program's currency.
    money: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="RESTRICT"), index=True
    )
    scheme_id: Mapped[int | None] = mapped_column(ForeignKey("schemes.id", ondelete="RESTRICT"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("earning_rules.id", ondelete="RESTRICT"))
    rule_kind: Mapped[str | None] = mapped_column(String(32))
    #: Once-only key ("serial:SN1", "person:7:module:m3", "person:7:welcome") the rule paid for.
    once_key: Mapped[str | None] = mapped_column(String(200))
    #: The numbers the rules engine used, as it returned them.
    reason: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The UTC month the points count against for per-person caps ("2026-11").
    month: Mapped[str] = mapped_column(String(7))

    activity: Mapped[Activity | None] = relationship()


class Balance(Base):
    """The running balance of one account, kept equal to the sum of its entries.

    Updated in the same transaction as the entries, by a conditional UPDATE that the
    check constraints back up: a balance can never go below zero.
    """

    __tablename__ = "balances"
    __table_args__ = (
        CheckConstraint("pending >= 0", name="pending_non_negative"),
        CheckConstraint("available >= 0", name="available_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(40), unique=True)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    available: Mapped[int] = mapped_column(Integer, default=0)


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
        share_percent=activity.share_percent or 100,
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
        .where(LedgerEntry.program_id == program_id, LedgerEntry.kind.in_(("earn", "reverse")))
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
