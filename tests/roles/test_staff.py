import pytest
from sqlalchemy import func, select

from roles.models import Person
from roles.permissions import Role
from tests.builders import login_as, make_person


def staff_form(**overrides):
    data = {
        "full_name": "Jānis Bērziņš",
        "phone": "+371 2612 3456",
        "email": "",
        "roles": ["technician"],
        "language": "lv",
        "timezone": "Europe/Riga",
        "preferred_channel": "sms",
        "active": "y",
    }
    data.update(overrides)
    return data


def count_people(db):
    return db.scalar(select(func.count(Person.id)))


def test_partner_manager_adds_a_technician_to_their_staff(client, db, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(f"/partners/{world.partner_a.id}/staff/new", data=staff_form())
    assert response.status_code == 302
    person = db.scalar(select(Person).where(Person.phone == "+37126123456"))
    assert person.partner_id == world.partner_a.id
    assert person.roles == {Role.TECHNICIAN}
    listing = client.get(f"/partners/{world.partner_a.id}/staff").get_data(as_text=True)
    assert "Jānis Bērziņš" in listing


def test_partner_manager_changes_a_persons_roles(client, db, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    seller = world.people[Role.SELLER]
    response = client.post(
        f"/people/{seller.id}",
        data=staff_form(
            full_name=seller.full_name, phone=seller.phone, roles=["seller", "engineer"]
        ),
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Person, seller.id).roles == {Role.SELLER, Role.ENGINEER}


def test_partner_manager_cannot_give_manufacturer_roles(client, db, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    before = count_people(db)
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/new", data=staff_form(roles=["admin"])
    )
    assert response.status_code == 400
    assert count_people(db) == before


def test_channel_manager_cannot_create_an_admin(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    seller = world.people[Role.SELLER]
    response = client.post(
        f"/people/{seller.id}",
        data=staff_form(full_name=seller.full_name, phone=seller.phone, roles=["admin"]),
    )
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Person, seller.id).roles == {Role.SELLER}


def test_malformed_phone_gets_a_clear_message_and_saves_nothing(client, db, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    before = count_people(db)
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/new", data=staff_form(phone="12-34")
    )
    assert response.status_code == 400
    assert "is not a valid phone number" in response.get_data(as_text=True) or (
        "is not a phone number" in response.get_data(as_text=True)
    )
    assert count_people(db) == before


def test_duplicate_email_and_phone_are_reported_together(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    taken = world.people[Role.PARTNER_MANAGER]
    before = count_people(db)
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/new",
        data=staff_form(email=taken.email.upper(), phone=taken.phone),
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already uses the e-mail" in text
    assert "already uses the phone number" in text
    assert count_people(db) == before


def test_form_keeps_what_was_typed_when_it_fails(client, world):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/new",
        data=staff_form(full_name="Ieva Liepa", phone="nope"),
    )
    assert 'value="Ieva Liepa"' in response.get_data(as_text=True)


def test_manager_cannot_deactivate_themselves(client, db, world):
    manager = world.people[Role.PARTNER_MANAGER]
    login_as(client, manager)
    data = staff_form(
        full_name=manager.full_name,
        phone=manager.phone,
        email=manager.email,
        roles=["partner_manager"],
    )
    data.pop("active")
    response = client.post(f"/people/{manager.id}", data=data)
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Person, manager.id).active is True


def test_staff_list_shows_only_that_partners_people(client, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    body = client.get(f"/partners/{world.partner_b.id}/staff").get_data(as_text=True)
    assert "Bravo seller" in body
    assert world.people[Role.SELLER].full_name not in body


def test_profile_changes_language_time_zone_and_channel(client, db, world):
    person = world.people[Role.TECHNICIAN]
    login_as(client, person)
    response = client.post(
        "/profile",
        data={"language": "he", "timezone": "Asia/Jerusalem", "preferred_channel": "whatsapp"},
    )
    assert response.status_code == 302
    db.expire_all()
    saved = db.get(Person, person.id)
    assert (saved.language, saved.timezone, saved.preferred_channel) == (
        "he",
        "Asia/Jerusalem",
        "whatsapp",
    )
    assert 'dir="rtl"' in client.get("/profile").get_data(as_text=True)


def test_profile_refuses_email_channel_without_an_address(client, db, world):
    person = world.people[Role.TECHNICIAN]
    login_as(client, person)
    response = client.post(
        "/profile", data={"language": "en", "timezone": "UTC", "preferred_channel": "email"}
    )
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Person, person.id).preferred_channel == "sms"


def test_profile_refuses_an_unknown_language(client, db, world):
    person = world.people[Role.SELLER]
    login_as(client, person)
    client.post("/profile", data={"language": "xx", "timezone": "UTC", "preferred_channel": "sms"})
    db.expire_all()
    assert db.get(Person, person.id).language == "en"


def test_new_person_gets_the_partners_country_language_and_zone(app, db, world):
    from roles.people import PersonDetails, Placement, save_person
    from roles.permissions import PARTNER_ROLES

    with app.app_context():
        person = save_person(
            db,
            PersonDetails(full_name="Ola Nowak", phone="501 000 777", roles=["seller"]),
            Placement.at(world.partner_b, assignable=PARTNER_ROLES, phone_region="LV"),
        )
    assert (person.phone, person.language, person.timezone) == (
        "+48501000777",
        "pl",
        "Europe/Warsaw",
    )


@pytest.mark.parametrize(
    ("country", "zone"),
    [("FI", "Europe/Helsinki"), ("IL", "Asia/Jerusalem"), ("US", "UTC"), ("ZZ", "UTC")],
)
def test_a_new_persons_zone_is_their_partner_countrys_own_when_it_has_one(app, db, country, zone):
    from roles.people import PersonDetails, Placement, save_person
    from roles.permissions import PARTNER_ROLES
    from tests.builders import make_partner

    partner = make_partner(db, country=country)
    with app.app_context():
        person = save_person(
            db,
            PersonDetails(full_name="Aino Virtanen", phone="+358401234567", roles=["seller"]),
            Placement.at(partner, assignable=PARTNER_ROLES, phone_region="FI"),
        )
    assert person.timezone == zone  # the US spans several zones: UTC until they pick one


def test_people_are_listed_alphabetically_with_their_roles(client, db, world):
    make_person(db, world.partner_a, ["seller", "engineer"], full_name="Aaron Able")
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    body = client.get(f"/partners/{world.partner_a.id}/staff").get_data(as_text=True)
    assert body.index("Aaron Able") < body.index(world.people[Role.SELLER].full_name)
    assert "Seller and Engineer" in body


def test_manager_changes_their_password_and_signs_in_with_the_new_one(client, app, world):
    from tests.builders import PASSWORD

    manager = world.people[Role.PARTNER_MANAGER]
    login_as(client, manager)
    response = client.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "repeat_password": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    fresh = app.test_client()
    signed_in = fresh.post(
        "/sign-in", data={"email": manager.email, "password": "a brand new passphrase"}
    )
    assert signed_in.status_code == 302
    refused = app.test_client().post(
        "/sign-in", data={"email": manager.email, "password": PASSWORD}
    )
    assert refused.status_code == 400


def test_password_change_needs_the_current_password_and_a_matching_repeat(client, db, world):
    manager = world.people[Role.PARTNER_MANAGER]
    before = manager.password_hash
    login_as(client, manager)
    response = client.post(
        "/profile/password",
        data={"current_password": "wrong", "new_password": "x" * 12, "repeat_password": "y" * 12},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The current password is wrong." in text and "The two new passwords differ." in text
    db.expire_all()
    assert db.get(Person, manager.id).password_hash == before


def test_technician_without_email_cannot_set_a_password(client, db, world):
    technician = world.people[Role.TECHNICIAN]
    login_as(client, technician)
    assert 'id="password"' not in client.get("/profile").get_data(as_text=True)
    response = client.post(
        "/profile/password", data={"new_password": "x" * 12, "repeat_password": "x" * 12}
    )
    assert response.status_code == 400
    db.expire_all()
    assert db.get(Person, technician.id).password_hash is None


def test_manager_without_a_password_yet_sets_one_after_phone_sign_in(client, db, world):
    manager = make_person(db, world.partner_a, ["partner_manager"], password=False)
    db.commit()
    login_as(client, manager)
    response = client.post(
        "/profile/password",
        data={"new_password": "first password set", "repeat_password": "first password set"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Person, manager.id).password_hash.startswith("$argon2id$")
