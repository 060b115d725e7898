"""Rule parameters as the scheme editor sends them: typed when valid, every problem named when not.

Pure Python: no Flask, no database.
"""

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channel.rule_params import (
    COMPANY_RULES,
    PARAMETERS,
    PARAMS,
    RULE_EVENT,
    STEP_PARAMETERS,
    Cashback,
    CumulativeDiscount,
    DiscountStep,
    EarlyPayment,
    EventKind,
    FirstOrderDiscount,
    Install,
    PortalOrder,
    Problem,
    Referral,
    RuleError,
    RuleKind,
    Training,
    UnitSold,
    VolumeRebate,
    Welcome,
    parse_params,
)

FROM = "2025-03-01T00:00:00+00:00"
UNTIL = "2025-04-01T00:00:00+00:00"


def problems(kind, raw) -> dict[str, Problem]:
    """The problems `parse_params` reports for `raw`, by parameter name."""
    with pytest.raises(RuleError) as caught:
        parse_params(kind, raw)
    return caught.value.errors


def codes(kind, raw) -> dict[str, str]:
    return {name: problem.code for name, problem in problems(kind, raw).items()}


# ---------------------------------------------------------------- the tables


def test_every_rule_kind_has_parameters_and_an_event():
    assert set(PARAMS) == set(RuleKind)
    assert set(RULE_EVENT) == set(RuleKind)


def test_each_kinds_parameter_table_fills_exactly_its_dataclass():
    for kind in RuleKind:
        names = [param.name for param in PARAMETERS[kind]]
        assert sorted(names) == sorted(f.name for f in fields(PARAMS[kind])), kind
    assert [param.name for param in STEP_PARAMETERS] == [f.name for f in fields(DiscountStep)]


def test_company_rules_react_to_company_events_or_orders():
    assert {RULE_EVENT[kind] for kind in COMPANY_RULES} == {
        EventKind.PURCHASE,
        EventKind.RECYCLING,
        EventKind.ORDER,
    }


def test_problem_values_are_kept_as_text_in_order():
    assert Problem.of("at_most", limit=Decimal(10), unit="x").values == (
        ("limit", "10"),
        ("unit", "x"),
    )


# ---------------------------------------------------------------- valid parameters


def test_unit_sold_reads_text_into_typed_values():
    params = parse_params(
        "unit_sold",
        {
            "product_sku": " BOILER-24 ",
            "points_per_unit": "10",
            "min_quantity": " 3 ",
            "focus_multiplier": "1,5",
            "focus_from": FROM,
            "focus_until": UNTIL,
        },
    )
    assert params == UnitSold(
        product_sku="BOILER-24",
        product_group=None,
        points_per_unit=10,
        min_quantity=3,
        focus_multiplier=Decimal("1.5"),
        focus_from=datetime(2025, 3, 1, tzinfo=UTC),
        focus_until=datetime(2025, 4, 1, tzinfo=UTC),
    )


def test_unit_sold_accepts_a_kind_given_as_rule_kind_and_aware_datetimes():
    start = datetime(2025, 3, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    params = parse_params(
        RuleKind.UNIT_SOLD,
        {
            "product_group": "boilers",
            "points_per_unit": 4,
            "focus_multiplier": Decimal(2),
            "focus_from": start,
            "focus_until": start + timedelta(days=7),
        },
    )
    assert params.product_group == "boilers"
    assert params.product_sku is None
    assert params.points_per_unit == 4
    assert params.focus_multiplier == Decimal(2)
    assert params.focus_from == start


def test_unit_sold_without_points_uses_catalog_defaults_and_one_unit_minimum():
    params = parse_params("unit_sold", {"product_sku": "BOILER-24", "points_per_unit": "  "})
    assert params.points_per_unit is None
    assert params.min_quantity == 1
    assert params.focus_multiplier is None
    assert params.focus_from is None
    assert params.focus_until is None


def test_focus_multiplier_of_exactly_ten_is_allowed():
    params = parse_params(
        "unit_sold",
        {
            "product_sku": "X",
            "focus_multiplier": "10",
            "focus_from": FROM,
            "focus_until": UNTIL,
        },
    )
    assert params.focus_multiplier == Decimal(10)


def test_install_may_target_every_product():
    assert parse_params("install", {"points_per_install": "25"}) == Install(
        points_per_install=25, product_sku=None, product_group=None
    )
    assert parse_params(
        "install", {"points_per_install": 25, "product_group": "heat_pumps"}
    ) == Install(points_per_install=25, product_group="heat_pumps")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"points_per_order": "5"}, PortalOrder(5, None, None)),
        ({"bulk_min_units": "10", "bulk_bonus": "20"}, PortalOrder(0, 10, 20)),
        (
            {"points_per_order": "5", "bulk_min_units": "10", "bulk_bonus": "20"},
            PortalOrder(5, 10, 20),
        ),
    ],
)
def test_portal_order_pays_per_order_or_for_bulk_or_both(raw, expected):
    assert parse_params("portal_order", raw) == expected


def test_early_payment_is_at_least_one_day_early_by_default():
    assert parse_params("early_payment", {"points": "30"}) == EarlyPayment(30, 1)
    assert parse_params("early_payment", {"points": "30", "min_days_early": "7"}) == (
        EarlyPayment(30, 7)
    )


def test_training_module_is_optional():
    assert parse_params("training", {"points": "15"}) == Training(15, None)
    assert parse_params("training", {"points": "15", "module": " m3 "}) == Training(15, "m3")


def test_referral_and_welcome_take_points():
    assert parse_params("referral", {"points": "100"}) == Referral(100)
    assert parse_params("welcome", {"points": "50"}) == Welcome(50)


def test_volume_rebate_reads_percent_by_tier_and_default():
    params = parse_params(
        "volume_rebate",
        {"percent_by_tier": {"gold": "3,5", "silver": 2}, "default_percent": "1"},
    )
    assert params == VolumeRebate({"gold": Decimal("3.5"), "silver": Decimal(2)}, Decimal(1))


def test_volume_rebate_default_alone_is_enough_and_fifty_percent_is_the_limit():
    assert parse_params("volume_rebate", {"default_percent": "50"}) == VolumeRebate({}, Decimal(50))


def test_volume_rebate_blank_tier_is_ignored_rather_than_paying_nothing():
    # A tier left blank in the editor must fall back to the default percent, not override it.
    params = parse_params(
        "volume_rebate", {"percent_by_tier": {"gold": "3", "silver": ""}, "default_percent": "1"}
    )
    assert params == VolumeRebate({"gold": Decimal(3)}, Decimal(1))


def test_cumulative_discount_reads_steps_in_order():
    params = parse_params(
        "cumulative_discount",
        {
            "steps": [
                {"from_amount": "1000", "percent": "2"},
                {"from_amount": "5000,50", "percent": "3,5"},
            ]
        },
    )
    assert params == CumulativeDiscount(
        (
            DiscountStep(Decimal(1000), Decimal(2)),
            DiscountStep(Decimal("5000.50"), Decimal("3.5")),
        )
    )


def test_cashback_and_first_order_discount_read_money_and_percent():
    assert parse_params("cashback", {"amount_per_unit": "0,50", "monthly_cap": "200"}) == (
        Cashback(Decimal("0.50"), Decimal(200))
    )
    assert parse_params("first_order_discount", {"percent": "7,5"}) == FirstOrderDiscount(
        Decimal("7.5")
    )


# ---------------------------------------------------------------- refusals, one field at a time

POINTS_FIELD = [
    ("unit_sold", {"product_sku": "X"}, "points_per_unit"),
    ("install", {}, "points_per_install"),
    ("early_payment", {}, "points"),
    ("training", {}, "points"),
    ("referral", {}, "points"),
    ("welcome", {}, "points"),
]


@pytest.mark.parametrize(("kind", "base", "field"), POINTS_FIELD)
@pytest.mark.parametrize("value", ["0", "-5", 0, -1])
def test_points_must_be_at_least_one(kind, base, field, value):
    assert problems(kind, {**base, field: value}) == {field: Problem.of("at_least", minimum=1)}


@pytest.mark.parametrize(("kind", "base", "field"), POINTS_FIELD)
@pytest.mark.parametrize("value", ["ten", "1.5", "1,5", 2.5, True, "1e3"])
def test_points_must_be_a_whole_number(kind, base, field, value):
    assert problems(kind, {**base, field: value}) == {field: Problem.of("whole_number")}


@pytest.mark.parametrize(("kind", "base", "field"), POINTS_FIELD[1:])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_points_are_required_where_there_is_no_default(kind, base, field, value):
    assert problems(kind, {**base, field: value}) == {field: Problem.of("required")}


@pytest.mark.parametrize(
    ("kind", "raw", "field"),
    [
        ("cashback", {"amount_per_unit": "abc", "monthly_cap": "10"}, "amount_per_unit"),
        ("cashback", {"amount_per_unit": "1", "monthly_cap": "NaN"}, "monthly_cap"),
        ("cashback", {"amount_per_unit": "Infinity", "monthly_cap": "10"}, "amount_per_unit"),
        ("first_order_discount", {"percent": "5%"}, "percent"),
        ("volume_rebate", {"default_percent": "two"}, "default_percent"),
        ("volume_rebate", {"percent_by_tier": {"gold": "x"}}, "percent_by_tier.gold"),
        (
            "unit_sold",
            {"product_sku": "X", "focus_multiplier": "double", "focus_from": FROM},
            "focus_multiplier",
        ),
    ],
)
def test_money_and_percentages_must_be_numbers(kind, raw, field):
    assert codes(kind, raw) == {field: "number"}


def test_unit_sold_needs_a_product_or_a_group():
    assert problems("unit_sold", {"points_per_unit": "10"}) == {
        "product_sku": Problem.of("product_or_group_required")
    }
    assert codes("unit_sold", {"product_sku": " ", "product_group": ""}) == {
        "product_sku": "product_or_group_required"
    }


@pytest.mark.parametrize("kind", ["unit_sold", "install"])
def test_a_rule_targets_a_product_or_a_group_not_both(kind):
    raw = {"product_sku": "BOILER-24", "product_group": "boilers", "points_per_install": "5"}
    assert codes(kind, raw) == {"product_sku": "product_or_group_not_both"}


def test_focus_multiplier_without_window_is_refused():
    assert codes("unit_sold", {"product_sku": "X", "focus_multiplier": "2"}) == {
        "focus_from": "focus_window_needed"
    }


def test_focus_multiplier_with_half_a_window_is_refused():
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_from": FROM}
    assert codes("unit_sold", raw) == {"focus_from": "focus_window_needed"}
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_until": UNTIL}
    assert codes("unit_sold", raw) == {"focus_from": "focus_window_needed"}


@pytest.mark.parametrize(
    "window",
    [{"focus_from": FROM, "focus_until": UNTIL}, {"focus_from": FROM}, {"focus_until": UNTIL}],
)
def test_focus_window_without_multiplier_is_refused(window):
    assert codes("unit_sold", {"product_sku": "X", **window}) == {
        "focus_multiplier": "focus_multiplier_needed"
    }


@pytest.mark.parametrize("until", [FROM, "2025-02-28T23:59:59+00:00"])
def test_focus_until_must_be_after_focus_from(until):
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_from": FROM, "focus_until": until}
    assert codes("unit_sold", raw) == {"focus_until": "after_focus_from"}


def test_focus_window_compares_instants_across_time_zones():
    # 02:00+02:00 is midnight UTC: the same instant as FROM, so the window is empty.
    raw = {
        "product_sku": "X",
        "focus_multiplier": "2",
        "focus_from": FROM,
        "focus_until": "2025-03-01T02:00:00+02:00",
    }
    assert codes("unit_sold", raw) == {"focus_until": "after_focus_from"}


@pytest.mark.parametrize("naive", ["2025-03-01T00:00:00", datetime(2025, 3, 1)])
def test_focus_dates_need_a_time_zone(naive):
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_from": naive, "focus_until": UNTIL}
    assert problems("unit_sold", raw) == {"focus_from": Problem.of("needs_timezone")}
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_from": FROM, "focus_until": naive}
    assert problems("unit_sold", raw) == {"focus_until": Problem.of("needs_timezone")}


def test_focus_dates_must_be_dates():
    raw = {"product_sku": "X", "focus_multiplier": "2", "focus_from": "soon", "focus_until": UNTIL}
    assert codes("unit_sold", raw) == {"focus_from": "datetime"}


@pytest.mark.parametrize(
    ("multiplier", "expected"),
    [
        ("10,01", Problem.of("at_most", limit=10)),
        ("25", Problem.of("at_most", limit=10)),
        ("1", Problem.of("more_than", limit=1)),
        ("0,5", Problem.of("more_than", limit=1)),
    ],
)
def test_focus_multiplier_is_above_one_and_at_most_ten(multiplier, expected):
    raw = {
        "product_sku": "X",
        "focus_multiplier": multiplier,
        "focus_from": FROM,
        "focus_until": UNTIL,
    }
    assert problems("unit_sold", raw) == {"focus_multiplier": expected}


def test_min_quantity_is_a_positive_whole_number():
    assert codes("unit_sold", {"product_sku": "X", "min_quantity": "0"}) == {
        "min_quantity": "at_least"
    }
    assert codes("unit_sold", {"product_sku": "X", "min_quantity": "two"}) == {
        "min_quantity": "whole_number"
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"points_per_order": "5", "bulk_min_units": "10"},
        {"points_per_order": "5", "bulk_bonus": "20"},
        {"bulk_bonus": "20"},
        {"bulk_min_units": "10"},
    ],
)
def test_bulk_bonus_needs_both_minimum_and_bonus(raw):
    assert problems("portal_order", raw) == {"bulk_bonus": Problem.of("bulk_pair")}


def test_bulk_minimum_is_at_least_two_units():
    assert problems("portal_order", {"bulk_min_units": "1", "bulk_bonus": "5"}) == {
        "bulk_min_units": Problem.of("at_least", minimum=2)
    }


@pytest.mark.parametrize("raw", [{}, {"points_per_order": "0"}, {"points_per_order": ""}])
def test_portal_order_must_pay_something(raw):
    assert problems("portal_order", raw) == {"points_per_order": Problem.of("order_points_needed")}


def test_portal_order_points_may_not_be_negative():
    assert codes("portal_order", {"points_per_order": "-1"}) == {"points_per_order": "at_least"}


def test_early_payment_needs_at_least_one_day():
    assert problems("early_payment", {"points": "5", "min_days_early": "0"}) == {
        "min_days_early": Problem.of("at_least", minimum=1)
    }


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"percent_by_tier": {}},
        {"percent_by_tier": {}, "default_percent": ""},
        {"percent_by_tier": {"gold": ""}},
    ],
)
def test_volume_rebate_needs_a_tier_or_a_default(raw):
    assert problems("volume_rebate", raw) == {"percent_by_tier": Problem.of("tier_or_default")}


def test_volume_rebate_tiers_must_be_a_mapping():
    assert codes("volume_rebate", {"percent_by_tier": ["gold", 3]}) == {
        "percent_by_tier": "tier_map"
    }


def test_volume_rebate_percent_is_above_zero_and_at_most_fifty():
    raw = {"percent_by_tier": {"gold": "50,5", "silver": "0"}, "default_percent": "51"}
    assert problems("volume_rebate", raw) == {
        "percent_by_tier.gold": Problem.of("at_most", limit=50),
        "percent_by_tier.silver": Problem.of("more_than", limit=0),
        "default_percent": Problem.of("at_most", limit=50),
    }


@pytest.mark.parametrize("steps", [None, [], "1000:2", {"from_amount": "1000", "percent": "2"}])
def test_cumulative_discount_needs_a_list_of_steps(steps):
    assert problems("cumulative_discount", {"steps": steps}) == {
        "steps": Problem.of("steps_needed")
    }


@pytest.mark.parametrize(
    "steps",
    [
        [("5000", "2"), ("1000", "3")],  # amounts go down
        [("1000", "3"), ("5000", "2")],  # percentages go down
        [("1000", "2"), ("1000", "3")],  # same amount twice
        [("1000", "2"), ("5000", "2")],  # same percentage twice
        [("1000", "2"), ("5000", "3"), ("4000", "4")],  # only the last pair is wrong
    ],
)
def test_cumulative_discount_steps_must_increase_in_amount_and_percent(steps):
    raw = {"steps": [{"from_amount": a, "percent": p} for a, p in steps]}
    assert problems("cumulative_discount", raw) == {"steps": Problem.of("steps_increasing")}


def test_cumulative_discount_names_the_bad_field_of_each_step():
    raw = {
        "steps": [
            {"from_amount": "0", "percent": "2"},
            {"from_amount": "5000", "percent": "60"},
            {"percent": "3"},
            "junk",
        ]
    }
    assert problems("cumulative_discount", raw) == {
        "steps.0.from_amount": Problem.of("more_than", limit=0),
        "steps.1.percent": Problem.of("at_most", limit=50),
        "steps.2.from_amount": Problem.of("required"),
        "steps.3.from_amount": Problem.of("required"),
        "steps.3.percent": Problem.of("required"),
    }


def test_cashback_needs_a_positive_amount_and_cap():
    assert codes("cashback", {}) == {"amount_per_unit": "required", "monthly_cap": "required"}
    assert codes("cashback", {"amount_per_unit": "0", "monthly_cap": "-10"}) == {
        "amount_per_unit": "more_than",
        "monthly_cap": "more_than",
    }


@pytest.mark.parametrize(
    ("percent", "code"), [("", "required"), ("0", "more_than"), ("50,01", "at_most")]
)
def test_first_order_discount_percent_is_above_zero_and_at_most_fifty(percent, code):
    assert codes("first_order_discount", {"percent": percent}) == {"percent": code}


@pytest.mark.parametrize("kind", ["bonus", "", None, "UNIT_SOLD"])
def test_unknown_kind_is_refused(kind):
    assert problems(kind, {"points": "5"}) == {"kind": Problem.of("unknown_kind", kind=kind)}


# ---------------------------------------------------------------- every problem at once


def test_every_problem_of_a_rule_is_reported_at_once():
    raw = {
        "product_sku": "BOILER-24",
        "product_group": "boilers",
        "points_per_unit": "-3",
        "min_quantity": "many",
        "focus_multiplier": "12",
        "focus_from": "2025-03-01T00:00:00",
        "focus_until": UNTIL,
    }
    assert codes("unit_sold", raw) == {
        "product_sku": "product_or_group_not_both",
        "points_per_unit": "at_least",
        "min_quantity": "whole_number",
        "focus_multiplier": "at_most",
        "focus_from": "needs_timezone",
    }


def test_portal_order_reports_bad_numbers_and_the_missing_pair_together():
    assert codes("portal_order", {"points_per_order": "x", "bulk_bonus": "0"}) == {
        "points_per_order": "whole_number",
        "bulk_bonus": "at_least",
    }
    assert codes("portal_order", {"points_per_order": "x", "bulk_min_units": "3"}) == {
        "points_per_order": "whole_number",
        "bulk_bonus": "bulk_pair",
    }


def test_rule_error_is_a_value_error_naming_every_field():
    with pytest.raises(ValueError, match="amount_per_unit: required; monthly_cap: required"):
        parse_params("cashback", {})


def test_no_parameters_at_all_is_the_same_as_an_empty_dict():
    assert codes("welcome", None) == {"points": "required"}


# ---------------------------------------------------------------- anything the editor may send

FIELDS = {
    RuleKind.UNIT_SOLD: [
        "product_sku",
        "product_group",
        "points_per_unit",
        "min_quantity",
        "focus_multiplier",
        "focus_from",
        "focus_until",
    ],
    RuleKind.INSTALL: ["points_per_install", "product_sku", "product_group"],
    RuleKind.PORTAL_ORDER: ["points_per_order", "bulk_min_units", "bulk_bonus"],
    RuleKind.EARLY_PAYMENT: ["points", "min_days_early"],
    RuleKind.TRAINING: ["points", "module"],
    RuleKind.REFERRAL: ["points"],
    RuleKind.WELCOME: ["points"],
    RuleKind.VOLUME_REBATE: ["percent_by_tier", "default_percent"],
    RuleKind.CUMULATIVE_DISCOUNT: ["steps"],
    RuleKind.CASHBACK: ["amount_per_unit", "monthly_cap"],
    RuleKind.FIRST_ORDER_DISCOUNT: ["percent"],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1,5", "10", "0", "-1", "2025-03-01T00:00:00+00:00", "2025-03-01", " "]),
)
values = st.one_of(
    scalars,
    st.lists(st.dictionaries(st.sampled_from(["from_amount", "percent"]), scalars), max_size=3),
    st.dictionaries(st.sampled_from(["gold", "silver", ""]), scalars, max_size=3),
)


@st.composite
def raw_params(draw):
    kind = draw(st.sampled_from(list(RuleKind)))
    raw = draw(st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS[kind], values)))
    return kind, raw


@settings(max_examples=200, deadline=None)
@given(raw_params())
def test_any_input_gives_typed_parameters_or_a_rule_error(kind_and_raw):
    kind, raw = kind_and_raw
    try:
        params = parse_params(kind, raw)
    except RuleError as error:
        assert error.errors
        assert all(isinstance(problem, Problem) for problem in error.errors.values())
    else:
        assert isinstance(params, PARAMS[kind])
