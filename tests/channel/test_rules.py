"""The rules engine: what an event earns under a program's role-specific schemes, and why.

Pure Python: no Flask, no database. The builders below keep each test to the numbers it checks.
"""

from collections import defaultdict
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channel.rule_conflicts import Conflict, find_conflicts
from channel.rule_params import RULE_EVENT, EventKind, RuleKind, parse_params
from channel.rules import (
    Approval,
    Evaluator,
    Event,
    Outcome,
    Participant,
    Rule,
    Scheme,
    Terms,
    Usage,
    awards_kind,
    evaluate,
)

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
APRIL = datetime(2025, 4, 10, 12, tzinfo=UTC)
FOCUS_FROM = datetime(2025, 3, 1, tzinfo=UTC)
FOCUS_UNTIL = datetime(2025, 4, 1, tzinfo=UTC)

APPROVED = Approval()

_rule_ids = count(1000)
_scheme_ids = count(1)


# ---------------------------------------------------------------- builders


def rule(kind, id=None, **params) -> Rule:
    """A rule whose parameters go through `parse_params`, as the scheme editor's would."""
    kind = RuleKind(kind)
    return Rule(next(_rule_ids) if id is None else id, kind, parse_params(kind, params))


def scheme(roles, *rules: Rule, company=False, id=None) -> Scheme:
    roles = {roles} if isinstance(roles, str) else set(roles)
    return Scheme(next(_scheme_ids) if id is None else id, frozenset(roles), rules, company)


def company(*rules: Rule, id=None) -> Scheme:
    return scheme((), *rules, company=True, id=id)


def terms(*schemes: Scheme, **overrides) -> Terms:
    values = {
        "program_id": 1,
        "starts_at": START,
        "ends_at": END,
        "point_value": Decimal("0.10"),
        "currency": "EUR",
        "schemes": schemes,
    }
    return Terms(**{**values, **overrides})


def person(id=1, partner=10, roles=("seller",), **overrides) -> Participant:
    roles = (roles,) if isinstance(roles, str) else roles
    return Participant(id, partner, frozenset(roles), **overrides)


def event(kind, *, at=MARCH, person=1, partner=10, **fields) -> Event:
    return Event(EventKind(kind), at, partner, person, **fields)


def sale(qty, *, at=MARCH, person=1, partner=10, sku="BOILER-24", group="boilers", **fields):
    return event(
        "sale",
        at=at,
        person=person,
        partner=partner,
        sku=sku,
        product_group=group,
        quantity=qty,
        **fields,
    )


def install(serial, *, sku="BOILER-24", group="boilers", **fields) -> Event:
    return event("install", serial=serial, sku=sku, product_group=group, **fields)


def order(qty, **fields) -> Event:
    return event("order", quantity=qty, **fields)


def payment(due: date, paid: date | None, **fields) -> Event:
    return event("payment", due_on=due, paid_on=paid, amount=Decimal(500), **fields)


def course(module, **fields) -> Event:
    return event("training", module=module, **fields)


def referral(key, **fields) -> Event:
    return event("referral", key=key, **fields)


def enrolment(**fields) -> Event:
    return event("enrolment", **fields)


def purchase(amount, *, partner=10, at=MARCH) -> Event:
    return event("purchase", at=at, person=None, partner=partner, amount=Decimal(amount))


def recycling(qty, *, partner=10, at=MARCH) -> Event:
    return event("recycling", at=at, person=None, partner=partner, quantity=qty)


def run(ev: Event, t: Terms, *, approval=APPROVED, who=None, usage=None) -> Outcome:
    """Evaluate `ev`; unless told otherwise the person behind it is a seller of its partner."""
    if who is None and ev.person_id is not None:
        who = person(ev.person_id, ev.partner_id)
    return evaluate(ev, t, approval, who, Usage() if usage is None else usage)


def points(outcomes) -> list[int]:
    return [outcome.points for outcome in outcomes]


def seller_terms(*rules: Rule, **overrides) -> Terms:
    return terms(scheme("seller", *rules), **overrides)


def per_unit(points_per_unit=10, **params) -> Rule:
    return rule("unit_sold", product_sku="BOILER-24", points_per_unit=points_per_unit, **params)


# ---------------------------------------------------------------- unit_sold


def test_unit_sold_pays_quantity_times_points_per_unit_with_the_numbers_used():
    r = per_unit(10)
    s = scheme("seller", r)
    outcome = run(sale(3), terms(s, program_id=7))
    (award,) = outcome.awards
    assert award.points == outcome.points == 30
    assert (award.program_id, award.scheme_id, award.rule_id) == (7, s.id, r.id)
    assert (award.kind, award.partner_id, award.person_id) == (RuleKind.UNIT_SOLD, 10, 1)
    assert award.to_pool is False
    assert award.key is None
    assert award.reason == {"roles": ["seller"], "quantity": 3, "points_per_unit": 10}
    assert outcome.notes == []


def test_unit_sold_without_points_uses_the_catalog_default():
    t = seller_terms(rule("unit_sold", product_sku="BOILER-24"))
    outcome = run(sale(3, unit_points=7), t)
    assert outcome.points == 21
    assert outcome.awards[0].reason["points_per_unit"] == 7


def test_unit_sold_rule_points_win_over_the_catalog_default():
    assert run(sale(3, unit_points=7), seller_terms(per_unit(10))).points == 30


def test_unit_sold_without_rule_or_catalog_points_earns_nothing():
    outcome = run(sale(3), seller_terms(rule("unit_sold", product_sku="BOILER-24")))
    assert outcome.awards == []


def test_unit_sold_threshold_exactly_met_earns():
    outcome = run(sale(5), seller_terms(per_unit(10, min_quantity=5)))
    assert outcome.points == 50
    assert outcome.awards[0].reason["min_quantity"] == 5


def test_unit_sold_one_below_threshold_earns_nothing():
    usage = Usage()
    assert run(sale(4), seller_terms(per_unit(10, min_quantity=5)), usage=usage).awards == []
    assert usage == Usage()


FOCUS = {"focus_multiplier": "2", "focus_from": FOCUS_FROM, "focus_until": FOCUS_UNTIL}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (FOCUS_FROM, 60),
        (FOCUS_FROM + timedelta(days=15), 60),
        (FOCUS_UNTIL - timedelta(microseconds=1), 60),
        (FOCUS_UNTIL, 30),
        (FOCUS_FROM - timedelta(microseconds=1), 30),
        (FOCUS_UNTIL + timedelta(days=30), 30),
    ],
    ids=["at-focus-from", "inside", "last-instant", "at-focus-until", "just-before", "after"],
)
def test_focus_multiplier_applies_in_its_half_open_window(at, expected):
    outcome = run(sale(3, at=at), seller_terms(per_unit(10, **FOCUS)))
    assert outcome.points == expected
    assert ("focus_multiplier" in outcome.awards[0].reason) is (expected == 60)


def test_focus_window_compares_instants_not_wall_clock():
    # Midnight in UTC+1 is 23:00 UTC the evening before: inside a window starting then.
    plus_one = timezone(timedelta(hours=1))
    window = {
        "focus_multiplier": "2",
        "focus_from": datetime(2025, 3, 1, tzinfo=plus_one),
        "focus_until": datetime(2025, 4, 1, tzinfo=plus_one),
    }
    t = seller_terms(per_unit(10, **window))
    assert run(sale(1, at=datetime(2025, 2, 28, 23, 30, tzinfo=UTC)), t).points == 20
    assert run(sale(1, at=datetime(2025, 3, 31, 23, 30, tzinfo=UTC)), t).points == 10


@pytest.mark.parametrize(
    ("qty", "points_per_unit", "multiplier", "expected"),
    [
        (3, 5, "1,5", 23),  # 22.5
        (1, 5, "1,5", 8),  # 7.5
        (1, 3, "1,5", 5),  # 4.5: half up, not to even
        (1, 2, "1,25", 3),  # 2.5
        (1, 3, "1,1", 3),  # 3.3
        (7, 3, "1,3", 27),  # 27.3
    ],
)
def test_multiplied_points_round_half_up(qty, points_per_unit, multiplier, expected):
    window = {**FOCUS, "focus_multiplier": multiplier}
    outcome = run(sale(qty), seller_terms(per_unit(points_per_unit, **window)))
    assert outcome.points == expected
    assert outcome.awards[0].reason["focus_multiplier"] == multiplier.replace(",", ".")


def test_group_target_matches_any_product_of_the_group():
    t = seller_terms(rule("unit_sold", product_group="boilers", points_per_unit=4))
    assert run(sale(2, sku="BOILER-30", group="boilers"), t).points == 8
    assert run(sale(2, sku="BOILER-24", group="boilers"), t).points == 8
    assert run(sale(2, sku="HP-9", group="heat_pumps"), t).awards == []


def test_sku_target_ignores_other_skus_even_of_the_same_group():
    t = seller_terms(per_unit(10))
    assert run(sale(2, sku="BOILER-30", group="boilers"), t).awards == []


def test_unit_sold_ignores_other_events():
    assert run(install("SN-1"), seller_terms(per_unit(10))).awards == []


# ---------------------------------------------------------------- once-only rules


def technician_terms(*rules: Rule) -> Terms:
    return terms(scheme("technician", *rules))


TECH = person(roles="technician")


def test_install_needs_a_serial():
    t = technician_terms(rule("install", points_per_install=25))
    assert run(install(None), t, who=TECH).awards == []
    assert run(install(""), t, who=TECH).awards == []


def test_install_pays_a_serial_once_per_rule():
    r = rule("install", points_per_install=25)
    t = technician_terms(r)
    usage = Usage()
    first = run(install("SN-1"), t, who=TECH, usage=usage)
    assert first.points == 25
    assert first.awards[0].key == "serial:SN-1"
    assert first.awards[0].reason["serial"] == "SN-1"
    again = run(install("SN-1"), t, who=TECH, usage=usage)
    assert again.awards == []
    assert again.notes == ["already_awarded:serial:SN-1"]
    # The same unit registered by a colleague is still the same unit.
    colleague = person(2, roles="technician")
    assert run(install("SN-1", person=2), t, who=colleague, usage=usage).awards == []
    assert run(install("SN-2"), t, who=TECH, usage=usage).points == 25
    assert usage.awarded_keys == {(r.id, "serial:SN-1"), (r.id, "serial:SN-2")}


def test_the_same_serial_is_paid_once_under_each_rule():
    a = rule("install", points_per_install=25)
    b = rule("install", points_per_install=5, product_group="boilers")
    usage = Usage()
    outcome = run(install("SN-1"), technician_terms(a, b), who=TECH, usage=usage)
    assert [award.points for award in outcome.awards] == [25, 5]
    assert run(install("SN-1"), technician_terms(a, b), who=TECH, usage=usage).awards == []


def test_install_rule_with_a_group_ignores_other_groups():
    t = technician_terms(rule("install", points_per_install=25, product_group="heat_pumps"))
    assert run(install("SN-1"), t, who=TECH).awards == []
    assert run(install("SN-2", sku="HP-9", group="heat_pumps"), t, who=TECH).points == 25


def test_training_pays_once_per_module_per_rule():
    r = rule("training", points=15, module="m3")
    t = technician_terms(r)
    usage = Usage()
    assert run(course("m3"), t, who=TECH, usage=usage).points == 15
    again = run(course("m3"), t, who=TECH, usage=usage)
    assert again.awards == []
    assert again.notes[0].startswith("already_awarded:")
    assert run(course("m4"), t, who=TECH, usage=usage).awards == []


def test_training_for_any_module_pays_each_module_once():
    t = technician_terms(rule("training", points=15))
    usage = Usage()
    outcomes = [run(course(m), t, who=TECH, usage=usage) for m in ["m1", "m2", "m1", "m2", "m3"]]
    assert points(outcomes) == [15, 15, 0, 0, 15]


def test_training_is_once_per_person_not_once_for_the_whole_program():
    t = technician_terms(rule("training", points=15, module="m3"))
    usage = Usage()
    assert run(course("m3", person=1), t, who=TECH, usage=usage).points == 15
    colleague = person(2, roles="technician")
    assert run(course("m3", person=2), t, who=colleague, usage=usage).points == 15
    assert run(course("m3", person=2), t, who=colleague, usage=usage).awards == []


def test_welcome_pays_each_person_once():
    t = seller_terms(rule("welcome", points=50))
    usage = Usage()
    assert points(run(enrolment(), t, usage=usage) for _ in range(3)) == [50, 0, 0]
    assert run(enrolment(person=2), t, usage=usage).points == 50
    assert run(enrolment(person=3, partner=20), t, usage=usage).points == 50
    assert usage.program_points == 150


def test_referral_pays_once_per_referred_key():
    t = seller_terms(rule("referral", points=100))
    usage = Usage()
    first = run(referral("partner:77"), t, usage=usage)
    assert first.points == 100
    assert first.awards[0].reason["referral"] == "partner:77"
    assert run(referral("partner:77"), t, usage=usage).awards == []
    # A second referrer of the same partner is not paid again.
    assert run(referral("partner:77", person=2), t, usage=usage).awards == []
    assert run(referral("partner:78"), t, usage=usage).points == 100


# ---------------------------------------------------------------- orders and payments


def test_portal_order_bulk_bonus_at_exactly_the_minimum():
    t = seller_terms(rule("portal_order", points_per_order=5, bulk_min_units=10, bulk_bonus=20))
    outcome = run(order(10), t)
    assert outcome.points == 25
    assert outcome.awards[0].reason == {
        "roles": ["seller"],
        "points_per_order": 5,
        "quantity": 10,
        "bulk_bonus": 20,
    }
    assert run(order(9), t).points == 5


def test_portal_order_with_only_a_bulk_bonus_pays_nothing_for_small_orders():
    t = seller_terms(rule("portal_order", bulk_min_units=10, bulk_bonus=20))
    assert run(order(9), t).awards == []
    assert run(order(50), t).points == 20


PROCUREMENT = person(roles="procurement")
DUE = date(2025, 3, 20)


def procurement_terms(**params) -> Terms:
    return terms(scheme("procurement", rule("early_payment", **params)))


def test_early_payment_exactly_min_days_early_earns():
    outcome = run(
        payment(DUE, DUE - timedelta(days=3)),
        procurement_terms(points=30, min_days_early=3),
        who=PROCUREMENT,
    )
    assert outcome.points == 30
    assert outcome.awards[0].reason["days_early"] == 3


@pytest.mark.parametrize("days_early", [2, 0, -1, -30])
def test_early_payment_less_early_or_late_earns_nothing(days_early):
    ev = payment(DUE, DUE - timedelta(days=days_early))
    assert run(ev, procurement_terms(points=30, min_days_early=3), who=PROCUREMENT).awards == []


def test_early_payment_by_default_needs_one_day():
    t = procurement_terms(points=30)
    assert run(payment(DUE, DUE), t, who=PROCUREMENT).awards == []
    assert run(payment(DUE, DUE - timedelta(days=1)), t, who=PROCUREMENT).points == 30


def test_early_payment_without_dates_earns_nothing():
    t = procurement_terms(points=30)
    assert run(payment(DUE, None), t, who=PROCUREMENT).awards == []
    assert run(payment(None, DUE), t, who=PROCUREMENT).awards == []


# ---------------------------------------------------------------- caps and budget


def test_person_month_cap_hit_exactly_pays_in_full():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    usage = Usage()
    outcome = run(sale(10), t, usage=usage)
    assert outcome.points == 100
    assert "capped_by" not in outcome.awards[0].reason
    assert "uncapped" not in outcome.awards[0].reason
    after = run(sale(1), t, usage=usage)
    assert after.awards == []
    assert after.notes == ["cap_reached:person_month"]


def test_person_month_cap_exceeded_pays_what_is_left_and_says_why():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    usage = Usage()
    assert run(sale(7), t, usage=usage).points == 70
    outcome = run(sale(5), t, usage=usage)
    assert outcome.points == 30
    assert outcome.awards[0].reason["capped_by"] == "person_month"
    assert outcome.awards[0].reason["uncapped"] == 50
    assert usage.person_month_points == {(1, "2025-03"): 100}


def test_person_month_cap_resets_next_month():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    usage = Usage()
    last_instant = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
    assert run(sale(12, at=last_instant), t, usage=usage).points == 100
    assert run(sale(12, at=datetime(2025, 4, 1, tzinfo=UTC)), t, usage=usage).points == 100
    assert usage.person_month_points == {(1, "2025-03"): 100, (1, "2025-04"): 100}


def test_person_month_cap_counts_utc_calendar_months():
    # 00:30 on 1 April in UTC+2 is still 31 March in UTC: it counts against March.
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    usage = Usage()
    assert run(sale(10, at=datetime(2025, 3, 31, 12, tzinfo=UTC)), t, usage=usage).points == 100
    early_april_local = datetime(2025, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    outcome = run(sale(10, at=early_april_local), t, usage=usage)
    assert outcome.awards == []
    assert outcome.notes == ["cap_reached:person_month"]
    # And 23:30 on 31 May in UTC-2 is already June in UTC.
    late_may_local = datetime(2025, 5, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    run(sale(3, at=late_may_local), t, usage=usage)
    assert usage.person_month_points == {(1, "2025-03"): 100, (1, "2025-06"): 30}


def test_approval_lower_person_cap_wins_over_the_program_cap():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    outcome = run(sale(10), t, approval=Approval(cap_per_person_month=40))
    assert outcome.points == 40
    assert outcome.awards[0].reason["capped_by"] == "person_month"


def test_approval_cannot_raise_the_program_person_cap():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    assert run(sale(20), t, approval=Approval(cap_per_person_month=500)).points == 100


def test_approval_person_cap_applies_without_a_program_cap():
    approval = Approval(cap_per_person_month=60)
    assert run(sale(20), seller_terms(per_unit(10)), approval=approval).points == 60


def test_partner_cap_counts_every_person_of_the_partner():
    t = seller_terms(per_unit(10), cap_per_partner=150)
    usage = Usage()
    assert run(sale(10, person=1), t, usage=usage).points == 100
    second = run(sale(10, person=2), t, usage=usage)
    assert second.points == 50
    assert second.awards[0].reason["capped_by"] == "partner"
    third = run(sale(10, person=3), t, usage=usage)
    assert third.notes == ["cap_reached:partner"]
    assert run(sale(10, person=4, partner=20), t, usage=usage).points == 100
    assert usage.partner_points == {10: 150, 20: 100}


def test_partner_cap_is_for_the_whole_program_not_per_month():
    t = seller_terms(per_unit(10), cap_per_partner=150)
    usage = Usage()
    assert run(sale(10, at=MARCH), t, usage=usage).points == 100
    assert run(sale(10, at=APRIL), t, usage=usage).points == 50


def test_budget_exhausted_mid_batch_pays_partially_then_nothing():
    t = seller_terms(per_unit(10), budget_points=250)
    usage = Usage()
    outcomes = [run(sale(10, person=p, partner=10 + p), t, usage=usage) for p in range(1, 6)]
    assert points(outcomes) == [100, 100, 50, 0, 0]
    assert outcomes[2].awards[0].reason["capped_by"] == "budget"
    assert outcomes[2].awards[0].reason["uncapped"] == 100
    assert outcomes[3].notes == outcomes[4].notes == ["cap_reached:budget"]
    assert usage.program_points == sum(points(outcomes)) == 250


def test_the_tightest_cap_is_the_one_named():
    t = seller_terms(per_unit(10), budget_points=1000, cap_per_person_month=30)
    outcome = run(sale(10), t)
    assert outcome.points == 30
    assert outcome.awards[0].reason["capped_by"] == "person_month"
    t = seller_terms(per_unit(10), budget_points=20, cap_per_person_month=30)
    assert run(sale(10), t).awards[0].reason["capped_by"] == "budget"


def test_a_budget_already_spent_pays_nothing():
    usage = Usage(program_points=100)
    outcome = run(sale(1), seller_terms(per_unit(10), budget_points=100), usage=usage)
    assert outcome.awards == []
    assert outcome.notes == ["cap_reached:budget"]


def test_caps_apply_rule_by_rule_within_one_event():
    a = per_unit(10)
    b = rule("unit_sold", product_group="boilers", points_per_unit=5)
    usage = Usage()
    outcome = run(sale(6), seller_terms(a, b, cap_per_person_month=80), usage=usage)
    assert [award.points for award in outcome.awards] == [60, 20]
    assert outcome.awards[1].reason["capped_by"] == "person_month"
    assert usage.person_month_points == {(1, "2025-03"): 80}


# ---------------------------------------------------------------- who may earn, and when


def test_an_event_at_starts_at_earns():
    assert run(sale(1, at=START), seller_terms(per_unit(10))).points == 10


@pytest.mark.parametrize("at", [END, START - timedelta(microseconds=1), END + timedelta(days=1)])
def test_an_event_outside_the_period_earns_nothing(at):
    usage = Usage()
    outcome = run(sale(1, at=at), seller_terms(per_unit(10)), usage=usage)
    assert outcome.awards == []
    assert outcome.notes == ["outside_period"]
    assert usage == Usage()


def test_an_inactive_program_earns_nothing():
    outcome = run(sale(1), seller_terms(per_unit(10), active=False))
    assert outcome.awards == []
    assert outcome.notes == ["program_not_active"]


def test_a_partner_that_has_not_approved_earns_nothing():
    usage = Usage()
    outcome = run(sale(1), seller_terms(per_unit(10)), approval=None, usage=usage)
    assert outcome.awards == []
    assert outcome.notes == ["not_approved"]
    assert usage == Usage()


@pytest.mark.parametrize(
    ("who", "approval", "note"),
    [
        (person(active=False), APPROVED, "person_inactive"),
        (person(), Approval(excluded_person_ids=frozenset({1})), "person_excluded"),
        (person(enrolled=False), APPROVED, "not_enrolled"),
        (None, APPROVED, "unknown_person"),
        (person(id=2), APPROVED, "unknown_person"),
    ],
    ids=["inactive", "excluded", "not-enrolled", "no-participant", "someone-else"],
)
def test_a_person_not_in_good_standing_earns_nothing(who, approval, note):
    ev = sale(1, person=1)
    outcome = evaluate(ev, seller_terms(per_unit(10)), approval, who, Usage())
    assert outcome.awards == []
    assert outcome.notes == [note]


def test_excluding_one_person_leaves_colleagues_earning():
    approval = Approval(excluded_person_ids=frozenset({1}))
    assert run(sale(1, person=2), seller_terms(per_unit(10)), approval=approval).points == 10


def test_approval_limited_to_technicians_excludes_sellers():
    t = terms(
        scheme("seller", per_unit(10)),
        scheme("technician", rule("install", points_per_install=25)),
    )
    approval = Approval(roles=frozenset({"technician"}))
    assert run(sale(1), t, approval=approval, who=person(roles="seller")).awards == []
    assert run(install("SN-1"), t, approval=approval, who=TECH).points == 25


def test_approval_roles_narrow_a_scheme_shared_by_several_roles():
    t = terms(scheme({"seller", "technician"}, per_unit(10)))
    approval = Approval(roles=frozenset({"technician"}))
    both = person(roles=("seller", "technician"))
    outcome = run(sale(1), t, approval=approval, who=both)
    assert outcome.points == 10
    assert outcome.awards[0].reason["roles"] == ["technician"]
    assert run(sale(1), t, approval=Approval(roles=frozenset()), who=both).awards == []


def test_a_person_with_two_roles_gets_each_matching_scheme_once():
    shared = scheme({"seller", "technician"}, per_unit(10))
    tech_only = scheme("technician", rule("unit_sold", product_group="boilers", points_per_unit=3))
    engineers = scheme("engineer", per_unit(100))
    both = person(roles=("seller", "technician"))
    outcome = run(sale(2), terms(shared, tech_only, engineers), who=both)
    assert [(a.scheme_id, a.points) for a in outcome.awards] == [(shared.id, 20), (tech_only.id, 6)]
    assert outcome.awards[0].reason["roles"] == ["seller", "technician"]


def test_a_role_no_scheme_targets_earns_nothing():
    t = seller_terms(per_unit(10))
    outcome = run(sale(5), t, who=person(roles="engineer"))
    assert outcome.awards == []


def test_pay_to_pool_awards_go_to_the_pool_and_still_count_against_the_person_cap():
    t = seller_terms(per_unit(10), cap_per_person_month=100)
    approval = Approval(pay_to_pool=True)
    usage = Usage()
    first = run(sale(6), t, approval=approval, usage=usage)
    second = run(sale(6), t, approval=approval, usage=usage)
    assert [(a.points, a.to_pool, a.person_id) for a in first.awards + second.awards] == [
        (60, True, 1),
        (40, True, 1),
    ]
    assert second.awards[0].reason["capped_by"] == "person_month"
    assert usage.person_month_points == {(1, "2025-03"): 100}


# ---------------------------------------------------------------- company rules


def rebate_terms(**overrides) -> Terms:
    r = rule(
        "volume_rebate",
        percent_by_tier={"gold": "2,5", "silver": "1"},
        default_percent="0,5",
    )
    return terms(company(r), **overrides)


@pytest.mark.parametrize(
    ("tier", "percent", "expected"),
    [
        ("gold", "2.5", 249),  # 999 x 2.5% = 24.975 money = 249.75 points
        ("silver", "1", 99),  # 9.99 money = 99.9 points
        ("bronze", "0.5", 49),  # 4.995 money = 49.95 points: the default percent
        (None, "0.5", 49),
    ],
)
def test_volume_rebate_by_tier_rounds_down_and_goes_to_the_pool(tier, percent, expected):
    outcome = run(purchase("999"), rebate_terms(), approval=Approval(tier_code=tier))
    (award,) = outcome.awards
    assert award.points == expected
    assert award.kind is RuleKind.VOLUME_REBATE
    assert award.person_id is None
    assert award.partner_id == 10
    assert award.to_pool is True
    assert award.reason == {"amount": "999", "percent": percent, "tier": tier}


def test_volume_rebate_uses_the_point_value():
    outcome = run(purchase("1000"), rebate_terms(point_value=Decimal("0.5")), approval=Approval())
    assert outcome.points == 10  # 1000 x 0.5% = 5 money = 10 points


def test_volume_rebate_without_a_percent_for_the_tier_pays_nothing():
    t = terms(company(rule("volume_rebate", percent_by_tier={"gold": "2"})))
    assert run(purchase("1000"), t, approval=Approval(tier_code="silver")).awards == []
    assert run(purchase("1000"), t, approval=Approval(tier_code="gold")).points == 200


def test_volume_rebate_spends_the_budget_and_never_overdraws_it():
    usage = Usage()
    t = rebate_terms(budget_points=300)
    gold = Approval(tier_code="gold")
    assert run(purchase("999"), t, approval=gold, usage=usage).points == 249
    outcome = run(purchase("999"), t, approval=gold, usage=usage)
    assert outcome.awards == []
    assert outcome.notes == ["cap_reached:budget"]
    assert usage.program_points == 249
    assert usage.partner_points == {10: 249}
    assert usage.person_month_points == {}


def test_person_rules_ignore_company_events_and_company_rules_ignore_sales():
    t = terms(scheme("seller", per_unit(10)), company(rule("volume_rebate", default_percent="2")))
    assert [a.kind for a in run(purchase("1000"), t).awards] == [RuleKind.VOLUME_REBATE]
    assert [a.kind for a in run(sale(1), t).awards] == [RuleKind.UNIT_SOLD]


def test_company_rules_need_an_approval():
    outcome = run(purchase("1000"), rebate_terms(), approval=None)
    assert outcome.awards == []
    assert outcome.notes == ["not_approved"]


def discount_terms() -> Terms:
    steps = [
        {"from_amount": "1000", "percent": "2"},
        {"from_amount": "5000", "percent": "3"},
        {"from_amount": "10000", "percent": "5"},
    ]
    return terms(company(rule("cumulative_discount", steps=steps)))


def test_cumulative_discount_awards_a_level_only_when_a_new_step_is_reached():
    t, usage = discount_terms(), Usage()
    outcomes = [run(purchase(a), t, usage=usage) for a in ["600", "500", "1000", "3000", "10000"]]
    reached = [[a.discount_percent for a in o.awards] for o in outcomes]
    assert reached == [[], [Decimal(2)], [], [Decimal(3)], [Decimal(5)]]
    award = outcomes[3].awards[0]
    assert (award.person_id, award.points, award.money) == (None, 0, None)
    assert award.reason == {"purchases": "5100", "from_amount": "5000"}
    assert usage.partner_purchases == {10: Decimal(15100)}
    assert usage.program_points == 0
    assert run(purchase("50000"), t, usage=usage).awards == []


def test_cumulative_discount_counts_each_partner_apart():
    t, usage = discount_terms(), Usage()
    assert run(purchase("900", partner=10), t, usage=usage).awards == []
    assert run(purchase("900", partner=20), t, usage=usage).awards == []
    outcome = run(purchase("100", partner=20), t, usage=usage)
    assert [(a.partner_id, a.discount_percent) for a in outcome.awards] == [(20, Decimal(2))]


def cashback_terms(**overrides) -> Terms:
    r = rule("cashback", amount_per_unit="0,50", monthly_cap="20")
    return terms(company(r), **overrides)


def test_cashback_is_capped_per_month_in_money_and_resets_next_month():
    t, usage = cashback_terms(), Usage()
    first = run(recycling(30), t, usage=usage)
    (award,) = first.awards
    assert (award.money, award.points, award.person_id) == (Decimal("15.00"), 0, None)
    assert award.reason == {"quantity": 30, "amount_per_unit": "0.50"}
    second = run(recycling(30), t, usage=usage)
    assert second.awards[0].money == Decimal("5.00")
    assert second.awards[0].reason["capped_by"] == "cashback_month"
    third = run(recycling(10), t, usage=usage)
    assert third.awards == []
    assert third.notes == ["cap_reached:cashback_month"]
    april = run(recycling(10, at=APRIL), t, usage=usage)
    assert april.awards[0].money == Decimal("5.00")
    assert run(recycling(10), t, usage=usage).awards == []
    assert usage.cashback_month == {(10, "2025-03"): Decimal(20), (10, "2025-04"): Decimal(5)}


def test_cashback_is_capped_per_partner():
    t, usage = cashback_terms(), Usage()
    assert run(recycling(40, partner=10), t, usage=usage).awards[0].money == Decimal(20)
    assert run(recycling(40, partner=20), t, usage=usage).awards[0].money == Decimal(20)


def test_cashback_spends_the_budget_at_the_point_value():
    usage = Usage()
    outcome = run(recycling(30), cashback_terms(budget_points=1000), usage=usage)
    assert outcome.awards[0].money == Decimal("15.00")
    assert usage.program_points == 150  # 15.00 money at 0.10 a point


def test_cashback_refused_by_the_budget_does_not_use_up_the_monthly_cap():
    # 20.00 money would cost 200 points of a 100-point budget: refused, so nothing was paid.
    t, usage = cashback_terms(budget_points=100), Usage()
    refused = run(recycling(40), t, usage=usage)
    assert refused.awards == []
    assert refused.notes == ["cap_reached:budget"]
    assert usage.cashback_month.get((10, "2025-03"), Decimal(0)) == 0
    # 5.00 money costs 50 points: it fits the budget and the month's 20.00 cap.
    paid = run(recycling(10), t, usage=usage)
    assert [a.money for a in paid.awards] == [Decimal("5.00")]
    assert usage.cashback_month == {(10, "2025-03"): Decimal("5.00")}
    assert usage.program_points == 50


def first_order_terms() -> Terms:
    return terms(company(rule("first_order_discount", percent="10")))


def test_first_order_discount_once_per_partner_and_only_for_a_first_order():
    t, usage = first_order_terms(), Usage()
    assert run(order(1, partner=20, person=2), t, usage=usage).awards == []
    first = run(order(1, is_first_order=True, key="order:1"), t, usage=usage)
    (award,) = first.awards
    assert (award.discount_percent, award.person_id, award.points) == (Decimal(10), None, 0)
    assert award.reason == {"first_order": "order:1"}
    assert run(order(1, is_first_order=True), t, usage=usage).awards == []
    other = run(order(1, partner=20, person=2, is_first_order=True), t, usage=usage)
    assert [a.partner_id for a in other.awards] == [20]
    assert usage.first_order_partners == {10, 20}


# ---------------------------------------------------------------- a whole program


def test_a_program_with_role_schemes_two_partners_one_approved_with_a_lower_cap():
    sellers = scheme("seller", per_unit(10))
    technicians = scheme("technician", rule("install", points_per_install=25))
    procurement = scheme("procurement", rule("early_payment", points=40, min_days_early=5))
    t = terms(sellers, technicians, procurement, cap_per_person_month=200, budget_points=10_000)
    approvals = {10: Approval(cap_per_person_month=120), 20: None}
    people = {
        1: person(1, 10, "seller"),
        2: person(2, 10, "technician"),
        3: person(3, 10, "procurement"),
        4: person(4, 20, "seller"),
        5: person(5, 20, "technician"),
    }
    events = [
        sale(5, person=1),  # 50
        sale(10, person=1),  # 100, capped at 120 - 50 = 70
        sale(3, person=1, at=APRIL),  # 30 in a new month
        install("SN-1", person=2),  # 25
        install("SN-1", person=2),  # already paid
        install("SN-2", person=2),  # 25
        sale(5, person=2),  # technicians earn nothing on sales
        payment(DUE, DUE - timedelta(days=10), person=3),  # 40
        payment(DUE, DUE - timedelta(days=4), person=3),  # not early enough
        sale(5, person=4, partner=20),  # declined partner
        install("SN-3", person=5, partner=20),  # declined partner
    ]
    usage = Usage()
    earned: dict[int, int] = defaultdict(int)
    for ev in events:
        outcome = evaluate(ev, t, approvals[ev.partner_id], people[ev.person_id], usage)
        for award in outcome.awards:
            earned[award.person_id] += award.points
        if ev.partner_id == 20:
            assert outcome.notes == ["not_approved"]
    assert dict(earned) == {1: 150, 2: 50, 3: 40}
    assert usage.program_points == 240
    assert usage.partner_points == {10: 240}
    assert usage.person_month_points == {
        (1, "2025-03"): 120,
        (1, "2025-04"): 30,
        (2, "2025-03"): 50,
        (3, "2025-03"): 40,
    }


# ---------------------------------------------------------------- conflicts


def sold(sku=None, group=None, id=None) -> Rule:
    return rule("unit_sold", id=id, product_sku=sku, product_group=group, points_per_unit=5)


SKU_GROUPS = {"BOILER-24": "boilers", "HP-9": "heat_pumps"}


def test_two_unit_sold_rules_on_one_sku_for_overlapping_roles_conflict():
    a, b = sold("BOILER-24", id=1), sold("BOILER-24", id=2)
    schemes = [scheme({"seller", "engineer"}, a), scheme({"seller", "technician"}, b)]
    assert find_conflicts(schemes, SKU_GROUPS) == [Conflict(RuleKind.UNIT_SOLD, 1, 2, ("seller",))]


def test_the_same_rules_for_disjoint_roles_do_not_conflict():
    schemes = [scheme("seller", sold("BOILER-24")), scheme("technician", sold("BOILER-24"))]
    assert find_conflicts(schemes, SKU_GROUPS) == []


def test_two_overlapping_rules_in_one_scheme_conflict():
    s = scheme("seller", sold("BOILER-24", id=1), sold("BOILER-24", id=2))
    assert find_conflicts([s], SKU_GROUPS) == [Conflict(RuleKind.UNIT_SOLD, 1, 2, ("seller",))]


def test_different_skus_do_not_conflict_and_different_groups_do_not_conflict():
    schemes = [
        scheme("seller", sold("BOILER-24"), sold(group="boilers")),
        scheme("seller", sold("HP-9"), sold(group="solar")),
    ]
    conflicts = find_conflicts(schemes, SKU_GROUPS)
    assert len(conflicts) == 1  # only BOILER-24 against its own group, in the first scheme


@pytest.mark.parametrize(
    ("sku", "group", "conflict"),
    [
        ("BOILER-24", "boilers", True),
        ("BOILER-24", "heat_pumps", False),
        ("NOT-IN-CATALOG", "boilers", False),
    ],
)
def test_a_sku_rule_and_a_group_rule_conflict_when_the_sku_is_in_the_group(sku, group, conflict):
    for first, second in [(sold(sku), sold(group=group)), (sold(group=group), sold(sku))]:
        schemes = [scheme("seller", first), scheme("seller", second)]
        assert bool(find_conflicts(schemes, SKU_GROUPS)) is conflict


def test_an_install_rule_without_a_product_overlaps_any_install_rule():
    every = rule("install", id=1, points_per_install=10)
    for other in [
        rule("install", id=2, points_per_install=10, product_sku="HP-9"),
        rule("install", id=2, points_per_install=10, product_group="solar"),
        rule("install", id=2, points_per_install=10),
    ]:
        schemes = [scheme("technician", every), scheme("technician", other)]
        assert find_conflicts(schemes, SKU_GROUPS) == [
            Conflict(RuleKind.INSTALL, 1, 2, ("technician",))
        ]


def test_training_rules_conflict_only_on_the_same_or_any_module():
    m1, m2 = rule("training", points=5, module="m1"), rule("training", points=5, module="m2")
    assert find_conflicts([scheme("seller", m1, m2)], SKU_GROUPS) == []
    anything = rule("training", points=5)
    assert len(find_conflicts([scheme("seller", m1), scheme("seller", anything)], SKU_GROUPS)) == 1
    again = rule("training", points=9, module="m1")
    assert len(find_conflicts([scheme("seller", m1, again)], SKU_GROUPS)) == 1


def test_rules_of_different_kinds_never_conflict():
    schemes = [scheme("seller", sold("BOILER-24"), rule("portal_order", points_per_order=1))]
    assert find_conflicts(schemes, SKU_GROUPS) == []


@pytest.mark.parametrize(
    "kind_params",
    [
        ("welcome", {"points": 5}),
        ("referral", {"points": 5}),
        ("early_payment", {"points": 5}),
        ("portal_order", {"points_per_order": 5}),
    ],
)
def test_kinds_without_a_target_conflict_whenever_roles_overlap(kind_params):
    kind, params = kind_params
    schemes = [scheme("seller", rule(kind, **params)), scheme("seller", rule(kind, **params))]
    assert len(find_conflicts(schemes, SKU_GROUPS)) == 1


def test_company_level_rules_of_the_same_kind_conflict():
    a = rule("volume_rebate", id=1, default_percent="1")
    b = rule("volume_rebate", id=2, percent_by_tier={"gold": "2"})
    c = rule("cashback", id=3, amount_per_unit="1", monthly_cap="10")
    assert find_conflicts([company(a, c), company(b)], SKU_GROUPS) == [
        Conflict(RuleKind.VOLUME_REBATE, 1, 2, ())
    ]


# ---------------------------------------------------------------- properties


@st.composite
def sale_batches(draw):
    """Random programs and random sales: several partners and people, three months, any offset."""
    t = seller_terms(
        per_unit(
            draw(st.integers(1, 20)),
            min_quantity=draw(st.integers(1, 3)),
            focus_multiplier=draw(st.sampled_from(["1,5", "2", "2,5", "10"])),
            focus_from=datetime(2025, 3, 5, tzinfo=UTC),
            focus_until=datetime(2025, 3, 25, tzinfo=UTC),
        ),
        rule("unit_sold", product_group="boilers"),
        cap_per_person_month=draw(st.none() | st.integers(1, 300)),
        cap_per_partner=draw(st.none() | st.integers(1, 1500)),
        budget_points=draw(st.none() | st.integers(0, 2000)),
    )
    approval = Approval(
        cap_per_person_month=draw(st.none() | st.integers(1, 300)),
        pay_to_pool=draw(st.booleans()),
    )
    people = {p: person(p, 10 + p % 2) for p in range(1, 5)}
    anywhere = st.builds(
        lambda day, minutes: (
            datetime(2025, 2, 25, tzinfo=UTC) + timedelta(days=day, minutes=minutes)
        ),
        st.integers(0, 70),
        st.integers(0, 24 * 60 - 1),
    )
    month_ends = st.builds(
        lambda first, minutes: first + timedelta(minutes=minutes),
        st.sampled_from([datetime(2025, m, 1, tzinfo=UTC) for m in (3, 4, 5)]),
        st.integers(-14 * 60, 14 * 60),
    )
    # Any UTC offset: the caps must still count UTC calendar months.
    moments = st.builds(
        lambda at, hours: at.astimezone(timezone(timedelta(hours=hours))),
        anywhere | month_ends,
        st.integers(-12, 14),
    )
    events = draw(
        st.lists(
            st.builds(
                lambda p, qty, at, sku, unit_points: sale(
                    qty,
                    at=at,
                    person=p,
                    partner=people[p].partner_id,
                    sku=sku,
                    unit_points=unit_points,
                ),
                st.sampled_from(sorted(people)),
                st.integers(0, 40),
                moments,
                st.sampled_from(["BOILER-24", "BOILER-30"]),
                st.none() | st.integers(1, 15),
            ),
            max_size=40,
        )
    )
    return t, approval, people, events


def utc_month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


@settings(max_examples=150, deadline=None)
@given(sale_batches())
def test_caps_and_budget_always_hold_and_usage_is_the_sum_of_awards(batch):
    t, approval, people, events = batch
    usage = Usage()
    program = 0
    by_partner: dict[int, int] = defaultdict(int)
    by_person_month: dict[tuple[int, str], int] = defaultdict(int)
    for ev in events:
        outcome = evaluate(ev, t, approval, people[ev.person_id], usage)
        for award in outcome.awards:
            assert award.points >= 1
            assert award.person_id == ev.person_id
            assert award.to_pool is approval.pay_to_pool
            program += award.points
            by_partner[award.partner_id] += award.points
            by_person_month[award.person_id, utc_month(ev.occurred_at)] += award.points
        if not outcome.awards:
            assert outcome.points == 0

    if t.budget_points is not None:
        assert program <= t.budget_points
    if t.cap_per_partner is not None:
        assert all(total <= t.cap_per_partner for total in by_partner.values())
    caps = [c for c in (t.cap_per_person_month, approval.cap_per_person_month) if c is not None]
    if caps:
        assert all(total <= min(caps) for total in by_person_month.values())

    assert usage.program_points == program
    assert {k: v for k, v in usage.partner_points.items() if v} == dict(by_partner)
    assert {k: v for k, v in usage.person_month_points.items() if v} == dict(by_person_month)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 50), max_size=30),
    st.integers(0, 500),
)
def test_a_budget_is_spent_exactly_when_demand_exceeds_it(quantities, budget):
    t = seller_terms(per_unit(3), budget_points=budget)
    usage = Usage()
    total = sum(run(sale(q), t, usage=usage).points for q in quantities)
    assert total == min(budget, 3 * sum(quantities))


# ---------------------------------------------------------------- remembering outcomes


def same_outcomes(events, t, approval, people) -> None:
    """`Evaluator` gives what `evaluate` gives, event by event, and leaves the same usage."""
    plain, remembered = Usage(), Usage()
    evaluator = Evaluator(t, approval)
    for ev in events:
        who = people[ev.person_id] if ev.person_id is not None else None
        before = deepcopy(plain)
        expected = evaluate(ev, t, approval, who, plain)
        got = evaluator.evaluate(ev, who, remembered)
        assert (got.awards, got.notes) == (expected.awards, expected.notes)
        if not evaluator.may_pay(ev, who):  # skipped by an import: nothing paid or counted
            assert not expected.awards and plain == before
    assert remembered == plain


@settings(max_examples=150, deadline=None)
@given(sale_batches(), st.lists(st.integers(1, 4), min_size=40, max_size=40))
def test_an_evaluator_pays_repeated_sales_exactly_as_evaluate_caps_included(batch, repeats):
    t, approval, people, events = batch
    # Import lines repeat: the same sale again under another source key.
    lines = [
        replace(ev, key=f"claim:{n}:{copy}")
        for n, (ev, times) in enumerate(zip(events, repeats, strict=False))
        for copy in range(times)
    ]
    same_outcomes(lines, t, approval, people)


def test_an_evaluator_narrows_the_rules_to_each_events_kind_and_product_exactly():
    """Rules of every kind, for SKUs, groups or any product, person and company schemes: the
    evaluator looks only at those that can pay an event and pays what `evaluate` pays."""
    t = terms(
        scheme(
            ("seller", "technician"),
            per_unit(5),
            rule("unit_sold", points_per_unit=2, product_group="pumps"),
            rule("unit_sold", points_per_unit=1, product_group="valves"),
            rule("install", points_per_install=30, product_group="boilers"),
            rule("install", points_per_install=7),
            rule("training", module="safety", points=15),
        ),
        company(rule("cashback", amount_per_unit="0,50", monthly_cap="20")),
    )
    people = {1: person(1, 10, ("seller", "technician"))}
    events = [
        sale(2),
        sale(3, sku="PUMP-1", group="pumps"),
        sale(1, sku="VALVE-9", group="valves"),
        install("SN-1"),
        install("SN-2", sku="PUMP-1", group="pumps"),
        course("safety"),
        sale(2, key="again"),
    ]
    same_outcomes(events, t, APPROVED, people)
    evaluator = Evaluator(t, APPROVED)
    cashback = t.schemes[1].rules[0]
    narrowed = evaluator.narrowed(sale(1, sku="PUMP-1", group="pumps"))
    assert [[r.id for r in s.rules] for s in narrowed.schemes] == [
        [t.schemes[0].rules[1].id],
        *([[cashback.id]] if RULE_EVENT[cashback.kind] is EventKind.SALE else []),
    ]
    narrowed = evaluator.narrowed(install("SN-3", sku="PUMP-1", group="pumps"))
    assert [[r.id for r in s.rules] for s in narrowed.schemes] == [[t.schemes[0].rules[4].id]]


def test_an_evaluator_skips_only_events_that_would_pay_nothing_and_count_nothing():
    person_rules = (
        scheme("seller", rule("unit_sold", points_per_unit=3, product_group="boilers")),
        scheme("engineer", rule("install", points_per_install=20)),
    )
    cashback = company(rule("cashback", amount_per_unit="0,50", monthly_cap="20"))
    events = [sale(2), sale(2, sku="PUMP-1", group="pumps"), install("SN-1"), course("safety")]
    skipped = paid = 0
    for with_company, roles, allowed, excluded, enrolled, active in product(
        (False, True),
        (("seller",), ("engineer",), ("seller", "engineer"), ("procurement",)),
        (None, frozenset({"seller"}), frozenset({"engineer"})),
        (frozenset(), frozenset({1})),
        (True, False),
        (True, False),
    ):
        t = terms(*person_rules, *((cashback,) if with_company else ()))
        approval = Approval(roles=allowed, excluded_person_ids=excluded)
        who = person(1, 10, roles, enrolled=enrolled, active=active)
        evaluator = Evaluator(t, approval)
        for ev in events:
            usage = Usage()
            outcome = evaluate(ev, t, approval, who, usage)
            if evaluator.may_pay(ev, who):
                paid += bool(outcome.awards)
            else:
                skipped += 1
                assert not outcome.awards and usage == Usage(), (ev, who, approval)
    assert skipped > 300 and paid > 10  # both ways, many times
    assert not Evaluator(terms(*person_rules), None).may_pay(sale(2), person())


def test_an_evaluator_never_pays_a_once_only_key_twice():
    t = terms(scheme("technician", rule("install", points_per_install=50)))
    people = {1: person(1, 10, "technician")}
    events = [install("SN-1", key="a"), install("SN-1", key="b"), install("SN-2", key="c")]
    same_outcomes(events, t, APPROVED, people)
    evaluator, usage = Evaluator(t, APPROVED), Usage()
    assert [evaluator.evaluate(e, people[1], usage).points for e in events] == [50, 0, 50]


def test_an_evaluator_stops_at_the_budget_like_evaluate():
    t = seller_terms(per_unit(10), budget_points=45)
    evaluator, usage = Evaluator(t, APPROVED), Usage()
    got = [evaluator.evaluate(replace(sale(2), key=str(n)), person(), usage) for n in range(4)]
    assert points(got) == [20, 20, 5, 0]
    assert got[2].awards[0].reason["capped_by"] == "budget"


def test_a_program_awards_only_the_kinds_of_event_its_rules_react_to():
    sales = terms(scheme({"seller"}, per_unit(5)))
    assert awards_kind(sales, EventKind.SALE)
    assert not awards_kind(sales, EventKind.ENROLMENT)
    assert not awards_kind(terms(), EventKind.SALE)
    for kind in EventKind:
        if not awards_kind(sales, kind):
            assert run(event(kind), sales).awards == []
