"""Catalogs by country: each reward offered in chosen countries at a local price, seen and
redeemed only there, and described in the languages read there."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from channel.demo_benefits import seed_demo_rewards
from channel.postings import balance_of, check_balances, person_account
from channel.reward_offers import OfferTerms, RewardOffer
from channel.rewards import (
    Redemption,
    RedemptionRefused,
    Reward,
    RewardDetails,
    redeem,
    save_reward,
)
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import (
    give_points,
    login_as,
    make_api_token,
    make_partner,
    make_person,
)


def _technician(db, country, language):
    person = make_person(db, make_partner(db, country=country), ["technician"], language=language)
    give_points(db, person, 10_000)
    return person


def _drill(db, **offers):
    """A drill offered in the countries named, each at (price, face value or None, currency)."""
    reward = Reward(kind="physical", name="Drill", points_price=1, stock=10)
    reward.offers = [
        RewardOffer(
            country=country,
            points_price=price,
            face_value=Decimal(value) if value else None,
            currency=currency,
        )
        for country, (price, value, currency) in offers.items()
    ]
    db.add(reward)
    db.flush()
    return reward


def test_a_polish_technician_sees_only_rewards_offered_in_poland_priced_in_pln(client, db):
    seed_demo_rewards(db)
    tomasz = _technician(db, "PL", "pl")
    db.commit()
    login_as(client, tomasz)
    page = client.get("/rewards/").get_data(as_text=True)
    assert (
        "Karta paliwowa 100 zł" in page and "Kurs dla instalatorów pomp ciepła w Warszawie" in page
    )
    # The Latvian fuel card and the courses in Riga and Haifa are not offered in Poland.
    assert "20 EUR" not in page and "Rydze" not in page and "Hajf" not in page
    assert "zł" in page and "€" not in page and "₪" not in page
    # The drill at Poland's price, with its face value in złoty.
    assert "549,00\xa0zł" in page


def test_an_israeli_technician_sees_only_israeli_rewards(client, db):
    seed_demo_rewards(db)
    yossi = _technician(db, "IL", "he")
    db.commit()
    login_as(client, yossi)
    page = client.get("/rewards/").get_data(as_text=True)
    assert "כרטיס דלק בשווי 100 ₪" in page and "קורס למתקיני משאבות חום בחיפה" in page
    assert "20 EUR" not in page and "zł" not in page and "Riga" not in page
    assert "€" not in page
    fuel = db.scalar(select(Reward).where(Reward.name == "Fuel card 20 EUR"))
    assert client.get(f"/rewards/{fuel.id}/redeem").status_code == 404


def test_redemption_charges_the_price_of_the_persons_country(db):
    latvian, pole = _technician(db, "LV", "lv"), _technician(db, "PL", "pl")
    drill = _drill(db, LV=(300, "129", "EUR"), PL=(450, "549", "PLN"))
    assert redeem(db, latvian, drill, request_key="lv", shipping_address="Rīga").points == 300
    assert redeem(db, pole, drill, request_key="pl", shipping_address="Kraków").points == 450
    assert balance_of(db, person_account(latvian.id))[1] == 10_000 - 300
    assert balance_of(db, person_account(pole.id))[1] == 10_000 - 450
    assert check_balances(db) == []


def test_a_reward_not_offered_in_the_persons_country_is_refused_in_their_language(client, db):
    pole = _technician(db, "PL", "pl")
    drill = _drill(db, LV=(300, None, None))
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, pole, drill, request_key="x", shipping_address="Kraków")
    assert str(refused.value.errors["reward"]) == "This reward is not offered in your country."
    db.commit()
    login_as(client, pole)
    answer = client.post(
        f"/rewards/{drill.id}/redeem",
        data={"confirm": "yes", "request_key": "k1", "shipping_address": "Kraków"},
    )
    assert answer.status_code == 303
    page = client.get("/rewards/").get_data(as_text=True)
    assert "Ta nagroda nie jest oferowana w Twoim kraju." in page
    assert db.scalar(select(func.count(Redemption.id))) == 0
    assert balance_of(db, person_account(pole.id))[1] == 10_000


def test_the_api_lists_and_redeems_only_what_the_partners_country_offers(client, db):
    pole = _technician(db, "PL", "pl")
    drill = _drill(db, LV=(300, "129", "EUR"), PL=(450, "549", "PLN"))
    latvian_only = _drill(db, LV=(100, None, None))
    _, reader = make_api_token(db, partner=pole.partner)
    _, writer = make_api_token(db, scope="write", partner=pole.partner)
    _, manufacturer = make_api_token(db)
    db.commit()
    listed = client.get("/api/v1/rewards", headers=reader).get_json()["items"]
    assert [(r["id"], r["points_price"], r["face_value"], r["currency"]) for r in listed] == [
        (drill.id, 450, "549.00", "PLN")
    ]
    everything = client.get("/api/v1/rewards", headers=manufacturer).get_json()["items"]
    assert {r["id"]: [o["country"] for o in r["offers"]] for r in everything} == {
        drill.id: ["LV", "PL"],
        latvian_only.id: ["LV"],
    }
    refused = client.post(
        "/api/v1/redemptions",
        headers=writer,
        json={"person_id": pole.id, "reward_id": latvian_only.id, "shipping_address": "Kraków"},
    )
    assert refused.status_code == 422
    assert "not offered in your country" in refused.get_data(as_text=True)


def _details(**overrides):
    values = {
        "kind": "physical",
        "name": "Drill",
        "points_price": 500,
        "description": "A cordless drill.",
        "offers": (OfferTerms("PL", "450", "549", "PLN"), OfferTerms("IL")),
        "names": {"pl": "Wiertarka", "he": "מקדחה"},
        "descriptions": {"pl": "Wiertarka akumulatorowa.", "he": "מקדחה נטענת."},
    }
    return RewardDetails(**{**values, **overrides})


def test_a_reward_is_saved_with_its_offers_and_texts(db):
    reward = save_reward(db, _details())
    offers = {o.country: (o.points_price, o.face_value, o.currency) for o in reward.offers}
    assert offers == {"PL": (450, Decimal("549.00"), "PLN"), "IL": (500, None, None)}
    assert reward.text_in("pl") == ("Wiertarka", "Wiertarka akumulatorowa.")


@pytest.mark.parametrize(
    ("offers", "field"),
    [
        ((), "offers"),
        ((OfferTerms("Poland"),), "offers"),
        ((OfferTerms("PL", "0"),), "offer_PL"),
        ((OfferTerms("PL", "many"),), "offer_PL"),
        ((OfferTerms("PL", "", "1e400", "PLN"),), "offer_PL"),
        ((OfferTerms("PL", "", "-5", "PLN"),), "offer_PL"),
        ((OfferTerms("PL", "", "100", "zł"),), "offer_PL"),
    ],
)
def test_bad_offers_are_refused_and_nothing_is_saved(db, offers, field):
    with pytest.raises(InvalidInput) as refused:
        save_reward(db, _details(offers=offers))
    assert field in refused.value.errors
    assert db.scalar(select(func.count(Reward.id))) == 0


def test_the_form_says_which_languages_miss_a_name_or_description(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/rewards/manage").get_data(as_text=True)
    assert 'name="offer_PL"' in page and 'name="currency_PL" dir="ltr" size="3" value="PLN"' in page
    refused = client.post(
        "/rewards/manage",
        data={
            "kind": "physical",
            "name": "Drill",
            "points_price": "500",
            "offer_PL": "yes",
            "offer_LV": "yes",
            "name_pl": "Wiertarka",
            "description_pl": "Wiertarka akumulatorowa.",
            "name_lv": "Urbjmašīna",
        },
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert (
        "The name and description are missing in Latviešu and Русский, which people read in "
        "the countries the reward is offered in."
    ) in text
    assert text.count("Needed: the reward is offered where this is read.") == 3
    assert db.scalar(select(func.count(Reward.id))) == 0
