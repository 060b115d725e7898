"""Reward categories: chosen on the manage page, browsed and filtered on the phone catalog."""

import pytest
from sqlalchemy import select

from channel.reward_categories import RewardCategory, category_or_none
from channel.reward_lists import offered_categories, offered_rewards
from channel.reward_offers import OfferTerms
from channel.rewards import Reward, RewardDetails, save_reward
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import IN_LATVIA, login_as


def add(db, name, kind, category=None, price=100, active=True):
    reward = save_reward(
        db,
        RewardDetails(
            kind=kind,
            name=name,
            points_price=price,
            category=category,
            offers=(OfferTerms("LV"),),
            names={"lv": name, "ru": name},
            descriptions={"lv": "Apraksts.", "ru": "Описание."},
        ),
    )
    reward.active = active
    db.flush()
    return reward


def test_a_reward_without_a_category_takes_the_usual_one_for_its_kind(db, world):
    assert add(db, "Fuel card", "gift_card").category == RewardCategory.GIFT_CARDS
    assert add(db, "Plant a tree", "donation").category == RewardCategory.CHARITY_AND_ESG
    # Inserted directly (the demo, imports) it gets the same.
    direct = Reward(kind="training_seat", name="Course", points_price=10)
    db.add(direct)
    db.flush()
    assert direct.category == RewardCategory.TRAINING


def test_a_chosen_category_is_kept_and_an_unknown_one_refused(db, world):
    assert add(db, "Balloon ride", "physical", "experiences").category == "experiences"
    with pytest.raises(InvalidInput) as refused:
        add(db, "Mystery", "physical", "mystery")
    assert set(refused.value.errors) == {"category"}
    assert db.scalar(select(Reward).where(Reward.name == "Mystery")) is None


def test_offered_rewards_by_category(db, world):
    fuel = add(db, "Fuel card", "gift_card", price=50)
    drill = add(db, "Drill", "physical", "hobby_branded", price=400)
    add(db, "Old mug", "physical", "hobby_branded", active=False)
    assert [r for r, _ in offered_rewards(db, "LV", RewardCategory.HOBBY_AND_BRANDED)] == [drill]
    assert [r for r, _ in offered_rewards(db, "LV")] == [fuel, drill]
    assert offered_categories(db, "LV") == [
        (RewardCategory.GIFT_CARDS, 1),
        (RewardCategory.HOBBY_AND_BRANDED, 1),
    ]
    assert offered_rewards(db, "PL") == [] and offered_categories(db, "PL") == []
    assert category_or_none("hobby_branded") == RewardCategory.HOBBY_AND_BRANDED
    assert category_or_none("nonsense") is None and category_or_none("") is None


def test_the_phone_catalog_filters_by_category_without_javascript(client, db, world):
    add(db, "Fuel card", "gift_card", price=50)
    add(db, "Drill", "physical", "hobby_branded", price=400)
    db.commit()
    login_as(client, world.people[Role.SELLER])
    page = client.get("/rewards/").get_data(as_text=True)
    assert "Fuel card" in page and "Drill" in page
    assert '<form method="get" action="/rewards/"' in page
    assert '<option value="hobby_branded">Hobby and branded goods</option>' in page
    # Browsing: one link a category, with how many rewards it holds.
    assert '<a href="/rewards/?category=hobby_branded">Hobby and branded goods (1)</a>' in page
    assert len(page.encode()) < 60_000
    filtered = client.get("/rewards/?category=hobby_branded").get_data(as_text=True)
    assert "Drill" in filtered and "Fuel card" not in filtered
    assert '<option value="hobby_branded" selected>' in filtered
    empty = client.get("/rewards/?category=charity_esg").get_data(as_text=True)
    assert "No rewards are offered in this category." in empty and "Drill" not in empty
    # An unknown category (an old link) shows everything rather than failing.
    unknown = client.get("/rewards/?category=nope").get_data(as_text=True)
    assert "Fuel card" in unknown and "Drill" in unknown


def test_the_manage_page_sets_the_category_and_says_when_it_is_wrong(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.get("/rewards/manage").get_data(as_text=True)
    assert '<option value="charity_esg">Charity and ESG</option>' in page
    refused = client.post(
        "/rewards/manage",
        data={
            "kind": "physical",
            "name": "Kayak day",
            "points_price": "900",
            "category": "x",
            **IN_LATVIA,
        },
    )
    assert refused.status_code == 400
    assert "Choose a category from the list." in refused.get_data(as_text=True)
    added = client.post(
        "/rewards/manage",
        data={
            "kind": "physical",
            "name": "Kayak day",
            "points_price": "900",
            "category": "experiences",
            **IN_LATVIA,
        },
    )
    assert added.status_code == 302
    kayak = db.scalar(select(Reward).where(Reward.name == "Kayak day"))
    assert kayak.category == RewardCategory.EXPERIENCES
