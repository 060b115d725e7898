"""Activities (what partners' people did), the points ledger and its balances.

An `Activity` is one business event — a sale line, an install, an order, a payment, a
course completed, a referral, an enrolment, a company purchase — unique by its source key.
The ledger is append-only: `channel.postings` is the one module that writes `LedgerEntry`
rows (and the `Balance` rows kept equal to their sums), by `post`, or `post_many` for an
import's thousands; every earning names the activity, program, scheme and rule behind it
with the numbers used. `add_caps_totals` is the one query of what the budget and caps count.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    case,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.rule_params import EventKind, RuleKind
from channel.rules import Event, Usage
from core.bulk import in_values
from core.db import Base, index_where_set, utcnow
from core.months import month_key
from core.states import State, one_of


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        # An activity is what the rules engine reads as an event: its kinds are the events'.
        one_of("kind", EventKind),
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

    @property
    def claimed_day(self) -> date | None:
        """The day its claim gave, when it came from one: a claim names a day, not an hour, and
        `occurred_at` holds that day's `noon_utc`, a time at which nothing happened. None for
        an activity with a real moment (a quiz passed, an enrolment)."""
        return self.occurred_at.astimezone(UTC).date() if self.claim_id is not None else None


class EntryKind(State):
    """What a ledger line does."""

    EARN = "earn"
    #: Pending → available, once the return window has passed.
    RELEASE = "release"
    REVERSE = "reverse"
    EXPIRE = "expire"
    REDEEM = "redeem"
    REFUND = "refund"
    TRANSFER = "transfer"


class Bucket(State):
    """Which part of an account's balance a line moves."""

    #: Earned within a return window: not yet spendable.
    PENDING = "pending"
    AVAILABLE = "available"


class LedgerEntry(Base):
    """One line of a posting. Never updated or deleted: corrections are reversing postings.

    A posting is the set of lines written under one idempotency key (`posting_key`);
    writing the same key again returns the original lines and writes nothing.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("posting_key", "line"),
        Index("ix_ledger_entries_program_partner", "program_id", "partner_id"),
        Index("ix_ledger_entries_program_person_month", "program_id", "person_id", "month"),
        # Sparse columns are indexed only where set: most lines pay no once-only rule and
        # refer to no other line, and an import writes hundreds of thousands of them.
        index_where_set(
            "ix_ledger_entries_program_once_key", "program_id", "once_key", where="once_key"
        ),
        index_where_set("ix_ledger_entries_refers_to_id", "refers_to_id", where="refers_to_id"),
        # Dashboards: who earned in a month (engagement), and what moved in a period.
        Index("ix_ledger_entries_month_kind_person", "month", "kind", "person_id"),
        Index("ix_ledger_entries_created_at", "created_at"),
        # Budget used per program, summed by index alone (`flask ledger check` recounting the
        # rollups that the dashboard and every award's budget check read).
        Index("ix_ledger_entries_program_kind_budget", "program_id", "kind", "budget_points"),
        one_of("kind", EntryKind),
        one_of("bucket", Bucket),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The idempotency key of the posting this line belongs to.
    posting_key: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer, default=0)
    #: The balance it moves: "person:7" or "pool:3" (a partner's company pool).
    account_key: Mapped[str] = mapped_column(String(40), index=True)
    bucket: Mapped[str] = mapped_column(String(16), default=Bucket.AVAILABLE)
    #: earn, release (pending → available), reverse, expire, redeem, refund, transfer.
    kind: Mapped[str] = mapped_column(String(16), default=EntryKind.EARN)
    #: Signed: credits are positive, debits negative.
    points: Mapped[int] = mapped_column(Integer, default=0)
    #: A human-readable reason for entries no rule produced (a transfer, a redemption).
    memo: Mapped[str | None] = mapped_column(String(255))
    #: The entry this one releases, reverses or refunds.
    refers_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT")
    )
    #: For a pending earning: when it becomes available (after the return window).
    available_at: Mapped[datetime | None]
    #: Indexed as the first column of the program_* indexes above, not on its own.
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
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


def once_keys_for(event: Event) -> list[str]:
    """The once-only keys the rules engine could use for this event (see `channel.rules`)."""
    keys = [f"person:{event.person_id}:welcome", f"referral:{event.key}"]
    if event.serial:
        keys.append(f"serial:{event.serial}")
    if event.module:
        keys.append(f"person:{event.person_id}:module:{event.module}")
    return keys


#: The entry kinds that count against a program's budget and caps (a reversal gives back).
EARNED_KINDS = (EntryKind.EARN, EntryKind.REVERSE)


def _earned(program_ids) -> tuple:
    return (LedgerEntry.program_id.in_(program_ids), LedgerEntry.kind.in_(EARNED_KINDS))


def add_caps_totals(
    session: Session,
    usages: dict[int, Usage],
    *,
    program: bool = True,
    partner_ids=(),
    person_ids=(),
    month: str | None = None,
) -> None:
    """Set in each program's usage of `usages` the totals the budget and caps count, summed
    in the database, one statement a kind of total for all the programs: the program's
    budget used (with `program`), the budget each of `partner_ids` used, and the points each
    of `person_ids` earned in `month` (in every month, without one).

    Only the partners and people named are read, so the cost follows what is asked, not the
    programs' history; one named with nothing earned counts 0.
    """
    program_ids = sorted(usages)
    earned = _earned(program_ids)
    # Budgets from the monthly rollups the posting path keeps (`channel.rollups`, checked by
    # `flask ledger check`): a few rows a month, where the entries grow with history.
    rolled = (LedgerMonth.program_id.in_(program_ids), LedgerMonth.kind.in_(EARNED_KINDS))
    if program:
        for usage in usages.values():
            usage.program_points = 0
        for program_id, total in session.execute(
            select(LedgerMonth.program_id, func.sum(LedgerMonth.budget_points))
            .where(*rolled)
            .group_by(LedgerMonth.program_id)
        ):
            usages[program_id].program_points = int(total or 0)
    if partner_ids:
        partner_ids = sorted(set(partner_ids))
        for usage in usages.values():
            usage.partner_points.update(dict.fromkeys(partner_ids, 0))
        for program_id, partner_id, total in session.execute(
            select(
                LedgerMonth.program_id, LedgerMonth.partner_id, func.sum(LedgerMonth.budget_points)
            )
            .where(*rolled, LedgerMonth.partner_id.in_(partner_ids))
            .group_by(LedgerMonth.program_id, LedgerMonth.partner_id)
        ):
            usages[program_id].partner_points[partner_id] = int(total or 0)
    if person_ids:
        person_ids = sorted(set(person_ids))
        months = select(
            LedgerEntry.program_id,
            LedgerEntry.person_id,
            LedgerEntry.month,
            func.sum(LedgerEntry.points),
        )
        months = months.where(*earned, in_values(session, LedgerEntry.person_id, person_ids))
        if month is not None:
            months = months.where(LedgerEntry.month == month)
            for usage in usages.values():
                usage.person_month_points.update({(p, month): 0 for p in person_ids})
        for program_id, person_id, person_month, total in session.execute(
            months.group_by(LedgerEntry.program_id, LedgerEntry.person_id, LedgerEntry.month)
        ):
            usages[program_id].person_month_points[(person_id, person_month)] = int(total or 0)


def event_usages(
    session: Session,
    periods: dict[int, tuple[datetime, datetime]],
    event: Event,
    *,
    before_activity_id: int | None = None,
) -> dict[int, Usage]:
    """The running totals the caps of each program of `periods` need for `event`, each kind
    of total summed in the database in one statement for all the programs (the budget and
    caps by `add_caps_totals`): a program more costs no statement more.

    Only what this event can touch is read (the programs, its partner, the person's month,
    the once-only keys it could use), so the cost does not grow with the programs' history.
    Purchases for cumulative discounts count within each program's period, before
    `before_activity_id`. Call with the programs' rows locked, so the totals stay exact.
    """
    usages = {program_id: Usage() for program_id in periods}
    if not usages:
        return usages
    program_ids = sorted(usages)
    month = month_key(event.occurred_at)
    partner = event.partner_id
    people = () if event.person_id is None else (event.person_id,)
    add_caps_totals(session, usages, partner_ids=(partner,), person_ids=people, month=month)
    earned = _earned(program_ids)
    for program_id, rule_id, once_key in session.execute(
        select(LedgerEntry.program_id, LedgerEntry.rule_id, LedgerEntry.once_key).where(
            *earned, LedgerEntry.once_key.in_(once_keys_for(event))
        )
    ):
        usages[program_id].awarded_keys.add((rule_id, once_key))
    cashback = dict(
        session.execute(
            select(LedgerEntry.program_id, func.coalesce(func.sum(LedgerEntry.money), 0))
            .where(*earned, LedgerEntry.partner_id == partner, LedgerEntry.month == month)
            .group_by(LedgerEntry.program_id)
        ).all()
    )
    for program_id, usage in usages.items():
        usage.cashback_month[(partner, month)] = Decimal(cashback.get(program_id, 0))
    # The discount level each program last gave the partner: its latest such line's.
    latest = (
        select(func.max(LedgerEntry.id))
        .where(
            *earned,
            LedgerEntry.partner_id == partner,
            LedgerEntry.rule_kind == RuleKind.CUMULATIVE_DISCOUNT,
        )
        .group_by(LedgerEntry.program_id)
    )
    for program_id, discount in session.execute(
        select(LedgerEntry.program_id, LedgerEntry.discount_percent).where(
            LedgerEntry.id.in_(latest)
        )
    ):
        if discount is not None:
            usages[program_id].partner_discount[partner] = discount
    for program_id in session.scalars(
        select(LedgerEntry.program_id)
        .where(
            *earned,
            LedgerEntry.partner_id == partner,
            LedgerEntry.rule_kind == RuleKind.FIRST_ORDER_DISCOUNT,
        )
        .distinct()
    ):
        usages[program_id].first_order_partners.add(partner)
    # Each distinct period's purchases as a column of one statement (most programs share a
    # few periods): a conditional sum over the partner's purchases in any of them.
    distinct = sorted(set(periods.values()))
    sums = [
        func.coalesce(
            func.sum(
                case(
                    (
                        (Activity.occurred_at >= starts) & (Activity.occurred_at < ends),
                        Activity.amount,
                    )
                )
            ),
            0,
        )
        for starts, ends in distinct
    ]
    purchases = select(*sums).where(
        Activity.partner_id == partner,
        Activity.kind == EventKind.PURCHASE,
        Activity.occurred_at >= min(starts for starts, _ in distinct),
        Activity.occurred_at < max(ends for _, ends in distinct),
    )
    if before_activity_id is not None:
        purchases = purchases.where(Activity.id < before_activity_id)
    totals = dict(zip(distinct, session.execute(purchases).one(), strict=True))
    for program_id, usage in usages.items():
        usage.partner_purchases[partner] = Decimal(totals[periods[program_id]])
    return usages


def person_earnings(entries, earned=None) -> dict[int, tuple[int, set[int]]]:
    """Points each person earned in these ledger entries (rows or anything with their
    attributes), and the programs they came from; added to `earned` when given."""
    earned = {} if earned is None else earned
    for entry in entries:
        if entry.kind != EntryKind.EARN or entry.to_pool or entry.person_id is None:
            continue
        points, programs = earned.get(entry.person_id, (0, set()))
        if entry.program_id is not None:
            programs.add(entry.program_id)
        earned[entry.person_id] = (points + entry.points, programs)
    return earned


class LedgerMonth(Base):
    """The ledger summed by (month posted, kind, program, partner): points, budget points and
    lines. Kept equal to the ledger by `channel.postings` in the posting's own transaction
    (an additive upsert, so concurrent postings both count); `program_id` 0 is "no program"
    (a unique key cannot match NULLs)."""

    __tablename__ = "ledger_months"
    __table_args__ = (
        UniqueConstraint("month", "kind", "program_id", "partner_id"),
        one_of("kind", EntryKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The UTC month of the entries' `created_at` ("2026-11").
    month: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[int] = mapped_column(Integer)
    partner_id: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, default=0)
    budget_points: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)


class ProgramBudgetUse(Base):
    """The running sum of a program's `budget_points` over all its entries, kept with each
    posting like `LedgerMonth`."""

    __tablename__ = "program_budget_uses"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="RESTRICT"), primary_key=True
    )
    budget_points: Mapped[int] = mapped_column(Integer, default=0)
