"""The fulfilment and coalition pages, as a channel manager and a person use them."""

import csv
import io
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from channel.coalition import Brand
from channel.payout_models import CashOut, CashOutState, PayoutBatch
from channel.rewards import Redemption, Reward, RewardKind
from roles.permissions import Role
from tests.builders import login_as, offered
from tests.channel.test_payouts import IBANS, cash_reward, cashed
from tests.channel.test_rewards import give
from tests.channel.test_shipments import goods, ordered


def test_a_wrong_iban_is_refused_on_the_page_in_the_persons_language(client, db, world):
    seller = world.people[Role.SELLER]
    seller.language = "pl"
    item = cash_reward(db)
    give(db, seller, 100)
    db.commit()
    login_as(client, seller)
    page = client.get(f"/rewards/{item.id}/redeem").get_data(as_text=True)
    assert 'name="iban"' in page
    refused = client.post(
        f"/rewards/{item.id}/redeem",
        data={"request_key": "k1", "confirm": "yes", "iban": "PL61109010140000071219812875"},
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert 'lang="pl"' in text and "IBAN" in text
    assert "check digits do not match" not in text
    assert db.scalar(select(Redemption.id)) is None
    done = client.post(
        f"/rewards/{item.id}/redeem",
        data={"request_key": "k1", "confirm": "yes", "iban": IBANS["PL"]},
    )
    assert done.status_code == 303
    assert db.scalar(select(CashOut.iban)) == "PL61109010140000071219812874"


def test_goods_exported_imported_and_failed_from_the_page(client, db, world):
    seller, manager = world.people[Role.SELLER], world.people[Role.CHANNEL_MANAGER]
    item = goods(db, "=Torch")
    shipped, failed = ordered(db, seller, item, "a"), ordered(db, seller, item, "b")
    db.commit()
    login_as(client, manager)
    page = client.get("/fulfilment/goods").get_data(as_text=True)
    assert f"R{shipped.id}" in page and f"R{failed.id}" in page
    export = client.get("/fulfilment/goods/export/own.csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:3] == ["reference", "item", "quantity"]
    assert [row[:3] for row in rows[1:]] == [[f"R{shipped.id}", "'=Torch", "1"]] + [
        [f"R{failed.id}", "'=Torch", "1"]
    ]
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get("/fulfilment/goods/export/own.xlsx").data)
    ).active
    assert sheet.max_row == 3
    data = (
        f"reference,tracking_number,carrier,shipped_on\nR{shipped.id},T-1,DHL,2026-01-02\nR0,,,\n"
    )
    report = client.post(
        "/fulfilment/goods",
        data={"file": (io.BytesIO(data.encode()), "shipments.csv")},
        content_type="multipart/form-data",
    )
    text = report.get_data(as_text=True)
    assert report.status_code == 200 and "1 line imported." in text and "Line 3:" in text
    db.expire_all()
    assert db.get(Redemption, shipped.id).status == "fulfilled"
    client.post(f"/fulfilment/goods/{failed.id}/fail", data={"reason": "Address unknown"})
    db.expire_all()
    assert db.get(Redemption, failed.id).status == "cancelled"
    assert client.post("/fulfilment/goods", data={}).status_code == 400


def test_cash_outs_approved_batched_and_downloaded_from_the_page(app, client, db, world):
    app.config.update(PAYOUT_DEBTOR_NAME="Demo SIA", PAYOUT_DEBTOR_IBAN="LV80BANK0000435195001")
    seller, manager = world.people[Role.SELLER], world.people[Role.CHANNEL_MANAGER]
    redemption = cashed(db, seller, cash_reward(db), "a")
    refused = cashed(db, seller, cash_reward(db, name="Other cash"), "b")
    db.commit()
    login_as(client, manager)
    page = client.get("/fulfilment/cash-outs").get_data(as_text=True)
    assert "DE89370400440532013000" in page
    cash_out = redemption.cash_out
    client.post(f"/fulfilment/cash-outs/{cash_out.id}/approve")
    client.post(f"/fulfilment/cash-outs/{refused.cash_out.id}/fail", data={"reason": "Not ours"})
    db.expire_all()
    assert db.get(CashOut, cash_out.id).state == CashOutState.APPROVED
    assert db.get(CashOut, refused.cash_out.id).state == CashOutState.FAILED
    made = client.post("/fulfilment/cash-outs", data={"currency": "EUR"})
    assert made.status_code == 302
    db.expire_all()
    batch = db.scalar(select(PayoutBatch))
    download = client.get(f"/fulfilment/cash-outs/batches/{batch.id}/file")
    assert download.mimetype == "application/xml"
    assert b"<IBAN>DE89370400440532013000</IBAN>" in download.data
    again = client.post("/fulfilment/cash-outs", data={"currency": "EUR"})
    assert again.status_code == 400 and "No approved cash-out" in again.get_data(as_text=True)


def test_a_cash_out_value_is_set_on_the_page(client, db, world):
    item = offered(Reward(kind=RewardKind.CASHOUT, name="Cash", points_price=100))
    db.add(item)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(
        f"/fulfilment/cash-outs/values/{item.id}", data={"amount": "12,50", "currency": "pln"}
    )
    page = client.get("/fulfilment/cash-outs").get_data(as_text=True)
    assert 'value="12.50"' in page and 'value="PLN"' in page


def test_brands_added_edited_given_rewards_and_settled_from_the_pages(client, db, world):
    seller, manager = world.people[Role.SELLER], world.people[Role.CHANNEL_MANAGER]
    login_as(client, manager)
    bad = client.post(
        "/coalition/brands",
        data={"name": "", "currency": "XX", "rate_per_point": "0", "fulfilment": "fax"},
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Give the brand a name." in text and "three-letter code" in text
    added = client.post(
        "/coalition/brands",
        data={"name": "Nordic Tools", "currency": "sek", "rate_per_point": "0.0125",
              "fulfilment": "export"},
    )  # fmt: skip
    brand = db.scalar(select(Brand))
    assert added.status_code == 302 and brand.currency == "SEK"
    twice = client.post(
        "/coalition/brands",
        data={"name": "Nordic Tools", "currency": "EUR", "rate_per_point": "1",
              "fulfilment": "codes"},
    )  # fmt: skip
    assert "Another brand has this name." in twice.get_data(as_text=True)
    client.post(
        f"/coalition/brands/{brand.id}",
        data={"name": "Nordic Tools AB", "currency": "SEK", "rate_per_point": "0.02",
              "fulfilment": "export", "contact": "orders@nordic.example"},
    )  # fmt: skip
    db.expire_all()
    assert (brand.name, brand.rate_per_point) == ("Nordic Tools AB", Decimal("0.02"))
    item = goods(db, "Drill")
    db.commit()
    client.post(f"/coalition/brands/{brand.id}/rewards", data={"reward_id": str(item.id)})
    db.expire_all()
    assert db.get(Reward, item.id).brand_id == brand.id
    db.expire_all()
    redemption = ordered(db, seller, item, "drill")
    db.commit()
    page = client.get(f"/coalition/brands/{brand.id}").get_data(as_text=True)
    assert "Drill" in page and "1 item awaits shipment." in page
    month = f"{redemption.created_at:%Y-%m}"
    settlement = client.get(f"/coalition/brands/{brand.id}/settlement?month={month}")
    assert settlement.status_code == 200 and f"R{redemption.id}" in settlement.get_data(
        as_text=True
    )
    exported = client.get(f"/coalition/brands/{brand.id}/settlement.csv?month={month}")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[-1] == ["total", "", "", "100", "0.020000", "2.00", "SEK"]
    workbook = client.get(f"/coalition/brands/{brand.id}/settlement.xlsx?month={month}")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert sheet.max_row == 3
    goods_rows = client.get(f"/coalition/brands/{brand.id}/goods.csv").get_data(as_text=True)
    assert f"R{redemption.id},Drill,1" in goods_rows
    assert client.get(f"/coalition/brands/{brand.id}/settlement?month=2026-Q4").status_code == 400


def test_the_person_sees_the_carrier_and_tracking_number_of_goods_sent(app, client, db, world):
    seller = world.people[Role.SELLER]
    redemption = ordered(db, seller, goods(db), "a")
    from channel.shipments import import_shipments, read_shipments
    from tests.channel.test_shipments import HEADER, TODAY

    with app.app_context():
        data = HEADER + f"R{redemption.id},JJD-77,Omniva,2026-12-01\n"
        import_shipments(db, list(read_shipments(data.encode())), today=TODAY)
    db.commit()
    login_as(client, seller)
    page = client.get("/rewards/").get_data(as_text=True)
    assert "Omniva" in page and "JJD-77" in page
