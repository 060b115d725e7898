"""The ledger's monthly rollups and programs' budget totals never disagree with the ledger."""

import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from channel.ledger import LedgerEntry, LedgerMonth, ProgramBudgetUse
from channel.person_months import PersonMonth, check_person_months
from channel.postings import (
    InsufficientPoints,
    Line,
    Posting,
    person_account,
    pool_account,
    post,
    post_many,
)
from channel.rollups import NO_PROGRAM, check_rollups
from core.db import get_session, utcnow
from core.months import month_key
from roles.permissions import Role
from tests.builders import build_world, make_program


def line(partner, account, points, kind, *, program=None, budget=0, person=None, **more):
    return Line(
        account=account,
        points=points,
        kind=kind,
        partner_id=partner.id,
        program_id=program.id if program else None,
        person_id=person.id if person else None,
        budget_points=budget,
        **more,
    )


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["earn", "earn_bulk", "redeem", "reverse", "expire", "to_pool", "from_pool", "replay"]
        ),
        st.integers(min_value=0, max_value=1),  # which person
        st.integers(min_value=0, max_value=2),  # which program (2: none)
        st.integers(min_value=1, max_value=50),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_any_sequence_of_postings_keeps_the_rollups_equal_to_the_ledger(db, world, operations):
    partner = world.partner_a
    people = (world.people[Role.SELLER], world.people[Role.TECHNICIAN])
    nested = db.begin_nested()
    try:
        programs = (
            make_program(db, partners=[partner]),
            make_program(db, partners=[partner]),
            None,
        )
        keys = []
        for step, (operation, who, which, points) in enumerate(operations):
            person, program = people[who], programs[which]
            account = person_account(person.id)
            key = f"roll:{step}"
            earning = line(
                partner, account, points, "earn", program=program, budget=points, person=person
            )
            try:
                if operation == "earn":
                    post(db, key, [earning])
                elif operation == "earn_bulk":
                    shared = [earning]
                    post_many(
                        db,
                        [
                            Posting(f"{key}:a", shared),
                            Posting(f"{key}:b", shared),
                            Posting(f"{key}:c", [line(partner, account, 1, "earn", person=person)]),
                        ],
                    )
                elif operation in ("redeem", "expire"):
                    post(db, key, [line(partner, account, -points, operation, person=person)])
                elif operation == "to_pool":
                    post(
                        db,
                        key,
                        [
                            line(partner, account, -points, "transfer", person=person),
                            line(
                                partner, pool_account(partner.id), points, "transfer", to_pool=True
                            ),
                        ],
                    )
                elif operation == "from_pool":
                    post(
                        db,
                        key,
                        [
                            line(
                                partner, pool_account(partner.id), -points, "transfer", to_pool=True
                            ),
                            line(partner, account, points, "transfer", person=person),
                        ],
                    )
                elif operation == "reverse" and keys:
                    original = db.scalars(
                        select(LedgerEntry).where(LedgerEntry.posting_key == keys[-1])
                    ).all()
                    post(
                        db,
                        f"reverse:{keys[-1]}",
                        [
                            Line(
                                account=e.account_key,
                                points=-e.points,
                                bucket=e.bucket,
                                kind="reverse",
                                partner_id=e.partner_id,
                                program_id=e.program_id,
                                budget_points=-e.budget_points,
                                refers_to_id=e.id,
                            )
                            for e in original
                        ],
                    )
                elif operation == "replay" and keys:
                    original = db.scalars(
                        select(LedgerEntry).where(LedgerEntry.posting_key == keys[-1])
                    ).all()
                    post(
                        db,
                        keys[-1],
                        [
                            Line(
                                account=e.account_key,
                                points=e.points,
                                bucket=e.bucket,
                                kind=e.kind,
                                partner_id=e.partner_id,
                                refers_to_id=e.refers_to_id,
                            )
                            for e in original
                        ],
                    )
                keys.append(key)
            except InsufficientPoints:
                pass  # refused: nothing written, and the rollups must show nothing either
        assert check_rollups(db) == []
        assert check_person_months(db) == []
        # The recomputation itself, spelled out for the budget totals.
        used = {}
        for entry in db.scalars(select(LedgerEntry).where(LedgerEntry.program_id.is_not(None))):
            used[entry.program_id] = used.get(entry.program_id, 0) + entry.budget_points
        # A program whose earnings were all reversed keeps its row at 0: as good as none.
        kept = {u.program_id: u.budget_points for u in db.scalars(select(ProgramBudgetUse))}
        assert {p: b for p, b in kept.items() if b} == {p: b for p, b in used.items() if b}
    finally:
        nested.rollback()


def test_a_posting_counts_in_its_month_kind_program_and_partner(db, world):
    partner, seller = world.partner_a, world.people[Role.SELLER]
    program = make_program(db, partners=[partner])
    account = person_account(seller.id)
    post(db, "r:1", [line(partner, account, 30, "earn", program=program, budget=30)])
    post(db, "r:2", [line(partner, account, 12, "earn", program=program, budget=12)])
    post(db, "r:3", [line(partner, account, -5, "redeem")])
    rows = {
        (r.kind, r.program_id): (r.month, r.points, r.budget_points, r.lines)
        for r in db.scalars(select(LedgerMonth))
    }
    month = month_key(utcnow())
    assert rows == {
        ("earn", program.id): (month, 42, 42, 2),
        ("redeem", NO_PROGRAM): (month, -5, 0, 1),
    }
    assert db.get(ProgramBudgetUse, program.id).budget_points == 42


def test_ledger_check_fails_loudly_when_a_rollup_drifts(app, db, world):
    partner, seller = world.partner_a, world.people[Role.SELLER]
    program = make_program(db, partners=[partner])
    post(
        db, "d:1", [line(partner, person_account(seller.id), 9, "earn", program=program, budget=9)]
    )
    assert check_rollups(db) == []
    db.execute(text("UPDATE ledger_months SET points = points + 1"))
    db.execute(text("UPDATE program_budget_uses SET budget_points = 3"))
    wrong = check_rollups(db)
    assert len(wrong) == 2
    assert "stored (10, 9, 1), ledger (9, 9, 1)" in wrong[0]
    assert f"program {program.id} budget used: stored 3, ledger 9" in wrong[1]


def test_concurrent_postings_to_one_rollup_row_all_count(committed_app):
    app = committed_app
    with app.test_request_context():
        db = get_session()
        world = build_world(db)
        program = make_program(db, partners=[world.partner_a])
        db.commit()
        partner_id, person_id, program_id = (
            world.partner_a.id,
            world.people[Role.SELLER].id,
            program.id,
        )

    factory = sessionmaker(bind=app.extensions["partnerlift.engine"], expire_on_commit=False)
    workers = 8
    start = threading.Barrier(workers)
    failures = []

    def earn(n):
        start.wait()
        try:
            with factory() as session:
                post(
                    session,
                    f"race:{n}",
                    [
                        Line(
                            account=person_account(person_id),
                            points=10,
                            kind="earn",
                            partner_id=partner_id,
                            person_id=person_id,
                            program_id=program_id,
                            budget_points=10,
                        )
                    ],
                )
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))

    threads = [threading.Thread(target=earn, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    with factory() as session:
        row = session.scalars(select(LedgerMonth).where(LedgerMonth.program_id == program_id)).one()
        assert (row.points, row.budget_points, row.lines) == (10 * workers, 10 * workers, workers)
        assert session.get(ProgramBudgetUse, program_id).budget_points == 10 * workers
        assert check_rollups(session) == []
        done = session.scalars(select(PersonMonth).where(PersonMonth.person_id == person_id)).one()
        assert (done.earn_lines, done.points, done.lines) == (workers, 10 * workers, workers)
        assert check_person_months(session) == []


def test_ledger_check_fails_loudly_when_a_persons_month_drifts(app, db, world):
    partner, seller = world.partner_a, world.people[Role.SELLER]
    program = make_program(db, partners=[partner])
    account = person_account(seller.id)
    post(db, "pm:1", [line(partner, account, 9, "earn", program=program, budget=9, person=seller)])
    assert check_person_months(db) == []
    db.execute(text("UPDATE person_months SET points = points + 1"))
    wrong = check_person_months(db)
    assert len(wrong) == 1 and "stored (1, 0, 10, 1), counted (1, 0, 9, 1)" in wrong[0]
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "person month" in result.output
