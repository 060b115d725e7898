"""Rebates on purchases: accrued as lines arrive, paid once by closing a period."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.exchange_rates import import_rates
from channel.programs import launch_program
from channel.purchase_import import import_purchases, read_purchases
from channel.rebate_accrual import accrue
from channel.rebate_models import InvalidPeriod, RebateLine, RebateStatement, period_bounds
from channel.rebates import close_period
from channel.tiers import TierChange, TierReason, WhyTier
from core.db import get_session
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
    utc_today,
)

TODAY = utc_today()
HEADER = "document,partner,invoice_number,line,date,sku,quantity,amount,currency\n"


def months_ago(count: int) -> str:
    year, month = TODAY.year, TODAY.month - count
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year}-{month:02d}"


def last_quarter() -> str:
    quarter = (TODAY.month - 1) // 3  # the quarter before today's, 1-based; 0: last year's Q4
    return f"{TODAY.year}-Q{quarter}" if quarter else f"{TODAY.year - 1}-Q4"


@pytest.fixture
def rebate_world(db, world):
    silver, gold = make_tier(db, "silver", rank=2), make_tier(db, "gold", rank=3)
    make_product(db, make_group(db, "boilers"), "BX-24")
    dealer = make_partner(db, legal_id="LV-DEALER", tier=silver)
    program = make_program(db, partners=[dealer], days=(-200, 200))
    add_scheme(
        db,
        program,
        [],
        ("volume_rebate", {"percent_by_tier": {"silver": "1.5", "gold": "2"}}),
        company=True,
    )
    manager = world.people[Role.CHANNEL_MANAGER]
    offer(db, program, manager)
    approve(db, program, dealer, world.people[Role.PARTNER_MANAGER])
    launch_program(db, program, actor_id=manager.id)
    return program, dealer, silver, gold


def buy(db, *lines) -> None:
    text = HEADER + "".join(
        f"{doc},LV-DEALER,{number},1,{day},BX-24,{qty},{amount},{currency}\n"
        for doc, number, day, qty, amount, currency in lines
    )
    report = import_purchases(db, list(read_purchases(text.encode())), today=TODAY)
    assert not report.rejected, report.rejected


def promote(db, partner, from_tier, to_tier, day: date) -> None:
    db.add(
        TierChange(
            partner_id=partner.id,
            from_tier_id=from_tier.id,
            to_tier_id=to_tier.id,
            at=datetime.combine(day, time(9), tzinfo=UTC),
            why=WhyTier(TierReason.OTHER, {"text": "purchases crossed the gold threshold"}),
        )
    )
    partner.tier_id = to_tier.id
    db.flush()


def test_a_tier_crossed_mid_quarter_changes_the_rebate_rate_from_that_day(db, rebate_world):
    program, dealer, silver, gold = rebate_world
    period = last_quarter()
    start, _ = period_bounds(period)
    import_rates(db, f"Date,PLN\n{start + timedelta(days=41)},4.0000\n".encode())
    buy(
        db,
        ("invoice", "A-1", start + timedelta(days=5), 10, "10000.00", "EUR"),
        ("invoice", "A-2", start + timedelta(days=40), 5, "5000.00", "EUR"),
        ("invoice", "A-3", start + timedelta(days=41), 1, "1000.00", "PLN"),
        ("invoice", "A-4", start + timedelta(days=42), 1, "300.00", "ILS"),
    )
    promote(db, dealer, silver, gold, start + timedelta(days=30))
    accrual = accrue(db, program, dealer, period)
    assert [(line.purchase.number, line.percent, line.rebate) for line in accrual.lines] == [
        ("A-1", Decimal("1.5"), Decimal("150.00")),
        ("A-2", Decimal("2"), Decimal("100.00")),
        ("A-3", Decimal("2"), Decimal("5.00")),  # 1000 PLN at 0.25 = 250 EUR
    ]
    assert accrual.lines[2].rate == Decimal("0.250000")
    [(held, why)] = accrual.held
    assert held.number == "A-4" and "No exchange rate for ILS" in why
    assert accrual.total == Decimal("255.00") and accrual.purchases == Decimal("15250.00")


def test_a_close_writes_one_statement_and_closing_again_pays_nothing_more(db, rebate_world):
    program, dealer, *_ = rebate_world
    period = last_quarter()
    start, end = period_bounds(period)
    buy(db, ("invoice", "A-1", start + timedelta(days=5), 10, "10000.00", "EUR"))
    report = close_period(db, period, today=TODAY)
    [statement] = report.statements
    assert (statement.partner_id, statement.total, statement.currency) == (
        dealer.id,
        Decimal("150.00"),
        "EUR",
    )
    assert (statement.starts_on, statement.ends_on) == (start, end)
    again = close_period(db, period, today=TODAY)
    assert (again.statements, again.already_closed) == ([], 1)
    assert db.scalar(select(func.count()).select_from(RebateLine)) == 1


def test_a_credit_note_after_the_close_is_trued_up_in_the_next_period(
    client, db, world, rebate_world
):
    program, dealer, *_ = rebate_world
    first, second = months_ago(2), months_ago(1)
    start, _ = period_bounds(first)
    buy(db, ("invoice", "A-1", start + timedelta(days=3), 10, "10000.00", "EUR"))
    [earlier] = close_period(db, first, today=TODAY).statements
    buy(db, ("credit_note", "CN-1", start + timedelta(days=20), -2, "-2000.00", "EUR"))
    report = close_period(db, second, today=TODAY)
    [statement] = report.statements
    [line] = statement.lines
    assert (line.true_up_of, line.rebate, statement.total) == (
        first,
        Decimal("-30.00"),
        Decimal("-30.00"),
    )
    # Both statements say so: the later one marks the line, the earlier one points to it.
    db.commit()
    login_as(client, world.people[Role.CHANNEL_MANAGER])
    later_page = client.get(f"/rebates/statements/{statement.id}").get_data(as_text=True)
    assert f"true-up of \u2068{first}\u2069" in later_page
    earlier_page = client.get(f"/rebates/statements/{earlier.id}").get_data(as_text=True)
    assert "Trued up on later statements" in earlier_page and statement.reference in earlier_page


def test_a_held_line_is_paid_at_the_first_close_after_its_rate_arrives(db, rebate_world):
    program, dealer, *_ = rebate_world
    first, second = months_ago(2), months_ago(1)
    start, _ = period_bounds(first)
    day = start + timedelta(days=3)
    buy(db, ("invoice", "A-1", day, 1, "400.00", "PLN"))
    held = close_period(db, first, today=TODAY)
    assert held.statements == [] and "PLN" in held.held[0][2]
    import_rates(db, f"Date,PLN\n{day},4.0000\n".encode())
    [statement] = close_period(db, second, today=TODAY).statements
    assert [(line.true_up_of, line.converted, line.rebate) for line in statement.lines] == [
        (first, Decimal("100.00"), Decimal("1.50"))
    ]


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "last quarter", ""])
def test_a_period_that_is_not_one_is_refused(db, period):
    with pytest.raises(InvalidPeriod) as refused:
        close_period(db, period, today=TODAY)
    assert "is not a period" in str(refused.value.errors["period"])


def test_a_period_that_is_not_over_cannot_be_closed(db):
    with pytest.raises(InvalidPeriod) as refused:
        close_period(db, f"{TODAY.year}-{TODAY.month:02d}", today=TODAY)
    assert "not over yet" in str(refused.value.errors["period"])


@pytest.mark.postgresql
def test_two_closes_of_one_period_at_once_pay_once(committed_postgres_app):
    app = committed_postgres_app
    period = months_ago(1)
    start, _ = period_bounds(period)
    with app.app_context():
        db = get_session()
        from tests.builders import build_world

        world = build_world(db)
        make_product(db, make_group(db, "race-rebates"), "RR-1")
        dealer = make_partner(db, legal_id="LV-RACE-REBATE")
        program = make_program(db, partners=[dealer], days=(-200, 200))
        add_scheme(db, program, [], ("volume_rebate", {"default_percent": "1"}), company=True)
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, dealer, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        text = HEADER.replace("partner", "partner") + (
            f"invoice,LV-RACE-REBATE,R-1,1,{start + timedelta(days=2)},RR-1,1,500.00,EUR\n"
        )
        import_purchases(db, list(read_purchases(text.encode())), today=TODAY)
        db.commit()
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start_line, written = threading.Barrier(2), []

    def close():
        with app.app_context(), factory() as session:
            start_line.wait()
            written.append(len(close_period(session, period, today=TODAY).statements))
            session.commit()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written) == [0, 1]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RebateStatement)) == 1
        assert session.scalar(select(func.sum(RebateLine.rebate))) == Decimal("5.00")


def test_the_commands_close_a_period_once_and_write_its_credit_memos(
    app, db, rebate_world, tmp_path
):
    program, dealer, *_ = rebate_world
    period = months_ago(1)
    start, _ = period_bounds(period)
    buy(db, ("invoice", "A-1", start + timedelta(days=5), 10, "10000.00", "EUR"))
    db.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["rebates", "close", "--period", period])
    assert first.exit_code == 0, first.output
    assert "1 statements written, 0 already closed" in first.output
    assert f"RB-{period}-{program.id}-{dealer.id}: 150.00 EUR" in first.output
    again = runner.invoke(args=["rebates", "close", "--period", period])
    assert "0 statements written, 1 already closed" in again.output
    path = tmp_path / "memos.csv"
    memos = runner.invoke(
        args=["rebates", "credit-memos", "--period", period, "--output", str(path)]
    )
    assert memos.exit_code == 0, memos.output
    assert (
        path.read_text().splitlines()[1].endswith(f"LV-DEALER,LV,{dealer.name},{period},150.00,EUR")
    )
    refused = runner.invoke(args=["rebates", "close", "--period", "soon"])
    assert refused.exit_code == 1 and "is not a period" in refused.output
