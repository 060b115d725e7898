"""Importing sell-out data: matched lines earn, the rest is reported, and nothing twice."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from channel.claims import Claim
from channel.postings import balance_of, person_account
from channel.programs import launch_program
from channel.sales_import import UnreadableSalesFile, import_sales, read_sales
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_product,
    make_program,
    offer,
)

TODAY = date.today()


@pytest.fixture
def program(db, world):
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a])
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    return program


def csv_file(world, extra=""):
    seller = world.people[Role.SELLER]
    return (
        "invoice_number,line,date,sku,quantity,seller\n"
        f"INV-1,1,{TODAY},BX-24,2,{seller.phone}\n"
        f"INV-1,2,{TODAY},bx-24,1,{seller.phone.replace('+371', '')}\n"
        f"INV-2,1,{TODAY},NOPE,1,{seller.phone}\n"
        f"INV-3,1,{TODAY},BX-24,1,+37129999999\n"
        f"INV-4,1,{TODAY + timedelta(days=3)},BX-24,1,{seller.phone}\n"
        f"INV-5,x,{TODAY},BX-24,1,{seller.phone}\n" + extra
    ).encode()


def run(db, data):
    return import_sales(db, read_sales(data), region="LV", today=TODAY)


def test_matched_lines_become_approved_claims_and_the_rest_is_reported(db, world, program):
    report = run(db, csv_file(world))
    assert (report.imported, report.already_imported) == (2, 0)
    assert [line for line, _ in report.rejected] == [4, 5, 6, 7]
    reasons = " ".join(reason for _, reason in report.rejected)
    assert (
        "Unknown product" in reasons
        and "No active partner staff" in reasons
        and "future" in reasons
    )
    seller = world.people[Role.SELLER]
    assert balance_of(db, person_account(seller.id)) == (30, 0)
    assert db.scalar(select(func.count(Claim.id)).where(Claim.status == "approved")) == 2


def test_importing_the_same_file_again_changes_nothing(db, world, program):
    run(db, csv_file(world))
    again = run(db, csv_file(world))
    assert (again.imported, again.already_imported, len(again.rejected)) == (0, 2, 4)
    assert balance_of(db, person_account(world.people[Role.SELLER].id)) == (30, 0)


def test_xlsx_files_are_read_too(db, world, program):
    book = Workbook()
    sheet = book.active
    sheet.append(["Invoice_Number", "Line", "Date", "SKU", "Quantity", "Seller"])
    sheet.append(["X-1", 1, TODAY, "BX-24", 4, world.people[Role.SELLER].phone])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(db, buffer.getvalue())
    assert report.imported == 1
    assert balance_of(db, person_account(world.people[Role.SELLER].id)) == (40, 0)


@pytest.mark.parametrize(
    "data",
    [
        b"invoice,sku\nA,B\n",
        "invoice_number;line\n".encode("utf-16"),
        b"PK\x03\x04 not really a workbook",
    ],
)
def test_an_unreadable_file_imports_nothing(db, world, program, data):
    with pytest.raises(UnreadableSalesFile):
        run(db, data)
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_the_import_page_shows_the_report(client, db, world, program):
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/claims/import",
        data={"file": (io.BytesIO(csv_file(world)), "sales.csv")},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 imported, 0 already imported, 4 not imported." in text and "Unknown product" in text


def test_the_import_command_reports_and_exits_2_on_rejected_lines(
    app, db, world, program, tmp_path
):
    db.commit()
    path = tmp_path / "sales.csv"
    path.write_bytes(csv_file(world))
    result = app.test_cli_runner().invoke(args=["import-sales", str(path)])
    assert result.exit_code == 2
    assert "2 imported, 0 already imported, 4 rejected" in result.output


def test_a_bulk_import_pays_exactly_what_line_by_line_recording_pays_caps_included(db, world):
    from channel.ledger import LedgerEntry
    from channel.postings import check_balances

    group = make_group(db, "capped", points=10)
    make_product(db, group, "CAP-1")
    program = make_program(
        db, partners=[world.partner_a], cap_per_person_month=25, budget_points=1000
    )
    add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "capped"}))
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    seller = world.people[Role.SELLER]
    rows = "".join(f"C-{n},1,{TODAY},CAP-1,{q},{seller.phone}\n" for n, q in enumerate((1, 2, 1)))
    report = run(db, f"invoice_number,line,date,sku,quantity,seller\n{rows}".encode())
    assert report.imported == 3
    points = db.scalars(
        select(LedgerEntry.points)
        .where(LedgerEntry.person_id == seller.id)
        .order_by(LedgerEntry.id)
    ).all()
    assert points == [10, 15]  # the second line capped at the month's 25, the third pays nothing
    capped = db.scalar(select(LedgerEntry).where(LedgerEntry.points == 15))
    assert capped.reason["capped_by"] == "person_month" and capped.bucket == "pending"
    assert check_balances(db) == []
    # Line by line afterwards sees what the bulk import spent.
    from tests.builders import record

    assert record(db, "sale", seller, sku="CAP-1", quantity=1) == []
