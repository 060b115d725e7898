"""Tiers that move as purchases arrive, dated the day a threshold was crossed."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from channel.purchase_import import import_purchases, read_purchases
from channel.rebate_accrual import accrue
from channel.rebate_models import period_bounds
from channel.tier_metrics import start_of
from channel.tiers import TierChange, TierThreshold, override_tier, recompute
from core.db import get_session, utcnow
from roles.permissions import Role
from tests.builders import make_group, make_partner, make_product, make_tier, utc_today
from tests.channel.test_rebates import HEADER, last_quarter

TODAY = utc_today()


def thresholds(db, silver, gold) -> None:
    db.add_all(
        [
            TierThreshold(tier_id=silver.id, metric="volume", minimum=Decimal(10000)),
            TierThreshold(tier_id=gold.id, metric="volume", minimum=Decimal(14000)),
        ]
    )
    db.flush()


def buy(db, legal_id: str, *lines):
    text = HEADER + "".join(
        f"invoice,{legal_id},{number},1,{day},BX-24,1,{amount},EUR\n"
        for number, day, amount in lines
    )
    report = import_purchases(db, list(read_purchases(text.encode())), today=TODAY)
    assert not report.rejected, report.rejected
    return report


def changes_of(db, partner):
    return db.execute(
        select(TierChange.at, TierChange.to_tier_id)
        .where(TierChange.partner_id == partner.id)
        .order_by(TierChange.at)
    ).all()


@pytest.fixture
def ladder_world(db, rebate_world):
    program, dealer, silver, gold = rebate_world
    thresholds(db, silver, gold)
    return program, dealer, silver, gold


@pytest.fixture
def rebate_world(db, world):
    from tests.channel.test_rebates import rebate_world as build

    return build.__wrapped__(db, world)


def test_purchases_crossing_gold_mid_quarter_pay_the_gold_rebate_from_that_day(db, ladder_world):
    program, dealer, silver, gold = ladder_world
    period = last_quarter()
    start, _ = period_bounds(period)
    buy(db, "LV-DEALER", ("A-1", start + timedelta(days=5), "10000.00"))
    assert changes_of(db, dealer) == [] and dealer.tier_id == silver.id
    buy(
        db,
        "LV-DEALER",
        ("A-3", start + timedelta(days=41), "1000.00"),  # out of order in the file
        ("A-2", start + timedelta(days=40), "5000.00"),
    )
    assert changes_of(db, dealer) == [(start_of(start + timedelta(days=40)), gold.id)]
    assert dealer.tier_id == gold.id
    accrual = accrue(db, program, dealer, period)
    assert [(line.purchase.number, line.percent, line.tier_code) for line in accrual.lines] == [
        ("A-1", Decimal("1.5"), "silver"),
        ("A-2", Decimal("2"), "gold"),
        ("A-3", Decimal("2"), "gold"),
    ]


def test_importing_the_same_purchases_again_moves_no_tier(db, ladder_world):
    _, dealer, _, gold = ladder_world
    lines = [("B-1", TODAY - timedelta(days=3), "15000.00")]
    buy(db, "LV-DEALER", *lines)
    report = buy(db, "LV-DEALER", *lines)
    assert report.already_imported == 1
    assert changes_of(db, dealer) == [(start_of(TODAY - timedelta(days=3)), gold.id)]
    assert recompute(db, utcnow()) == []  # the scheduled recompute agrees


def test_a_tier_set_by_hand_keeps_winning_while_purchases_arrive(db, world, ladder_world):
    _, dealer, silver, _ = ladder_world
    now = utcnow()
    override_tier(
        db,
        dealer,
        silver,
        until=now + timedelta(days=30),
        reason="Probation",
        actor_id=world.people[Role.CHANNEL_MANAGER].id,
        now=now,
    )
    buy(db, "LV-DEALER", ("C-1", TODAY - timedelta(days=2), "20000.00"))
    assert dealer.tier_id == silver.id
    assert [to for _, to in changes_of(db, dealer)] == [silver.id]  # the override's own


def test_days_an_ended_override_covered_keep_its_tier(db, ladder_world):
    _, dealer, silver, gold = ladder_world
    ended = utcnow() - timedelta(days=3)
    dealer.tier_override_id, dealer.tier_override_until = silver.id, ended
    dealer.tier_override_reason = "Probation"
    buy(db, "LV-DEALER", ("D-1", TODAY - timedelta(days=6), "20000.00"))
    [(at, to_tier_id)] = changes_of(db, dealer)
    assert to_tier_id == gold.id and at > ended  # from now on, not back-dated under it


@pytest.fixture(scope="module")
def race_ladder(committed_postgres_app):
    """The product bought and the silver and gold thresholds, committed once for the races."""
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        make_product(db, make_group(db, "race-tiers"), "BX-24")
        silver, gold = make_tier(db, "silver", rank=2), make_tier(db, "gold", rank=3)
        thresholds(db, silver, gold)
        db.commit()
        return app, gold.id


def race_dealer(app, legal_id: str) -> int:
    with app.app_context():
        db = get_session()
        dealer = make_partner(db, legal_id=legal_id)
        db.commit()
        return dealer.id


def test_two_imports_for_one_partner_at_once_record_one_crossing(race_ladder):
    app, gold_id = race_ladder
    day = TODAY - timedelta(days=4)
    dealer_id = race_dealer(app, "LV-RACE-TIER")
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start_line = threading.Barrier(2)

    def run(number):
        with app.app_context(), factory() as session:
            start_line.wait()
            buy(session, "LV-RACE-TIER", (number, day, "15000.00"))
            session.commit()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("R-1", "R-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with factory() as session:
        moves = session.execute(
            select(TierChange.at, TierChange.to_tier_id).where(TierChange.partner_id == dealer_id)
        ).all()
        assert moves == [(start_of(day), gold_id)]


def test_an_import_and_the_scheduled_recompute_at_once_record_one_crossing(race_ladder):
    app, gold_id = race_ladder
    day = TODAY - timedelta(days=2)
    dealer_id = race_dealer(app, "LV-RACE-SCHED")
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start_line = threading.Barrier(2)

    def run(work):
        with app.app_context(), factory() as session:
            start_line.wait()
            work(session)
            session.commit()

    threads = [
        threading.Thread(
            target=run, args=(lambda s: buy(s, "LV-RACE-SCHED", ("S-1", day, "15000.00")),)
        ),
        threading.Thread(target=run, args=(lambda s: recompute(s, utcnow()),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with factory() as session:
        moves = session.execute(
            select(TierChange.at, TierChange.to_tier_id).where(TierChange.partner_id == dealer_id)
        ).all()
        assert moves == [(start_of(day), gold_id)]
