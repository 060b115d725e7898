"""Spending points: rewards, gift-card codes, refunds, and the company pool."""

import re

import pytest
from sqlalchemy import func, select

from channel.ledger import LedgerEntry
from channel.pool import distribute
from channel.postings import Line, balance_of, check_balances, person_account, pool_account, post
from channel.rewards import (
    GiftCardCode,
    Redemption,
    RedemptionRefused,
    Reward,
    cancel_redemption,
    import_codes,
    redeem,
)
from core.errors import InvalidInput
from roles.permissions import Role
from tests.builders import IN_LATVIA, login_as, offered


def give(db, person, points, key=None):
    post(
        db,
        key or f"gift:{person.id}:{points}",
        [
            Line(
                account=person_account(person.id),
                points=points,
                kind="earn",
                partner_id=person.partner_id,
                person_id=person.id,
            )
        ],
    )


def reward(db, kind="physical", price=100, stock=2):
    item = offered(Reward(kind=kind, name=f"{kind} reward", points_price=price, stock=stock))
    db.add(item)
    db.flush()
    return item


def test_redeeming_debits_points_and_reserves_stock(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 250)
    item = reward(db)
    redemption = redeem(
        db, seller, item, request_key="r1", shipping_address="Brīvības iela 1, Rīga"
    )
    db.refresh(item)
    assert (redemption.status, item.stock) == ("requested", 1)
    assert balance_of(db, person_account(seller.id)) == (0, 150)


def test_not_enough_points_spends_nothing_and_reserves_nothing(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 99)
    item = reward(db)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, seller, item, request_key="r2", shipping_address="x")
    assert "enough available points" in str(refused.value.errors["reward"])
    db.refresh(item)
    assert item.stock == 2 and db.scalar(select(func.count(Redemption.id))) == 0
    assert balance_of(db, person_account(seller.id)) == (0, 99)


def test_sold_out_spends_nothing(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 500)
    item = reward(db, stock=0)
    with pytest.raises(RedemptionRefused):
        redeem(db, seller, item, request_key="r3", shipping_address="x")
    assert balance_of(db, person_account(seller.id)) == (0, 500)


def test_physical_goods_need_an_address(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 500)
    with pytest.raises(RedemptionRefused) as refused:
        redeem(db, seller, reward(db), request_key="r4")
    assert "shipping_address" in refused.value.errors


def test_the_same_request_twice_redeems_once(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 500)
    item = reward(db, kind="donation", stock=None)
    first = redeem(db, seller, item, request_key="r5")
    again = redeem(db, seller, item, request_key="r5")
    assert first.id == again.id
    assert balance_of(db, person_account(seller.id)) == (0, 400)


def test_each_gift_card_code_goes_out_once(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 1000)
    item = reward(db, kind="gift_card", price=100, stock=None)
    assert import_codes(db, item, "AAA-1\nAAA-2\n\nAAA-1\n") == (2, 0)
    assert import_codes(db, item, "AAA-2\nAAA-3") == (1, 1)
    handed = {redeem(db, seller, item, request_key=f"g{n}").code.code for n in range(3)}
    assert handed == {"AAA-1", "AAA-2", "AAA-3"}
    with pytest.raises(RedemptionRefused):
        redeem(db, seller, item, request_key="g4")
    assert balance_of(db, person_account(seller.id)) == (0, 700)
    assert (
        db.scalar(select(func.count(GiftCardCode.id)).where(GiftCardCode.redemption_id.is_(None)))
        == 0
    )


def test_cancelling_refunds_by_a_reversing_entry_and_returns_the_stock(db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 100)
    item = reward(db, stock=1)
    redemption = redeem(db, seller, item, request_key="r6", shipping_address="x")
    cancel_redemption(db, redemption)
    cancel_redemption(db, redemption)  # twice changes nothing
    db.refresh(item)
    assert (redemption.status, item.stock) == ("cancelled", 1)
    assert balance_of(db, person_account(seller.id)) == (0, 100)
    kinds = db.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.person_id == seller.id).order_by(LedgerEntry.id)
    ).all()
    assert kinds == ["earn", "redeem", "refund"]
    assert check_balances(db) == []


def test_partner_manager_hands_pool_points_to_their_staff(db, world):
    partner, manager, seller = (
        world.partner_a,
        world.people[Role.PARTNER_MANAGER],
        world.people[Role.SELLER],
    )
    post(
        db,
        "pool:seed",
        [
            Line(
                account=pool_account(partner.id),
                points=300,
                kind="earn",
                partner_id=partner.id,
                to_pool=True,
            )
        ],
    )
    distribute(
        db,
        partner,
        seller,
        120,
        actor_id=manager.id,
        note="Best installer of March",
        request_key="t1",
    )
    assert balance_of(db, pool_account(partner.id)) == (0, 180)
    assert balance_of(db, person_account(seller.id)) == (0, 120)
    line = db.scalar(
        select(LedgerEntry).where(LedgerEntry.posting_key == "pool:t1", LedgerEntry.line == 1)
    )
    assert (line.memo, line.reason["by"]) == ("Best installer of March", manager.id)
    with pytest.raises(InvalidInput) as refused:
        distribute(
            db,
            partner,
            world.others[Role.SELLER],
            500,
            actor_id=manager.id,
            note="",
            request_key="t2",
        )
    assert set(refused.value.errors) == {"person", "note"}
    with pytest.raises(InvalidInput) as refused:
        distribute(db, partner, seller, 500, actor_id=manager.id, note="Too much", request_key="t3")
    assert "points" in refused.value.errors


def test_staff_redeem_on_the_rewards_page_after_confirming(client, db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 150)
    item = reward(db, kind="donation", price=100, stock=None)
    db.commit()
    login_as(client, seller)
    page = client.get("/rewards/").get_data(as_text=True)
    assert "You can spend 150 points." in page and "donation reward" in page
    # The catalog's button only asks: a tap spends nothing.
    assert f'href="/rewards/{item.id}/redeem"' in page
    assert f'action="/rewards/{item.id}/redeem"' not in page
    confirm = client.get(f"/rewards/{item.id}/redeem").get_data(as_text=True)
    assert "Redeem “\u2068donation reward\u2069”?" in confirm
    assert "It costs 100 points: 50 points will be left to spend." in confirm
    key = re.search(r'name="request_key" value="([^"]+)"', confirm).group(1)
    # A POST without the confirmation (an old page, a replayed request) asks again.
    unconfirmed = client.post(f"/rewards/{item.id}/redeem", data={"request_key": key})
    assert unconfirmed.status_code == 200 and "Yes, redeem it" in unconfirmed.get_data(True)
    assert balance_of(db, person_account(seller.id)) == (0, 150)
    response = client.post(
        f"/rewards/{item.id}/redeem", data={"request_key": key, "confirm": "yes"}
    )
    assert response.status_code == 303
    assert "You can spend 50 points." in client.get("/rewards/").get_data(as_text=True)
    # The same confirmation sent twice (a double tap) redeems once.
    client.post(f"/rewards/{item.id}/redeem", data={"request_key": key, "confirm": "yes"})
    assert balance_of(db, person_account(seller.id)) == (0, 50)
    assert "You need 50 points more." in client.get(f"/rewards/{item.id}/redeem").get_data(True)
    client.post(f"/rewards/{item.id}/redeem", data={"request_key": "web-2", "confirm": "yes"})
    assert "You do not have enough available points" in client.get("/rewards/").get_data(
        as_text=True
    )


def test_a_physical_reward_asks_for_the_address_on_the_confirmation(client, db, world):
    seller = world.people[Role.SELLER]
    give(db, seller, 150)
    item = reward(db, kind="physical", price=100, stock=3)
    db.commit()
    login_as(client, seller)
    refused = client.post(
        f"/rewards/{item.id}/redeem",
        data={"request_key": "k1", "confirm": "yes", "shipping_address": " "},
    )
    assert refused.status_code == 400
    assert "Give the address to send it to." in refused.get_data(as_text=True)
    assert balance_of(db, person_account(seller.id)) == (0, 150)
    done = client.post(
        f"/rewards/{item.id}/redeem",
        data={"request_key": "k1", "confirm": "yes", "shipping_address": "Brīvības iela 1"},
    )
    assert done.status_code == 303
    assert balance_of(db, person_account(seller.id)) == (0, 50)


def test_pool_page_hands_out_points(client, db, world):
    partner, seller = world.partner_a, world.people[Role.SELLER]
    post(
        db,
        "pool:web",
        [
            Line(
                account=pool_account(partner.id),
                points=50,
                kind="earn",
                partner_id=partner.id,
                to_pool=True,
            )
        ],
    )
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{partner.id}/pool",
        data={"person_id": seller.id, "points": "20", "note": "Thanks", "request_key": "p1"},
    )
    assert response.status_code == 302
    assert balance_of(db, person_account(seller.id)) == (0, 20)
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    assert (
        client.post(
            f"/partners/{partner.id}/pool", data={"person_id": seller.id, "points": "5"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("points", ["99999999999999999999999", str(2**63), str(2**31)])
def test_pool_hand_out_beyond_any_balance_is_a_form_error(client, db, world, points):
    partner, seller = world.partner_a, world.people[Role.SELLER]
    login_as(client, world.people[Role.PARTNER_MANAGER])
    response = client.post(
        f"/partners/{partner.id}/pool",
        data={"person_id": seller.id, "points": points, "note": "Thanks", "request_key": "p1"},
    )
    assert response.status_code == 400
    assert "Must be at most 1000000000." in response.get_data(as_text=True)
    assert balance_of(db, person_account(seller.id)) == (0, 0)


def test_a_reward_with_a_picture_and_names_in_other_languages(
    client, app, db, world, tmp_path, monkeypatch
):
    import io

    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/rewards/manage",
        data={
            "kind": "donation",
            "name": "Plant a tree",
            "points_price": "300",
            "name_pl": "Posadź drzewo",
            **IN_LATVIA,
            "image": (io.BytesIO(png + b"\x00" * 40), "tree.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    item = db.scalar(select(Reward).where(Reward.name == "Plant a tree"))
    assert item.text_in("pl")[0] == "Posadź drzewo" and item.image_type == "image/png"
    seller = world.people[Role.SELLER]
    seller.language = "pl"
    db.commit()
    login_as(client, seller)
    page = client.get("/rewards/").get_data(as_text=True)
    assert "Posadź drzewo" in page and f"/rewards/{item.id}/image" in page
    assert client.get(f"/rewards/{item.id}/image").data.startswith(png)
    client.post("/sign-out")
    assert client.get(f"/rewards/{item.id}/image").status_code == 302  # signed-in people only

    login_as(client, world.people[Role.CHANNEL_MANAGER])
    refused = client.post(
        "/rewards/manage",
        data={
            "kind": "donation",
            "name": "Bad",
            "points_price": "1",
            "image": (io.BytesIO(b"%PDF-1.4 x"), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert (
        refused.status_code == 400
        and db.scalar(select(func.count(Reward.id)).where(Reward.name == "Bad")) == 0
    )


@pytest.mark.parametrize(
    ("price", "stock", "field"),
    [
        ("²", "", "points_price"),
        ("--5", "", "points_price"),
        ("99999999999999999999999", "", "points_price"),
        ("10", "¹", None),
        ("10", "9223372036854775808", "stock"),
    ],
)
def test_a_reward_with_a_price_or_stock_no_column_holds_is_refused_on_the_page(
    client, db, world, price, stock, field
):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    response = client.post(
        "/rewards/manage",
        data={
            "kind": "physical",
            "name": "Odd",
            "points_price": price,
            "stock": stock,
            **IN_LATVIA,
        },
    )
    if field is None:  # an unreadable stock is no stock at all, as an empty one
        assert response.status_code == 302
        assert db.scalar(select(Reward.stock).where(Reward.name == "Odd")) is None
    else:
        assert response.status_code == 400
        assert db.scalar(select(func.count(Reward.id)).where(Reward.name == "Odd")) == 0


@pytest.mark.parametrize("bad", ["C" * 101, "C\x00D"])
def test_a_codes_file_with_a_code_no_column_holds_adds_nothing(db, world, bad):
    item = reward(db, kind="gift_card", price=100, stock=None)
    with pytest.raises(InvalidInput) as refused:
        import_codes(db, item, f"GOOD-1\n{bad}\nGOOD-2\n")
    assert "Line 2" in str(refused.value.errors["file"])
    assert db.scalar(select(func.count(GiftCardCode.id))) == 0


def test_a_codes_file_that_is_not_utf8_adds_nothing_and_says_why(client, db, world):
    import io

    item = reward(db, kind="gift_card", price=100, stock=None)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    client.post(
        f"/rewards/manage/{item.id}/codes",
        data={"file": (io.BytesIO("KOD-Ą1\nKOD-Ą2\n".encode("utf-16")), "codes.txt")},
        content_type="multipart/form-data",
    )
    assert db.scalar(select(func.count(GiftCardCode.id))) == 0
    page = client.get("/rewards/manage").get_data(as_text=True)
    assert "The file is not UTF-8 text." in page


def test_a_hostile_codes_file_is_refused_whole_or_adds_each_new_code_once(app, client, db, world):
    import io

    from hypothesis import given
    from hypothesis import strategies as st

    from tests.hostile import HOSTILE_TEXT, fuzz, table_counts

    item = reward(db, kind="gift_card", price=100, stock=None)
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])

    @fuzz(40)
    @given(
        lines=st.lists(st.one_of(HOSTILE_TEXT, st.sampled_from(["=cmd|' /C calc'!A0", "K-1"]))),
        newline=st.sampled_from(["\n", "\r\n", "\r", "\u2028"]),
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1257"]),
    )
    def upload(lines, newline, encoding):
        data = newline.join(lines).encode(encoding, errors="replace")
        db.expire_all()
        before = table_counts(db)
        response = client.post(
            f"/rewards/manage/{item.id}/codes",
            data={"file": (io.BytesIO(data), "codes.txt")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        db.expire_all()
        codes = db.scalars(select(GiftCardCode.code).where(GiftCardCode.reward_id == item.id))
        codes = list(codes)
        assert len(codes) == len(set(codes))
        added = len(codes) - before["gift_card_codes"]
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            assert added == 0
        else:
            assert added <= len([line for line in lines if line.strip()])

    upload()
