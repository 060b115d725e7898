"""The demo delivers: a coalition brand's reward settled for the month, cash-out amounts in
three currencies with one approved cash-out, goods shipped with tracking; twice like once."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from channel.coalition import Brand, settle
from channel.demo_fulfilment import BRAND, CASH_EUR, COFFEE, FULFILMENT_REWARDS, GLOVES, SHIPMENT
from channel.payout_models import CashOut, CashOutValue, Shipment
from channel.postings import check_balances
from channel.reward_offers import languages_needed
from channel.rewards import Redemption, Reward
from core.db import utcnow
from roles.models import Person
from tests.builders import login_as

COUNTED = (Brand, Reward, Redemption, CashOut, CashOutValue, Shipment)


def counts(db):
    return {model.__name__: db.scalar(select(func.count()).select_from(model)) for model in COUNTED}


@pytest.fixture
def demo(app, db):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "3 new delivered redemptions" in result.output
    db.expire_all()


def _redemption(db, demo_reward):
    return db.scalar(select(Redemption).join(Reward).where(Reward.name == demo_reward.text[0]))


def test_the_demo_brand_is_paid_for_this_months_coffee(db, demo):
    brand = db.scalar(select(Brand).where(Brand.name == BRAND.name))
    coffee = _redemption(db, COFFEE)
    assert coffee.reward.brand_id == brand.id and coffee.status == "fulfilled"
    assert coffee.gift_card_code.startswith("NORD-KAFE-")
    assert (coffee.points, coffee.face_value, coffee.currency) == (150, Decimal("3.00"), "EUR")
    month = utcnow().date().replace(day=1)
    settlement = settle(db, brand, month)
    assert settlement.points == 150 and settlement.amount == Decimal("3.00")


def test_the_demo_ships_goods_with_tracking_and_approves_a_cash_out(client, db, demo):
    gloves = _redemption(db, GLOVES)
    assert gloves.status == "fulfilled"
    assert db.get(Person, gloves.person_id).phone == "+48501000003"
    assert (gloves.shipment.tracking_number, gloves.shipment.carrier) == (
        SHIPMENT["tracking_number"],
        SHIPMENT["carrier"],
    )
    cash_out = _redemption(db, CASH_EUR).cash_out
    assert (cash_out.state, cash_out.iban, cash_out.amount, cash_out.currency) == (
        "approved",
        "LV80BANK0000435195001",
        Decimal("5.00"),
        "EUR",
    )
    values = {value.currency: value.amount for value in db.scalars(select(CashOutValue))}
    assert values == {"EUR": Decimal("5.00"), "PLN": Decimal("20.00"), "ILS": Decimal("20.00")}
    assert check_balances(db) == []
    login_as(
        client, db.scalar(select(Person).where(Person.email == "channel@demo.partnerlift.example"))
    )
    page = client.get("/fulfilment/cash-outs").get_data(as_text=True)
    assert "LV80" in page


def test_seeding_the_demo_again_delivers_nothing_more(app, db, demo):
    first = counts(db)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "0 new delivered redemptions" in result.output
    assert counts(db) == first


def test_every_delivered_demo_reward_has_its_texts_in_the_languages_of_its_countries():
    for demo in FULFILMENT_REWARDS:
        for language in languages_needed(demo.offers):
            name, description = demo.texts[language]
            assert name.strip() and description.strip(), (demo.text[0], language)
