"""Goods: each supplier's export of what to ship, its shipment file back, the person told."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.coalition import Brand, BrandFulfilment
from channel.ledger import EntryKind, LedgerEntry
from channel.payout_models import Shipment
from channel.postings import balance_of, check_balances, person_account
from channel.rewards import Redemption, Reward, RewardKind, redeem
from channel.shipments import (
    UnreadableShipmentsFile,
    fail_goods,
    goods_table,
    import_shipments,
    read_shipments,
    reference_of,
)
from core.db import get_session
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import make_partner, make_person, offered
from tests.channel.test_fulfilment import messages_to
from tests.channel.test_rewards import give

TODAY = date(2026, 12, 4)
HEADER = "reference,tracking_number,carrier,shipped_on\n"


def goods(db, name="Torch", brand=None):
    item = offered(Reward(kind=RewardKind.PHYSICAL, name=name, points_price=100, stock=10))
    item.brand_id = brand.id if brand else None
    db.add(item)
    db.flush()
    return item


def ordered(db, person, item, key):
    give(db, person, 100, key=f"gift-{key}")
    return redeem(db, person, item, request_key=key, shipping_address="Brīvības iela 1, Rīga")


def run(db, text):
    return import_shipments(db, list(read_shipments(text.encode())), today=TODAY)


def test_each_supplier_exports_its_goods_awaiting_shipment(db, world):
    seller = world.people[Role.SELLER]
    brand = Brand(name="Nordic Tools", currency="SEK", rate_per_point=1, fulfilment="export")
    db.add(brand)
    db.flush()
    torch, drill = goods(db), goods(db, "=Drill", brand)
    first, second = ordered(db, seller, torch, "a"), ordered(db, seller, drill, "b")
    own = goods_table(db, None)
    assert own.header == [
        "reference",
        "item",
        "quantity",
        "recipient",
        "phone",
        "ship_to",
        "requested_on",
    ]
    assert [row[:3] for row in own.rows] == [[reference_of(first.id), "Torch", 1]]
    assert own.rows[0][3:6] == [seller.full_name, seller.phone, "Brīvības iela 1, Rīga"]
    assert [row[:3] for row in goods_table(db, brand.id).rows] == [
        [reference_of(second.id), "=Drill", 1]
    ]
    assert brand.fulfilment == BrandFulfilment.EXPORT


def test_a_shipment_file_ships_tells_the_person_and_twice_changes_nothing(app, db, world):
    seller = world.people[Role.SELLER]
    item = goods(db)
    first, second = ordered(db, seller, item, "a"), ordered(db, seller, item, "b")
    text = (
        HEADER
        + f"{reference_of(first.id)},JJD0001,DHL,2026-12-03\n"
        + f" r{second.id} ,JJD0002,DHL,2026-12-04\n"
    )
    with app.app_context():
        report = run(db, text)
    assert report.shipped == [first.id, second.id] and report.rejected == []
    assert {db.get(Redemption, r.id).status for r in (first, second)} == {"fulfilled"}
    shipment = db.get(Redemption, first.id).shipment
    assert (shipment.tracking_number, shipment.carrier) == ("JJD0001", "DHL")
    assert messages_to(db, seller, "goods_shipped") == 2
    with app.app_context():
        again = run(db, text)
    assert (again.shipped, again.already, again.rejected) == ([], 2, [])
    assert db.scalar(select(func.count(Shipment.id))) == 2
    assert messages_to(db, seller, "goods_shipped") == 2


def test_every_bad_line_is_refused_with_its_reason_and_the_good_ones_applied(app, db, world):
    seller = world.people[Role.SELLER]
    item = goods(db)
    good, cancelled, shipped = (ordered(db, seller, item, k) for k in "abc")
    card = offered(Reward(kind=RewardKind.DONATION, name="Trees", points_price=10))
    db.add(card)
    db.flush()
    give(db, seller, 10, key="gift-d")
    donation = redeem(db, seller, card, request_key="d")
    with app.app_context():
        fail_goods(db, cancelled, "out of stock")
        run(db, HEADER + f"R{shipped.id},T-1,DPD,2026-12-01\n")
        report = run(
            db,
            HEADER
            + f"R{good.id},T-9,Omniva,2026-12-04\n"
            + "R999999,T-2,DPD,2026-12-01\n"
            + f"R{donation.id},T-3,DPD,2026-12-01\n"
            + f"R{cancelled.id},T-4,DPD,2026-12-01\n"
            + f"R{shipped.id},T-5,DPD,2026-12-01\n"
            + f"R{good.id},T-9,Omniva,2026-12-05\n"
            + f"R{good.id},,Omniva,2026-12-01\n"
            + f"R{good.id},T-9,Omniva,2026-02-30\n"
            + f"R{good.id},{'T' * 101},Omniva,2026-12-01\n",
        )
    assert report.shipped == [good.id]
    reasons = dict(report.rejected)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "Unknown reference" in reasons[3]
    assert "is not goods to ship" in reasons[4]
    assert "cancelled and refunded" in reasons[5]
    assert "already shipped with tracking number T-1" in reasons[6]
    assert "in the future" in reasons[7]
    assert "tracking number and the carrier" in reasons[8]
    assert "YYYY-MM-DD" in reasons[9]
    assert "at most 100 characters" in reasons[10]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"reference,carrier\nR1,DHL\n", "lacks the columns"),
        (b"\xff\xfe\x00", "neither UTF-8 CSV nor XLSX"),
        (HEADER.replace("\n", ",Carrier\n").encode(), "more than once"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data, message):
    with pytest.raises(UnreadableShipmentsFile) as refused:
        list(read_shipments(data))
    assert message in str(refused.value)


def test_goods_that_cannot_be_sent_refund_with_the_reason_and_tell_the_person(app, db, world):
    seller = world.people[Role.SELLER]
    item = goods(db)
    redemption = ordered(db, seller, item, "a")
    with pytest.raises(InvalidInput) as refused:
        fail_goods(db, redemption, "  ")
    assert "reason" in refused.value.errors
    with app.app_context():
        fail_goods(db, redemption, "the supplier has none left")
    assert db.get(Redemption, redemption.id).status == "cancelled"
    assert balance_of(db, person_account(seller.id)) == (0, 100)
    refund = db.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND))
    assert "the supplier has none left" in refund.memo
    assert check_balances(db) == []
    assert messages_to(db, seller, "fulfilment_failed") == 1
    assert db.get(Reward, item.id).stock == 10
    with pytest.raises(InvalidInput):
        fail_goods(db, redemption, "again")


def test_a_hostile_file_is_refused_whole_or_applies_exactly_its_good_lines(app, db, world):
    from hypothesis import given

    from tests.hostile import fuzz, hostile_import, spreadsheet_files

    seller = world.people[Role.SELLER]
    item = goods(db)
    waiting = [ordered(db, seller, item, f"h{n}") for n in range(3)]
    good = [
        {
            "reference": reference_of(r.id),
            "tracking_number": f"FZ-{r.id}",
            "carrier": "DHL",
            "shipped_on": (TODAY - timedelta(days=1)).isoformat(),
        }
        for r in waiting
    ]

    @fuzz(40)
    @given(spreadsheet_files(list(good[0]), good, xlsx=True))
    def check(file):
        data, readable = file
        with app.app_context(), hostile_import(db, readable, UnreadableShipmentsFile) as attempt:
            report, before = attempt(
                lambda: import_shipments(db, list(read_shipments(data)), today=TODAY)
            )
            if report is None:
                return
            stored = db.scalar(select(func.count(Shipment.id)))
            assert stored - before["shipments"] == len(report.shipped)
            assert all(str(reason) for _, reason in report.rejected)
            if readable:
                # A good line ships, unless a hostile copy of its reference shipped it first.
                for redemption in waiting:
                    shipment = db.get(Redemption, redemption.id).shipment
                    assert shipment is not None or any(
                        reference_of(redemption.id) in reason for _, reason in report.rejected
                    )

    check()


@pytest.mark.postgresql
def test_two_imports_of_one_file_at_once_ship_each_line_once(committed_postgres_app):
    app = committed_postgres_app
    with app.app_context():
        db = get_session()
        partner = make_partner(db, name="Race Heat")
        person = make_person(db, partner, ["technician"])
        item = goods(db, "Race torch")
        item.stock = None
        waiting = [ordered(db, person, item, f"race-{person.id}-{n}") for n in range(50)]
        db.commit()
    text = HEADER + "".join(f"R{r.id},RACE-{r.id},DHL,2026-12-01\n" for r in waiting)
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start, reports = threading.Barrier(2), []

    def import_once():
        with app.app_context(), factory() as session:
            rows = list(read_shipments(text.encode()))
            start.wait()
            reports.append(import_shipments(session, rows, today=TODAY))
            session.commit()

    threads = [threading.Thread(target=import_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(r.shipped) for r in reports) == 50
    assert sum(r.already for r in reports) == 50
    assert all(not r.rejected for r in reports)
    ids = [r.id for r in waiting]
    with factory() as session:
        assert (
            session.scalar(select(func.count(Shipment.id)).where(Shipment.redemption_id.in_(ids)))
            == 50
        )


def test_the_command_ships_with_a_report_and_exits_2_on_refused_lines(app, db, world, tmp_path):
    seller = world.people[Role.SELLER]
    redemption = ordered(db, seller, goods(db), "a")
    db.commit()
    path = tmp_path / "shipments.csv"
    path.write_text(HEADER + f"R{redemption.id},T-1,DHL,2026-01-02\nR999999,T-2,DHL,2026-01-02\n")
    result = app.test_cli_runner().invoke(args=["fulfilment", "ship", str(path)])
    assert result.exit_code == 2, result.output
    assert "1 shipped, 0 already imported, 1 refused" in result.output
    assert "line 3: Unknown reference “R999999”." in result.output
    again = app.test_cli_runner().invoke(args=["fulfilment", "ship", str(path)])
    assert "0 shipped, 1 already imported, 1 refused" in again.output
    path.write_bytes(b"\xff\xfe")
    unreadable = app.test_cli_runner().invoke(args=["fulfilment", "ship", str(path)])
    assert unreadable.exit_code == 1 and "neither UTF-8 CSV nor XLSX" in unreadable.output
