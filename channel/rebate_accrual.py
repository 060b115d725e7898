"""What partners have earned on their purchases in a period so far, computed for many
partners of one program at once (the partner page asks for one, the period close for all).

Rules, as `channel.rebates` states them: each purchase line converted to the program's
currency at its invoice date (held without a rate); a volume rebate at the percent of the
partner's tier that day; a cumulative discount at the step the period's purchases had reached
before the line; a first-order discount on the partner's first invoice. Lines of earlier
periods that no statement of this program has paid yet are paid as true-ups.

The work is a handful of queries whatever the number of partners: the lines (those of the
period, and earlier unpaid ones), the partners' tier changes, their first invoices, and the
rates of each currency once (`RateBook`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from channel.approvals import current_decision
from channel.earning import engine_terms
from channel.exchange_rates import NoRate, RateBook, in_minor_units
from channel.models import DecisionOutcome, Program, ProgramDecision
from channel.partner_models import PartnerOrganization, Tier
from channel.purchases import DocumentKind, PurchaseLine
from channel.rebate_models import RebateLine, period_bounds, period_of
from channel.rule_params import RuleKind
from channel.tiers import TierChange
from core.bulk import in_values

#: The rules the period close pays, in the order a statement lists them.
PURCHASE_RULES = (
    RuleKind.VOLUME_REBATE,
    RuleKind.CUMULATIVE_DISCOUNT,
    RuleKind.FIRST_ORDER_DISCOUNT,
)
#: What accrual reads of a purchase line.
LINE_COLUMNS = (
    PurchaseLine.id,
    PurchaseLine.partner_id,
    PurchaseLine.seller_id,
    PurchaseLine.document,
    PurchaseLine.number,
    PurchaseLine.line,
    PurchaseLine.invoiced_on,
    PurchaseLine.sku,
    PurchaseLine.quantity,
    PurchaseLine.amount,
    PurchaseLine.currency,
)


@dataclass
class Accrued:
    """A purchase line's rebate under one rule, before it is written."""

    purchase: object  # a row of LINE_COLUMNS
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
    held: list[tuple[object, str]] = field(default_factory=list)
    #: Purchases of the period so far, in the program's currency.
    purchases: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((line.rebate for line in self.lines), Decimal(0))


def rules_of(terms) -> list:
    return [
        rule
        for scheme in terms.schemes
        if scheme.company_level
        for rule in scheme.rules
        if rule.kind in PURCHASE_RULES
    ]


def purchase_rules(session: Session, program: Program, partner: PartnerOrganization) -> list:
    """The purchase rules of `program` as `partner` approved it (none without an approval)."""
    decision = current_decision(session, program, partner)
    if decision is None or decision.outcome != DecisionOutcome.APPROVED:
        return []
    return rules_of(engine_terms(session, program, decision.approved_version, active=True))


def approved_rules(session: Session, program: Program) -> dict[int, list]:
    """partner id -> the purchase rules it approved, for every partner that approved `program`
    (one query of decisions; the terms of each approved version read once)."""
    by_version: dict[int, list] = {}
    found = {}
    for partner_id, version in session.execute(
        select(ProgramDecision.partner_id, ProgramDecision.approved_version).where(
            ProgramDecision.program_id == program.id,
            ProgramDecision.outcome == DecisionOutcome.APPROVED,
        )
    ):
        if version not in by_version:
            by_version[version] = rules_of(engine_terms(session, program, version, active=True))
        if by_version[version]:
            found[partner_id] = by_version[version]
    return found


def accrue(
    session: Session,
    program: Program,
    partner: PartnerOrganization,
    period: str,
    *,
    rules: list | None = None,
) -> Accrual:
    """What `partner` has earned in `period` under `program` so far. `rules`: its
    `purchase_rules`, when the caller has read them."""
    if rules is None:
        rules = purchase_rules(session, program, partner)
    if not rules:
        return Accrual(program, partner, period, program.currency)
    return accrue_many(session, program, {partner.id: rules}, period)[partner.id]


def accrue_many(
    session: Session, program: Program, rules: dict[int, list], period: str
) -> dict[int, Accrual]:
    """partner id -> its accrual in `period`, for the partners (and their rules) given."""
    start, end = period_bounds(period)
    ids = sorted(rules)
    if not ids:
        return {}
    partners = {
        p.id: p
        for p in session.scalars(
            select(PartnerOrganization).where(in_values(session, PartnerOrganization.id, ids))
        )
    }
    accruals = {pid: Accrual(program, partners[pid], period, program.currency) for pid in ids}
    unpaid = ~exists().where(
        RebateLine.program_id == program.id, RebateLine.purchase_line_id == PurchaseLine.id
    )
    lines = session.execute(
        select(*LINE_COLUMNS)
        .where(
            in_values(session, PurchaseLine.partner_id, ids),
            PurchaseLine.invoiced_on <= end,
            PurchaseLine.invoiced_on >= program.starts_at.date(),
            unpaid,
        )
        .order_by(PurchaseLine.partner_id, PurchaseLine.invoiced_on, PurchaseLine.id)
    )
    tiers = TierTimelines(session, partners)
    needs_first = any(r.kind is RuleKind.FIRST_ORDER_DISCOUNT for rs in rules.values() for r in rs)
    first_invoices = _first_invoices(session, ids) if needs_first else {}
    rates, running = RateBook(session), defaultdict(Decimal)
    for purchase in lines:
        accrual = accruals[purchase.partner_id]
        try:
            money = rates.convert(
                purchase.amount, purchase.currency, program.currency, purchase.invoiced_on
            )
        except NoRate as missing:
            accrual.held.append((purchase, str(missing.errors["currency"])))
            continue
        in_period = purchase.invoiced_on >= start
        before = running[purchase.partner_id]
        if in_period:
            running[purchase.partner_id] = before + money.converted
        for rule in rules[purchase.partner_id]:
            percent, tier_code = _percent(rule, purchase, before, tiers, first_invoices)
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
    for partner_id, accrual in accruals.items():
        accrual.purchases = running[partner_id]
    return accruals


def _percent(rule, purchase, before: Decimal, tiers: "TierTimelines", first_invoices: dict):
    params = rule.params
    if rule.kind is RuleKind.VOLUME_REBATE:
        tier = tiers.on(purchase.partner_id, purchase.invoiced_on)
        code = tier.code if tier is not None else None
        return params.percent_by_tier.get(code or "", params.default_percent), code
    if rule.kind is RuleKind.CUMULATIVE_DISCOUNT:
        reached = [step.percent for step in params.steps if before >= step.from_amount]
        return (reached[-1] if reached else None), None
    if rule.kind is RuleKind.FIRST_ORDER_DISCOUNT:
        first = first_invoices.get(purchase.partner_id) == (purchase.seller_id, purchase.number)
        return (params.percent if first else None), None
    return None, None


def _first_invoices(session: Session, ids: list[int]) -> dict[int, tuple]:
    """partner id -> (seller, number) of its first invoice ever."""
    ranked = (
        select(
            PurchaseLine.partner_id,
            PurchaseLine.seller_id,
            PurchaseLine.number,
            func.row_number()
            .over(
                partition_by=PurchaseLine.partner_id,
                order_by=(PurchaseLine.invoiced_on, PurchaseLine.id),
            )
            .label("rank"),
        )
        .where(
            in_values(session, PurchaseLine.partner_id, ids),
            PurchaseLine.document == DocumentKind.INVOICE,
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.partner_id, ranked.c.seller_id, ranked.c.number).where(ranked.c.rank == 1)
    )
    return {partner_id: (seller_id, number) for partner_id, seller_id, number in rows}


class TierTimelines:
    """Each partner's tier on any day, from its dated tier changes (one query for all)."""

    def __init__(self, session: Session, partners: dict[int, PartnerOrganization]):
        self.tiers = {tier.id: tier for tier in session.scalars(select(Tier))}
        self.current = {pid: partner.tier_id for pid, partner in partners.items()}
        self.changes = defaultdict(list)
        for row in session.execute(
            select(
                TierChange.partner_id, TierChange.at, TierChange.from_tier_id, TierChange.to_tier_id
            )
            .where(in_values(session, TierChange.partner_id, sorted(partners)))
            .order_by(TierChange.partner_id, TierChange.at, TierChange.id)
        ):
            self.changes[row.partner_id].append(row)

    def on(self, partner_id: int, day: date) -> Tier | None:
        end_of_day = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        changes = self.changes.get(partner_id, ())
        tier_id = changes[0].from_tier_id if changes else self.current.get(partner_id)
        for change in changes:
            if change.at >= end_of_day:
                break
            tier_id = change.to_tier_id
        return self.tiers.get(tier_id)
