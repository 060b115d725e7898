"""Rule kinds and their parameters: typed, validated, with a problem code for each refusal.

Each kind's parameters are one table (`PARAMETERS`: name, type, required, bounds) that
`parse_params` walks with `channel.rule_reader`, then the kind's checks across parameters
(`CHECKS`). Pure Python, shared by the rules engine (`channel.rules`) and the scheme editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from channel.rule_reader import Problem, Reader, RuleError


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


@dataclass(frozen=True)
class Param:
    """One parameter of a rule kind: its name, how it is read, and what it may hold."""

    name: str
    #: "integer", "decimal", "flag", "text", "moment"; "percent_by_tier" (a decimal per tier
    #: code) and "steps" (a list of STEP_PARAMETERS rows).
    type: str
    #: Refused when absent (or blank).
    required: bool = False
    #: Integers: the smallest allowed.
    minimum: int | None = None
    #: Decimals (each of them for "percent_by_tier"): more than `above`, at most `at_most`.
    above: Decimal | None = None
    at_most: Decimal | None = None
    #: What an absent (or unreadable) integer stands for.
    default: int | None = None


_ABOVE_ZERO = Decimal(0)
_POINTS = Param("points", "integer", required=True, minimum=1)
_SKU = Param("product_sku", "text")
_GROUP = Param("product_group", "text")
_TIER_MULTIPLIER = Param("tier_multiplier", "flag")

#: Each rule kind's parameters, read in this order into its dataclass in PARAMS.
PARAMETERS: dict[RuleKind, tuple[Param, ...]] = {
    RuleKind.UNIT_SOLD: (
        _SKU,
        _GROUP,
        Param("points_per_unit", "integer", minimum=1),
        Param("min_quantity", "integer", minimum=1, default=1),
        Param("focus_multiplier", "decimal", above=Decimal(1), at_most=MAX_MULTIPLIER),
        Param("focus_from", "moment"),
        Param("focus_until", "moment"),
        _TIER_MULTIPLIER,
    ),
    RuleKind.INSTALL: (
        Param("points_per_install", "integer", required=True, minimum=1),
        _SKU,
        _GROUP,
        _TIER_MULTIPLIER,
    ),
    RuleKind.PORTAL_ORDER: (
        Param("points_per_order", "integer", minimum=0, default=0),
        Param("bulk_min_units", "integer", minimum=2),
        Param("bulk_bonus", "integer", minimum=1),
    ),
    RuleKind.EARLY_PAYMENT: (_POINTS, Param("min_days_early", "integer", minimum=1, default=1)),
    RuleKind.TRAINING: (_POINTS, Param("module", "text")),
    RuleKind.REFERRAL: (_POINTS,),
    RuleKind.WELCOME: (_POINTS,),
    RuleKind.VOLUME_REBATE: (
        Param("percent_by_tier", "percent_by_tier", above=_ABOVE_ZERO, at_most=MAX_PERCENT),
        Param("default_percent", "decimal", above=_ABOVE_ZERO, at_most=MAX_PERCENT),
    ),
    RuleKind.CUMULATIVE_DISCOUNT: (Param("steps", "steps"),),
    RuleKind.CASHBACK: (
        Param("amount_per_unit", "decimal", required=True, above=_ABOVE_ZERO),
        Param("monthly_cap", "decimal", required=True, above=_ABOVE_ZERO),
    ),
    RuleKind.FIRST_ORDER_DISCOUNT: (
        Param("percent", "decimal", required=True, above=_ABOVE_ZERO, at_most=MAX_PERCENT),
    ),
}

#: The parameters of each step of a cumulative discount.
STEP_PARAMETERS = (
    Param("from_amount", "decimal", required=True, above=_ABOVE_ZERO),
    Param("percent", "decimal", required=True, above=_ABOVE_ZERO, at_most=MAX_PERCENT),
)


def _read(read: Reader, param: Param):
    """One parameter's typed value (None, or its default, when absent or unreadable)."""
    if param.type == "integer":
        return read.integer(
            param.name, required=param.required, minimum=param.minimum, default=param.default
        )
    if param.type == "decimal":
        return read.decimal(
            param.name, required=param.required, above=param.above, at_most=param.at_most
        )
    if param.type == "percent_by_tier":
        return _percent_by_tier(read, param)
    if param.type == "steps":
        return _steps(read, param)
    return {"flag": read.flag, "text": read.text, "moment": read.moment}[param.type](param.name)


def _percent_by_tier(read: Reader, param: Param) -> dict[str, Decimal]:
    """A decimal per tier code; a tier left blank is left out (it falls back to a default)."""
    raw_tiers = read.raw.get(param.name) or {}
    if not isinstance(raw_tiers, dict):
        read.errors[param.name] = Problem.of("tier_map")
        return {}
    tiers = {}
    tier_reader = Reader(raw_tiers)
    for code in raw_tiers:
        percent = tier_reader.decimal(code, above=param.above, at_most=param.at_most)
        if percent is not None:
            tiers[str(code)] = percent
    for code, problem in tier_reader.errors.items():
        read.errors[f"{param.name}.{code}"] = problem
    return tiers


def _steps(read: Reader, param: Param) -> tuple[DiscountStep, ...]:
    """The steps of a cumulative discount, each read by STEP_PARAMETERS; at least one."""
    raw_steps = read.raw.get(param.name) or []
    if not isinstance(raw_steps, list) or not raw_steps:
        read.errors[param.name] = Problem.of("steps_needed")
        return ()
    steps = []
    for index, raw_step in enumerate(raw_steps):
        step_reader = Reader(raw_step if isinstance(raw_step, dict) else {})
        values = {p.name: _read(step_reader, p) for p in STEP_PARAMETERS}
        for name, problem in step_reader.errors.items():
            read.errors[f"{param.name}.{index}.{name}"] = problem
        if None not in values.values():
            steps.append(DiscountStep(**values))
    return tuple(steps)


# ---------------------------------------------------------------- rules between parameters


def _product_or_group(values: dict, read: Reader, *, required: bool) -> None:
    sku, group = values["product_sku"], values["product_group"]
    if sku and group:
        read.errors["product_sku"] = Problem.of("product_or_group_not_both")
    elif required and not (sku or group):
        read.errors["product_sku"] = Problem.of("product_or_group_required")


def _product_or_group_required(values: dict, read: Reader) -> None:
    _product_or_group(values, read, required=True)


def _product_or_group_at_most(values: dict, read: Reader) -> None:
    _product_or_group(values, read, required=False)


def _focus_window(values: dict, read: Reader) -> None:
    """A focus multiplier and its window come together, the window not empty."""
    multiplier, start, until = (
        values[k] for k in ("focus_multiplier", "focus_from", "focus_until")
    )
    if multiplier is not None and not (read.text("focus_from") and read.text("focus_until")):
        read.errors.setdefault("focus_from", Problem.of("focus_window_needed"))
    if (start or until) and multiplier is None and "focus_multiplier" not in read.errors:
        read.errors["focus_multiplier"] = Problem.of("focus_multiplier_needed")
    if start and until and until <= start:
        read.errors["focus_until"] = Problem.of("after_focus_from")


def _bulk_pair(values: dict, read: Reader) -> None:
    if (values["bulk_min_units"] is None) != (values["bulk_bonus"] is None):
        read.errors.setdefault("bulk_bonus", Problem.of("bulk_pair"))


def _order_pays(values: dict, read: Reader) -> None:
    if not values["points_per_order"] and values["bulk_bonus"] is None and not read.errors:
        read.errors["points_per_order"] = Problem.of("order_points_needed")


def _tier_or_default(values: dict, read: Reader) -> None:
    if not values["percent_by_tier"] and values["default_percent"] is None and not read.errors:
        read.errors["percent_by_tier"] = Problem.of("tier_or_default")


def _steps_increasing(values: dict, read: Reader) -> None:
    steps = values["steps"]
    for earlier, later in zip(steps, steps[1:], strict=False):
        if later.from_amount <= earlier.from_amount or later.percent <= earlier.percent:
            read.errors["steps"] = Problem.of("steps_increasing")


#: What each rule kind checks across its parameters once they are read, in this order.
CHECKS = {
    RuleKind.UNIT_SOLD: (_product_or_group_required, _focus_window),
    RuleKind.INSTALL: (_product_or_group_at_most,),
    RuleKind.PORTAL_ORDER: (_bulk_pair, _order_pays),
    RuleKind.VOLUME_REBATE: (_tier_or_default,),
    RuleKind.CUMULATIVE_DISCOUNT: (_steps_increasing,),
}


def parse_params(kind: RuleKind | str, raw: dict):
    """Typed, validated parameters of a rule; raises RuleError listing every problem."""
    try:
        kind = RuleKind(kind)
    except ValueError:
        raise RuleError({"kind": Problem.of("unknown_kind", kind=kind)}) from None
    read = Reader(raw)
    values = {param.name: _read(read, param) for param in PARAMETERS[kind]}
    for check in CHECKS.get(kind, ()):
        check(values, read)
    if read.errors:
        raise RuleError(read.errors)
    return PARAMS[kind](**values)
