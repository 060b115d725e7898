"""The demo on purchases: rates, a year of invoices with serials, a program paying the
companies on them, a closed quarter; loaded through the real imports, and twice like once."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from channel.demo_purchases import SELL_IN_PROGRAM
from channel.exchange_rates import ExchangeRate
from channel.ledger import Activity
from channel.models import Program
from channel.partner_models import PartnerOrganization
from channel.purchases import DocumentKind, PurchaseLine, Serial, SerialEvent, SerialStatus
from channel.rebate_models import RebateLine, RebateStatement
from channel.rebate_reports import outlook
from channel.rule_params import EventKind
from roles.models import Person
from tests.builders import login_as, utc_today

COUNTED = (
    ExchangeRate,
    PurchaseLine,
    Serial,
    SerialEvent,
    Program,
    RebateStatement,
    RebateLine,
    Activity,
)


def counts(db):
    return {model.__name__: db.scalar(select(func.count()).select_from(model)) for model in COUNTED}


@pytest.fixture
def demo(app, db):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    return {p.legal_id: p for p in db.scalars(select(PartnerOrganization))}


def manager_of(db, partner):
    return db.scalar(
        select(Person).where(Person.partner_id == partner.id, Person.email.is_not(None))
    )


def test_seeding_the_demo_twice_leaves_the_same_counts(app, db, demo):
    first = counts(db)
    assert all(first.values()), first
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "0 new purchase lines" in result.output and "0 new rebate statements" in result.output
    assert counts(db) == first


def test_the_demo_buys_in_three_currencies_sells_serials_on_and_returns_one(db, demo):
    currencies = set(db.scalars(select(PurchaseLine.currency).distinct()))
    assert currencies == {"EUR", "PLN", "ILS"}
    sold_on = db.scalar(
        select(func.count()).where(PurchaseLine.seller_id == demo["LV40003000001"].id)
    )
    assert sold_on > 0
    credit = db.scalar(
        select(PurchaseLine).where(PurchaseLine.document == DocumentKind.CREDIT_NOTE)
    )
    assert credit.quantity == -1 and credit.partner_id == demo["PL5260000001"].id
    returned = db.scalar(select(Serial).where(Serial.status == SerialStatus.RETURNED))
    assert returned.holder_id == demo["LV40003000001"].id
    assert {"PLN", "ILS"} <= set(db.scalars(select(ExchangeRate.currency).distinct()))
    oldest = db.scalar(select(func.min(ExchangeRate.day)))
    assert (utc_today() - oldest).days >= 450


def test_the_demo_keeps_no_hand_made_purchase_activities(db, demo):
    assert db.scalar(select(func.count()).where(Activity.kind == EventKind.PURCHASE)) == 0


def test_the_demo_technicians_install_registered_serials_they_hold(db, demo):
    installs = db.scalars(select(Activity).where(Activity.kind == EventKind.INSTALL)).all()
    assert installs
    for install in installs:
        unit = db.scalar(select(Serial).where(Serial.serial == install.serial))
        assert unit is not None, install.serial
        assert unit.holder_id == install.partner_id and unit.sku == install.sku


def test_a_demo_partner_manager_sees_an_accrual_and_a_next_threshold(client, db, demo):
    dealer = demo["PL5260000001"]
    found = {item.accrual.program.name: item for item in outlook(db, dealer, utc_today())}
    sell_in = found[SELL_IN_PROGRAM]
    assert sell_in.accrual.total > Decimal(0)
    assert sell_in.steps and all(step.missing > 0 for step in sell_in.steps)
    manager = manager_of(db, dealer)
    login_as(client, manager)
    page = client.get("/rebates/mine")
    assert page.status_code == 200
    # The program by its name in the manager's language, as every partner-facing page names it.
    assert sell_in.accrual.program.text_in(manager.language)[0] in page.get_data(as_text=True)


def test_the_demo_closed_quarter_statement_opens_as_a_pdf(client, db, demo):
    distributor = demo["LV40003000001"]
    statement = db.scalar(
        select(RebateStatement).where(RebateStatement.partner_id == distributor.id)
    )
    assert statement is not None and statement.total > 0 and "Q" in statement.period
    login_as(client, manager_of(db, distributor))
    assert f"/rebates/statements/{statement.id}" in client.get("/rebates/mine").get_data(
        as_text=True
    )
    pdf = client.get(f"/rebates/statements/{statement.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
