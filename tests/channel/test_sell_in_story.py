"""The sell-in story of issue 17 told end to end, through the imports, claims and closes a
real installation uses: shipped serials checked at install, a tier crossed mid-period that
changes the rebate from that day, a period closed into a statement and a credit memo, and a
credit note that arrives after the close, trued up in the next period."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from channel.claim_models import ClaimStatus
from channel.models import SerialCheck
from channel.programs import launch_program
from channel.purchase_import import import_purchases, read_purchases
from channel.purchases import Serial, SerialStatus
from channel.rebate_models import period_bounds
from channel.rebates import close_period
from channel.tiers import TierThreshold
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    login_as,
    make_group,
    make_partner,
    make_product,
    make_program,
    make_tier,
    offer,
)
from tests.channel.test_rebates import TODAY, months_ago
from tests.channel.test_serial_checks import HEADER, boilers, claim


def purchases(db, *rows: str):
    report = import_purchases(
        db, list(read_purchases((HEADER + "".join(rows)).encode())), today=TODAY
    )
    assert not report.rejected, report.rejected
    return report


def test_the_sell_in_story_from_shipment_to_true_up(client, db, world):
    silver, gold = make_tier(db, "silver", rank=2), make_tier(db, "gold", rank=3)
    db.add_all(
        [
            TierThreshold(tier_id=silver.id, metric="volume", minimum=Decimal(10000)),
            TierThreshold(tier_id=gold.id, metric="volume", minimum=Decimal(14000)),
        ]
    )
    make_product(db, make_group(db, "boilers"), "BX-24")
    distributor = make_partner(db, kind="distributor", legal_id="LV-DIST")
    make_partner(db, kind="distributor", legal_id="LV-ELSEWHERE")
    dealer = world.partner_a
    dealer.parent_id, dealer.tier_id = distributor.id, silver.id
    manager = world.people[Role.CHANNEL_MANAGER]
    program = make_program(db, partners=[dealer], days=(-200, 200), serial_check=SerialCheck.REVIEW)
    add_scheme(db, program, ["technician"], ("install", {"points_per_install": 50}))
    add_scheme(
        db,
        program,
        [],
        ("volume_rebate", {"percent_by_tier": {"silver": "1.5", "gold": "2"}}),
        company=True,
    )
    offer(db, program, manager)
    approve(db, program, dealer, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=manager.id)
    first, second = months_ago(2), months_ago(1)
    start, _ = period_bounds(first)

    # The distributor is invoiced 100 boilers and sells 40 on to the dealer; another chain
    # gets B9000.
    purchases(
        db,
        f"invoice,,LV-DIST,M-1,1,{start + timedelta(days=4)},BX-24,100,95000,EUR,{boilers(1, 100)}\n",
        f"invoice,LV-DIST,{dealer.legal_id},D-1,1,{start + timedelta(days=5)},BX-24,40,10000,EUR,"
        f"{boilers(1, 40)}\n",
        f"invoice,,LV-ELSEWHERE,M-2,1,{start + timedelta(days=4)},BX-24,1,950,EUR,B9000\n",
    )
    assert dealer.tier_id == silver.id

    # A technician at the dealer claims installs: one shipped to it, one invented, one of
    # another chain, and the first again.
    technician = world.people[Role.TECHNICIAN]
    shipped = claim(db, technician, "B0007")
    assert (shipped.status, shipped.flags) == (ClaimStatus.APPROVED, [])
    invented = claim(db, technician, "NOT-SHIPPED-1")
    assert (invented.status, invented.flags) == (ClaimStatus.PENDING, ["serial_unknown"])
    assert "serial_other_chain" in claim(db, technician, "B9000").flags
    again = claim(db, technician, "B0007")
    assert {"duplicate_serial", "serial_installed"} <= set(again.flags)

    # Its purchases cross the gold threshold mid-month: the rebate is 2% from that day.
    purchases(
        db,
        f"invoice,LV-DIST,{dealer.legal_id},D-2,1,{start + timedelta(days=15)},BX-24,20,5000,EUR,\n",
    )
    assert dealer.tier_id == gold.id
    report = close_period(db, first, today=TODAY)
    [statement] = report.statements
    assert [(line.purchase.number, line.tier_code, line.rebate) for line in statement.lines] == [
        ("D-1", "silver", Decimal("150.00")),
        ("D-2", "gold", Decimal("100.00")),
    ]
    assert (statement.partner_id, statement.total) == (dealer.id, Decimal("250.00"))
    login_as(client, manager)
    memos = client.get(f"/rebates/{first}/credit-memos.csv").get_data(as_text=True)
    assert statement.reference in memos and "250.00" in memos

    # A credit note for a boiler of D-1 comes after the close: the next period trues it up,
    # at the tier of the credit note's own day, and the serial is back.
    purchases(
        db,
        f"credit_note,LV-DIST,{dealer.legal_id},CN-1,1,{start + timedelta(days=19)},BX-24,-1,-250,"
        "EUR,B0040\n",
    )
    [later] = close_period(db, second, today=TODAY).statements
    [true_up] = later.lines
    assert (true_up.true_up_of, true_up.tier_code, true_up.rebate, later.total) == (
        first,
        "gold",
        Decimal("-5.00"),
        Decimal("-5.00"),
    )
    returned = db.scalar(select(Serial).where(Serial.serial == "B0040"))
    assert returned.status == SerialStatus.RETURNED
    assert close_period(db, first, today=TODAY).statements == []  # closing again pays nothing
