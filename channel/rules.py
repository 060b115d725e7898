"""The rules engine: what an event earns under a program's role-specific schemes, and why.

Pure Python over plain data, no Flask and no database. The caller loads the program as the
person's partner approved it (`Terms`), the partner's conditions (`Approval`), the person
(`Participant`) and the running totals (`Usage`); `evaluate` returns the awards with the
numbers behind each one and updates the totals, honouring every cap and the budget.

Conventions: points are integers; money is Decimal in the program's currency; a program's
period is [starts_at, ends_at); a focus-product (SPIFF) window is [focus_from, focus_until);
monthly caps count calendar months in UTC; multiplied points round half up, percentages of
money round down (never pay more than the rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal
from operator import attrgetter

from channel.rule_params import RULE_EVENT, EventKind, RuleKind
from core.months import month_key


@dataclass(frozen=True)
class Rule:
    id: int
    kind: RuleKind
    params: object


@dataclass(frozen=True)
class Scheme:
    id: int
    #: The roles it targets; company-level schemes target the partner and have none.
    roles: frozenset[str]
    rules: tuple[Rule, ...]
    company_level: bool = False


@dataclass(frozen=True)
class Terms:
    """A program as one partner approved it."""

    program_id: int
    starts_at: datetime
    ends_at: datetime
    #: Money one point is worth, in `currency`.
    point_value: Decimal
    currency: str
    schemes: tuple[Scheme, ...]
    cap_per_person_month: int | None = None
    cap_per_partner: int | None = None
    budget_points: int | None = None
    active: bool = True


@dataclass(frozen=True)
class Approval:
    """A partner management's yes, with its conditions."""

    #: Roles allowed to take part; None: every role the program targets.
    roles: frozenset[str] | None = None
    excluded_person_ids: frozenset[int] = frozenset()
    #: A per-person monthly cap lower than the program's.
    cap_per_person_month: int | None = None
    #: Pay what staff earn into the company pool that management distributes.
    pay_to_pool: bool = False
    tier_code: str | None = None
    #: The partner's tier multiplier, for rules that use it.
    tier_multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class Participant:
    person_id: int
    partner_id: int
    roles: frozenset[str]
    active: bool = True
    enrolled: bool = True


@dataclass(frozen=True)
class Event:
    kind: EventKind
    occurred_at: datetime
    partner_id: int
    #: None for a company event (a purchase, recycling).
    person_id: int | None = None
    #: What makes this event unique at its source ("invoice 17 line 2", a serial number…).
    key: str = ""
    sku: str | None = None
    product_group: str | None = None
    #: The catalog's default points for one unit of `sku`.
    unit_points: int | None = None
    quantity: int = 0
    amount: Decimal = Decimal(0)
    serial: str | None = None
    module: str | None = None
    due_on: date | None = None
    paid_on: date | None = None
    is_first_order: bool = False
    #: The person's share of a sale credited to several people, in percent.
    share_percent: int = 100


@dataclass
class Usage:
    """Running totals the caps are checked against; `evaluate` adds to them."""

    program_points: int = 0
    partner_points: dict[int, int] = field(default_factory=dict)
    person_month_points: dict[tuple[int, str], int] = field(default_factory=dict)
    #: (rule id, key) pairs already paid: a welcome, a module, a serial, a referral.
    awarded_keys: set[tuple[int, str]] = field(default_factory=set)
    partner_purchases: dict[int, Decimal] = field(default_factory=dict)
    partner_discount: dict[int, Decimal] = field(default_factory=dict)
    cashback_month: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    first_order_partners: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Award:
    program_id: int
    scheme_id: int
    rule_id: int
    kind: RuleKind
    partner_id: int
    #: Who earned it; None for company-level rules.
    person_id: int | None
    points: int = 0
    #: A money credit (cashback), in the program's currency.
    money: Decimal | None = None
    #: A discount level reached (cumulative or first-order discount).
    discount_percent: Decimal | None = None
    #: Paid into the partner's company pool rather than to the person.
    to_pool: bool = False
    #: The numbers used, for the person, their manager and an auditor.
    reason: dict = field(default_factory=dict)
    key: str | None = None
    #: What it costs the program's budget, in points (a cashback's money counts too).
    budget_points: int | None = None

    @property
    def budget_cost(self) -> int:
        return self.points if self.budget_points is None else self.budget_points


@dataclass
class Outcome:
    awards: list[Award] = field(default_factory=list)
    #: Why something earned nothing: "outside_period", "not_approved", "cap_reached:budget"…
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(award.points for award in self.awards)


# ---------------------------------------------------------------- evaluation


#: The rules whose product (SKU or group) an event must match (`_matches`).
_PRODUCT_RULES = frozenset({RuleKind.UNIT_SOLD, RuleKind.INSTALL})


def _matches(params, event: Event) -> bool:
    sku = getattr(params, "product_sku", None)
    group = getattr(params, "product_group", None)
    if sku:
        return event.sku == sku
    if group:
        return event.product_group == group
    return True


def _raw_points(kind: RuleKind, params, event: Event) -> tuple[int, dict, str | None] | None:
    """Points before caps, the numbers used, and the once-only key; None when it earns nothing."""
    if kind is RuleKind.UNIT_SOLD:
        if not _matches(params, event) or event.quantity < params.min_quantity:
            return None
        per_unit = params.points_per_unit or event.unit_points
        if not per_unit:
            return None
        reason = {"quantity": event.quantity, "points_per_unit": per_unit}
        if params.min_quantity > 1:
            reason["min_quantity"] = params.min_quantity
        points = Decimal(event.quantity * per_unit)
        if params.focus_multiplier and params.focus_from <= event.occurred_at < params.focus_until:
            points *= params.focus_multiplier
            reason["focus_multiplier"] = str(params.focus_multiplier)
        return int(points.to_integral_value(ROUND_HALF_UP)), reason, None
    if kind is RuleKind.INSTALL:
        if not _matches(params, event) or not event.serial:
            return None
        return params.points_per_install, {"serial": event.serial}, f"serial:{event.serial}"
    if kind is RuleKind.PORTAL_ORDER:
        points, reason = params.points_per_order, {"points_per_order": params.points_per_order}
        if params.bulk_min_units and event.quantity >= params.bulk_min_units:
            points += params.bulk_bonus
            reason.update(quantity=event.quantity, bulk_bonus=params.bulk_bonus)
        return (points, reason, None) if points else None
    if kind is RuleKind.EARLY_PAYMENT:
        if event.due_on is None or event.paid_on is None:
            return None
        days_early = (event.due_on - event.paid_on).days
        if days_early < params.min_days_early:
            return None
        return params.points, {"days_early": days_early}, None
    if kind is RuleKind.TRAINING:
        if params.module and event.module != params.module:
            return None
        once_key = f"person:{event.person_id}:module:{event.module}"
        return params.points, {"module": event.module}, once_key
    if kind is RuleKind.REFERRAL:
        return params.points, {"referral": event.key}, f"referral:{event.key}"
    if kind is RuleKind.WELCOME:
        return params.points, {}, f"person:{event.person_id}:welcome"
    return None


def _cap_points(
    raw: int, terms: Terms, approval: Approval, usage: Usage, partner_id: int, person_id, month
):
    """The points left after every cap, and the name of the cap that bound (if any)."""
    limits = []
    if terms.budget_points is not None:
        limits.append(("budget", terms.budget_points - usage.program_points))
    if terms.cap_per_partner is not None:
        limits.append(("partner", terms.cap_per_partner - usage.partner_points.get(partner_id, 0)))
    person_caps = [c for c in (terms.cap_per_person_month, approval.cap_per_person_month) if c]
    if person_id is not None and person_caps:
        used = usage.person_month_points.get((person_id, month), 0)
        limits.append(("person_month", min(person_caps) - used))
    points, bound = raw, None
    for name, left in limits:
        if left < points:
            points, bound = max(left, 0), name
    return points, bound


def _spend(usage: Usage, points: int, partner_id: int, person_id, month) -> None:
    usage.program_points += points
    usage.partner_points[partner_id] = usage.partner_points.get(partner_id, 0) + points
    if person_id is not None:
        key = (person_id, month)
        usage.person_month_points[key] = usage.person_month_points.get(key, 0) + points


def _company_award(rule: Rule, event: Event, terms: Terms, approval: Approval, usage: Usage):
    """Company-level rules: rebates to the pool, cashback credit, discount levels."""
    params, partner = rule.params, event.partner_id
    if rule.kind is RuleKind.VOLUME_REBATE:
        percent = params.percent_by_tier.get(approval.tier_code or "", params.default_percent)
        if not percent or event.amount <= 0:
            return None, None
        money = event.amount * percent / 100
        points = int((money / terms.point_value).to_integral_value(ROUND_DOWN))
        if points <= 0:
            return None, None
        reason = {"amount": str(event.amount), "percent": str(percent), "tier": approval.tier_code}
        return {"points": points, "to_pool": True}, reason
    if rule.kind is RuleKind.CUMULATIVE_DISCOUNT:
        total = usage.partner_purchases.get(partner, Decimal(0)) + event.amount
        usage.partner_purchases[partner] = total
        reached = [s for s in params.steps if total >= s.from_amount]
        if not reached or usage.partner_discount.get(partner) == reached[-1].percent:
            return None, None
        usage.partner_discount[partner] = reached[-1].percent
        reason = {"purchases": str(total), "from_amount": str(reached[-1].from_amount)}
        return {"discount_percent": reached[-1].percent}, reason
    if rule.kind is RuleKind.CASHBACK:
        partner_month = (partner, month_key(event.occurred_at))
        used = usage.cashback_month.get(partner_month, Decimal(0))
        wanted = event.quantity * params.amount_per_unit
        money = min(wanted, params.monthly_cap - used)
        if money <= 0:
            return None, "cap_reached:cashback_month"
        reason = {"quantity": event.quantity, "amount_per_unit": str(params.amount_per_unit)}
        if money < wanted:
            reason["capped_by"] = "cashback_month"
        return {"money": money}, reason
    if rule.kind is RuleKind.FIRST_ORDER_DISCOUNT:
        if not event.is_first_order or partner in usage.first_order_partners:
            return None, None
        usage.first_order_partners.add(partner)
        return {"discount_percent": params.percent}, {"first_order": event.key}
    return None, None


def awards_kind(terms: Terms, kind: EventKind) -> bool:
    """Whether any rule of `terms` reacts to events of `kind` (if none does, such an event
    earns nothing there, whatever the caps and the participant)."""
    return any(RULE_EVENT[rule.kind] is kind for scheme in terms.schemes for rule in scheme.rules)


def evaluate(
    event: Event,
    terms: Terms,
    approval: Approval | None,
    participant: Participant | None,
    usage: Usage,
) -> Outcome:
    """What `event` earns under `terms`; adds what it awards to `usage`."""
    outcome = Outcome()
    if not terms.active:
        outcome.notes.append("program_not_active")
        return outcome
    if not terms.starts_at <= event.occurred_at < terms.ends_at:
        outcome.notes.append("outside_period")
        return outcome
    if approval is None:
        outcome.notes.append("not_approved")
        return outcome
    month = month_key(event.occurred_at)
    person_ok = _person_standing(event, approval, participant, outcome)

    for scheme in terms.schemes:
        if scheme.company_level:
            for rule in scheme.rules:
                if RULE_EVENT[rule.kind] is event.kind:
                    _apply_company_rule(scheme, rule, event, terms, approval, usage, outcome)
            continue
        if not person_ok:
            continue
        roles = participant.roles & scheme.roles
        if approval.roles is not None:
            roles &= approval.roles
        if not roles:
            continue
        for rule in scheme.rules:
            if RULE_EVENT[rule.kind] is not event.kind:
                continue
            earned = _raw_points(rule.kind, rule.params, event)
            if earned is None:
                continue
            raw, reason, once_key = earned
            if getattr(rule.params, "tier_multiplier", False) and approval.tier_multiplier != 1:
                raw = int((raw * approval.tier_multiplier).to_integral_value(ROUND_HALF_UP))
                reason = {**reason, "tier_multiplier": str(approval.tier_multiplier)}
            if event.share_percent != 100:
                raw = raw * event.share_percent // 100
                reason = {**reason, "share_percent": event.share_percent}
                if raw <= 0:
                    continue
            if once_key and (rule.id, once_key) in usage.awarded_keys:
                outcome.notes.append(f"already_awarded:{once_key}")
                continue
            points, bound = _cap_points(
                raw, terms, approval, usage, event.partner_id, participant.person_id, month
            )
            if points <= 0:
                outcome.notes.append(f"cap_reached:{bound}")
                continue
            if bound:
                reason = {**reason, "capped_by": bound, "uncapped": raw}
            _spend(usage, points, event.partner_id, participant.person_id, month)
            if once_key:
                usage.awarded_keys.add((rule.id, once_key))
            outcome.awards.append(
                Award(
                    program_id=terms.program_id,
                    scheme_id=scheme.id,
                    rule_id=rule.id,
                    kind=rule.kind,
                    partner_id=event.partner_id,
                    person_id=participant.person_id,
                    points=points,
                    to_pool=approval.pay_to_pool,
                    reason={"roles": sorted(roles), **reason},
                    key=once_key,
                )
            )
    return outcome


def _person_standing(event, approval, participant, outcome) -> bool:
    note = _not_standing(event, approval, participant)
    if note:
        outcome.notes.append(note)
    return note is None


def _not_standing(event, approval, participant) -> str | None:
    """Why the event's person takes no part ("" for a company event); None if they do."""
    if event.person_id is None:
        return ""
    if participant is None or participant.person_id != event.person_id:
        return "unknown_person"
    if not participant.active:
        return "person_inactive"
    if participant.person_id in approval.excluded_person_ids:
        return "person_excluded"
    if not participant.enrolled:
        return "not_enrolled"
    return None


def _apply_company_rule(scheme, rule, event, terms, approval, usage, outcome) -> None:
    result, reason = _company_award(rule, event, terms, approval, usage)
    if result is None:
        if isinstance(reason, str):
            outcome.notes.append(reason)
        return
    points = result.get("points", 0)
    budget_cost = points
    if result.get("money"):
        budget_cost = int((result["money"] / terms.point_value).to_integral_value(ROUND_CEILING))
    if budget_cost:
        allowed, bound = _cap_points(
            budget_cost, terms, approval, usage, event.partner_id, None, ""
        )
        if allowed < budget_cost:
            outcome.notes.append(f"cap_reached:{bound}")
            return
        _spend(usage, budget_cost, event.partner_id, None, "")
    if result.get("money"):
        key = (event.partner_id, month_key(event.occurred_at))
        usage.cashback_month[key] = usage.cashback_month.get(key, Decimal(0)) + result["money"]
    outcome.awards.append(
        Award(
            program_id=terms.program_id,
            scheme_id=scheme.id,
            rule_id=rule.id,
            kind=rule.kind,
            partner_id=event.partner_id,
            person_id=None,
            points=points,
            money=result.get("money"),
            discount_percent=result.get("discount_percent"),
            to_pool=result.get("to_pool", False),
            reason=reason,
            budget_points=budget_cost,
        )
    )


#: What an event's outcome depends on besides the usage: everything but its source key, which
#: only a once-only rule (never remembered) or a company rule (never remembered) reads.
_outcome_inputs = attrgetter(*(f.name for f in fields(Event) if f.name != "key"))


class Evaluator:
    """`evaluate` for many events under one program as one partner approved it, with memory.

    Lines of an import repeat (the same person, product, quantity and day): such an event
    earns the same as the last one like it as long as no cap binds, so its outcome is worked
    out once and afterwards only charged to the usage, while every cap still has room for all
    of it. Outcomes that used a cap, a once-only key or a company rule are never remembered.
    The result is always what `evaluate` gives; an outcome returned must not be modified.
    """

    def __init__(self, terms: Terms, approval: Approval | None):
        self.terms = terms
        self.approval = approval
        self._outcomes: dict[tuple, Outcome] = {}
        self._company_kinds = {
            RULE_EVENT[rule.kind]
            for scheme in terms.schemes
            if scheme.company_level
            for rule in scheme.rules
        }
        #: (event kind, SKU, product group) -> `terms` with only the rules that may pay, and
        #: None if a company rule may pay, else the roles paid under each person scheme left
        #: (as far as the approval allows)
        self._narrowed: dict[tuple, tuple[Terms, tuple[frozenset[str], ...] | None]] = {}

    def narrowed(self, event: Event) -> Terms:
        """`terms` with only the rules that can pay for events like `event`: those of its kind
        and, for product rules, of its SKU or group. The others would earn nothing and
        change nothing (`_raw_points` gives None for them), so `evaluate` under these terms
        gives exactly what it gives under all of them, without looking at every rule for
        every event."""
        return self._narrow(event)[0]

    def _narrow(self, event: Event) -> tuple[Terms, tuple[frozenset[str], ...] | None]:
        key = (event.kind, event.sku, event.product_group)
        found = self._narrowed.get(key)
        if found is None:
            schemes = []
            for scheme in self.terms.schemes:
                rules = tuple(
                    rule
                    for rule in scheme.rules
                    if RULE_EVENT[rule.kind] is event.kind
                    and (rule.kind not in _PRODUCT_RULES or _matches(rule.params, event))
                )
                if rules:
                    schemes.append(replace(scheme, rules=rules))
            allowed = self.approval.roles if self.approval is not None else None
            paid_roles = (
                None
                if any(scheme.company_level for scheme in schemes)
                else tuple(
                    scheme.roles if allowed is None else scheme.roles & allowed
                    for scheme in schemes
                )
            )
            found = self._narrowed[key] = (
                replace(self.terms, schemes=tuple(schemes)),
                paid_roles,
            )
        return found

    def may_pay(self, event: Event, participant: Participant | None) -> bool:
        """False only when `evaluate` would award nothing for `event` and leave the usage as
        it is, seen without evaluating: no rule can pay it, or only person rules can and the
        person does not take part (not enrolled, left out, inactive, in no role they pay).
        An import skips such events; `evaluate` would only add notes."""
        if self.approval is None:
            return False
        _terms, paid_roles = self._narrow(event)
        if paid_roles is None:
            return True
        if not paid_roles or _not_standing(event, self.approval, participant) is not None:
            return False
        return any(participant.roles & roles for roles in paid_roles)

    def evaluate(self, event: Event, participant: Participant | None, usage: Usage) -> Outcome:
        key = (_outcome_inputs(event), participant)
        known = self._outcomes.get(key)
        if known is not None:
            points = known.points
            if not points:
                return known
            month = month_key(event.occurred_at)
            _, bound = _cap_points(
                points, self.terms, self.approval, usage, event.partner_id, event.person_id, month
            )
            if bound is None:
                _spend(usage, points, event.partner_id, event.person_id, month)
                return known
        outcome = evaluate(event, self.narrowed(event), self.approval, participant, usage)
        if self._repeatable(event, outcome):
            self._outcomes[key] = outcome
        return outcome

    def _repeatable(self, event: Event, outcome: Outcome) -> bool:
        if event.kind in self._company_kinds:
            return False
        if any(note.startswith(("cap_reached:", "already_awarded:")) for note in outcome.notes):
            return False
        return all(
            award.key is None
            and award.person_id is not None
            and award.person_id == event.person_id
            and award.budget_points is None
            and "capped_by" not in award.reason
            for award in outcome.awards
        )
