"""Standing among peers in the same role, shown on the phone home and nudged at the podium."""

import itertools

from sqlalchemy import select

from channel.leaderboard import peer_points, standing
from channel.programs import launch_program
from messaging.models import OutboxMessage
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_person,
    make_program,
    offer,
    record,
)


def install_program(db, world, *, shown=True):
    program = make_program(db, partners=[world.partner_a, world.partner_b], name="Winter heat")
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": "50"}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    approve(db, program, world.partner_b, world.others[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    program.show_leaderboard = shown
    db.flush()
    return program


_serials = itertools.count(1)


def installs(db, person, count):
    for _ in range(count):
        record(db, "install", person, serial=f"LB-{next(_serials)}")


def test_peers_are_ranked_by_points_with_ties_sharing_a_place(app, db, world):
    c = make_person(db, world.partner_a, ["technician"])  # enrolled at launch
    program = install_program(db, world)
    a, b = world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]
    with app.app_context():
        installs(db, a, 3)
        installs(db, b, 3)
        installs(db, c, 1)
    points = peer_points(db, program.id, Role.TECHNICIAN)
    assert {points[a.id], points[b.id]} == {150}
    first, other = standing(db, program, a), standing(db, program, b)
    assert (first.rank, other.rank) == (1, 1) and first.behind is None
    low = standing(db, program, c)
    assert (low.rank, low.points, low.behind) == (3, 50, 100)
    assert standing(db, program, world.people[Role.SELLER]) is None  # not a technician peer


def test_a_hidden_leaderboard_ranks_nobody(app, db, world):
    program = install_program(db, world, shown=False)
    assert standing(db, program, world.people[Role.TECHNICIAN]) is None


def test_the_phone_home_says_where_one_stands(app, client, db, world):
    install_program(db, world)
    a, b = world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]
    with app.app_context():
        installs(db, a, 1)
        installs(db, b, 2)
    db.commit()
    login_as(client, a)
    page = client.get("/me").get_data(as_text=True)
    assert (
        "In “\u2068Winter heat\u2069” you are number 2 of" in page
        and "50 points behind the next place" in page
    )
    db.commit()
    login_as(client, b)
    page = client.get("/me").get_data(as_text=True)
    assert (
        "In “\u2068Winter heat\u2069” you lead your role (Field technician) with 100 points."
        in page
    )


def test_reaching_the_top_three_is_told_once_per_place(app, db, world):
    program = install_program(db, world)
    a, b = world.people[Role.TECHNICIAN], world.others[Role.TECHNICIAN]
    before, app.config["NUDGE_HOLDOUT_PERCENT"] = app.config["NUDGE_HOLDOUT_PERCENT"], 0
    try:
        with app.app_context():
            installs(db, b, 2)
            installs(db, a, 1)  # second of two
            installs(db, a, 1)  # level first: a new place
            installs(db, a, 1)  # still first: nothing new
    finally:
        app.config["NUDGE_HOLDOUT_PERCENT"] = before
    told = db.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.person_id == a.id, OutboxMessage.kind == "leaderboard")
        .order_by(OutboxMessage.id)
    ).all()
    assert told == [
        "You are now number 2 of 2 in your role in “Winter heat”. Keep going!",
        "You are now first of 2 in your role in “Winter heat”. Well done!",
    ]
    assert program.show_leaderboard


def test_a_channel_manager_shows_and_hides_the_leaderboard(client, db, world):
    program = install_program(db, world, shown=False)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert client.post(f"/programs/{program.id}/leaderboard", data={"show": "1"}).status_code == 302
    db.refresh(program)
    assert program.show_leaderboard
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    assert "Hide the leaderboard" in page
    client.post(f"/programs/{program.id}/leaderboard", data={"show": "0"})
    db.refresh(program)
    assert not program.show_leaderboard
