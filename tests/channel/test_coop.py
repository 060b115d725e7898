"""Co-op marketing funds: the reimbursement arithmetic and the request's path to payment."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from channel.coop import (
    CoopAsk,
    CoopFund,
    InvalidCoop,
    claim_funds,
    committed,
    create_fund,
    preapprove,
    reimburse,
    reimbursement_for,
    reject,
    request_funds,
)
from roles.permissions import Role
from tests.builders import login_as, utc_today


@pytest.mark.parametrize(
    ("cost", "share", "manufacturers", "expected"),
    [
        ("1000.00", "50", 1, "500.00"),  # only our products: half the cost
        ("1000.00", "50", 2, "250.00"),  # two manufacturers share our half
        ("1000.00", "50", 3, "166.66"),  # rounded down to the cent, never up
        ("999.99", "50", 1, "499.99"),
        ("120.00", "40", 4, "12.00"),
    ],
)
def test_reimbursement_is_our_share_divided_among_the_manufacturers(
    cost, share, manufacturers, expected
):
    assert reimbursement_for(Decimal(cost), Decimal(share), manufacturers) == Decimal(expected)


@pytest.fixture
def fund(db):
    fund = CoopFund(
        name="Spring MDF", currency="EUR", budget=Decimal("1000.00"), share_percent=Decimal(50)
    )
    db.add(fund)
    db.flush()
    return fund


def ask(cost="800", manufacturers=1, description="Radio spot for our heat pumps"):
    return CoopAsk(
        description=description,
        cost=cost,
        planned_on=date(2027, 3, 1),
        manufacturers_featured=manufacturers,
    )


def test_request_preapproval_claim_and_reimbursement(db, world, fund):
    manager = world.people[Role.PARTNER_MANAGER]
    request = request_funds(db, fund, world.partner_a, manager, ask(cost="800"))
    assert preapprove(db, request) == Decimal("400.00")
    assert committed(db, fund) == Decimal("400.00")
    # The ad cost more than planned: half of the actual cost, capped by the approval.
    assert claim_funds(
        db, request, actual_cost="1000", proof="https://example.com/ad.pdf"
    ) == Decimal("400.00")
    reimburse(db, request)
    assert (request.status, committed(db, fund)) == ("reimbursed", Decimal("400.00"))


def test_the_reimbursement_never_exceeds_the_preapproved_amount(db, world, fund):
    request = request_funds(
        db, fund, world.partner_a, world.people[Role.PARTNER_MANAGER], ask(cost="400")
    )
    preapprove(db, request)
    assert claim_funds(db, request, actual_cost="900", proof="invoice 17") == Decimal("200.00")


def test_several_manufacturers_divide_the_share(db, world, fund):
    request = request_funds(
        db,
        fund,
        world.partner_a,
        world.people[Role.PARTNER_MANAGER],
        ask(cost="900", manufacturers=3),
    )
    assert preapprove(db, request) == Decimal("150.00")


def test_a_fund_never_commits_more_than_its_budget(db, world, fund):
    manager = world.people[Role.PARTNER_MANAGER]
    first = request_funds(db, fund, world.partner_a, manager, ask(cost="1600"))
    second = request_funds(
        db, fund, world.partner_b, world.others[Role.PARTNER_MANAGER], ask(cost="200")
    )
    preapprove(db, first)  # 800 of 1000
    with pytest.raises(InvalidCoop):
        preapprove(
            db, request_funds(db, fund, world.partner_a, manager, ask(cost="500"))
        )  # 250 > 200 left
    assert preapprove(db, second) == Decimal("100.00")
    assert committed(db, fund) == Decimal("900.00")


def test_bad_requests_are_refused_whole(db, world, fund):
    with pytest.raises(InvalidCoop) as refused:
        request_funds(
            db,
            fund,
            world.partner_a,
            world.people[Role.PARTNER_MANAGER],
            CoopAsk("", "-5", None, 0),
        )
    assert set(refused.value.errors) == {
        "description",
        "cost",
        "planned_on",
        "manufacturers_featured",
    }


@pytest.mark.parametrize("cost", ["1e27", "1000000000000", "Infinity"])
def test_a_cost_beyond_what_the_ledger_of_funds_holds_is_refused(db, world, fund, cost):
    with pytest.raises(InvalidCoop) as refused:
        request_funds(
            db,
            fund,
            world.partner_a,
            world.people[Role.PARTNER_MANAGER],
            CoopAsk("Ad", cost, utc_today(), 1),
        )
    assert set(refused.value.errors) == {"cost"}


@pytest.mark.parametrize(
    ("budget", "share", "field"),
    [
        ("1E+20", "50", "budget"),
        ("NaN", "50", "budget"),
        ("1000", "NaN", "share_percent"),
        ("1000", "sNaN", "share_percent"),
        ("1000", "100.5", "share_percent"),
    ],
)
def test_a_fund_with_a_budget_or_share_out_of_range_is_refused(db, budget, share, field):
    with pytest.raises(InvalidCoop) as refused:
        create_fund(db, name="MDF", currency="eur", budget=budget, share=share)
    assert set(refused.value.errors) == {field}
    assert db.scalars(select(CoopFund)).all() == []


def test_channel_manager_creates_a_fund_and_a_bad_one_is_refused_on_the_page(client, db, world):
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    bad = {"name": "MDF", "currency": "EUR", "budget": "NaN", "share_percent": "50"}
    response = client.post("/coop/", data=bad)
    assert response.status_code == 400 and "more than zero" in response.get_data(as_text=True)
    response = client.post("/coop/", data={**bad, "budget": "5000,50"})
    assert response.status_code == 302
    fund = db.scalars(select(CoopFund)).one()
    assert (fund.currency, fund.budget, fund.share_percent) == ("EUR", Decimal("5000.50"), 50)


def test_rejection_needs_a_reason_and_frees_nothing_twice(db, world, fund):
    request = request_funds(db, fund, world.partner_a, world.people[Role.PARTNER_MANAGER], ask())
    with pytest.raises(InvalidCoop):
        reject(db, request, reason="")
    reject(db, request, reason="The ad shows a competitor's logo")
    with pytest.raises(InvalidCoop):
        preapprove(db, request)
    assert committed(db, fund) == Decimal("0.00")


def test_partner_manager_asks_and_channel_manager_preapproves_on_the_web(client, db, world, fund):
    db.commit()
    login_as(client, world.people[Role.PARTNER_MANAGER])
    url = f"/partners/{world.partner_a.id}/coop"
    response = client.post(
        url,
        data={
            "fund_id": fund.id,
            "description": "Trade fair stand",
            "cost": "600",
            "planned_on": "2027-04-01",
            "manufacturers_featured": "1",
        },
    )
    assert response.status_code == 302
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    queue = client.get("/coop/").get_data(as_text=True)
    assert "Trade fair stand" in queue
    from sqlalchemy import select

    from channel.coop import CoopRequest

    request = db.scalar(select(CoopRequest))
    client.post(f"/coop/requests/{request.id}/preapprove")
    db.refresh(request)
    assert (request.status, request.approved_amount) == ("preapproved", Decimal("300.00"))
    login_as(client, world.others[Role.PARTNER_MANAGER])
    assert "Trade fair stand" not in client.get(f"/partners/{world.partner_b.id}/coop").get_data(
        as_text=True
    )
