"""What the partner company earns on what it buys: rebates accrued from purchase lines as
they arrive, and paid by closing a period into one statement per program and partner.

Design:
- The company rules of a program as the partner approved it (`volume_rebate`,
  `cumulative_discount`, `first_order_discount`) apply to the partner's purchase lines, each
  converted to the program's currency at its invoice date (`channel.exchange_rates`). A line
  whose currency has no rate for its date is held, with the reason, and paid at a later close
  once the rate is there: never converted at a guess.
- A volume rebate pays the percent of the partner's tier on the line's date (tier changes
  are dated, so crossing a threshold mid-quarter changes the rate from that day). A cumulative
  discount pays the percent of the step the period's purchases had reached before the line.
  A first-order discount pays on the lines of the partner's first invoice.
- Accrual is computed, not stored: what a period has earned so far is always what a close
  would pay now. A close writes the statement and its lines; each purchase line is paid once
  per program and rule (a unique key), so a credit note imported after its period was closed
  is paid, negative, at the next close, shown there as a true-up of its own period.
- Closing twice pays once: one statement per program, partner and period (a unique key),
  and a close first takes a lock on its period (`core.db.lock_keys`), so a second close
  waits and then finds the statements written.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Numeric, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from channel.approvals import current_decision, programs_for_partner
from channel.earning import engine_terms
from channel.exchange_rates import NoRate, RateBook, in_minor_units
from channel.models import DecisionOutcome, Program, ProgramStatus
from channel.partner_models import PartnerOrganization, Tier
from channel.purchases import DocumentKind, PurchaseLine
from channel.rule_params import RuleKind
from channel.tiers import TierChange
from core.db import Base, UTCDateTime, lock_keys, utcnow
from core.errors import InvalidInput

#: The rules the period close pays, in the order a statement lists them.
PURCHASE_RULES = (
    RuleKind.VOLUME_REBATE,
    RuleKind.CUMULATIVE_DISCOUNT,
    RuleKind.FIRST_ORDER_DISCOUNT,
)
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


@dataclass
class Accrued:
    """A purchase line's rebate under one rule, before it is written."""

    purchase: PurchaseLine
    rule: RuleKind
    rate: Decimal
    converted: Decimal
    percent: Decimal
    rebate: Decimal
    tier_code: str | None = None
    true_up_of: str | None = None


@dataclass
class Accrual:
    """What a partner has earned in a period under one program's purchase rules so far."""

    program: Program
    partner: PartnerOrganization
    period: str
    currency: str
    lines: list[Accrued] = field(default_factory=list)
    #: (purchase line, why it waits): no rate for its currency on its date yet.
    held: list[tuple[PurchaseLine, str]] = field(default_factory=list)
    #: Purchases of the period so far, in the program's currency.
    purchases: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((line.rebate for line in self.lines), Decimal(0))


def purchase_rules(session: Session, program: Program, partner: PartnerOrganization) -> list:
    """The purchase rules of `program` as `partner` approved it (none without an approval)."""
    decision = current_decision(session, program, partner)
    if decision is None or decision.outcome != DecisionOutcome.APPROVED:
        return []
    terms = engine_terms(session, program, decision.approved_version, active=True)
    return [
        rule
        for scheme in terms.schemes
        if scheme.company_level
        for rule in scheme.rules
        if rule.kind in PURCHASE_RULES
    ]


def accrue(
    session: Session, program: Program, partner: PartnerOrganization, period: str
) -> Accrual:
    """What `partner` has earned in `period` under `program` so far: every purchase line of the
    period, and every earlier one no statement has paid yet (a true-up)."""
    start, end = period_bounds(period)
    accrual = Accrual(program, partner, period, program.currency)
    rules = purchase_rules(session, program, partner)
    if not rules:
        return accrual
    paid = set(
        session.execute(
            select(RebateLine.purchase_line_id, RebateLine.rule).where(
                RebateLine.program_id == program.id
            )
        ).all()
    )
    lines = session.scalars(
        select(PurchaseLine)
        .where(
            PurchaseLine.partner_id == partner.id,
            PurchaseLine.invoiced_on <= end,
            PurchaseLine.invoiced_on >= program.starts_at.date(),
        )
        .order_by(PurchaseLine.invoiced_on, PurchaseLine.id)
    ).all()
    tiers = _TierTimeline(session, partner)
    first_invoice = _first_invoice(session, partner)
    running, rates = Decimal(0), RateBook(session)
    for purchase in lines:
        try:
            money = rates.convert(
                purchase.amount, purchase.currency, program.currency, purchase.invoiced_on
            )
        except NoRate as missing:
            accrual.held.append((purchase, str(missing.errors["currency"])))
            continue
        in_period = purchase.invoiced_on >= start
        before = running
        if in_period:
            running += money.converted
        for rule in rules:
            if (purchase.id, str(rule.kind)) in paid:
                continue
            percent, tier_code = _percent(rule, purchase, before, tiers, first_invoice)
            if not percent:
                continue
            accrual.lines.append(
                Accrued(
                    purchase=purchase,
                    rule=rule.kind,
                    rate=money.rate,
                    converted=money.converted,
                    percent=percent,
                    rebate=in_minor_units(money.converted * percent / 100, program.currency),
                    tier_code=tier_code,
                    true_up_of=None if in_period else period_of(purchase.invoiced_on, period),
                )
            )
    accrual.purchases = running
    return accrual


def _percent(rule, purchase: PurchaseLine, before: Decimal, tiers, first_invoice):
    params = rule.params
    if rule.kind is RuleKind.VOLUME_REBATE:
        tier = tiers.on(purchase.invoiced_on)
        code = tier.code if tier is not None else None
        return params.percent_by_tier.get(code or "", params.default_percent), code
    if rule.kind is RuleKind.CUMULATIVE_DISCOUNT:
        reached = [step.percent for step in params.steps if before >= step.from_amount]
        return (reached[-1] if reached else None), None
    if rule.kind is RuleKind.FIRST_ORDER_DISCOUNT:
        first = (purchase.seller_id, purchase.number) == first_invoice
        return (params.percent if first else None), None
    return None, None


def _first_invoice(session: Session, partner: PartnerOrganization):
    first = session.execute(
        select(PurchaseLine.seller_id, PurchaseLine.number)
        .where(
            PurchaseLine.partner_id == partner.id,
            PurchaseLine.document == DocumentKind.INVOICE,
        )
        .order_by(PurchaseLine.invoiced_on, PurchaseLine.id)
        .limit(1)
    ).first()
    return tuple(first) if first is not None else None


class _TierTimeline:
    """The partner's tier on any day, from its dated tier changes."""

    def __init__(self, session: Session, partner: PartnerOrganization):
        self.tiers = {tier.id: tier for tier in session.scalars(select(Tier))}
        self.changes = session.execute(
            select(TierChange.at, TierChange.from_tier_id, TierChange.to_tier_id)
            .where(TierChange.partner_id == partner.id)
            .order_by(TierChange.at, TierChange.id)
        ).all()
        self.current = partner.tier_id

    def on(self, day: date) -> Tier | None:
        end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        tier_id = self.changes[0].from_tier_id if self.changes else self.current
        for change in self.changes:
            if change.at >= end_of_day:
                break
            tier_id = change.to_tier_id
        return self.tiers.get(tier_id)


@dataclass
class CloseReport:
    statements: list[RebateStatement] = field(default_factory=list)
    #: Statements of this period written by an earlier close.
    already_closed: int = 0
    #: (partner, purchase line, why) for lines held back by a missing rate.
    held: list[tuple[PartnerOrganization, PurchaseLine, str]] = field(default_factory=list)


def close_period(
    session: Session, period: str, *, today: date, actor_id: int | None = None
) -> CloseReport:
    """Write one statement per program and partner that earned in `period` (over by `today`)."""
    start, end = period_bounds(period)
    period = period.strip().upper()
    if end >= today:
        raise InvalidPeriod({"period": _l("The period %(period)s is not over yet.", period=period)})
    lock_keys(session, f"rebates-close:{period}")
    report = CloseReport()
    closed = set(
        session.execute(
            select(RebateStatement.program_id, RebateStatement.partner_id).where(
                RebateStatement.period == period
            )
        ).all()
    )
    for program, partner in _earning_pairs(session, start):
        if (program.id, partner.id) in closed:
            report.already_closed += 1
            continue
        accrual = accrue(session, program, partner, period)
        report.held += [(partner, purchase, why) for purchase, why in accrual.held]
        if not accrual.lines:
            continue
        statement = RebateStatement(
            program_id=program.id,
            partner_id=partner.id,
            period=period,
            starts_on=start,
            ends_on=end,
            currency=program.currency,
            total=accrual.total,
            reference=f"RB-{period}-{program.id}-{partner.id}",
            closed_by_id=actor_id,
            lines=[
                RebateLine(
                    program_id=program.id,
                    purchase_line_id=line.purchase.id,
                    rule=str(line.rule),
                    amount=line.purchase.amount,
                    currency=line.purchase.currency,
                    rate=line.rate,
                    converted=line.converted,
                    percent=line.percent,
                    rebate=line.rebate,
                    tier_code=line.tier_code,
                    true_up_of=line.true_up_of,
                )
                for line in accrual.lines
            ],
        )
        session.add(statement)
        report.statements.append(statement)
    session.flush()
    return report


def _earning_pairs(session: Session, since: date):
    """(program, partner) for every program with purchase rules and a partner that bought."""
    buyers = session.scalars(
        select(PartnerOrganization)
        .where(PartnerOrganization.id.in_(select(PurchaseLine.partner_id).distinct()))
        .order_by(PartnerOrganization.id)
    ).all()
    for partner in buyers:
        for program in programs_for_partner(session, partner):
            if program.ends_at.date() < since or program.status not in (
                ProgramStatus.ACTIVE,
                ProgramStatus.CLOSED,
            ):
                continue
            yield program, partner
