"""Importing purchases (sell-in) with their serials: the registry follows every unit."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.exchange_rates import import_rates
from channel.purchase_import import (
    UnreadablePurchasesFile,
    import_purchases,
    read_purchases,
)
from channel.purchases import PurchaseLine, Serial, SerialEvent, SerialStatus
from core.db import get_session
from tests.builders import make_group, make_partner, make_product, utc_today

TODAY = utc_today()
HEADER = "document,seller,partner,invoice_number,line,date,sku,quantity,amount,currency,serials\n"


@pytest.fixture
def chain(db):
    """A distributor, a dealer it supplies, another distributor's dealer, and two products."""
    group = make_group(db, "boilers")
    make_product(db, group, "BX-24")
    make_product(db, group, "BX-30")
    distributor = make_partner(db, kind="distributor", legal_id="LV-DIST")
    dealer = make_partner(db, parent=distributor, legal_id="LV-DEAL")
    other = make_partner(db, kind="distributor", legal_id="LV-OTHER")
    return distributor, dealer, other


def boilers(first: int, count: int) -> str:
    return " ".join(f"sn{n:05d}" for n in range(first, first + count))


def run(db, text: str, today=TODAY):
    return import_purchases(db, list(read_purchases(text.encode())), today=today)


def registry(db) -> dict[str, tuple[str, int]]:
    return {s.serial: (s.status, s.holder_id) for s in db.scalars(select(Serial))}


def test_a_distributor_invoiced_100_boilers_sells_40_on_and_the_registry_follows(db, chain):
    distributor, dealer, _ = chain
    day = TODAY - timedelta(days=3)
    report = run(
        db,
        HEADER
        + f'invoice,,LV-DIST,M-1,1,{day},BX-24,100,"95000,00",EUR,{boilers(1, 100)}\n'
        + f"invoice,LV-DIST,LV-DEAL,D-7,1,{TODAY},bx-24,40,40000.00,EUR,{boilers(1, 40)}\n",
    )
    assert (report.imported, report.already_imported, report.rejected) == (2, 0, [])
    assert report.serials == 140
    units = registry(db)
    assert len(units) == 100
    assert units["SN00001"] == (SerialStatus.SOLD_ON, dealer.id)
    assert units["SN00041"] == (SerialStatus.SHIPPED, distributor.id)
    history = db.scalars(
        select(SerialEvent.status)
        .join(Serial, Serial.id == SerialEvent.serial_id)
        .where(Serial.serial == "SN00001")
        .order_by(SerialEvent.id)
    ).all()
    assert history == ["shipped", "sold_on"]
    lines = db.scalars(select(PurchaseLine).order_by(PurchaseLine.id)).all()
    assert [(line.seller_id, line.partner_id, line.quantity) for line in lines] == [
        (None, distributor.id, 100),
        (distributor.id, dealer.id, 40),
    ]
    assert str(lines[0].amount) == "95000.00"


def test_importing_a_file_again_changes_nothing(db, chain):
    text = HEADER + f"invoice,,LV-DIST,M-1,1,{TODAY},BX-24,3,300,EUR,{boilers(1, 3)}\n"
    run(db, text)
    before = (registry(db), db.scalar(select(func.count()).select_from(SerialEvent)))
    again = run(db, text)
    assert (again.imported, again.already_imported, again.rejected) == (0, 1, [])
    assert (registry(db), db.scalar(select(func.count()).select_from(SerialEvent))) == before


def test_a_credit_note_returns_units_from_the_partner_holding_them(db, chain):
    distributor, dealer, _ = chain
    run(
        db,
        HEADER
        + f"invoice,,LV-DIST,M-1,1,{TODAY},BX-24,5,500,EUR,{boilers(1, 5)}\n"
        + f"invoice,LV-DIST,LV-DEAL,D-1,1,{TODAY},BX-24,2,220,EUR,{boilers(1, 2)}\n"
        + f"credit_note,LV-DIST,LV-DEAL,CN-1,1,{TODAY},BX-24,-1,-110,EUR,SN00001\n"
        + f"credit_note,,LV-DIST,CN-9,1,{TODAY},BX-24,1,100,EUR,SN00005\n",
    )
    units = registry(db)
    assert units["SN00001"] == (SerialStatus.RETURNED, distributor.id)
    assert units["SN00002"] == (SerialStatus.SOLD_ON, dealer.id)
    assert units["SN00005"] == (SerialStatus.RETURNED, distributor.id)
    credit = db.scalar(select(PurchaseLine).where(PurchaseLine.number == "CN-9"))
    assert (credit.quantity, str(credit.amount)) == (-1, "-100.00")


def test_units_moved_across_chunks_end_as_if_the_file_were_one_chunk(db, chain, monkeypatch):
    """Lines in different chunks: a unit shipped in one is sold on, returned and refused in
    later ones, a line repeated two chunks on counts once, and the registry and its events
    come out as they do in a single chunk."""
    distributor, dealer, other = chain
    day = TODAY - timedelta(days=5)
    text = HEADER + "".join(
        [
            f"invoice,,LV-DIST,M-1,1,{day},BX-24,4,400,EUR,{boilers(1, 4)}\n",
            f"invoice,,LV-DIST,M-1,2,{day},BX-30,1,100,EUR,XA-1\n",
            f"invoice,LV-DIST,LV-DEAL,D-1,1,{TODAY},BX-24,2,220,EUR,{boilers(1, 2)}\n",
            f"invoice,,LV-OTHER,M-2,1,{day},BX-24,1,100,EUR,SN00003\n",  # shipped already
            f"invoice,,LV-DIST,M-1,1,{day},BX-24,4,400,EUR,{boilers(1, 4)}\n",  # M-1/1 again
            f"credit_note,LV-DIST,LV-DEAL,CN-1,1,{TODAY},BX-24,-1,-110,EUR,SN00002\n",
            f"invoice,LV-DIST,LV-DEAL,D-2,1,{TODAY},BX-24,1,110,EUR,XA-1\n",  # a BX-30
        ]
    )
    monkeypatch.setattr("channel.purchase_import.CHUNK", 2)
    report = run(db, text)
    assert (report.imported, report.already_imported) == (4, 1)
    assert [number for number, _ in report.rejected] == [5, 8]
    assert "SN00003 was already shipped to" in report.rejected[0][1]
    assert "XA-1 is a BX-30, not a BX-24" in report.rejected[1][1]
    assert registry(db) == {
        "SN00001": (SerialStatus.SOLD_ON, dealer.id),
        "SN00002": (SerialStatus.RETURNED, distributor.id),
        "SN00003": (SerialStatus.SHIPPED, distributor.id),
        "SN00004": (SerialStatus.SHIPPED, distributor.id),
        "XA-1": (SerialStatus.SHIPPED, distributor.id),
    }
    history = db.execute(
        select(Serial.serial, SerialEvent.status, PurchaseLine.number)
        .join(Serial, Serial.id == SerialEvent.serial_id)
        .join(PurchaseLine, PurchaseLine.id == SerialEvent.line_id)
        .order_by(Serial.serial, SerialEvent.id)
    ).all()
    assert [tuple(row) for row in history] == [
        ("SN00001", "shipped", "M-1"),
        ("SN00001", "sold_on", "D-1"),
        ("SN00002", "shipped", "M-1"),
        ("SN00002", "sold_on", "D-1"),
        ("SN00002", "returned", "CN-1"),
        ("SN00003", "shipped", "M-1"),
        ("SN00004", "shipped", "M-1"),
        ("XA-1", "shipped", "M-1"),
    ]
    lines = {line.number: line.id for line in db.scalars(select(PurchaseLine))}
    unit = db.scalar(select(Serial).where(Serial.serial == "SN00002"))
    assert unit.line_id == lines["CN-1"]


def test_every_bad_line_is_refused_with_its_reason_and_the_good_ones_stored(db, chain):
    future = TODAY + timedelta(days=2)
    rows = [
        f"invoice,,LV-DIST,G-1,1,{TODAY},BX-24,2,200,EUR,SN1 SN2",  # good
        f"invoice,,LV-NOBODY,B-1,1,{TODAY},BX-24,1,100,EUR,",
        f"invoice,,LV-DIST,B-2,1,{TODAY},NOPE-1,1,100,EUR,",
        f"invoice,,LV-DIST,B-3,1,{TODAY},BX-24,-1,-100,EUR,",
        f"invoice,,LV-OTHER,B-4,1,{TODAY},BX-24,1,100,EUR,SN2",  # SN2 shipped on G-1
        f"invoice,,LV-DIST,B-5,1,{future},BX-24,1,100,EUR,",
        f"invoice,,LV-DIST,B-6,1,{TODAY},BX-24,1,lots,EUR,",
        f"invoice,,LV-DIST,B-7,1,{TODAY},BX-24,1,100,ABC,",
        f"invoice,,LV-DIST,B-8,1,{TODAY},BX-24,1,100,EUR,SN8 SN9",
        f"credit_note,,LV-OTHER,B-9,1,{TODAY},BX-24,-1,-100,EUR,SN1",
        f"invoice,LV-OTHER,LV-DEAL,B-10,1,{TODAY},BX-24,1,100,EUR,SN1 ",  # LV-OTHER lacks SN1
        f"invoice,,LV-DIST,B-11,1,{TODAY},BX-30,2,100,EUR,SN3 SN3",
    ]
    report = run(db, HEADER + "\n".join(rows) + "\n")
    assert report.imported == 1
    reasons = dict(report.rejected)
    assert sorted(reasons) == list(range(3, 14))
    assert "No partner with the legal id “LV-NOBODY”" in reasons[3]
    assert "Unknown product “NOPE-1”" in reasons[4]
    assert "credit note" in reasons[5]
    assert "SN2 was already shipped to" in reasons[6]
    assert "in the future" in reasons[7]
    assert "“lots” is not a number" in reasons[8]
    assert "“ABC” is not a currency code" in reasons[9]
    assert "2 serial numbers, more than its quantity (1)" in reasons[10]
    assert "SN1 is not with this partner" in reasons[11]
    assert "SN1 was already shipped to" in reasons[12]
    assert "one serial number twice" in reasons[13]
    # Nothing of a refused line was written: only the good line's two serials exist.
    assert set(registry(db)) == {"SN1", "SN2"}
    assert db.scalar(select(func.count()).select_from(PurchaseLine)) == 1


def test_a_serial_keeps_its_product(db, chain):
    run(db, HEADER + f"invoice,,LV-DIST,M-1,1,{TODAY},BX-24,1,100,EUR,SN1\n")
    report = run(db, HEADER + f"invoice,LV-DIST,LV-DEAL,D-1,1,{TODAY},BX-30,1,100,EUR,SN1\n")
    [(_, reason)] = report.rejected
    assert "SN1 is a BX-24, not a BX-30" in reason


def test_a_line_in_a_currency_without_a_rate_is_stored_and_held_with_its_reason(db, chain):
    day = TODAY - timedelta(days=1)
    report = run(db, HEADER + f"invoice,,LV-DIST,M-1,1,{day},BX-24,1,400,PLN,\n")
    assert report.imported == 1
    [(line, reason)] = report.held
    assert line == 2 and "No exchange rate for PLN" in reason
    import_rates(db, f"Date,PLN\n{day},4.25\n".encode())
    later = run(db, HEADER + f"invoice,,LV-DIST,M-2,1,{day},BX-24,1,400,PLN,\n")
    assert later.imported == 1 and later.held == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"partner,invoice_number\nLV-DIST,1\n", "lacks the columns"),
        (b"\xff\xfe\x00", "neither UTF-8 CSV nor XLSX"),
        (HEADER.replace("\n", ",SKU \n").encode(), "more than once"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data, message):
    with pytest.raises(UnreadablePurchasesFile) as refused:
        list(read_purchases(data))
    assert message in str(refused.value)


def test_the_command_imports_with_a_report_and_exits_2_on_refused_lines(app, db, chain, tmp_path):
    db.commit()
    path = tmp_path / "purchases.csv"
    path.write_text(
        HEADER
        + f"invoice,,LV-DIST,M-1,1,{TODAY},BX-24,2,200,EUR,SN1 SN2\n"
        + f"invoice,,LV-DIST,M-1,2,{TODAY},NOPE,1,100,EUR,\n"
    )
    result = app.test_cli_runner().invoke(args=["import-purchases", str(path)])
    assert result.exit_code == 2, result.output
    assert "1 imported, 0 already imported, 1 rejected; 2 serials registered" in result.output
    assert "line 3: Unknown product “NOPE”." in result.output
    again = app.test_cli_runner().invoke(args=["import-purchases", str(path)])
    assert "0 imported, 1 already imported, 1 rejected" in again.output


@pytest.mark.postgresql
def test_two_imports_of_one_file_at_once_import_it_once(committed_postgres_app):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        group = make_group(db, "race-boilers")
        make_product(db, group, "RACE-1")
        make_partner(db, kind="distributor", legal_id="LV-RACE")
        db.commit()
    text = HEADER + "".join(
        f"invoice,,LV-RACE,R-{n},1,{TODAY},RACE-1,10,1000,EUR,{boilers(n * 10, 10)}\n"
        for n in range(200)
    )
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, reports = threading.Barrier(2), []

    def import_once():
        with app.app_context(), factory() as session:
            rows = list(read_purchases(text.encode()))
            start.wait()
            reports.append(import_purchases(session, rows, today=TODAY))
            session.commit()

    threads = [threading.Thread(target=import_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.imported, r.already_imported) for r in reports) == [(0, 200), (200, 0)]
    assert all(not r.rejected for r in reports)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(PurchaseLine)) == 200
        assert session.scalar(select(func.count()).select_from(Serial)) == 2000
        assert session.scalar(select(func.count()).select_from(SerialEvent)) == 2000


def test_a_warehouse_serial_list_registers_units_once_and_refuses_the_impossible(db, chain):
    from channel.purchase_import import import_serials, read_serials

    distributor, _, other = chain
    text = (
        "serial,sku,partner,date\n"
        f"wh-1,BX-24,LV-DIST,{TODAY}\n"
        f"WH-2,BX-24,LV-DIST,{TODAY}\n"
        f"WH-1,BX-24,LV-DIST,{TODAY}\n"  # the same unit listed twice
        f"WH-2,BX-24,LV-OTHER,{TODAY}\n"  # one unit, two partners
        f"WH-3,NOPE,LV-DIST,{TODAY}\n"
        f",BX-24,LV-DIST,{TODAY}\n"
    )
    report = import_serials(db, list(read_serials(text.encode())), today=TODAY)
    assert (report.registered, report.already_known) == (2, 1)
    reasons = dict(report.rejected)
    assert "WH-2 was already shipped to" in reasons[5]
    assert "Unknown product" in reasons[6] and "No serial number" in reasons[7]
    assert registry(db) == {
        "WH-1": (SerialStatus.SHIPPED, distributor.id),
        "WH-2": (SerialStatus.SHIPPED, distributor.id),
    }
    again = import_serials(db, list(read_serials(text.encode())), today=TODAY)
    assert (again.registered, again.already_known) == (0, 3)
    # A later invoice from the distributor sells a listed unit on.
    run(db, HEADER + f"invoice,LV-DIST,LV-DEAL,D-1,1,{TODAY},BX-24,1,100,EUR,WH-1\n")
    assert registry(db)["WH-1"][0] == SerialStatus.SOLD_ON


def test_a_workbook_row_short_of_its_last_cells_is_refused_with_a_reason(db, chain):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["invoice", "", "LV-DIST", "W-1", 1, TODAY, "BX-24", 1, "100", "EUR"])
    sheet.append(["invoice", "", "LV-DIST", "W-2", 1, TODAY, "BX-24"])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    report = import_purchases(db, list(read_purchases(data)), today=TODAY)
    assert report.imported == 1
    [(line, reason)] = report.rejected
    assert line == 3 and "must be whole numbers" in reason


def test_a_hostile_file_is_refused_whole_or_imports_exactly_its_good_lines(db, chain):
    from hypothesis import given

    from tests.hostile import fuzz, hostile_import, spreadsheet_files

    good = [
        {
            "document": "invoice",
            "seller": "",
            "partner": "LV-DIST",
            "invoice_number": f"FZ-{n}",
            "line": "1",
            "date": TODAY.isoformat(),
            "sku": "BX-24",
            "quantity": "1",
            "amount": "100.00",
            "currency": "EUR",
            "serials": f"FZ-SN-{n}",
        }
        for n in (1, 2, 3)
    ]

    @fuzz(60)
    @given(spreadsheet_files(list(good[0]), good, xlsx=True))
    def check(file):
        data, readable = file
        with hostile_import(db, readable, UnreadablePurchasesFile) as attempt:
            report, before = attempt(
                lambda: import_purchases(db, list(read_purchases(data)), today=TODAY)
            )
            if report is None:
                return
            stored = db.scalars(select(PurchaseLine.number)).all()
            assert len(stored) - before["purchase_lines"] == report.imported
            assert all(str(reason) for _, reason in report.rejected)
            # Every stored line's serials are registered, and nothing else is.
            assert db.scalar(select(func.count()).select_from(Serial)) == db.scalar(
                select(func.count()).select_from(SerialEvent)
            )
            if readable:
                # A good line is stored, unless a hostile copy of it took its serial first.
                for n in (1, 2, 3):
                    assert f"FZ-{n}" in stored or any(
                        f"FZ-SN-{n}" in reason for _, reason in report.rejected
                    )

    check()
