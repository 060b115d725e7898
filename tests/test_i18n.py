"""Six languages: complete catalogs, right-to-left Hebrew and Persian, Babel formatting."""

import re
from datetime import UTC, date, datetime

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_login import login_user

from core.cli import extract_messages
from core.config import LANGUAGES
from core.i18n import force_timezone, format_date, format_datetime
from roles.permissions import Role
from tests.builders import login_as, make_person
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def extracted_ids(tmp_path_factory):
    """Message ids as the code and templates hold them right now."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    extract_messages(pot)
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_is_complete_and_current(language, extracted_ids):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    ids = {m.id for m in catalog if m.id}
    assert extracted_ids - ids == set(), "run `flask --app app translate update` and translate"
    untranslated = [
        m.id
        for m in catalog
        if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert untranslated == []
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert [(m.id, errors) for m, errors in catalog.check()] == []


@pytest.mark.parametrize(
    ("language", "direction"),
    [
        ("he", "rtl"),
        ("fa", "rtl"),
        ("lv", "ltr"),
        ("pl", "ltr"),
        ("ru", "ltr"),
        ("en", "ltr"),
    ],
)
def test_pages_set_language_and_direction(client, language, direction):
    response = client.get("/sign-in/phone", headers={"Accept-Language": f"{language},en;q=0.5"})
    assert f'<html lang="{language}" dir="{direction}">' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", "Войти"),
        ("he", "כניסה"),
        ("fa", "ورود"),
        ("pl", "Zaloguj"),
        ("lv", "Pieteikties"),
    ],
)
def test_sign_in_page_is_translated(client, language, expected):
    response = client.get("/sign-in/phone", headers={"Accept-Language": language})
    assert expected in response.get_data(as_text=True)


def test_persons_own_language_wins_over_the_browser(client, db, world):
    person = make_person(db, world.partner_a, ["technician"], language="fa")
    db.commit()
    login_as(client, person)
    body = client.get("/me", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in body


def test_visitor_picks_a_language_before_signing_in(client):
    response = client.post("/language?next=/sign-in", data={"language": "he"})
    assert response.location == "/sign-in"
    assert 'lang="he" dir="rtl"' in client.get("/sign-in").get_data(as_text=True)


def test_persian_numbers_use_persian_digits(client, db, world):
    person = make_person(db, None, ["channel_manager"], language="fa")
    db.commit()
    login_as(client, person)
    body = client.get("/partners/").get_data(as_text=True)
    assert re.search(r"<td data-label=\"[^\"]+\">۵</td>", body)  # five staff, Persian digits
    assert "۲ شریک تجاری" in body  # the count of partners, two


def test_dates_are_formatted_for_the_readers_language(client, db, world):
    person = make_person(db, world.partner_a, ["technician"], language="lv")
    db.commit()
    login_as(client, person)
    body = client.get("/me").get_data(as_text=True)
    latvian_months = (
        "janvāris",
        "februāris",
        "marts",
        "aprīlis",
        "maijs",
        "jūnijs",
        "jūlijs",
        "augusts",
        "septembris",
        "oktobris",
        "novembris",
        "decembris",
    )
    assert any(month in body for month in latvian_months)


def test_sign_in_code_sms_is_in_the_recipients_language(client, db, world):
    from sqlalchemy import select

    from messaging.models import OutboxMessage

    person = world.people[Role.TECHNICIAN]
    person.language = "he"
    db.commit()
    client.post("/sign-in/phone", data={"phone": person.phone})
    body = db.scalar(select(OutboxMessage.body).where(OutboxMessage.person_id == person.id))
    assert "PartnerLift" in body and any("\u0590" <= ch <= "\u05ff" for ch in body)


@pytest.mark.parametrize(
    ("value", "format", "expected"),
    [
        (date(2026, 12, 1), "medium", "۱۰ آذر ۱۴۰۵"),
        (date(2026, 12, 1), "short", "۱۴۰۵/۰۹/۱۰"),
        (date(2026, 3, 21), "long", "۱ فروردین ۱۴۰۵"),  # Nowruz: the year turns
        (date(2026, 3, 20), "long", "۲۹ اسفند ۱۴۰۴"),
    ],
)
def test_persian_readers_see_solar_hijri_dates(app, value, format, expected):
    with app.test_request_context(), force_locale("fa"):
        assert format_date(value, format) == expected


def test_a_persian_readers_times_are_in_their_zone_and_calendar(app, db, world):
    person = make_person(db, world.partner_a, ["technician"], language="fa")
    person.timezone = "Asia/Tehran"
    db.flush()
    # 21:30 UTC on 20 March is 01:00 on 21 March in Tehran: already the new year there.
    moment = datetime(2026, 3, 20, 21, 30, tzinfo=UTC)
    with app.test_request_context():
        login_user(person)
        assert format_datetime(moment, "short") == "۱۴۰۵/۰۱/۰۱، ۰۱:۰۰"
        assert format_date(moment, "long") == "۱ فروردین ۱۴۰۵"


def test_a_message_for_someone_reads_on_their_clock_whoever_renders_it(app, db, world):
    """A reviewer in New York approves the claim of a technician in Jerusalem: the
    technician's message is rendered in the reviewer's request, on the technician's clock."""
    from messaging.compose import render_for

    reviewer = world.people[Role.CHANNEL_MANAGER]
    reviewer.timezone = "America/New_York"
    technician = make_person(db, world.partner_a, ["technician"], timezone="Asia/Jerusalem")
    moment = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)  # 00:30 on 5 December in Jerusalem
    with app.test_request_context():
        login_user(reviewer)
        assert format_datetime(moment, "short") == "12/4/26, 5:30\u202fPM"
        with force_timezone(technician.timezone):
            assert format_datetime(moment, "short") == "12/5/26, 12:30\u202fAM"
        assert format_datetime(moment, "short") == "12/4/26, 5:30\u202fPM"
        message = render_for(
            technician, "points_expiring", "sms", points=5, expires_on=moment, url=""
        )
        assert format_date(moment) == "Dec 4, 2026"  # the reviewer's page is still theirs
    assert message.body.startswith("5 points expire on 12/5/26.")


def test_other_readers_keep_the_gregorian_calendar(app):
    with app.test_request_context(), force_locale("ru"):
        assert format_date(date(2026, 12, 1), "long") == "1 декабря 2026\u202fг."


@pytest.mark.parametrize(("language", "marked"), [("he", True), ("fa", True), ("pl", False)])
def test_a_phone_number_in_a_right_to_left_sentence_keeps_its_order(client, language, marked):
    body = client.post(
        "/sign-in/phone",
        data={"country": "IL", "phone": "+972 52-234"},
        headers={"Accept-Language": language},
    ).get_data(as_text=True)
    assert ("\u2066+972 52-234\u2069" in body) is marked
    assert "+972 52-234" in body
