"""The yearly report of rewards received, for payroll: exact figures, own staff only."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from channel.reward_offers import RewardOffer
from channel.rewards import Redemption, Reward, redeem
from channel.tax import Valuation, received_in
from core.db import utcnow
from roles.permissions import Role
from tests.builders import give_points, login_as

YEAR = 2025
EUR_CENT = Valuation(Decimal("0.01"), "EUR")


def at(month, day=10, hour=12):
    return datetime(YEAR, month, day, hour, tzinfo=UTC)


@pytest.fixture
def received(db, world):
    """Partner A's seller and engineer, and partner B's seller, with redemptions of YEAR and
    around it: fulfilled, pre-loaded cards (fulfilled at once), waiting, cancelled."""
    drill = Reward(kind="physical", name="Cordless drill", points_price=4550)
    card = Reward(kind="gift_card", name="Fuel card 20 EUR", points_price=2000)
    db.add_all([drill, card])
    db.flush()
    seller, engineer = world.people[Role.SELLER], world.people[Role.ENGINEER]
    seller.full_name, engineer.full_name = "Anna Seller", "Boris Engineer"
    other = world.others[Role.SELLER]
    keys = iter(range(1, 100))

    def redemption(person, reward, status, created, decided=None, points=None, face=None):
        db.add(
            Redemption(
                request_key=f"tax-{next(keys)}",
                person_id=person.id,
                reward_id=reward.id,
                points=points or reward.points_price,
                face_value=Decimal(face[0]) if face else None,
                currency=face[1] if face else None,
                status=status,
                created_at=created,
                decided_at=decided,
            )
        )

    redemption(seller, drill, "fulfilled", at(1, 30), at(2, 3))  # counts in February
    redemption(seller, drill, "fulfilled", at(2, 1), at(2, 20), points=4001)
    redemption(seller, card, "fulfilled", at(2, 5))  # a pre-loaded code: at once
    redemption(seller, card, "fulfilled", at(3, 31, 23))
    redemption(seller, drill, "requested", at(4, 1))  # not received yet
    redemption(seller, drill, "cancelled", at(4, 2), at(4, 3))  # refunded
    redemption(seller, card, "fulfilled", datetime(YEAR - 1, 12, 31, 23, 59, tzinfo=UTC))
    redemption(seller, drill, "fulfilled", at(12, 20), datetime(YEAR + 1, 1, 2, tzinfo=UTC))
    redemption(engineer, card, "fulfilled", at(12, 31, 23))
    redemption(other, card, "fulfilled", at(6))
    db.commit()
    return seller, engineer, drill, card


def test_each_person_gets_their_rewards_by_reward_and_month_and_a_total(db, world, received):
    seller, engineer, drill, card = received
    rows = [
        (r.person, r.reward, r.month, r.redemptions, r.points, r.value)
        for r in received_in(db, world.partner_a.id, YEAR, EUR_CENT)
    ]
    assert rows == [
        ("Anna Seller", "Cordless drill", "2025-02", 2, 8551, Decimal("85.51")),
        ("Anna Seller", "Fuel card 20 EUR", "2025-02", 1, 2000, Decimal("20.00")),
        ("Anna Seller", "Fuel card 20 EUR", "2025-03", 1, 2000, Decimal("20.00")),
        ("Anna Seller", "", None, 4, 12551, Decimal("125.51")),
        ("Boris Engineer", "Fuel card 20 EUR", "2025-12", 1, 2000, Decimal("20.00")),
        ("Boris Engineer", "", None, 1, 2000, Decimal("20.00")),
    ]
    assert all(isinstance(r[5], Decimal) for r in rows)
    assert list(received_in(db, world.partner_a.id, YEAR + 2, EUR_CENT)) == []


def test_the_csv_and_xlsx_exports_carry_the_same_exact_figures(client, db, world, received):
    seller, engineer, drill, card = received
    login_as(client, world.people[Role.PARTNER_MANAGER])
    answer = client.get(f"/partners/{world.partner_a.id}/tax/{YEAR}.csv")
    assert answer.status_code == 200 and answer.is_streamed
    assert f"rewards-{world.partner_a.id}-{YEAR}" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == [
        "year",
        "person_id",
        "person",
        "reward_id",
        "reward",
        "month",
        "redemptions",
        "points",
        "value",
        "currency",
    ]
    s, e, d, c = str(seller.id), str(engineer.id), str(drill.id), str(card.id)
    assert rows[1:] == [
        ["2025", s, "Anna Seller", d, "Cordless drill", "2025-02", "2", "8551", "85.51", "EUR"],
        ["2025", s, "Anna Seller", c, "Fuel card 20 EUR", "2025-02", "1", "2000", "20.00", "EUR"],
        ["2025", s, "Anna Seller", c, "Fuel card 20 EUR", "2025-03", "1", "2000", "20.00", "EUR"],
        ["2025", s, "Anna Seller", "", "", "total", "4", "12551", "125.51", "EUR"],
        [
            "2025",
            e,
            "Boris Engineer",
            c,
            "Fuel card 20 EUR",
            "2025-12",
            "1",
            "2000",
            "20.00",
            "EUR",
        ],
        ["2025", e, "Boris Engineer", "", "", "total", "1", "2000", "20.00", "EUR"],
    ]
    workbook = client.get(f"/partners/{world.partner_a.id}/tax/{YEAR}.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.data), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == rows[0]
    assert [list(row[5:8]) for row in values[1:]] == [
        [r[5], int(r[6]), int(r[7])] for r in rows[1:]
    ]
    assert [Decimal(str(row[8])) for row in values[1:]] == [Decimal(r[8]) for r in rows[1:]]


def test_the_page_shows_the_year_asked_for(client, db, world, received):
    login_as(client, world.people[Role.PARTNER_MANAGER])
    page = client.get(f"/partners/{world.partner_a.id}/tax?year={YEAR}").get_data(as_text=True)
    assert "Anna Seller" in page and "Boris Engineer" in page and "Bravo" not in page
    assert "125.51" in page
    this_year = utcnow().year
    assert this_year > YEAR  # the drill fulfilled on January 2nd after YEAR counts in its year
    fallback = client.get(f"/partners/{world.partner_a.id}/tax?year=nonsense")
    assert fallback.status_code == 200
    page = fallback.get_data(as_text=True)
    assert ("2026-01" in page) == (this_year == YEAR + 1) and "2025-02" not in page


def test_a_partner_manager_never_gets_another_partners_report(client, db, world, received):
    login_as(client, world.others[Role.PARTNER_MANAGER])
    a = world.partner_a.id
    for url in (
        f"/partners/{a}/tax",
        f"/partners/{a}/tax/{YEAR}.csv",
        f"/partners/{a}/tax/{YEAR}.xlsx",
    ):
        assert client.get(url).status_code == 404
    own = client.get(f"/partners/{world.partner_b.id}/tax/{YEAR}.csv").get_data(as_text=True)
    assert "Bravo seller" in own and "Anna Seller" not in own
    login_as(client, world.people[Role.SELLER])
    assert client.get(f"/partners/{a}/tax/{YEAR}.csv").status_code == 403
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    for partner in (world.partner_a, world.partner_b):
        assert client.get(f"/partners/{partner.id}/tax/{YEAR}.csv").status_code == 200
    assert client.get(f"/partners/{a}/tax/{YEAR}.pdf").status_code == 404
    assert client.get(f"/partners/{a}/tax/99999.csv").status_code == 404


@pytest.fixture
def face_values(db, world, received):
    """Besides `received`: cards redeemed under offers with a face value, in two currencies
    (as after the seller's partner moved country, or an offer was edited)."""
    seller, engineer, drill, card = received
    pln = Reward(kind="gift_card", name="Karta 100 PLN", points_price=2500)
    db.add(pln)
    db.flush()
    for key, (person, reward, month, face) in enumerate(
        [
            (seller, pln, 2, ("100.00", "PLN")),
            (seller, pln, 2, ("99.99", "PLN")),  # the offer's face value edited since
            (seller, card, 3, ("20.00", "EUR")),
            (seller, pln, 5, ("100.00", "PLN")),
            (engineer, pln, 12, ("150.50", "PLN")),
        ]
    ):
        db.add(
            Redemption(
                request_key=f"face-{key}",
                person_id=person.id,
                reward_id=reward.id,
                points=reward.points_price,
                face_value=Decimal(face[0]),
                currency=face[1],
                status="fulfilled",
                created_at=at(month, 15),
            )
        )
    db.commit()
    return pln


def test_a_reward_with_a_face_value_counts_at_it_and_each_currency_is_summed_apart(
    db, world, received, face_values
):
    rows = [
        (r.person, r.reward, r.month, r.redemptions, r.points, r.value, r.currency)
        for r in received_in(db, world.partner_a.id, YEAR, EUR_CENT)
    ]
    assert rows == [
        ("Anna Seller", "Cordless drill", "2025-02", 2, 8551, Decimal("85.51"), "EUR"),
        ("Anna Seller", "Fuel card 20 EUR", "2025-02", 1, 2000, Decimal("20.00"), "EUR"),
        ("Anna Seller", "Fuel card 20 EUR", "2025-03", 2, 4000, Decimal("40.00"), "EUR"),
        ("Anna Seller", "Karta 100 PLN", "2025-02", 2, 5000, Decimal("199.99"), "PLN"),
        ("Anna Seller", "Karta 100 PLN", "2025-05", 1, 2500, Decimal("100.00"), "PLN"),
        ("Anna Seller", "", None, 5, 14551, Decimal("145.51"), "EUR"),
        ("Anna Seller", "", None, 3, 7500, Decimal("299.99"), "PLN"),
        ("Boris Engineer", "Fuel card 20 EUR", "2025-12", 1, 2000, Decimal("20.00"), "EUR"),
        ("Boris Engineer", "Karta 100 PLN", "2025-12", 1, 2500, Decimal("150.50"), "PLN"),
        ("Boris Engineer", "", None, 1, 2000, Decimal("20.00"), "EUR"),
        ("Boris Engineer", "", None, 1, 2500, Decimal("150.50"), "PLN"),
    ]


def test_the_exports_carry_face_values_with_their_currencies(
    client, db, world, received, face_values
):
    seller, engineer, drill, card = received
    login_as(client, world.people[Role.PARTNER_MANAGER])
    answer = client.get(f"/partners/{world.partner_a.id}/tax/{YEAR}.csv")
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    s, e, p = str(seller.id), str(engineer.id), str(face_values.id)
    figures = [row[1:] for row in rows[1:] if row[4] in ("Karta 100 PLN", "")]
    assert figures == [
        [s, "Anna Seller", p, "Karta 100 PLN", "2025-02", "2", "5000", "199.99", "PLN"],
        [s, "Anna Seller", p, "Karta 100 PLN", "2025-05", "1", "2500", "100.00", "PLN"],
        [s, "Anna Seller", "", "", "total", "5", "14551", "145.51", "EUR"],
        [s, "Anna Seller", "", "", "total", "3", "7500", "299.99", "PLN"],
        [e, "Boris Engineer", p, "Karta 100 PLN", "2025-12", "1", "2500", "150.50", "PLN"],
        [e, "Boris Engineer", "", "", "total", "1", "2000", "20.00", "EUR"],
        [e, "Boris Engineer", "", "", "total", "1", "2500", "150.50", "PLN"],
    ]
    workbook = client.get(f"/partners/{world.partner_a.id}/tax/{YEAR}.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.data), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)][1:]
    assert [(Decimal(str(row[8])).quantize(Decimal("0.01")), row[9]) for row in values] == [
        (Decimal(r[8]), r[9]) for r in rows[1:]
    ]
    page = client.get(f"/partners/{world.partner_a.id}/tax?year={YEAR}").get_data(as_text=True)
    assert "299.99" in page and "145.51" in page


def test_a_redemption_keeps_the_face_value_of_its_offer_when_the_offer_changes(db, world):
    seller = world.people[Role.SELLER]
    give_points(db, seller, 10_000)
    card = Reward(kind="physical", name="Card", points_price=3000)
    card.offers = [
        RewardOffer(country="LV", points_price=3000, face_value=Decimal("30"), currency="EUR")
    ]
    db.add(card)
    db.flush()
    first = redeem(db, seller, card, request_key="face-1", shipping_address="Rīga")
    card.offers[0].face_value, card.offers[0].points_price = Decimal("35"), 3500
    db.flush()
    second = redeem(db, seller, card, request_key="face-2", shipping_address="Rīga")
    db.commit()
    assert (first.points, first.face_value, first.currency) == (3000, Decimal("30.00"), "EUR")
    assert (second.points, second.face_value, second.currency) == (3500, Decimal("35.00"), "EUR")
