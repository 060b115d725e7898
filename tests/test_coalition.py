"""Coalition brands' monthly settlement: exact Decimal arithmetic, cancellations netted."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from channel.coalition import Brand, BrandFulfilment, parse_month, settle
from channel.rewards import Redemption, RedemptionStatus, Reward, RewardKind
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import offered


def _at(month, day):
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def brand(db):
    brand = Brand(
        name="Nordic Tools",
        currency="SEK",
        rate_per_point=Decimal("0.012345"),
        fulfilment=BrandFulfilment.CODES,
    )
    db.add(brand)
    db.flush()
    return brand


def _reward(db, brand=None, name="Drill"):
    reward = offered(Reward(kind=RewardKind.PHYSICAL, name=name, points_price=100))
    reward.brand_id = brand.id if brand else None
    db.add(reward)
    db.flush()
    return reward


def _redemption(
    db, person, reward, points, created, status=RedemptionStatus.REQUESTED, decided=None
):
    redemption = Redemption(
        request_key=f"k{reward.id}-{points}-{created.isoformat()}",
        person_id=person.id,
        reward_id=reward.id,
        points=points,
        status=status,
        created_at=created,
        decided_at=decided,
    )
    db.add(redemption)
    db.flush()
    return redemption


def test_settlement_is_points_of_the_month_times_the_rate_rounded_half_up(db, world, brand):
    person = world.people[Role.TECHNICIAN]
    drill, own = _reward(db, brand), _reward(db, None, "Own mug")
    _redemption(db, person, drill, 300, _at(11, 3))
    _redemption(db, person, drill, 150, _at(11, 30))
    _redemption(db, person, drill, 999, _at(10, 31))  # October: not in November
    _redemption(db, person, drill, 777, _at(12, 1))  # December: not in November
    _redemption(db, person, own, 500, _at(11, 10))  # the manufacturer's own reward

    result = settle(db, brand, date(2026, 11, 1))

    assert [line.points for line in result.lines] == [300, 150]
    assert result.points == 450
    # 450 × 0.012345 = 5.55525 → 5.56 (half up, to cents), a Decimal, never a float
    assert result.amount == Decimal("5.56")
    assert isinstance(result.amount, Decimal)


def test_a_cancellation_is_netted_in_the_month_it_happens(db, world, brand):
    person = world.people[Role.TECHNICIAN]
    drill = _reward(db, brand)
    _redemption(db, person, drill, 200, _at(10, 20), RedemptionStatus.CANCELLED, decided=_at(11, 2))
    _redemption(db, person, drill, 100, _at(11, 5))
    _redemption(db, person, drill, 40, _at(11, 6), RedemptionStatus.CANCELLED, decided=_at(11, 7))

    october = settle(db, brand, date(2026, 10, 1))
    november = settle(db, brand, date(2026, 11, 1))

    assert october.points == 200  # a settled month never changes
    assert sorted(line.points for line in november.lines) == [-200, -40, 40, 100]
    assert november.points == -100
    assert november.amount == Decimal("-1.23")  # -1.2345 → -1.23


def test_month_parsing_refuses_garbage():
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month(" 2026-12 ") == date(2026, 12, 1)
    for bad in [
        "",
        "2026",
        "2026-13",
        "2026-00",
        "nov",
        "2026-11-01",
        "2026-Q4",
        "'; drop table brands",
    ]:
        with pytest.raises(InvalidInput):
            parse_month(bad)


def test_december_ends_at_the_new_year(db, world, brand):
    person = world.people[Role.TECHNICIAN]
    drill = _reward(db, brand)
    _redemption(db, person, drill, 10, datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    _redemption(db, person, drill, 20, datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    assert settle(db, brand, date(2026, 12, 1)).points == 10
    assert settle(db, brand, date(2027, 1, 1)).points == 20


def test_the_settle_command_prints_each_brand(app, db, world, brand):
    drill = _reward(db, brand)
    _redemption(db, world.people[Role.TECHNICIAN], drill, 300, _at(11, 3))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["coalition", "settle", "--month", "2026-11"])

    assert result.exit_code == 0, result.output
    assert "Nordic Tools: 300 points x 0.012345 = 3.70 SEK (1 lines)" in result.output
    bad = runner.invoke(args=["coalition", "settle", "--month", "November"])
    assert bad.exit_code == 1
    assert "YYYY-MM" in bad.output
