"""Phone numbers typed as they are dialled at home: read in the partner's country, the page
language's country or the one chosen, with an example in that country's format."""

import re

import pytest
from sqlalchemy import select

from messaging.models import OutboxMessage
from roles.models import Person
from roles.phones import example_phone, normalize_phone, page_country
from tests.builders import login_as, make_partner, make_person

#: (page language, the country its page reads, a local mobile number there, its E.164 form)
LOCAL = [
    ("he", "IL", "052-234-5678", "+972522345678"),
    ("pl", "PL", "501 000 003", "+48501000003"),
    ("lv", "LV", "2000 0003", "+37120000003"),
    ("fa", "IR", "۰۹۱۲ ۳۴۵ ۶۷۸۹", "+989123456789"),  # in Persian digits, as a phone types them
]

#: The example each page shows: a mobile number as dialled in its country.
EXAMPLES = {"he": "050-234-5678", "pl": "512 345 678", "lv": "21 234 567", "fa": "0912 345 6789"}


def codes_sent_to(db, phone):
    return db.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.recipient == phone, OutboxMessage.kind == "sign_in_code"
        )
    ).all()


def test_each_language_reads_numbers_in_its_country_and_russian_lets_the_reader_choose():
    assert [page_country(language, "LV") for language in ("he", "fa", "lv", "pl")] == [
        "IL",
        "IR",
        "LV",
        "PL",
    ]
    assert page_country("ru", "LV") is None  # spoken in several countries: the reader chooses
    assert page_country("en", "DE") == "DE"  # the deployment's configured home


@pytest.mark.parametrize(("language", "country", "local", "e164"), LOCAL)
def test_a_local_number_reads_in_its_country(app, language, country, local, e164):
    assert normalize_phone(local, country) == e164
    assert normalize_phone(e164, None) == e164  # with its country code, it reads anywhere
    assert example_phone(country) == EXAMPLES[language]


def test_a_local_number_with_no_country_asks_for_one(app):
    with pytest.raises(ValueError, match="Choose the country of “2000 0003”"):
        normalize_phone("2000 0003", None)


@pytest.mark.parametrize(("language", "country", "local", "e164"), LOCAL)
def test_the_sign_in_page_shows_an_example_from_the_page_languages_country(
    client, language, country, local, e164
):
    page = client.get("/sign-in/phone", headers={"Accept-Language": language})
    body = page.get_data(as_text=True)
    assert re.search(f'<option[^>]* selected value="{country}"', body)
    assert f'placeholder="{EXAMPLES[language]}"' in body
    assert "2000 0000" not in body  # no longer Latvian on every page


def test_a_russian_page_asks_for_the_country_and_offers_a_choice(client):
    body = client.get("/sign-in/phone", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert re.search('<option[^>]* selected value=""', body)
    for country in ("LV", "IL", "PL", "RU"):
        assert f'value="{country}"' in body
    assert 'data-example="050-234-5678"' in body  # each country carries its own example


@pytest.mark.parametrize(("language", "country", "local", "e164"), LOCAL)
def test_a_local_number_signs_in_on_its_languages_page(
    client, db, world, language, country, local, e164
):
    person = make_person(db, world.partner_a, phone=e164, language=language)
    db.commit()
    response = client.post(
        "/sign-in/phone", data={"phone": local}, headers={"Accept-Language": language}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(codes_sent_to(db, person.phone)) == 1


def test_a_local_number_signs_in_in_the_country_chosen(client, db, world):
    # A Persian speaker in Israel, and a Russian speaker in Latvia.
    reader = make_person(db, world.partner_a, phone="+972542345679", language="fa")
    seller = make_person(db, world.partner_a, phone="+37120000003", language="ru")
    db.commit()
    for person, language, country, local in (
        (reader, "fa", "IL", "054-234-5679"),
        (seller, "ru", "LV", "2000 0003"),
    ):
        response = client.post(
            "/sign-in/phone",
            data={"country": country, "phone": local},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 302
        assert len(codes_sent_to(db, person.phone)) == 1


def test_a_russian_page_without_a_country_asks_for_one_and_sends_nothing(client, db):
    response = client.post(
        "/sign-in/phone",
        data={"country": "", "phone": "2000 0003"},
        headers={"Accept-Language": "ru"},
    )
    assert response.status_code == 400
    assert db.scalar(select(OutboxMessage.id)) is None


def test_an_invalid_number_gets_the_clear_message_with_the_countrys_example(client, db):
    response = client.post(
        "/sign-in/phone", data={"phone": "052-234"}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    response = client.post(
        "/sign-in/phone",
        data={"country": "IL", "phone": "052-234"},
        headers={"Accept-Language": "en"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "“052-234” is not a valid phone number in Israel" in body
    assert "050-234-5678" in body and 'placeholder="050-234-5678"' in body
    response = client.post(
        "/sign-in/phone", data={"phone": "+48 12"}, headers={"Accept-Language": "pl"}
    )
    assert response.status_code == 400
    assert db.scalar(select(OutboxMessage.id)) is None


def test_staff_forms_read_numbers_in_the_partners_country_and_show_its_example(client, db, world):
    warsaw = make_partner(db, name="Warszawa", country="PL")
    db.commit()
    login_as(client, world.people["channel_manager"])
    form = client.get(f"/partners/{warsaw.id}/staff/new").get_data(as_text=True)
    assert 'placeholder="512 345 678"' in form
    response = client.post(
        f"/partners/{warsaw.id}/staff/new",
        data={
            "full_name": "Tomasz Nowak",
            "phone": "501 000 003",
            "roles": ["technician"],
            "language": "pl",
            "preferred_channel": "sms",
            "active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    person = db.scalar(select(Person).where(Person.full_name == "Tomasz Nowak"))
    assert person.phone == "+48501000003" and person.partner_id == warsaw.id


def test_a_staff_import_reads_numbers_in_the_partners_country(app, db, world):
    from roles.people import Placement
    from roles.permissions import PARTNER_ROLES
    from roles.staff_import import import_staff

    haifa = make_partner(db, name="Haifa", country="IL")
    placement = Placement.at(haifa, assignable=PARTNER_ROLES, phone_region="LV")
    data = "full_name,phone,roles\nיוסי כהן,052-234-5678,technician\nבלי,052-234,technician\n"
    with app.test_request_context():
        report = import_staff(db, data.encode(), placement)
        refusals = " ".join(str(error) for row in report.rejected for error in row.errors)
    assert "050-234-5678" in refusals
    assert [row.full_name for row in report.imported] == ["יוסי כהן"]
    person = db.scalar(select(Person).where(Person.full_name == "יוסי כהן"))
    assert person.phone == "+972522345678"
    assert len(report.rejected) == 1
