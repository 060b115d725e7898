"""Rules in plain words, in the reader's language: what a partner manager or a technician reads."""

from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from channel.rule_params import RuleKind, parse_params
from core.i18n import (
    format_datetime,
    format_list,
    format_money,
    format_number,
    format_percent,
    isolated_in_right_to_left,
    plural_text,
)


def _target(params, group_names: Mapping[str, str]) -> str:
    if getattr(params, "product_sku", None):
        return _("product %(sku)s", sku=isolated_in_right_to_left(params.product_sku))
    if getattr(params, "product_group", None):
        name = group_names.get(params.product_group, params.product_group)
        return _("products of the group %(group)s", group=isolated_in_right_to_left(name))
    return _("any product")


def points_text(count: int) -> str:
    """“1 point”, “5 points”, “5 punktów”, “۵ امتیاز”: a count of points in the reader's grammar."""
    # ngettext would print the raw number: format it the reader's way (1 200, 1,200, ۱٬۲۰۰).
    return plural_text("%(num)s point", "%(num)s points", count)


def describe_rule(
    kind: str,
    raw_params: dict,
    currency: str,
    group_names: Mapping[str, str] | None = None,
    tier_names: Mapping[str, str] | None = None,
) -> str:
    """One sentence saying what the rule pays and when; a product group by its name in
    `group_names` (code -> name), a tier by its name in `tier_names`."""
    group_names, tier_names = group_names or {}, tier_names or {}
    kind = RuleKind(kind)
    p = parse_params(kind, raw_params)
    if kind is RuleKind.UNIT_SOLD:
        per_unit = (
            points_text(p.points_per_unit) if p.points_per_unit else _("the catalog's points")
        )
        text = _(
            "%(points)s per unit of %(target)s sold",
            points=per_unit,
            target=_target(p, group_names),
        )
        if p.min_quantity > 1:
            text = plural_text(
                "%(rule)s, on sale lines of at least %(num)s unit",
                "%(rule)s, on sale lines of at least %(num)s units",
                p.min_quantity,
                rule=text,
            )
        if p.focus_multiplier:
            text = _(
                "%(rule)s; ×%(multiplier)s from %(start)s until %(end)s",
                rule=text,
                multiplier=format_number(p.focus_multiplier),
                start=format_datetime(p.focus_from, "short"),
                end=format_datetime(p.focus_until, "short"),
            )
        return text
    if kind is RuleKind.INSTALL:
        return _(
            "%(points)s per registered install of %(target)s (with its serial number)",
            points=points_text(p.points_per_install),
            target=_target(p, group_names),
        )
    if kind is RuleKind.PORTAL_ORDER:
        parts = []
        if p.points_per_order:
            parts.append(
                _(
                    "%(points)s per order placed through the portal",
                    points=points_text(p.points_per_order),
                )
            )
        if p.bulk_bonus:
            parts.append(
                plural_text(
                    "%(points)s extra for an order of at least %(num)s unit",
                    "%(points)s extra for an order of at least %(num)s units",
                    p.bulk_min_units,
                    points=points_text(p.bulk_bonus),
                )
            )
        return format_list(parts)
    if kind is RuleKind.EARLY_PAYMENT:
        return plural_text(
            "%(points)s for an invoice paid at least %(num)s day before it is due",
            "%(points)s for an invoice paid at least %(num)s days before it is due",
            p.min_days_early,
            points=points_text(p.points),
        )
    if kind is RuleKind.TRAINING:
        if p.module:
            return _(
                "%(points)s for completing %(module)s",
                points=points_text(p.points),
                module=p.module,
            )
        return _(
            "%(points)s per training module completed or quiz passed", points=points_text(p.points)
        )
    if kind is RuleKind.REFERRAL:
        return _(
            "%(points)s per referred partner or customer who becomes active",
            points=points_text(p.points),
        )
    if kind is RuleKind.WELCOME:
        return _("%(points)s once, on joining the program", points=points_text(p.points))
    if kind is RuleKind.VOLUME_REBATE:
        rates = [
            _(
                "%(tier)s: %(percent)s",
                tier=isolated_in_right_to_left(tier_names.get(tier, tier)),
                percent=format_percent(percent),
            )
            for tier, percent in sorted(p.percent_by_tier.items())
        ]
        if p.default_percent:
            rates.append(_("other tiers: %(percent)s", percent=format_percent(p.default_percent)))
        return _(
            "A share of the company's purchases back as points to the company pool (%(rates)s)",
            rates=format_list(rates),
        )
    if kind is RuleKind.CUMULATIVE_DISCOUNT:
        steps = [
            _(
                "%(percent)s from %(amount)s",
                percent=format_percent(s.percent),
                amount=format_money(s.from_amount, currency),
            )
            for s in p.steps
        ]
        return _(
            "A discount that grows with the company's purchases: %(steps)s",
            steps=format_list(steps),
        )
    if kind is RuleKind.CASHBACK:
        return _(
            "%(amount)s back per unit returned, up to %(cap)s a month",
            amount=format_money(p.amount_per_unit, currency),
            cap=format_money(p.monthly_cap, currency),
        )
    return _("%(percent)s off the company's first order", percent=format_percent(p.percent))


#: The inputs the rule editor shows for each kind: (parameter, label, input type).
#: Types: "int", "decimal", "text", "sku", "group", "datetime", "tiers", "steps".
RULE_FIELDS = {
    RuleKind.UNIT_SOLD: (
        ("product_sku", _l("Product SKU"), "sku"),
        ("product_group", _l("…or product group"), "group"),
        ("points_per_unit", _l("Points per unit (empty: the catalog's)"), "int"),
        ("min_quantity", _l("Only sale lines of at least this many units"), "int"),
        ("focus_multiplier", _l("Focus-product multiplier (e.g. 2)"), "decimal"),
        ("focus_from", _l("Multiplier from"), "datetime"),
        ("focus_until", _l("Multiplier until"), "datetime"),
        ("tier_multiplier", _l("Multiply by the partner's tier multiplier"), "flag"),
    ),
    RuleKind.INSTALL: (
        ("points_per_install", _l("Points per install"), "int"),
        ("product_sku", _l("Product SKU (empty: any)"), "sku"),
        ("product_group", _l("…or product group"), "group"),
        ("tier_multiplier", _l("Multiply by the partner's tier multiplier"), "flag"),
    ),
    RuleKind.PORTAL_ORDER: (
        ("points_per_order", _l("Points per order"), "int"),
        ("bulk_min_units", _l("Bulk order: at least this many units"), "int"),
        ("bulk_bonus", _l("Bulk order bonus points"), "int"),
    ),
    RuleKind.EARLY_PAYMENT: (
        ("points", _l("Points"), "int"),
        ("min_days_early", _l("Paid at least this many days early"), "int"),
    ),
    RuleKind.TRAINING: (
        ("points", _l("Points"), "int"),
        ("module", _l("Module or quiz code (empty: any)"), "text"),
    ),
    RuleKind.REFERRAL: (("points", _l("Points"), "int"),),
    RuleKind.WELCOME: (("points", _l("Points"), "int"),),
    RuleKind.VOLUME_REBATE: (
        ("percent_by_tier", _l("Percent of purchases, by tier"), "tiers"),
        ("default_percent", _l("Percent for other tiers"), "decimal"),
    ),
    RuleKind.CUMULATIVE_DISCOUNT: (("steps", _l("Discount steps"), "steps"),),
    RuleKind.CASHBACK: (
        ("amount_per_unit", _l("Money back per unit"), "decimal"),
        ("monthly_cap", _l("At most per month"), "decimal"),
    ),
    RuleKind.FIRST_ORDER_DISCOUNT: (
        ("percent", _l("Discount in percent (e.g. 10–15)"), "decimal"),
    ),
}

STEP_ROWS = 4


def params_from_form(kind: RuleKind, form, tier_codes, zone) -> dict:
    """The raw parameters of a rule as typed into the editor (validated later, all at once)."""
    params: dict = {}
    for name, _label, kind_of_input in RULE_FIELDS[kind]:
        if kind_of_input == "tiers":
            params[name] = {
                code: form.get(f"{name}.{code}", "").strip()
                for code in tier_codes
                if form.get(f"{name}.{code}", "").strip()
            }
        elif kind_of_input == "steps":
            params[name] = [
                {
                    "from_amount": form.get(f"steps.{i}.from_amount", "").strip(),
                    "percent": form.get(f"steps.{i}.percent", "").strip(),
                }
                for i in range(STEP_ROWS)
                if form.get(f"steps.{i}.from_amount", "").strip()
                or form.get(f"steps.{i}.percent", "").strip()
            ]
        elif kind_of_input == "datetime":
            value = form.get(name, "").strip()
            params[name] = _local_moment(value, zone) if value else None
        else:
            value = form.get(name, "").strip()
            params[name] = value or None
    return {k: v for k, v in params.items() if v not in (None, "", [], {})}


def _local_moment(value: str, zone) -> str:
    """A datetime-local input read in the editor's time zone, as ISO 8601 with its offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the validator reports it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()
