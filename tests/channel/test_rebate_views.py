"""The purchase and rebate pages: purchases and rates in, a period closed, statements out."""

import io
from datetime import timedelta

import pytest

from channel.programs import launch_program
from channel.rebate_models import period_bounds
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_partner,
    make_product,
    make_program,
    offer,
    utc_today,
)
from tests.channel.test_rebates import months_ago

TODAY = utc_today()
PERIOD = months_ago(1)
START, END = period_bounds(PERIOD)


@pytest.fixture
def rebates(db, world):
    """Partner A on a 2% volume rebate in EUR; partner B approved nothing."""
    make_product(db, make_group(db, "boilers"), "BX-24")
    program = make_program(db, partners=[world.partner_a], days=(-200, 200), name="Sell-in 2026")
    add_scheme(db, program, [], ("volume_rebate", {"default_percent": "2"}), company=True)
    manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, manager)
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=manager.id)
    db.commit()
    return program


def upload(client, url, text: str, name="file.csv"):
    return client.post(
        url,
        data={"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def purchases(world, day) -> str:
    legal_id = world.partner_a.legal_id
    return (
        "partner,invoice_number,line,date,sku,quantity,amount,currency,serials\n"
        f"{legal_id},INV-1,1,{day},BX-24,2,1000.00,EUR,SN-A1 SN-A2\n"
        f"{legal_id},INV-1,2,{day},BX-24,1,400.00,PLN,\n"
        f"{legal_id},INV-1,3,{day},NOPE,1,1.00,EUR,\n"
    )


def test_a_channel_manager_imports_purchases_and_rates_and_closes_a_period(
    client, db, world, rebates
):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    day = START + timedelta(days=2)
    page = upload(client, "/purchases/import", purchases(world, day))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        " ".join(text.split()).count(
            "2 lines imported. 0 lines were already imported. 1 line not imported."
        )
        == 1
    )
    assert "2 serial numbers registered or moved." in text
    assert "Unknown product “NOPE”." in text and "No exchange rate for PLN" in text
    rates = upload(client, "/purchases/rates", f"Date,PLN\n{day},4.0000\n")
    assert "1 rate added. 0 rates were already known. 0 lines refused." in " ".join(
        rates.get_data(as_text=True).split()
    )
    closed = client.post("/rebates", data={"period": PERIOD}, follow_redirects=True)
    assert "1 statement written. 0 statements were already closed." in closed.get_data(as_text=True)
    listing = client.get("/rebates").get_data(as_text=True)
    assert PERIOD in listing and "€22.00" in listing  # 2% of 1,000 EUR + 100 EUR
    memos = client.get(f"/rebates/{PERIOD}/credit-memos.csv").get_data(as_text=True)
    header, row = memos.strip().splitlines()
    assert (
        header == "reference,partner_legal_id,partner_country,partner_name,period,amount,currency"
    )
    assert row.endswith(f",{PERIOD},22.00,EUR") and world.partner_a.legal_id in row


def test_an_unreadable_file_is_refused_at_its_field_and_nothing_is_imported(
    client, db, world, rebates
):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = upload(client, "/purchases/import", "partner,sku\nX,Y\n")
    assert page.status_code == 400
    assert "The header row lacks the columns" in page.get_data(as_text=True)
    empty = client.post("/purchases/import", data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "Choose a CSV or XLSX file." in empty.get_data(as_text=True)


def test_a_period_not_over_is_refused_with_its_reason(client, db, world, rebates):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    page = client.post("/rebates", data={"period": f"{TODAY.year}-{TODAY.month:02d}"})
    assert page.status_code == 400 and "is not over yet" in page.get_data(as_text=True)


def test_the_partner_manager_sees_the_accrual_and_reads_only_its_own_statements(
    client, db, world, rebates
):
    from channel.purchase_import import import_purchases, read_purchases
    from channel.rebates import close_period

    other = make_partner(db, legal_id="LV-OTHER-BUYER")
    program_b = make_program(db, partners=[other], days=(-200, 200), name="Other")
    add_scheme(db, program_b, [], ("volume_rebate", {"default_percent": "1"}), company=True)
    offer(db, program_b, world.people[Role.CHANNEL_MANAGER])
    from tests.builders import make_person

    approve(db, program_b, other, make_person(db, other, ["partner_manager"]))
    launch_program(db, program_b, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    lines = (
        "partner,invoice_number,line,date,sku,quantity,amount,currency\n"
        f"{world.partner_a.legal_id},A-1,1,{START + timedelta(days=1)},BX-24,1,500.00,EUR\n"
        f"LV-OTHER-BUYER,B-1,1,{START + timedelta(days=1)},BX-24,1,500.00,EUR\n"
        f"{world.partner_a.legal_id},A-2,1,{TODAY},BX-24,1,250.00,EUR\n"
    )
    import_purchases(db, list(read_purchases(lines.encode())), today=TODAY)
    statements = close_period(db, PERIOD, today=TODAY).statements
    db.commit()
    mine = next(s for s in statements if s.partner_id == world.partner_a.id)
    theirs = next(s for s in statements if s.partner_id == other.id)
    login_as(client, world.people[Role.PARTNER_MANAGER])
    page = client.get("/rebates/mine").get_data(as_text=True)
    assert "Sell-in 2026" in page and "€5.00 earned so far" in page
    dashboard = client.get(f"/partners/{world.partner_a.id}/dashboard").get_data(as_text=True)
    assert "Rebates on what we buy" in dashboard and "€5.00 earned so far" in dashboard
    assert mine.reference in client.get(f"/rebates/statements/{mine.id}").get_data(as_text=True)
    assert client.get(f"/rebates/statements/{theirs.id}").status_code == 404
    csv = client.get(f"/rebates/statements/{mine.id}.csv").get_data(as_text=True)
    assert ",A-1,1,BX-24,1,500.00,EUR,1.000000,500.00,EUR,volume_rebate,,2.00,10.00," in csv
    pdf = client.get(f"/rebates/statements/{mine.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/rebates").status_code == 403


def test_a_statement_reads_right_to_left_in_hebrew_as_a_pdf(client, db, world, rebates):
    from channel.purchase_import import import_purchases, read_purchases
    from channel.rebates import close_period

    lines = (
        "partner,invoice_number,line,date,sku,quantity,amount,currency\n"
        f"{world.partner_a.legal_id},A-1,1,{START + timedelta(days=1)},BX-24,1,500.00,EUR\n"
    )
    import_purchases(db, list(read_purchases(lines.encode())), today=TODAY)
    [statement] = close_period(db, PERIOD, today=TODAY).statements
    manager = world.people[Role.PARTNER_MANAGER]
    manager.language = "he"
    db.commit()
    login_as(client, manager)
    pdf = client.get(f"/rebates/statements/{statement.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(pdf.data) > 2000


def test_field_staff_see_no_rebate_pages(client, db, world, rebates):
    login_as(client, world.people[Role.TECHNICIAN])
    assert client.get("/rebates/mine").status_code == 403
    assert client.get("/purchases/import").status_code == 403


def test_only_the_manufacturer_reads_a_period_and_its_credit_memos(client, db, world, rebates):
    from channel.purchase_import import import_purchases, read_purchases
    from channel.rebates import close_period

    lines = (
        "partner,invoice_number,line,date,sku,quantity,amount,currency\n"
        f"{world.partner_a.legal_id},A-1,1,{START + timedelta(days=1)},BX-24,1,500.00,EUR\n"
    )
    import_purchases(db, list(read_purchases(lines.encode())), today=TODAY)
    [statement] = close_period(db, PERIOD, today=TODAY).statements
    db.commit()
    urls = (f"/rebates/{PERIOD}", f"/rebates/{PERIOD}/credit-memos.csv")
    for role in (Role.ADMIN, Role.CHANNEL_MANAGER):
        login_as(client, world.people[role])
        assert [client.get(url).status_code for url in urls] == [200, 200]
        assert client.get("/rebates/2001-01").status_code == 404
    for role in (Role.PARTNER_MANAGER, Role.TECHNICIAN, Role.SELLER):
        login_as(client, world.people[role])
        assert [client.get(url).status_code for url in urls] == [403, 403]
    login_as(client, world.people[Role.TECHNICIAN])
    assert client.get(f"/rebates/statements/{statement.id}").status_code == 404
    client.post("/sign-out")
    assert client.get(f"/rebates/statements/{statement.id}").status_code == 302
    assert client.get(urls[0]).status_code == 302
