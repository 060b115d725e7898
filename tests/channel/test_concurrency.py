"""Simultaneous activities from many connections never spend more than the program's budget."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from channel.earning import record_activity
from channel.ledger import Activity, LedgerEntry
from channel.programs import launch_program
from core.db import get_session
from roles.permissions import Role
from tests.builders import (
    add_scheme,
    approve,
    build_world,
    make_group,
    make_product,
    make_program,
    offer,
    utc_today,
)

WORKERS = 10


def _sell_at_once(app, seller_id: int, partner_id: int, source: str, sku: str):
    """WORKERS sales of one `sku` by the seller, recorded at the same moment, each in its own
    session; none may fail. Returns the session factory, to read what they wrote."""
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start = threading.Barrier(WORKERS)
    failures = []

    def sell(n):
        start.wait()
        try:
            with app.app_context(), factory() as session:
                record_activity(
                    session,
                    Activity(
                        kind="sale",
                        occurred_at=datetime.now(UTC),
                        partner_id=partner_id,
                        person_id=seller_id,
                        source_key=f"{source}:{n}",
                        sku=sku,
                        quantity=1,
                    ),
                )
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return factory


def test_concurrent_sales_stop_exactly_at_the_budget(committed_app):
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        group = make_group(db, "race", points=20)
        make_product(db, group, "RACE-1")
        program = make_program(db, partners=[world.partner_a], budget_points=100)
        add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "race"}))
        offer(db, program, world.people[Role.CHANNEL_MANAGER])
        approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
        launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
        db.commit()
        seller_id, partner_id, program_id = (
            world.people[Role.SELLER].id,
            world.partner_a.id,
            program.id,
        )

    factory = _sell_at_once(app, seller_id, partner_id, "race", "RACE-1")
    with factory() as session:
        spent = session.scalar(
            select(func.sum(LedgerEntry.budget_points)).where(LedgerEntry.program_id == program_id)
        )
        paid = session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.program_id == program_id)
        )
        recorded = session.scalar(
            select(func.count(Activity.id)).where(Activity.source_key.like("race:%"))
        )
    assert (spent, paid, recorded) == (100, 5, WORKERS)


def test_concurrent_sales_paid_by_three_programs_stop_exactly_at_each_ones_limit(committed_app):
    """A sale pays under every program the company approved: their rows are locked together and
    their usage read together, each program's totals its own (a budget, a partner cap, a
    person's monthly cap)."""
    app = committed_app
    limits = ({"budget_points": 100}, {"cap_per_partner": 60}, {"cap_per_person_month": 140})
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        group = make_group(db, "race3", points=20)
        make_product(db, group, "RACE-3")
        program_ids = []
        for n, limit in enumerate(limits):
            # Each starts a day later than the one before: newest first is not id order.
            program = make_program(db, partners=[world.partner_a], days=(-3 + n, 60), **limit)
            add_scheme(db, program, ["seller"], ("unit_sold", {"product_group": "race3"}))
            offer(db, program, world.people[Role.CHANNEL_MANAGER])
            approve(db, program, world.partner_a, world.people[Role.PARTNER_MANAGER])
            launch_program(db, program, actor_id=world.people[Role.CHANNEL_MANAGER].id)
            program_ids.append(program.id)
        db.commit()
        seller_id, partner_id = world.people[Role.SELLER].id, world.partner_a.id

    factory = _sell_at_once(app, seller_id, partner_id, "race3", "RACE-3")
    with factory() as session:
        paid = dict(
            session.execute(
                select(LedgerEntry.program_id, func.sum(LedgerEntry.points))
                .where(LedgerEntry.program_id.in_(program_ids))
                .group_by(LedgerEntry.program_id)
            ).all()
        )
    assert [paid[program_id] for program_id in program_ids] == [100, 60, 140]


def test_one_idempotency_key_replayed_concurrently_writes_one_posting(committed_app):
    from channel.postings import Line, balance_of, person_account, post

    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        db.commit()
        partner_id, person_id = world.partner_a.id, world.people[Role.SELLER].id

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    account = person_account(person_id)
    replays = 100
    start = threading.Barrier(replays)
    answers, failures = [], []

    def replay():
        start.wait()
        try:
            with factory() as session:
                entries = post(
                    session,
                    "bonus:replayed",
                    [
                        Line(
                            account=account,
                            points=25,
                            kind="earn",
                            partner_id=partner_id,
                            person_id=person_id,
                        )
                    ],
                )
                session.commit()
                answers.append(tuple(e.id for e in entries))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=replay) for _ in range(replays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(set(answers)) == 1 and len(answers) == replays
    with factory() as session:
        assert balance_of(session, account) == (0, 25)
        written = session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.posting_key == "bonus:replayed")
        )
    assert written == 1


def test_concurrent_redemptions_never_overdraw_nor_oversell(committed_app):
    from channel.postings import Line, balance_of, check_balances, person_account, post
    from channel.reward_offers import RewardOffer
    from channel.rewards import Redemption, RedemptionRefused, Reward, redeem
    from roles.models import Person

    app = committed_app
    is_postgres = app.config["DATABASE_URL"].startswith("postgresql")
    attempts = 200 if is_postgres else 50
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        seller = world.people[Role.SELLER]
        post(
            db,
            "seed:redeem",
            [
                Line(
                    account=person_account(seller.id),
                    points=1000,
                    kind="earn",
                    partner_id=seller.partner_id,
                    person_id=seller.id,
                )
            ],
        )
        # The seller's country's price (30), not the usual one, is what each redemption spends.
        scarce = Reward(kind="physical", name="Scarce", points_price=7, stock=20)
        scarce.offers = [RewardOffer(country=seller.partner.country, points_price=30)]
        db.add(scarce)
        db.commit()
        seller_id, reward_id = seller.id, scarce.id

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start = threading.Barrier(min(attempts, 50))
    outcomes, failures = [], []
    lock = threading.Lock()

    def attempt(n):
        if n < 50:
            start.wait()
        try:
            with app.app_context(), factory() as session:
                person = session.get(Person, seller_id)
                item = session.get(Reward, reward_id)
                try:
                    redeem(
                        session, person, item, request_key=f"race:{n}", shipping_address="Depot 1"
                    )
                    session.commit()
                    result = "redeemed"
                except RedemptionRefused:
                    session.rollback()
                    result = "refused"
            with lock:
                outcomes.append(result)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    redeemed = outcomes.count("redeemed")
    with factory() as session:
        stock = session.get(Reward, reward_id).stock
        rows = session.scalar(select(func.count(Redemption.id)))
        balance = balance_of(session, person_account(seller_id))
        assert check_balances(session) == []
    # 1000 points buy at most 33 items at 30; the stock of 20 runs out first.
    assert redeemed == 20 and stock == 0 and rows == 20
    assert balance == (0, 1000 - 20 * 30)


@pytest.mark.parametrize(("first_chunk", "chunk"), [(5000, 5000), (7, 7), (3, 12)])
def test_the_same_sales_file_imported_twice_at_once_imports_each_line_once(
    committed_app, monkeypatch, first_chunk, chunk
):
    """In one chunk, or in several (of one size, or growing: 3, 6, 12, 12, 7), each computed
    while the one before is written: a chunk that collides goes line by line and the one
    computed meanwhile is computed again."""
    from channel.claim_models import Claim
    from channel.postings import check_balances
    from channel.sales_import import import_sales, read_sales

    monkeypatch.setattr("channel.sales_import.FIRST_CHUNK", first_chunk)
    monkeypatch.setattr("channel.sales_import.CHUNK", chunk)
    chunk = f"{first_chunk}-{chunk}"  # each case's own invoices and product
    from tests.builders import make_group, make_product

    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        make_product(db, make_group(db, f"dup-{chunk}", points=5), f"DUP-{chunk}")
        db.commit()
        phone = world.people[Role.SELLER].phone
    lines = "".join(f"D{chunk}-{n},1,{utc_today()},DUP-{chunk},1,{phone}\n" for n in range(40))
    data = ("invoice_number,line,date,sku,quantity,seller\n" + lines).encode()
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    start = threading.Barrier(2)
    reports, failures = [], []

    def run():
        start.wait()
        try:
            with app.app_context(), factory() as session:
                reports.append(import_sales(session, read_sales(data), now=datetime.now(UTC)))
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sum(r.imported for r in reports) == 40
    assert sum(r.already_imported for r in reports) == 40
    with factory() as session:
        assert (
            session.scalar(
                select(func.count(Claim.id)).where(Claim.source_key.like(f"sales:%:D{chunk}-%"))
            )
            == 40
        )
        assert check_balances(session) == []


def test_many_postings_over_the_same_accounts_at_once_neither_deadlock_nor_overdraw(
    committed_app,
):
    """Set-wise balance moves lock in account order: credits listed in opposite orders both
    land, and two debits that together exceed a balance cannot both pass."""
    from channel.postings import InsufficientPoints, Line, Posting, balance_of, post_many

    app = committed_app
    with app.test_request_context():
        db = get_session()
        partner_id = build_world(db).partner_a.id
        db.commit()
    owners = [f"race:{number:04}" for number in range(300)]
    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)

    def postings(tag, accounts, points):
        return [
            Posting(
                f"{tag}:{a}", [Line(account=a, points=points, kind="earn", partner_id=partner_id)]
            )
            for a in accounts
        ]

    def run_all(batches):
        start = threading.Barrier(len(batches))
        outcomes = []

        def run(batch):
            start.wait()
            try:
                with app.app_context(), factory() as session:
                    post_many(session, batch)
                    session.commit()
                outcomes.append("ok")
            except InsufficientPoints:
                outcomes.append("refused")
            except Exception as error:  # noqa: BLE001 - reported below
                outcomes.append(repr(error))

        threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return sorted(outcomes)

    with factory() as session:  # rows exist, so both runs below lock rather than insert
        post_many(session, postings("seed", owners, 10))
        session.commit()
    assert run_all([postings("up", owners, 5), postings("down", owners[::-1], 7)]) == ["ok", "ok"]
    assert run_all([postings("spend-a", owners, -15), postings("spend-b", owners, -15)]) == [
        "ok",
        "refused",
    ]
    with factory() as session:
        assert {balance_of(session, a) for a in owners} == {(0, 7)}
