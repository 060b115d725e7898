"""Tiers from what partners do, manual overrides that end, and tier multipliers in rules."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select

from channel.exchange_rates import import_rates
from channel.postings import Line, pool_account, post
from channel.purchases import PurchaseLine
from channel.tiers import (
    TierChange,
    TierReason,
    TierThreshold,
    WhyTier,
    computed_tier,
    override_tier,
    recompute,
)
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import make_tier, record

NOW = datetime.now(UTC)
TODAY = NOW.date()
_numbers = count(1)


def bought(db, partner, day: date, amount, currency="EUR") -> None:
    """A purchase line on an invoice to `partner` (as an import stores it)."""
    number = next(_numbers)
    db.add(
        PurchaseLine(
            source_key=f"test:{number}",
            partner_id=partner.id,
            document="invoice",
            number=f"T-{number}",
            line=1,
            invoiced_on=day,
            sku="BX-24",
            quantity=1,
            amount=Decimal(amount),
            currency=currency,
        )
    )
    db.flush()


@pytest.fixture
def ladder(db):
    silver, gold = make_tier(db, "silver", 2), make_tier(db, "gold", 3)
    db.add_all(
        [
            TierThreshold(tier_id=silver.id, metric="volume", minimum=Decimal(10000)),
            TierThreshold(tier_id=gold.id, metric="volume", minimum=Decimal(50000)),
            TierThreshold(tier_id=gold.id, metric="tenure_months", minimum=Decimal(36)),
            TierThreshold(tier_id=silver.id, metric="points", minimum=Decimal(5000)),
        ]
    )
    db.flush()
    return silver, gold


def test_rolling_volume_of_purchase_lines_sets_the_tier_and_old_purchases_fall_out(
    db, world, ladder
):
    silver, gold = ladder
    partner = world.partner_a
    bought(db, partner, TODAY - timedelta(days=30), "12000.00")
    bought(db, partner, TODAY - timedelta(days=400), "45000.00")
    tier, reason = computed_tier(db, partner, NOW)
    assert tier is silver
    assert reason.code == TierReason.THRESHOLD_MET
    assert (reason.values["metric"], Decimal(reason.values["value"])) == ("volume", 12000)


def test_volume_counts_in_euros_and_leaves_out_lines_without_a_rate(db, world, ladder):
    silver, _ = ladder
    partner = world.partner_a
    day = TODAY - timedelta(days=10)
    import_rates(db, f"Date,PLN\n{day},4.0000\n".encode())
    bought(db, partner, day, "8000.00")
    bought(db, partner, day, "4000.00", "PLN")  # 1000 EUR: not yet 10 000
    bought(db, partner, day, "90000.00", "ILS")  # no rate: left out
    assert computed_tier(db, partner, NOW) == (None, WhyTier(TierReason.NO_THRESHOLD_MET))
    bought(db, partner, day, "4000.00", "PLN")
    tier, reason = computed_tier(db, partner, NOW)
    assert tier is silver and reason == WhyTier(
        TierReason.THRESHOLD_MET, {"metric": "volume", "value": "10000.00", "minimum": "10000.00"}
    )


def test_tenure_counts_from_the_contract_start(db, world, ladder):
    _, gold = ladder
    partner = world.partner_a
    partner.contract_started_on = TODAY - timedelta(days=365 * 3 + 30)
    tier, reason = computed_tier(db, partner, NOW)
    assert tier is gold and "since_registration" not in reason.values
    partner.contract_started_on = TODAY - timedelta(days=300)
    partner.created_at = NOW - timedelta(days=365 * 5)  # registered earlier: does not count
    assert computed_tier(db, partner, NOW)[0] is None


def test_tenure_falls_back_to_the_registration_and_says_so(db, world, ladder):
    _, gold = ladder
    world.partner_a.created_at = NOW - timedelta(days=365 * 3 + 30)
    tier, reason = computed_tier(db, world.partner_a, NOW)
    assert tier is gold and reason.values["since_registration"] is True


def test_points_earned_count_never_the_balance(db, world, ladder):
    silver, _ = ladder
    partner = world.partner_a
    pool = pool_account(partner.id)
    post(
        db,
        "t:earn",
        [Line(account=pool, points=6000, kind="earn", partner_id=partner.id, to_pool=True)],
    )
    post(
        db,
        "t:spend",
        [Line(account=pool, points=-5900, kind="redeem", partner_id=partner.id, to_pool=True)],
    )
    assert computed_tier(db, partner, datetime.now(UTC) + timedelta(seconds=1))[0] is silver


def test_recompute_records_each_change_with_its_reason(db, world, ladder):
    silver, _ = ladder
    bought(db, world.partner_a, TODAY - timedelta(days=3), "15000.00")
    changes = recompute(db, NOW)
    assert [(c.partner_id, c.to_tier_id) for c in changes] == [(world.partner_a.id, silver.id)]
    assert world.partner_a.tier_id == silver.id
    assert recompute(db, NOW) == []  # nothing changed since


def test_a_manual_override_wins_until_it_ends(db, world, ladder):
    _, gold = ladder
    partner, manager = world.partner_a, world.people[Role.CHANNEL_MANAGER]
    with pytest.raises(InvalidInput):
        override_tier(
            db,
            partner,
            gold,
            until=NOW - timedelta(days=1),
            reason="",
            actor_id=manager.id,
            now=NOW,
        )
    override_tier(
        db,
        partner,
        gold,
        until=NOW + timedelta(days=90),
        reason="Launch partner",
        actor_id=manager.id,
        now=NOW,
    )
    assert recompute(db, NOW + timedelta(days=10)) == []
    assert partner.tier_id == gold.id
    (change,) = recompute(db, NOW + timedelta(days=91))
    assert change.to_tier_id is None and partner.tier_id is None
    reasons = [c.why for c in db.scalars(select(TierChange).order_by(TierChange.id))]
    until = (NOW + timedelta(days=90)).date().isoformat()
    assert reasons == [
        WhyTier(TierReason.MANUAL, {"until": until, "note": "Launch partner"}),
        WhyTier(TierReason.NO_THRESHOLD_MET),
    ]


def test_rules_with_the_tier_multiplier_pay_gold_partners_staff_more(db, world):
    from channel.programs import launch_program
    from tests.builders import add_scheme, approve, make_group, make_product, make_program, offer

    gold = make_tier(db, "gold", 3)
    gold.multiplier = Decimal("1.5")
    world.partner_a.tier_id = gold.id
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a, world.partner_b])
    add_scheme(
        db,
        program,
        ["seller"],
        (
            "unit_sold",
            {"product_group": "boilers", "points_per_unit": 10, "tier_multiplier": "yes"},
        ),
    )
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    approve(db, program, world.partner_b, world.others[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    (gold_entry,) = record(db, "sale", world.people[Role.SELLER], sku="BX-24", quantity=3)
    (plain_entry,) = record(db, "sale", world.others[Role.SELLER], sku="BX-24", quantity=3)
    assert (gold_entry.points, plain_entry.points) == (45, 30)
    assert Decimal(gold_entry.reason["tier_multiplier"]) == Decimal("1.5")


def test_recompute_command_reports_changes(app, db, world, ladder):
    bought(db, world.partner_b, TODAY - timedelta(days=1), "60000.00")
    db.commit()
    result = app.test_cli_runner().invoke(args=["tiers", "recompute"])
    assert result.exit_code == 0 and "1 tier changes" in result.output


def test_channel_manager_sets_a_tier_by_hand_and_it_shows_as_such(client, db, world, ladder):
    from tests.builders import login_as

    _, gold = ladder
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    until = (NOW + timedelta(days=30)).date().isoformat()
    response = client.post(
        f"/partners/{world.partner_a.id}/tier",
        data={"tier_id": gold.id, "until": until, "reason": "Flagship store"},
    )
    assert response.status_code == 302
    page = client.get(f"/partners/{world.partner_a.id}").get_data(as_text=True)
    assert "set by hand until" in page and "Flagship store" in page
    login_as(client, world.people[Role.PARTNER_MANAGER])
    assert (
        client.post(f"/partners/{world.partner_a.id}/tier", data={"tier_id": gold.id}).status_code
        == 403
    )


def test_a_tier_override_ends_on_the_day_typed_where_the_manager_is(client, db, world, ladder):
    from tests.builders import login_as

    _, gold = ladder
    manager = world.people[Role.CHANNEL_MANAGER]
    manager.timezone = "America/New_York"  # behind UTC: a UTC midnight is the day before here
    db.commit()
    login_as(client, manager)
    until = (NOW + timedelta(days=30)).date()
    client.post(
        f"/partners/{world.partner_a.id}/tier",
        data={"tier_id": gold.id, "until": until.isoformat(), "reason": "Flagship store"},
    )
    page = client.get(f"/partners/{world.partner_a.id}").get_data(as_text=True)
    assert f"set by hand until {until:%b} {until.day}, {until.year}" in page


def test_a_tier_id_no_column_holds_is_asked_again_not_a_server_error(client, db, world):
    from tests.builders import login_as

    make_tier(db)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        f"/partners/{world.partner_a.id}/tier",
        data={"tier_id": str(2**63), "until": "2099-01-01", "reason": "Typed by hand"},
    )
    assert response.status_code == 302
    page = client.get(f"/partners/{world.partner_a.id}").get_data(as_text=True)
    assert "Choose a tier and the day the override ends." in page


def test_the_partner_dashboard_says_when_tenure_counts_from_the_registration(
    client, db, world, ladder
):
    from tests.builders import login_as

    note = "counted from the registration here: the contract start is not known"
    silver, _ = ladder
    partner = world.partner_a
    partner.tier_id = silver.id  # gold next: 36 months with us is one way
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    body = client.get(f"/partners/{partner.id}/dashboard").get_data(as_text=True)
    assert "Months with us" in body and note in body
    partner.contract_started_on = TODAY - timedelta(days=400)
    db.commit()
    body = client.get(f"/partners/{partner.id}/dashboard").get_data(as_text=True)
    assert "Months with us" in body and note not in body
