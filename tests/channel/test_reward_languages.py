"""A reward reads in the page's language, and a name typed in another script keeps its order."""

import pytest

from channel.demo_benefits import DEMO_REWARDS, seed_demo_rewards
from tests.builders import give_points, login_as, make_partner, make_person


@pytest.mark.parametrize(
    ("country", "language"), [("IL", "he"), ("IL", "fa"), ("PL", "pl"), ("LV", "lv"), ("LV", "ru")]
)
def test_the_demo_rewards_are_named_in_the_readers_language(client, db, country, language):
    seed_demo_rewards(db)
    partner = make_partner(db, country=country)
    technician = make_person(db, partner, ["technician"], language=language)
    give_points(db, technician, 100)
    db.commit()
    login_as(client, technician)
    page = client.get("/rewards/").get_data(as_text=True)
    mine = [demo for demo in DEMO_REWARDS if country in demo.offers]
    assert len(mine) >= 4
    for demo in mine:
        name, description = demo.texts[language]
        assert demo.text[0] not in page
        assert f"<h2><bdi>{name}</bdi></h2>" in page and description in page
    for demo in DEMO_REWARDS:
        if country not in demo.offers and language in demo.texts:
            assert demo.texts[language][0] not in page


def test_loading_the_demo_again_names_rewards_loaded_before_their_translations(db):
    seed_demo_rewards(db)
    drill = next(r for r in _rewards(db) if r.name == "Cordless drill")
    drill.texts = [t for t in drill.texts if t.language != "he"]
    db.flush()
    assert drill.text_in("he")[0] == "Cordless drill"
    count = len(_rewards(db))
    assert seed_demo_rewards(db) == 0 and len(_rewards(db)) == count
    drill_texts = next(demo for demo in DEMO_REWARDS if demo.text[0] == "Cordless drill").texts
    assert drill.text_in("he") == drill_texts["he"]


def test_every_demo_reward_has_its_texts_in_the_languages_of_its_countries():
    from channel.reward_offers import languages_needed

    for demo in DEMO_REWARDS:
        for language in languages_needed(demo.offers):
            name, description = demo.texts[language]
            assert name.strip() and description.strip(), (demo.text[0], language)


def test_a_program_name_in_english_is_isolated_on_a_hebrew_page(client, db, world):
    from roles.permissions import Role
    from tests.builders import add_scheme, approve, make_program, offer

    program = make_program(db, partners=[world.partner_a], name="Sell and install.")
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    technician = world.people[Role.TECHNICIAN]
    technician.language = "he"
    db.commit()
    login_as(client, technician)
    page = client.get("/my/programs").get_data(as_text=True)
    assert "<h2><bdi>Sell and install.</bdi></h2>" in page


def _rewards(db):
    from sqlalchemy import select

    from channel.rewards import Reward

    return db.scalars(select(Reward)).all()
