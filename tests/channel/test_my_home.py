"""A field person's phone home: balance, what expires, what to do next, latest claims."""

import re
from datetime import timedelta

import pytest
import time_machine

from channel.expiry import points_lifetime
from channel.postings import Line, person_account, post
from channel.rewards import Reward
from core.db import utcnow
from tests.builders import login_as, make_person, offered


def earn(world, person, points, bucket="available"):
    return Line(
        account=person_account(person.id),
        points=points,
        kind="earn",
        partner_id=world.partner_a.id,
        person_id=person.id,
        bucket=bucket,
        available_at=utcnow() + timedelta(days=14) if bucket == "pending" else None,
    )


def test_home_shows_balance_pending_expiring_and_the_next_reward(app, client, db, world):
    person = make_person(db, world.partner_a, ["technician"])
    lifetime = points_lifetime(app.config["POINTS_LIFETIME_MONTHS"])
    with time_machine.travel(utcnow() - lifetime + timedelta(days=10)):
        post(db, "old", [earn(world, person, 120)])  # expires in 10 days
    post(db, "new", [earn(world, person, 1380)])
    post(db, "pending", [earn(world, person, 75, bucket="pending")])
    db.add(offered(Reward(kind="physical", name="Drill", points_price=2000, stock=3)))
    db.add(
        offered(Reward(kind="physical", name="Cap", points_price=500, stock=3))
    )  # already affordable
    db.commit()
    login_as(client, person)
    page = client.get("/me").get_data(as_text=True)
    assert "<strong data-balance>1,500</strong> points to spend" in page
    assert "75 more points are pending until the return window closes." in page
    assert "120 points expire within 30 days" in page
    assert "500 points to go for “\u2068Drill\u2069”." in page


@pytest.mark.parametrize(
    ("roles", "first_step"),
    [
        (["technician"], "/claims/new/install"),
        (["engineer"], "/claims/new/install"),
        (["seller"], "/claims/new/sale"),
        (["procurement"], "/claims/new/order"),
        (["seller", "technician"], "/claims/new/install"),
    ],
)
def test_the_next_step_is_the_roles_own(client, db, world, roles, first_step):
    person = make_person(db, world.partner_a, roles)
    db.commit()
    login_as(client, person)
    page = client.get("/me").get_data(as_text=True)
    actions = page[page.index('<p class="hero-actions">') :]
    assert actions.index(first_step) < actions.index("/rewards")
    # The one big button on the home is the role's next step.
    assert f'class="button big" href="{first_step}"' in actions
    assert actions.count("button big") == 1


def test_home_in_persian_uses_persian_digits(client, db, world):
    person = make_person(db, world.partner_a, ["seller"], language="fa")
    post(db, "fa", [earn(world, person, 1250)])
    db.commit()
    login_as(client, person)
    page = client.get("/me").get_data(as_text=True)
    assert "۱٬۲۵۰" in page


@pytest.mark.parametrize(
    ("roles", "offered"),
    [
        (["technician"], ["install", "referral"]),
        (["seller"], ["sale", "referral"]),
        (["procurement"], ["order", "payment", "referral"]),
        (["seller", "technician"], ["install", "sale", "referral"]),
    ],
)
def test_my_claims_offers_the_roles_claim_kinds_in_the_homes_order(
    client, db, world, roles, offered
):
    person = make_person(db, world.partner_a, roles)
    db.commit()
    login_as(client, person)
    home = client.get("/me").get_data(as_text=True)
    page = client.get("/claims/mine").get_data(as_text=True)
    actions = page[page.index('<p class="actions">') : page.index("</p>", page.index("actions"))]
    assert re.findall(r'href="/claims/new/(\w+)"', actions) == offered
    # The one primary button is the same next step the home offers first.
    assert f'class="button" href="/claims/new/{offered[0]}"' in actions
    assert f'class="button big" href="/claims/new/{offered[0]}"' in home


@pytest.mark.parametrize(
    ("points", "words"),
    [(1, "балл можно потратить"), (3, "балла можно потратить"), (21, "балл можно потратить")],
)
def test_the_big_number_takes_the_plural_its_count_needs(client, db, world, points, words):
    from tests.builders import give_points

    technician = make_person(db, world.partner_a, ["technician"], language="ru")
    give_points(db, technician, points)
    db.commit()
    login_as(client, technician)
    page = client.get("/me").get_data(as_text=True)
    assert f"<strong data-balance>{points}</strong> {words}" in page
