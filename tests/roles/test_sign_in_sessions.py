"""Sign-in sessions end on the server: on sign-out, a new password, a change of roles,
deactivation, "sign out everywhere", and after their idle and absolute lifetimes."""

import queue
import threading
import time
from datetime import timedelta

import time_machine
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from core.db import get_session, utcnow
from roles.auth import (
    SignInRefused,
    authenticate_with_password,
    change_password,
    make_password_hasher,
)
from roles.models import Person, SignInSession
from roles.permissions import Role
from roles.sign_in_sessions import live_session, session_policy, start_sign_in_session
from tests.builders import PASSWORD, login_as, make_person
from tests.roles.test_staff import staff_form

NEW_PASSWORD = "a brand new passphrase"


def signed_in(client, path="/profile") -> bool:
    response = client.get(path)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    other = app.test_client()
    other.set_cookie(name, client.get_cookie(name).value)
    return other


def sign_in_with_password(app, person):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_copied_cookie_stops_working_when_its_browser_signs_out(app, client, world):
    manager = world.people[Role.PARTNER_MANAGER]
    client.post("/sign-in", data={"email": manager.email, "password": PASSWORD})
    copied = copy_of(app, client)
    assert signed_in(copied)
    client.post("/sign-out")
    response = copied.get("/profile")
    assert response.status_code == 302
    assert response.location.startswith("/sign-in/phone")


def test_signing_out_one_browser_leaves_the_persons_other_browsers_signed_in(app, world):
    manager = world.people[Role.PARTNER_MANAGER]
    phone, laptop = sign_in_with_password(app, manager), sign_in_with_password(app, manager)
    phone.post("/sign-out")
    assert not signed_in(phone)
    assert signed_in(laptop)


def test_a_new_password_signs_out_other_browsers_but_not_the_one_that_set_it(app, db, world):
    manager = world.people[Role.PARTNER_MANAGER]
    here, elsewhere = sign_in_with_password(app, manager), sign_in_with_password(app, manager)
    stolen = copy_of(app, here)
    response = here.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert "Your password is changed." in here.get("/profile").get_data(as_text=True)
    assert signed_in(here)
    assert not signed_in(elsewhere)
    # This browser carries on in a new session: a copy of its cookie from before is dead too.
    assert not signed_in(stolen)


def test_a_refused_password_change_signs_nobody_out(app, db, world):
    manager = world.people[Role.PARTNER_MANAGER]
    here, elsewhere = sign_in_with_password(app, manager), sign_in_with_password(app, manager)
    response = here.post(
        "/profile/password",
        data={"current_password": "wrong", "new_password": "x" * 12, "repeat_password": "x" * 12},
    )
    assert response.status_code == 400
    assert signed_in(here) and signed_in(elsewhere)


def test_a_change_of_roles_signs_the_person_out_everywhere(app, client, db, world):
    seller = world.people[Role.SELLER]
    phone, tablet = app.test_client(), app.test_client()
    login_as(phone, seller)
    login_as(tablet, seller)
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/people/{seller.id}",
        data=staff_form(
            full_name=seller.full_name, phone=seller.phone, roles=["seller", "engineer"]
        ),
    )
    assert response.status_code == 302
    assert not signed_in(phone, "/me")
    assert not signed_in(tablet, "/me")
    assert signed_in(client)  # the manager who made the change stays


def test_saving_a_person_without_changing_roles_keeps_them_signed_in(app, client, db, world):
    seller = world.people[Role.SELLER]
    phone = app.test_client()
    login_as(phone, seller)
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/people/{seller.id}",
        data=staff_form(full_name="A new name", phone=seller.phone, roles=["seller"]),
    )
    assert response.status_code == 302
    assert signed_in(phone, "/me")


def test_changing_ones_own_roles_keeps_this_browser_and_ends_the_others(app, client, db, world):
    admin = world.people[Role.ADMIN]
    other_browser = app.test_client()
    login_as(other_browser, admin)
    login_as(client, admin)
    response = client.post(
        f"/people/{admin.id}",
        data=staff_form(
            full_name=admin.full_name,
            phone=admin.phone,
            email=admin.email,
            roles=["admin", "channel_manager"],
        ),
    )
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other_browser)


def test_deactivation_ends_every_session_for_good(app, client, db, world):
    seller = world.people[Role.SELLER]
    phone = app.test_client()
    login_as(phone, seller)
    login_as(client, world.people[Role.PARTNER_MANAGER])
    form = staff_form(full_name=seller.full_name, phone=seller.phone, roles=["seller"])
    del form["active"]
    assert client.post(f"/people/{seller.id}", data=form).status_code == 302
    assert not signed_in(phone, "/me")
    # Taken back on, they sign in again: the session from before does not come back.
    assert client.post(f"/people/{seller.id}", data={**form, "active": "y"}).status_code == 302
    assert not signed_in(phone, "/me")


def test_sign_out_everywhere_ends_every_session_this_one_too(app, client, db, world):
    technician = world.people[Role.TECHNICIAN]
    other = make_person(db, world.partner_a, ["technician"])
    phone, tablet, someone_else = app.test_client(), app.test_client(), app.test_client()
    for browser in (phone, tablet):
        login_as(browser, technician)
    login_as(someone_else, other)
    page = phone.get("/profile").get_data(as_text=True)
    assert 'action="/profile/sign-out-everywhere"' in page
    response = phone.post("/profile/sign-out-everywhere")
    assert response.status_code == 302
    assert response.location == "/sign-in/phone"
    landed = phone.get(response.location).get_data(as_text=True)
    assert "You have signed out on every device." in landed
    assert not signed_in(phone, "/me")
    assert not signed_in(tablet, "/me")
    assert signed_in(someone_else, "/me")


def test_sign_out_everywhere_is_translated(app, client, db, world):
    technician = make_person(db, world.partner_a, ["technician"], language="lv")
    login_as(client, technician)
    assert "Izrakstīties visur" in client.get("/profile").get_data(as_text=True)
    landed = client.post("/profile/sign-out-everywhere", follow_redirects=True)
    assert "Jūs izrakstījāties visās ierīcēs." in landed.get_data(as_text=True)


def test_a_session_left_unused_for_the_idle_lifetime_ends(app, client, world):
    idle = session_policy(app.config).idle
    start = utcnow()
    login_as(client, world.people[Role.SELLER])
    # Each use keeps it alive for another idle lifetime…
    with time_machine.travel(start + idle - timedelta(minutes=1), tick=False):
        assert signed_in(client, "/me")
    with time_machine.travel(start + 2 * idle - timedelta(minutes=3), tick=False):
        assert signed_in(client, "/me")
    # …and a whole idle lifetime without one ends it.
    with time_machine.travel(start + 3 * idle, tick=False):
        assert not signed_in(client, "/me")


def test_a_busy_session_still_ends_at_the_absolute_lifetime(app, client, world):
    policy = session_policy(app.config)
    start = utcnow()
    login_as(client, world.people[Role.SELLER])
    moment = start
    while moment + policy.idle / 2 < start + policy.max_age:
        moment += policy.idle / 2
        with time_machine.travel(moment, tick=False):
            assert signed_in(client, "/me"), moment - start
    with time_machine.travel(start + policy.max_age + timedelta(minutes=1), tick=False):
        assert not signed_in(client, "/me")


def test_the_last_seen_time_is_written_at_most_once_a_minute(app, client, db, world):
    seller = world.people[Role.SELLER]
    start = utcnow()
    with time_machine.travel(start, tick=False):
        login_as(client, seller)

    def last_seen():
        db.expire_all()
        return db.scalar(
            select(SignInSession.last_seen_at).where(SignInSession.person_id == seller.id)
        )

    for seconds in (10, 30, 59):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            assert signed_in(client, "/me")
    assert last_seen() == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert signed_in(client, "/me")
    assert last_seen() == start + timedelta(seconds=61)


def test_a_cookie_from_before_sessions_were_kept_no_longer_signs_in(app, client, world):
    with client.session_transaction() as session:
        session["_user_id"] = str(world.people[Role.ADMIN].id)
        session["_fresh"] = True
    assert not signed_in(client)


def test_a_sign_in_racing_a_password_change_is_refused(committed_postgres_app):
    """The sign-in reads the old password while the change is under way, waits for the change
    to commit, then opens its session: it was let in by the old password, so it must not live."""
    app = committed_postgres_app
    with app.test_request_context():
        db = get_session()
        manager = make_person(db, None, ["admin"])
        db.commit()
        email, person_id = manager.email, manager.id
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    hasher = make_password_hasher(app.config)
    policy = session_policy(app.config)
    backend = queue.Queue()
    outcome = {}

    def sign_in():
        with app.app_context(), factory() as signing_in:
            backend.put(signing_in.scalar(text("SELECT pg_backend_pid()")))
            try:
                person = authenticate_with_password(signing_in, email, PASSWORD, hasher, utcnow())
                outcome["token"] = start_sign_in_session(signing_in, person, policy, utcnow())
                signing_in.commit()
            except SignInRefused:
                outcome["refused"] = True

    with app.app_context(), factory() as changing:
        change_password(
            changing,
            changing.get(Person, person_id),
            current=PASSWORD,
            new=NEW_PASSWORD,
            repeated=NEW_PASSWORD,
            hasher=hasher,
            now=utcnow(),
        )
        thread = threading.Thread(target=sign_in)
        thread.start()
        pid = backend.get(timeout=30)
        # The sign-in has checked the old password and now waits for the person's row.
        deadline = time.monotonic() + 30
        blocked = text("SELECT cardinality(pg_blocking_pids(:pid)) > 0")
        while not changing.scalar(blocked, {"pid": pid}):
            assert time.monotonic() < deadline, "the sign-in never waited for the change"
        changing.commit()
        thread.join(timeout=60)
    assert "token" in outcome, outcome  # the old password let it in: the race took place
    with app.app_context(), factory() as session:
        assert live_session(session, person_id, outcome["token"], policy, utcnow()) is None
