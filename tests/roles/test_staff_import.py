import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from roles.models import Person
from roles.permissions import Role
from roles.staff_import import UnreadableStaffFile, read_rows
from tests.builders import login_as
from tests.hostile import fuzz, hostile_import, spreadsheet_files


def upload(client, partner, content: bytes, name="staff.csv"):
    return client.post(
        f"/partners/{partner.id}/staff/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def count_people(db):
    return db.scalar(select(func.count(Person.id)))


GOOD_AND_BAD = """full_name,phone,roles,email,language
Jānis Bērziņš,+37126000001,technician,,lv
Anna Kowalska,+48 501 000 999,seller;engineer,anna@example.com,pl
No Phone,,seller,,en
Bad Role,+37126000003,wizard,,en
Twin,+37126000001,seller,,en
Wrong Language,+37126000004,seller,,xx
,+37126000005,seller,,en
Taken,{taken},seller,,en
"""


def test_valid_rows_are_imported_and_each_bad_row_is_listed_with_its_reason(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    content = GOOD_AND_BAD.format(taken=world.people[Role.SELLER].phone).encode()
    response = upload(client, world.partner_a, content)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert count_people(db) == before + 2
    anna = db.scalar(select(Person).where(Person.email == "anna@example.com"))
    assert anna.roles == {Role.SELLER, Role.ENGINEER} and anna.language == "pl"
    assert "2 people imported." in text and "6 rows rejected." in text
    for reason in (
        "Enter a phone number.",
        "Unknown role “wizard”.",
        "Same phone number as line 2.",
        "Unknown language “xx”",
        "Enter the person&#39;s name.",
        "Someone else already uses the phone number",
    ):
        assert reason in text, reason


def test_a_row_with_a_nul_character_is_rejected_and_the_others_imported(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    content = "full_name,phone,roles\nJānis\x00,+37126000001,seller\nAnna,+37126000002,seller\n"
    response = upload(client, world.partner_a, content.encode())
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert count_people(db) == before + 1
    assert "1 row rejected." in text and "NUL character" in text


def test_semicolon_separated_excel_export_with_bom_is_read(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    content = "\ufefffull_name;phone;roles\nPiotr Zieliński;+48501000555;engineer\n".encode()
    response = upload(client, world.partner_b, content)
    assert response.status_code == 200
    person = db.scalar(select(Person).where(Person.phone == "+48501000555"))
    assert person.partner_id == world.partner_b.id and person.full_name == "Piotr Zieliński"


def test_file_missing_required_columns_imports_nothing(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    response = upload(client, world.partner_a, b"name,telephone\nA,+37126000001\n")
    assert response.status_code == 400
    assert "lacks the columns full_name, phone, roles" in response.get_data(as_text=True)
    assert count_people(db) == before


def test_file_naming_a_column_twice_imports_nothing(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    data = b"full_name,phone,roles,phone\nAnna,+37126000001,seller,+37126000002\n"
    response = upload(client, world.partner_a, data)
    assert response.status_code == 400
    assert "names the columns phone more than once" in response.get_data(as_text=True)
    assert count_people(db) == before


def test_non_utf8_file_imports_nothing(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    content = "full_name,phone,roles\nŁukasz,+48501000556,seller\n".encode("cp1250")
    response = upload(client, world.partner_a, content)
    assert response.status_code == 400
    assert "not UTF-8" in response.get_data(as_text=True)
    assert count_people(db) == before


def test_broken_csv_imports_nothing(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    content = b'full_name,phone,roles\n"Unclosed,+37126000007,seller\nOk,+37126000008,seller\n'
    response = upload(client, world.partner_a, content)
    assert response.status_code == 400
    assert "not valid CSV" in response.get_data(as_text=True)
    assert count_people(db) == before


def test_oversized_upload_gets_a_clear_message_and_imports_nothing(client, app, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    before = count_people(db)
    row = b"Someone,+37126000009,seller\n"
    content = b"full_name,phone,roles\n" + row * (app.config["MAX_CONTENT_LENGTH"] // len(row) + 1)
    response = upload(client, world.partner_a, content)
    assert response.status_code == 413
    assert "Files up to 8 MB are accepted. Nothing was saved" in response.get_data(as_text=True)
    assert count_people(db) == before


def test_no_file_chosen_gets_a_message(client, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        f"/partners/{world.partner_a.id}/staff/import", data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "Choose a CSV file." in response.get_data(as_text=True)


def test_importing_the_same_file_twice_adds_nobody_the_second_time(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    content = b"full_name,phone,roles\nRepeat Person,+37126000010,seller\n"
    upload(client, world.partner_a, content)
    before = count_people(db)
    response = upload(client, world.partner_a, content)
    assert count_people(db) == before
    assert "Someone else already uses the phone number" in response.get_data(as_text=True)


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_reading_any_bytes_either_gives_rows_or_a_clear_refusal(data):
    try:
        rows = read_rows(data)
    except UnreadableStaffFile as refusal:
        assert str(refusal.args[0])
    else:
        assert rows and all(isinstance(line, int) for line, _ in rows)


def test_a_hostile_staff_file_is_refused_whole_or_imports_exactly_its_good_rows(app, db, world):
    from roles.people import Placement
    from roles.permissions import assignable_roles
    from roles.staff_import import import_staff

    placement = Placement.at(
        world.partner_a,
        assignable=assignable_roles(world.people[Role.CHANNEL_MANAGER].roles),
        phone_region="LV",
    )
    good = [
        {
            "full_name": f"Good {n}",
            "phone": f"+3712900000{n}",
            "roles": "seller",
            "email": "",
            "language": "lv",
            "timezone": "Europe/Riga",
            "preferred_channel": "sms",
        }
        for n in (1, 2, 3)
    ]
    # Hostile rows are made from the third, so that none shares a good row's phone number.
    good, templates = good[:2], good[2:]

    @fuzz(60)
    @given(spreadsheet_files(list(good[0]), good, templates=templates))
    def check(file):
        data, readable = file
        with hostile_import(db, readable, UnreadableStaffFile) as run, app.test_request_context():
            report, before = run(lambda: import_staff(db, data, placement))
            if report is None:
                return
            assert count_people(db) - before["people"] == len(report.imported)
            assert all(outcome.errors for outcome in report.rejected)
            if readable:
                names = {p.full_name for p in db.scalars(select(Person))}
                assert {"Good 1", "Good 2"} <= names

    check()
