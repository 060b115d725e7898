"""Saving for a reward: a goal picked in the catalog, and the way to it on the phone home."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.reward_offers import RewardOffer
from channel.rewards import Reward
from channel.saving_goals import GoalRefused, SavingGoal, choose_goal, drop_goal, goal_progress
from core.db import get_session, utcnow
from roles.permissions import Role
from tests.builders import build_world, give_points, login_as


def _reward(db, name="Drill", price=1000, country="LV"):
    reward = Reward(kind="physical", name=name, points_price=1, stock=5)
    reward.offers = [RewardOffer(country=country, points_price=price)]
    db.add(reward)
    db.flush()
    return reward


def test_the_home_shows_the_way_to_the_goal_at_the_recent_pace(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    give_points(db, technician, 300)
    drill = _reward(db, price=1000)
    db.commit()
    login_as(client, technician)
    catalog = client.get("/rewards/").get_data(as_text=True)
    assert f'action="/rewards/{drill.id}/goal"' in catalog
    chosen = client.post(f"/rewards/{drill.id}/goal")
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/me")
    home = client.get("/me").get_data(as_text=True)
    # 300 of 1000: 700 to go; 300 earned in the last 30 days, so about 70 more days.
    assert "Saving for “\u2068Drill\u2069”: 700 points to go." in home
    assert '<progress max="100" value="30">' in home
    assert "At your pace of the last 30 days, that is about 70 days." in home
    assert "You are saving for this." in client.get("/rewards/").get_data(as_text=True)


def test_progress_without_recent_earnings_and_when_reached(db, world):
    technician = world.people[Role.TECHNICIAN]
    give_points(db, technician, 400)
    drill = _reward(db, price=1000)
    choose_goal(db, technician, drill)
    later = utcnow() + timedelta(days=31)
    progress = goal_progress(db, technician, later)
    assert (progress.needed, progress.percent, progress.days_left) == (600, 40, None)
    give_points(db, technician, 700)
    progress = goal_progress(db, technician, utcnow())
    assert (progress.needed, progress.percent, progress.days_left) == (0, 100, None)


def test_a_reward_not_offered_in_the_country_cannot_be_a_goal(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    polish = _reward(db, country="PL")
    with pytest.raises(GoalRefused):
        choose_goal(db, technician, polish)
    db.commit()
    login_as(client, technician)
    client.post(f"/rewards/{polish.id}/goal")
    assert "This reward is not offered in your country." in client.get("/rewards/").get_data(
        as_text=True
    )
    assert db.scalar(select(func.count()).select_from(SavingGoal)) == 0


def test_a_new_goal_replaces_the_old_and_a_goal_can_be_dropped(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    drill, cap = _reward(db), _reward(db, name="Cap", price=50)
    choose_goal(db, technician, drill)
    choose_goal(db, technician, cap)
    assert db.scalars(select(SavingGoal.reward_id)).all() == [cap.id]
    db.commit()
    login_as(client, technician)
    assert client.post("/rewards/goal/drop").status_code == 303
    assert db.scalar(select(func.count()).select_from(SavingGoal)) == 0
    drop_goal(db, technician)  # nothing to drop: nothing happens


def test_a_goal_withdrawn_from_the_country_says_so_on_the_home(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    drill = _reward(db)
    choose_goal(db, technician, drill)
    drill.offers = [RewardOffer(country="PL", points_price=1000)]
    db.commit()
    login_as(client, technician)
    home = client.get("/me").get_data(as_text=True)
    assert "You were saving for “\u2068Drill\u2069”, which is no longer offered to you." in home


def test_goals_chosen_at_the_same_moment_leave_one(committed_app):
    from roles.models import Person

    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        technician = world.people[Role.TECHNICIAN]
        rewards = [_reward(db, name=f"Reward {n}") for n in range(8)]
        db.commit()
        person_id, reward_ids = technician.id, [r.id for r in rewards]

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start = threading.Barrier(len(reward_ids))
    failures = []

    def choose(reward_id):
        start.wait()
        try:
            with app.app_context(), factory() as session:
                choose_goal(session, session.get(Person, person_id), session.get(Reward, reward_id))
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=choose, args=(rid,)) for rid in reward_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with factory() as session:
        goals = session.scalars(select(SavingGoal)).all()
    assert len(goals) == 1 and goals[0].reward_id in reward_ids
