"""Rule kinds and their parameters: typed, validated, with a problem code for each refusal.

Pure Python, shared by the rules engine (`channel.rules`) and the scheme editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class EventKind(StrEnum):
    SALE = "sale"  #: a sale line: sku, product_group, quantity, amount
    INSTALL = "install"  #: a registered install: sku, product_group, serial
    ORDER = "order"  #: an order placed through the portal: quantity in units, amount
    PAYMENT = "payment"  #: an invoice paid: due_on, paid_on, amount
    TRAINING = "training"  #: a training module completed or a quiz passed: module
    REFERRAL = "referral"  #: a referred partner or customer became active: key names it
    ENROLMENT = "enrolment"  #: the person was enrolled in the program
    PURCHASE = "purchase"  #: the partner company bought from the manufacturer: amount
    RECYCLING = "recycling"  #: units returned for recycling (e.g. cartridges): quantity


class RuleKind(StrEnum):
    UNIT_SOLD = "unit_sold"
    INSTALL = "install"
    PORTAL_ORDER = "portal_order"
    EARLY_PAYMENT = "early_payment"
    TRAINING = "training"
    REFERRAL = "referral"
    WELCOME = "welcome"
    VOLUME_REBATE = "volume_rebate"
    CUMULATIVE_DISCOUNT = "cumulative_discount"
    CASHBACK = "cashback"
    FIRST_ORDER_DISCOUNT = "first_order_discount"


#: The event each rule kind reacts to.
RULE_EVENT = {
    RuleKind.UNIT_SOLD: EventKind.SALE,
    RuleKind.INSTALL: EventKind.INSTALL,
    RuleKind.PORTAL_ORDER: EventKind.ORDER,
    RuleKind.EARLY_PAYMENT: EventKind.PAYMENT,
    RuleKind.TRAINING: EventKind.TRAINING,
    RuleKind.REFERRAL: EventKind.REFERRAL,
    RuleKind.WELCOME: EventKind.ENROLMENT,
    RuleKind.VOLUME_REBATE: EventKind.PURCHASE,
    RuleKind.CUMULATIVE_DISCOUNT: EventKind.PURCHASE,
    RuleKind.CASHBACK: EventKind.RECYCLING,
    RuleKind.FIRST_ORDER_DISCOUNT: EventKind.ORDER,
}

#: Rules for the partner as a legal entity: they pay the company, not a person.
COMPANY_RULES = frozenset(
    {
        RuleKind.VOLUME_REBATE,
        RuleKind.CUMULATIVE_DISCOUNT,
        RuleKind.CASHBACK,
        RuleKind.FIRST_ORDER_DISCOUNT,
    }
)

MAX_MULTIPLIER = Decimal(10)
MAX_PERCENT = Decimal(50)


@dataclass(frozen=True)
class Problem:
    """Why a parameter is refused: a code the interface words in the reader's language."""

    code: str
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **values) -> Problem:
        return cls(code, tuple((k, str(v)) for k, v in values.items()))


class RuleError(ValueError):
    """A rule's parameters are not valid; `errors` maps each parameter to its Problem."""

    def __init__(self, errors: dict[str, Problem]):
        super().__init__("; ".join(f"{k}: {v.code}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class UnitSold:
    product_sku: str | None = None
    product_group: str | None = None
    #: None: the product's own default points from the catalog.
    points_per_unit: int | None = None
    #: Only sale lines of at least this many units earn.
    min_quantity: int = 1
    focus_multiplier: Decimal | None = None
    focus_from: datetime | None = None
    focus_until: datetime | None = None
    #: Multiply by the partner's tier multiplier (gold partners' staff earn more).
    tier_multiplier: bool = False


@dataclass(frozen=True)
class Install:
    points_per_install: int
    product_sku: str | None = None
    product_group: str | None = None
    tier_multiplier: bool = False


@dataclass(frozen=True)
class PortalOrder:
    points_per_order: int = 0
    bulk_min_units: int | None = None
    bulk_bonus: int | None = None


@dataclass(frozen=True)
class EarlyPayment:
    points: int
    min_days_early: int = 1


@dataclass(frozen=True)
class Training:
    points: int
    #: None: any module or quiz.
    module: str | None = None


@dataclass(frozen=True)
class Referral:
    points: int


@dataclass(frozen=True)
class Welcome:
    points: int


@dataclass(frozen=True)
class VolumeRebate:
    #: Percent of purchases paid back as points to the company pool, by tier code.
    percent_by_tier: dict[str, Decimal]
    default_percent: Decimal | None = None


@dataclass(frozen=True)
class DiscountStep:
    from_amount: Decimal
    percent: Decimal


@dataclass(frozen=True)
class CumulativeDiscount:
    steps: tuple[DiscountStep, ...]


@dataclass(frozen=True)
class Cashback:
    amount_per_unit: Decimal
    monthly_cap: Decimal


@dataclass(frozen=True)
class FirstOrderDiscount:
    percent: Decimal


PARAMS = {
    RuleKind.UNIT_SOLD: UnitSold,
    RuleKind.INSTALL: Install,
    RuleKind.PORTAL_ORDER: PortalOrder,
    RuleKind.EARLY_PAYMENT: EarlyPayment,
    RuleKind.TRAINING: Training,
    RuleKind.REFERRAL: Referral,
    RuleKind.WELCOME: Welcome,
    RuleKind.VOLUME_REBATE: VolumeRebate,
    RuleKind.CUMULATIVE_DISCOUNT: CumulativeDiscount,
    RuleKind.CASHBACK: Cashback,
    RuleKind.FIRST_ORDER_DISCOUNT: FirstOrderDiscount,
}


class _Reader:
    """Reads typed values out of a raw parameter dict, collecting every error."""

    def __init__(self, raw: dict):
        self.raw = raw or {}
        self.errors: dict[str, Problem] = {}

    def _present(self, name):
        value = self.raw.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def integer(self, name, *, required=False, minimum=None, default=None):
        value = self._present(name)
        if value is None:
            if required:
                self.errors[name] = Problem.of("required")
            return default
        if isinstance(value, bool):
            self.errors[name] = Problem.of("whole_number")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            self.errors[name] = Problem.of("whole_number")
            return default
        if minimum is not None and number < minimum:
            self.errors[name] = Problem.of("at_least", minimum=minimum)
        return number

    def decimal(self, name, *, required=False, above=None, at_most=None):
        value = self._present(name)
        if value is None:
            if required:
                self.errors[name] = Problem.of("required")
            return None
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            self.errors[name] = Problem.of("number")
            return None
        if not number.is_finite():
            self.errors[name] = Problem.of("number")
            return None
        if above is not None and number <= above:
            self.errors[name] = Problem.of("more_than", limit=above)
        elif at_most is not None and number > at_most:
            self.errors[name] = Problem.of("at_most", limit=at_most)
        return number

    def flag(self, name) -> bool:
        value = self._present(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on", "y")

    def text(self, name):
        value = self._present(name)
        return str(value).strip() if value is not None else None

    def moment(self, name):
        value = self._present(name)
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.errors[name] = Problem.of("datetime")
                return None
        if moment.tzinfo is None:
            self.errors[name] = Problem.of("needs_timezone")
            return None
        return moment


def _target(read: _Reader, *, required: bool):
    sku, group = read.text("product_sku"), read.text("product_group")
    if sku and group:
        read.errors["product_sku"] = Problem.of("product_or_group_not_both")
    elif required and not (sku or group):
        read.errors["product_sku"] = Problem.of("product_or_group_required")
    return sku, group


def parse_params(kind: RuleKind | str, raw: dict):
    """Typed, validated parameters of a rule; raises RuleError listing every problem."""
    try:
        kind = RuleKind(kind)
    except ValueError:
        raise RuleError({"kind": Problem.of("unknown_kind", kind=kind)}) from None
    read = _Reader(raw)
    if kind is RuleKind.UNIT_SOLD:
        sku, group = _target(read, required=True)
        multiplier = read.decimal("focus_multiplier", above=Decimal(1), at_most=MAX_MULTIPLIER)
        start, until = read.moment("focus_from"), read.moment("focus_until")
        if multiplier is not None and not (read.text("focus_from") and read.text("focus_until")):
            read.errors.setdefault("focus_from", Problem.of("focus_window_needed"))
        if (start or until) and multiplier is None and "focus_multiplier" not in read.errors:
            read.errors["focus_multiplier"] = Problem.of("focus_multiplier_needed")
        if start and until and until <= start:
            read.errors["focus_until"] = Problem.of("after_focus_from")
        params = UnitSold(
            product_sku=sku,
            product_group=group,
            points_per_unit=read.integer("points_per_unit", minimum=1),
            min_quantity=read.integer("min_quantity", minimum=1, default=1),
            focus_multiplier=multiplier,
            focus_from=start,
            focus_until=until,
            tier_multiplier=read.flag("tier_multiplier"),
        )
    elif kind is RuleKind.INSTALL:
        sku, group = _target(read, required=False)
        params = Install(
            points_per_install=read.integer("points_per_install", required=True, minimum=1),
            product_sku=sku,
            product_group=group,
            tier_multiplier=read.flag("tier_multiplier"),
        )
    elif kind is RuleKind.PORTAL_ORDER:
        per_order = read.integer("points_per_order", minimum=0, default=0)
        bulk_min = read.integer("bulk_min_units", minimum=2)
        bulk_bonus = read.integer("bulk_bonus", minimum=1)
        if (bulk_min is None) != (bulk_bonus is None):
            read.errors.setdefault("bulk_bonus", Problem.of("bulk_pair"))
        if not per_order and bulk_bonus is None and not read.errors:
            read.errors["points_per_order"] = Problem.of("order_points_needed")
        params = PortalOrder(per_order, bulk_min, bulk_bonus)
    elif kind is RuleKind.EARLY_PAYMENT:
        params = EarlyPayment(
            points=read.integer("points", required=True, minimum=1),
            min_days_early=read.integer("min_days_early", minimum=1, default=1),
        )
    elif kind is RuleKind.TRAINING:
        params = Training(read.integer("points", required=True, minimum=1), read.text("module"))
    elif kind is RuleKind.REFERRAL:
        params = Referral(read.integer("points", required=True, minimum=1))
    elif kind is RuleKind.WELCOME:
        params = Welcome(read.integer("points", required=True, minimum=1))
    elif kind is RuleKind.VOLUME_REBATE:
        raw_tiers = read.raw.get("percent_by_tier") or {}
        tiers = {}
        if not isinstance(raw_tiers, dict):
            read.errors["percent_by_tier"] = Problem.of("tier_map")
        else:
            tier_reader = _Reader(raw_tiers)
            for code in raw_tiers:
                percent = tier_reader.decimal(code, above=Decimal(0), at_most=MAX_PERCENT)
                if percent is not None:
                    tiers[str(code)] = percent
            for code, problem in tier_reader.errors.items():
                read.errors[f"percent_by_tier.{code}"] = problem
        default = read.decimal("default_percent", above=Decimal(0), at_most=MAX_PERCENT)
        if not tiers and default is None and not read.errors:
            read.errors["percent_by_tier"] = Problem.of("tier_or_default")
        params = VolumeRebate(tiers, default)
    elif kind is RuleKind.CUMULATIVE_DISCOUNT:
        raw_steps = read.raw.get("steps") or []
        steps = []
        if not isinstance(raw_steps, list) or not raw_steps:
            read.errors["steps"] = Problem.of("steps_needed")
        else:
            for index, raw_step in enumerate(raw_steps):
                step_reader = _Reader(raw_step if isinstance(raw_step, dict) else {})
                amount = step_reader.decimal("from_amount", required=True, above=Decimal(0))
                percent = step_reader.decimal(
                    "percent", required=True, above=Decimal(0), at_most=MAX_PERCENT
                )
                for name, problem in step_reader.errors.items():
                    read.errors[f"steps.{index}.{name}"] = problem
                if amount is not None and percent is not None:
                    steps.append(DiscountStep(amount, percent))
            for earlier, later in zip(steps, steps[1:], strict=False):
                if later.from_amount <= earlier.from_amount or later.percent <= earlier.percent:
                    read.errors["steps"] = Problem.of("steps_increasing")
        params = CumulativeDiscount(tuple(steps))
    elif kind is RuleKind.CASHBACK:
        params = Cashback(
            amount_per_unit=read.decimal("amount_per_unit", required=True, above=Decimal(0)),
            monthly_cap=read.decimal("monthly_cap", required=True, above=Decimal(0)),
        )
    else:
        params = FirstOrderDiscount(
            read.decimal("percent", required=True, above=Decimal(0), at_most=MAX_PERCENT)
        )
    if read.errors:
        raise RuleError(read.errors)
    return params
