"""Importing sell-out data: matched lines earn, the rest is reported, and nothing twice."""

import io
import re
import time
from datetime import timedelta

import pytest
from hypothesis import given
from openpyxl import Workbook
from sqlalchemy import func, select

from channel.claim_models import Claim
from channel.claim_rollups import check_claim_months
from channel.person_months import PersonMonth, check_person_months
from channel.postings import balance_of, check_balances, person_account
from channel.programs import launch_program
from channel.sales_import import UnreadableSalesFile, import_sales, read_sales
from core.zones import noon_utc
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_product,
    make_program,
    offer,
    record,
    utc_today,
)
from tests.hostile import fuzz, hostile_import, spreadsheet_files
from tests.spreadsheets import near_empty_rows, shared_strings_bomb
from tests.statements import statements_sent

TODAY = utc_today()
#: The moment the imports run: noon UTC, the same day in every test seller's zone.
NOW = noon_utc(TODAY)


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
    return import_sales(db, read_sales(data), now=NOW)


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


def test_a_batch_in_memory_matches_its_sellers_as_a_file_does(db, world, program):
    # An API call's lines come as a list: only the sellers it names are looked up.
    seller = world.people[Role.SELLER]
    seller.email = "seller.a@example.com"
    db.commit()
    extra = f"INV-6,1,{TODAY},BX-24,1,Seller.A@Example.com\nINV-7,1,{TODAY},BX-24,1,staff@nowhere\n"
    rows = list(read_sales(csv_file(world, extra)))
    report = import_sales(db, rows, now=NOW)
    assert (report.imported, report.already_imported) == (3, 0)
    assert [line for line, _ in report.rejected] == [4, 5, 6, 7, 9]
    assert balance_of(db, person_account(seller.id)) == (40, 0)


HEADER = "invoice_number,line,date,sku,quantity,seller\n"


def _seller_with_30_of_a_partner_cap_of_50(db, world):
    """A program paying 10 points a boiler, capped at 50 for partner A, and an earlier import
    that paid its seller 30 of them."""
    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    program = make_program(db, partners=[world.partner_a], cap_per_partner=50)
    add_scheme(
        db, program, ["seller"], ("unit_sold", {"product_group": "boilers", "points_per_unit": 10})
    )
    offer(db, program, world.people[Role.CHANNEL_MANAGER])
    approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    seller = world.people[Role.SELLER]
    run(db, (HEADER + f"INV-1,1,{TODAY},BX-24,3,{seller.phone}\n").encode())
    db.commit()
    return seller


def test_a_partner_cap_counts_earlier_imports_and_holds_across_chunks(db, world, monkeypatch):
    seller = _seller_with_30_of_a_partner_cap_of_50(db, world)
    monkeypatch.setattr("channel.sales_import.CHUNK", 2)
    lines = "".join(f"INV-2,{n},{TODAY},BX-24,1,{seller.phone}\n" for n in range(1, 6))
    report = run(db, (HEADER + lines).encode())
    assert report.imported == 5
    assert balance_of(db, person_account(seller.id)) == (50, 0)


def test_a_chunk_computed_while_the_one_before_collided_is_computed_again(db, world, monkeypatch):
    """The second chunk is computed while the first is written. When the first collides with
    a concurrent import (which took its first line, earning nothing) and is redone line by
    line, the second must not keep what it counted on: the cap leaves room for one more."""
    from channel import sales_import
    from channel.claim_models import ClaimKind, ClaimStatus

    seller = _seller_with_30_of_a_partner_cap_of_50(db, world)
    real_write, calls = sales_import.write_chunk, []

    def first_collides(session, rows):
        calls.append(len(rows.claims))
        if len(calls) > 1:
            return real_write(session, rows)
        with session.begin_nested():  # the concurrent import's claim of line 1, unpaid
            session.add(
                Claim(
                    person_id=seller.id,
                    partner_id=world.partner_a.id,
                    kind=ClaimKind.SALE,
                    status=ClaimStatus.REJECTED,
                    occurred_on=TODAY,
                    invoice_number="INV-2",
                    source_key=f"sales:{world.partner_a.id}:INV-2:1",
                )
            )
        raise sales_import.IntegrityError("taken", None, Exception())

    monkeypatch.setattr(sales_import, "write_chunk", first_collides)
    monkeypatch.setattr(sales_import, "CHUNK", 2)
    lines = "".join(f"INV-2,{n},{TODAY},BX-24,1,{seller.phone}\n" for n in range(1, 5))
    report = run(db, (HEADER + lines).encode())
    assert calls == [2, 2]  # the second chunk is written as computed again
    assert (report.imported, report.already_imported) == (3, 1)
    # 30 before; line 2 (one by one) and line 3 pay 10 each; the cap stops line 4. Kept as
    # first computed (counting line 1 paid), the second chunk would have paid nothing.
    assert balance_of(db, person_account(seller.id)) == (50, 0)
    assert check_balances(db) == []
    assert check_person_months(db) == []


def test_a_file_is_written_in_chunks_that_start_small_and_double(db, world, monkeypatch):
    """The first chunk is computed with no write beside it: it is small, and the chunks grow
    to their full size, each earning as one chunk of the whole file would."""
    from channel import sales_import

    seller = _seller_with_30_of_a_partner_cap_of_50(db, world)
    real_write, calls = sales_import.write_chunk, []

    def write(session, rows):
        calls.append(len(rows.claims))
        return real_write(session, rows)

    monkeypatch.setattr(sales_import, "write_chunk", write)
    monkeypatch.setattr(sales_import, "FIRST_CHUNK", 2)
    monkeypatch.setattr(sales_import, "CHUNK", 8)
    lines = "".join(f"INV-2,{n},{TODAY},BX-24,1,{seller.phone}\n" for n in range(1, 26))
    report = run(db, (HEADER + lines).encode())
    assert calls == [2, 4, 8, 8, 3]
    assert report.imported == 25
    assert balance_of(db, person_account(seller.id)) == (50, 0)  # the partner's cap holds
    assert check_balances(db) == []
    assert check_person_months(db) == []


def test_a_file_reads_its_programs_caps_and_takes_their_locks_once(db, world, monkeypatch):
    """Three programs pay the seller, over three chunks: the budget and caps are read in one
    statement a kind of total (the programs', the partners', the people's months) for all
    three programs, and each program's row is locked once for the file."""
    from channel import sales_import

    group = make_group(db, "boilers", points=10)
    make_product(db, group, "BX-24")
    for name in ("One", "Two", "Three"):
        program = make_program(
            db, partners=[world.partner_a], name=name, budget_points=1000, cap_per_partner=500
        )
        add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "boilers"}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
    monkeypatch.setattr(sales_import, "CHUNK", 1)
    seller = world.people[Role.SELLER]
    lines = "".join(f"INV-9,{n},{TODAY},BX-24,1,{seller.phone}\n" for n in range(1, 4))
    with statements_sent(db.get_bind().engine) as sent:
        report = run(db, (HEADER + lines).encode())
    assert report.imported == 3
    assert balance_of(db, person_account(seller.id)) == (3 * 3 * 10, 0)
    totals = (
        "SELECT ledger_months.program_id, sum(",
        "SELECT ledger_months.program_id, ledger_months.partner_id, sum(",
        "SELECT ledger_entries.program_id, ledger_entries.person_id, ledger_entries.month, sum(",
    )
    assert [sum(s.startswith(kind) for s in sent) for kind in totals] == [1, 1, 1]
    # (FOR UPDATE on PostgreSQL; SQLite's write lock covers the whole database.)
    locks = [s for s in sent if " ".join(s.split()).startswith("SELECT programs.id FROM programs")]
    assert len(locks) == 3


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


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_column_named_twice_is_refused_whole_naming_it(db, world, program, kind):
    seller = world.people[Role.SELLER].phone
    header = ["invoice_number", "line", "date", "sku", "quantity", "seller", " Quantity "]
    row = ["D-1", "1", TODAY.isoformat(), "BX-24", "2", seller, "200"]
    if kind == "csv":
        data = (",".join(header) + "\n" + ",".join(row) + "\n").encode()
    else:
        book = Workbook()
        book.active.append(header)
        book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        data = buffer.getvalue()
    with pytest.raises(UnreadableSalesFile) as refusal:
        run(db, data)
    assert "names the columns quantity more than once" in str(refusal.value.args[0])
    assert db.scalar(select(func.count(Claim.id))) == 0


@pytest.mark.parametrize(
    ("invoice", "line", "quantity", "reason"),
    [
        ("X" * 65, "1", "1", "at most 64 characters"),
        ("A\x00", "1", "1", "NUL character"),
        ("B", "1", "99999999999999", "at most 100000 units"),
        ("C", "9" * 200, "1", "at most 1000000"),
    ],
)
def test_a_line_no_claim_can_hold_is_reported_and_the_rest_imported(
    db, world, program, invoice, line, quantity, reason
):
    seller = world.people[Role.SELLER].phone
    data = csv_file(world, f"{invoice},{line},{TODAY},BX-24,{quantity},{seller}\n")
    report = run(db, data)
    assert report.imported == 2
    assert reason in report.rejected[-1][1] and report.rejected[-1][0] == 8


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
    assert (
        "2 lines imported. 0 lines were already imported. 4 lines not imported."
        in " ".join(text.split())
        and "Unknown product" in text
    )


def _upload(client, data: bytes, name="sales.xlsx"):
    return client.post(
        "/claims/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_zip_bomb_upload_is_refused_with_the_reason_and_imports_nothing(
    client, app, db, world, program
):
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    started = time.perf_counter()
    response = _upload(client, shared_strings_bomb(300))
    assert time.perf_counter() - started < 5
    assert response.status_code == 400
    assert "unpacks to more than an import needs" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Claim.id))) == 0


@pytest.mark.parametrize("dimension", [False, True])
def test_300000_near_empty_rows_end_within_seconds_on_a_short_page(
    client, app, db, world, program, dimension
):
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    started = time.perf_counter()
    response = _upload(client, near_empty_rows(300_000, dimension=dimension))
    assert time.perf_counter() - started < 5
    assert response.status_code == 400
    assert len(response.get_data()) < 200 * 1024
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_a_long_report_lists_the_first_100_lines_and_the_importer_downloads_all(
    client, app, db, world, program, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    db.commit()
    seller = world.people[Role.SELLER].phone
    unknown = "".join(f"INV-{n},1,{TODAY},NOPE-{n},1,{seller}\n" for n in range(250))
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = _upload(client, csv_file(world, unknown), "sales.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The first 100 of 254 refused lines are listed here." in page
    assert page.count("<li>Line ") == 100
    link = re.search(r'href="(/imports/reports/[0-9a-f]{32}\.csv)"', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Line,Why" and len(lines) == 255
    assert "Unknown product “NOPE-249”." in lines[-1]
    login_as(client, world.people[Role.ADMIN])
    assert client.get(link).status_code == 404


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
    assert record(db, "sale", seller, sku="CAP-1", quantity=1) == []


def ledger_by_line(db):
    """What each imported line earned, by its source key (ids differ between runs)."""
    from channel.ledger import Activity, LedgerEntry

    rows = db.execute(
        select(Claim.source_key, LedgerEntry)
        .join(Activity, Activity.claim_id == Claim.id)
        .join(LedgerEntry, LedgerEntry.activity_id == Activity.id)
        .order_by(LedgerEntry.id)
    ).all()
    return [
        (
            key,
            e.posting_key.rsplit(":", 1)[1],  # the program, after the activity's id
            e.line,
            e.account_key,
            e.bucket,
            e.kind,
            e.points,
            e.budget_points,
            e.available_at,
            e.program_id,
            e.partner_id,
            e.person_id,
            e.to_pool,
            e.scheme_id,
            e.rule_id,
            e.rule_kind,
            e.reason,
            e.month,
        )
        for key, e in rows
    ]


def person_months(db) -> dict:
    """Each person's months as stored, rows that count nothing left out."""
    return {
        (r.month, r.person_id, r.program_id, r.partner_id): (
            r.earn_lines,
            r.claims,
            r.points,
            r.lines,
        )
        for r in db.scalars(select(PersonMonth))
        if (r.earn_lines, r.claims, r.points, r.lines) != (0, 0, 0, 0)
    }


@pytest.mark.parametrize(
    ("first_chunk", "chunk", "b_first"),
    [
        (5, 5, False),
        # Chunks of 1, 2, 4, 8, 8…, a line of partner B's first: the first chunk earns under
        # the capped program only; the second, B's seller again and partner A's, brings the
        # other program, whose totals are all to read where the capped one's are only A's.
        (1, 8, True),
    ],
)
def test_the_bulk_import_writes_what_line_by_line_approval_writes(
    db, world, monkeypatch, first_chunk, chunk, b_first
):
    """Two programs (one with a monthly cap, a budget and a lower cap from partner B), two
    partners, sellers and engineers, two months, repeated lines, a return window."""
    from channel import sales_import
    from channel.ledger import Activity
    from channel.postings import check_balances

    boilers, pumps = make_group(db, "boilers", points=10), make_group(db, "pumps", points=4)
    make_product(db, boilers, "BX-24")
    make_product(db, pumps, "PX-1")
    manager = world.people[Role.CHANNEL_MANAGER]
    capped = make_program(
        db,
        partners=[world.partner_a, world.partner_b],
        days=(-60, 60),
        cap_per_person_month=70,
        budget_points=100,
    )
    add_scheme(db, capped, ["seller"], ("unit_sold", {"product_group": "boilers"}))
    spiff = make_program(db, partners=[world.partner_a], days=(-60, 60), name="Pumps")
    add_scheme(
        db, spiff, ["seller", "engineer"], ("unit_sold", {"product_sku": "PX-1", "min_quantity": 2})
    )
    for program in (capped, spiff):
        offer(db, program, manager)
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
    approve(
        db, capped, world.partner_b, world.others[Role.PARTNER_MANAGER], cap_per_person_month=25
    )
    for program in (capped, spiff):
        launch_program(db, program, actor_id=manager.id)
    sellers = [world.people[Role.SELLER], world.others[Role.SELLER]]
    engineer = world.people[Role.ENGINEER]
    # Earned before the import: the caps count it.
    assert record(db, "sale", sellers[0], sku="BX-24", quantity=3)
    assert record(db, "sale", sellers[1], sku="BX-24", quantity=1)
    last_month = TODAY.replace(day=1) - timedelta(days=3)
    rows = []
    for n in range(36):
        who = (sellers[0], sellers[1], engineer)[n % 3]
        day = last_month if n % 4 == 0 else TODAY
        sku = "PX-1" if n % 5 in (1, 3) else "BX-24"
        rows.append(f"M-{n // 2},{n % 2 + 1},{day},{sku},{n % 3 + 1},{who.phone}\n")
    if b_first:
        rows.insert(0, rows.pop(7))
        rows.insert(2, rows.pop(10))
    rows.append(rows[4])  # the same line twice in one file
    rows.append(f"M-99,1,{TODAY},NOPE,1,{sellers[0].phone}\n")
    data = ("invoice_number,line,date,sku,quantity,seller\n" + "".join(rows)).encode()
    window = timedelta(days=14)
    # Usage carried over many chunks.
    monkeypatch.setattr(sales_import, "FIRST_CHUNK", first_chunk)
    monkeypatch.setattr(sales_import, "CHUNK", chunk)

    def import_file():
        return import_sales(db, read_sales(data), now=NOW, return_window=window)

    def outcome(report):
        balances = {p.id: balance_of(db, person_account(p.id)) for p in (*sellers, engineer)}
        return (report.imported, report.already_imported, report.rejected), balances

    with db.begin_nested() as bulk_run:
        bulk_report = import_file()
        bulk, bulk_ledger = outcome(bulk_report), ledger_by_line(db)
        assert check_balances(db) == []
        assert check_claim_months(db) == []
        assert check_person_months(db) == []
        bulk_months = person_months(db)
        bulk_run.rollback()

    def one_by_one(*_args):
        raise sales_import.IntegrityError("forced", None, Exception())

    # The fallback for lines a concurrent import took: each claim through approve_claim.
    monkeypatch.setattr(sales_import, "write_chunk", one_by_one)
    single = outcome(import_file())
    assert bulk == single
    assert bulk_ledger == ledger_by_line(db)
    assert check_balances(db) == []
    assert check_claim_months(db) == []
    assert check_person_months(db) == []
    assert bulk_months == person_months(db)
    # The mix did what it is for: caps bound, both buckets' windows, both programs paid.
    assert any(row[16].get("capped_by") == "person_month" for row in bulk_ledger)
    spent = sum(row[7] for row in bulk_ledger if row[1] == str(capped.id))
    assert spent == 100 - 40  # the budget ran out, after what was earned before
    assert {row[1] for row in bulk_ledger} == {str(capped.id), str(spiff.id)}
    assert {row[4] for row in bulk_ledger} == {"pending"}
    assert bulk_report.imported == 36 and bulk_report.already_imported == 1
    assert db.scalar(select(func.count(Activity.id)).where(Activity.claim_id.is_not(None))) == 36


def test_a_new_file_is_written_in_bulk_not_line_by_line(db, world, program, monkeypatch):
    from channel import sales_import

    def refuse(*_args):
        raise AssertionError("a fresh file fell back to line-by-line import")

    monkeypatch.setattr(sales_import, "_import_line", refuse)
    report = run(db, csv_file(world))
    assert report.imported == 2
    assert balance_of(db, person_account(world.people[Role.SELLER].id)) == (30, 0)


# ---------------------------------------------------------------- hostile files


def _claims_by_invoice(db):
    return dict(
        db.execute(select(Claim.invoice_number, func.count()).group_by(Claim.invoice_number)).all()
    )


def test_a_hostile_file_is_refused_whole_or_imports_exactly_its_good_lines(db, world, program):
    seller = world.people[Role.SELLER].phone
    good = [
        {
            "invoice_number": f"FZ-{n}",
            "line": "1",
            "date": TODAY.isoformat(),
            "sku": "BX-24",
            "quantity": str(n),
            "seller": seller,
        }
        for n in (1, 2, 3)
    ]

    @fuzz(60)
    @given(spreadsheet_files(list(good[0]), good, xlsx=True))
    def check(file):
        data, readable = file
        with hostile_import(db, readable, UnreadableSalesFile) as attempt:
            report, before = attempt(lambda: run(db, data))
            if report is None:
                return
            after = _claims_by_invoice(db)
            assert sum(after.values()) - before["claims"] == report.imported
            assert all(str(reason) for _, reason in report.rejected)
            if readable:
                assert {"FZ-1", "FZ-2", "FZ-3"} <= set(after)
            assert check_balances(db) == []

    check()


def test_a_seller_is_found_by_the_number_dialled_in_the_partners_country(db, world, program):
    world.partner_a.country = "IL"
    seller = world.people[Role.SELLER]
    seller.phone = "+972522345678"
    db.commit()
    header = "invoice_number,line,date,sku,quantity,seller\n"
    report = run(db, f"{header}INV-1,1,{TODAY},BX-24,2,052-234-5678\n".encode())
    assert (report.imported, report.rejected) == (1, [])
    # An API call's batch looks up only the sellers it names: the same reading holds there.
    rows = list(read_sales(f"{header}INV-2,1,{TODAY},BX-24,1,052 234 5678\n".encode()))
    assert (import_sales(db, rows, now=NOW).imported, report.rejected) == (1, [])
    # Read in Latvia those digits are nobody's: a number is read in its seller's country.
    refused = run(db, f"{header}INV-3,1,{TODAY},BX-24,1,22345678\n".encode())
    assert [line for line, _ in refused.rejected] == [2]
    assert balance_of(db, person_account(seller.id)) == (30, 0)
