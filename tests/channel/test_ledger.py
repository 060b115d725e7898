"""The points ledger: append-only, idempotent, never overdrawn, balances equal to their entries."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from channel.expiry import release_due
from channel.ledger import LedgerEntry, add_caps_totals
from channel.person_months import check_person_months
from channel.postings import (
    Deferred,
    IdempotencyConflict,
    InsufficientPoints,
    Line,
    Posting,
    balance_of,
    check_balances,
    person_account,
    pool_account,
    post,
    post_many,
)


@pytest.fixture
def accounts(db, world):
    from roles.permissions import Role

    partner = world.partner_a
    return partner, world.people[Role.SELLER], world.people[Role.TECHNICIAN]


def earn(partner, person, points, *, bucket="available", available_at=None):
    return Line(
        account=person_account(person.id),
        points=points,
        kind="earn",
        partner_id=partner.id,
        person_id=person.id,
        bucket=bucket,
        available_at=available_at,
    )


def debit(partner, person, points, kind="redeem"):
    return Line(
        account=person_account(person.id),
        points=-points,
        kind=kind,
        partner_id=partner.id,
        person_id=person.id,
    )


def test_posting_moves_the_balance_and_replaying_its_key_writes_nothing(db, accounts):
    partner, seller, _ = accounts
    first = post(db, "earn:1", [earn(partner, seller, 40)])
    again = post(db, "earn:1", [earn(partner, seller, 40)])
    assert [e.id for e in again] == [e.id for e in first]
    assert balance_of(db, person_account(seller.id)) == (0, 40)
    assert db.scalar(select(func.count(LedgerEntry.id))) == 1


def test_the_same_key_with_other_content_is_refused(db, accounts):
    partner, seller, _ = accounts
    post(db, "earn:2", [earn(partner, seller, 40)])
    with pytest.raises(IdempotencyConflict):
        post(db, "earn:2", [earn(partner, seller, 41)])
    assert balance_of(db, person_account(seller.id)) == (0, 40)


def test_a_debit_beyond_the_balance_writes_nothing(db, accounts):
    partner, seller, _ = accounts
    post(db, "earn:3", [earn(partner, seller, 10)])
    with pytest.raises(InsufficientPoints):
        post(db, "redeem:3", [debit(partner, seller, 11)])
    assert balance_of(db, person_account(seller.id)) == (0, 10)
    assert (
        db.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.posting_key == "redeem:3"))
        == 0
    )


def test_a_pool_transfer_is_one_posting_of_two_lines(db, accounts):
    partner, seller, _ = accounts
    pool = pool_account(partner.id)
    post(
        db,
        "earn:pool",
        [Line(account=pool, points=100, kind="earn", partner_id=partner.id, to_pool=True)],
    )
    post(
        db,
        "transfer:1",
        [
            Line(account=pool, points=-60, kind="transfer", partner_id=partner.id, to_pool=True),
            Line(
                account=person_account(seller.id),
                points=60,
                kind="transfer",
                partner_id=partner.id,
                person_id=seller.id,
            ),
        ],
    )
    assert balance_of(db, pool) == (0, 40)
    assert balance_of(db, person_account(seller.id)) == (0, 60)


def test_pending_points_become_available_after_the_return_window(db, accounts):
    partner, seller, _ = accounts
    now = datetime.now(UTC)
    post(
        db,
        "earn:pending",
        [earn(partner, seller, 30, bucket="pending", available_at=now + timedelta(days=30))],
    )
    assert release_due(db, now) == 0
    with pytest.raises(InsufficientPoints):
        post(db, "redeem:early", [debit(partner, seller, 30)])
    assert release_due(db, now + timedelta(days=30)) == 1
    assert release_due(db, now + timedelta(days=31)) == 0  # released once
    assert balance_of(db, person_account(seller.id)) == (0, 30)
    assert check_balances(db) == []


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entries SET points = 1000", "DELETE FROM ledger_entries"]
)
def test_the_database_refuses_to_rewrite_ledger_history(db, accounts, statement):
    partner, seller, _ = accounts
    post(db, "earn:history", [earn(partner, seller, 5)])
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))
    assert (
        db.scalar(select(LedgerEntry.points).where(LedgerEntry.posting_key == "earn:history")) == 5
    )


def test_check_finds_a_balance_row_that_drifted_from_its_entries(db, accounts):
    partner, seller, _ = accounts
    post(db, "earn:drift", [earn(partner, seller, 5)])
    db.execute(text("UPDATE balances SET available = 7"))
    assert check_balances(db) == [(person_account(seller.id), (0, 7), (0, 5))]


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["earn", "earn_pending", "redeem", "transfer", "reverse", "release", "replay"]
        ),
        st.integers(min_value=0, max_value=1),
        st.integers(min_value=1, max_value=60),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_any_sequence_keeps_every_balance_equal_to_its_entries_and_never_negative(
    db, accounts, operations
):
    partner, seller, technician = accounts
    people = (seller, technician)
    now = datetime.now(UTC)
    nested = db.begin_nested()
    try:
        keys = []
        for step, (operation, who, points) in enumerate(operations):
            person = people[who]
            key = f"prop:{step}"
            try:
                if operation == "earn":
                    post(db, key, [earn(partner, person, points)])
                elif operation == "earn_pending":
                    post(
                        db, key, [earn(partner, person, points, bucket="pending", available_at=now)]
                    )
                elif operation == "redeem":
                    post(db, key, [debit(partner, person, points)])
                elif operation == "transfer":
                    other = people[1 - who]
                    post(
                        db,
                        key,
                        [
                            debit(partner, person, points, kind="transfer"),
                            Line(
                                account=person_account(other.id),
                                points=points,
                                kind="transfer",
                                partner_id=partner.id,
                            ),
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
                                partner_id=partner.id,
                                refers_to_id=e.id,
                            )
                            for e in original
                        ],
                    )
                elif operation == "release":
                    release_due(db, now)
                elif operation == "expire":
                    from channel.expiry import expire_points

                    expire_points(db, now + timedelta(days=step + 1), timedelta(0))
                elif operation == "replay" and keys:
                    lines = [
                        Line(
                            account=e.account_key,
                            points=e.points,
                            bucket=e.bucket,
                            kind=e.kind,
                            partner_id=partner.id,
                            refers_to_id=e.refers_to_id,
                        )
                        for e in db.scalars(
                            select(LedgerEntry)
                            .where(LedgerEntry.posting_key == keys[-1])
                            .order_by(LedgerEntry.line)
                        )
                    ]
                    post(db, keys[-1], lines)
                keys.append(key)
            except InsufficientPoints:
                pass
            assert check_balances(db) == []
            for person in people:
                pending, available = balance_of(db, person_account(person.id))
                assert pending >= 0 and available >= 0
    finally:
        nested.rollback()


def test_points_expire_oldest_first_once_a_day(db, accounts):
    import time_machine

    from channel.expiry import expire_points

    partner, seller, technician = accounts
    start = datetime(2025, 1, 10, tzinfo=UTC)
    with time_machine.travel(start):
        post(db, "old:seller", [earn(partner, seller, 100)])
        post(db, "old:tech", [earn(partner, technician, 100)])
    with time_machine.travel(start + timedelta(days=300)):
        post(db, "new:seller", [earn(partner, seller, 50)])
        post(db, "spend:seller", [debit(partner, seller, 120)])  # eats the old 100 first, then 20
        post(db, "spend:tech", [debit(partner, technician, 30)])
    now = start + timedelta(days=400)
    expired = expire_points(db, now, timedelta(days=365))
    assert expired == {person_account(technician.id): 70}  # the seller's old points were all spent
    assert balance_of(db, person_account(seller.id)) == (0, 30)
    assert balance_of(db, person_account(technician.id)) == (0, 0)
    assert expire_points(db, now, timedelta(days=365)) == {}
    assert check_balances(db) == []


# ---------------------------------------------------------------- many postings at once


def ledger_rows(db):
    """Every entry as what it says, without ids and times (which differ between runs)."""
    return [
        (e.posting_key, e.line, e.account_key, e.bucket, e.kind, e.points, e.person_id, e.month)
        for e in db.scalars(select(LedgerEntry).order_by(LedgerEntry.posting_key, LedgerEntry.line))
    ]


def test_many_postings_at_once_write_what_posting_them_one_by_one_writes(db, accounts):
    partner, seller, technician = accounts
    post(db, "earn:before", [earn(partner, seller, 30)])
    later = datetime.now(UTC) + timedelta(days=14)
    shared = [earn(partner, technician, 4, bucket="pending", available_at=later)]
    postings = [
        Posting("bulk:1", [earn(partner, seller, 5), earn(partner, technician, 7)]),
        Posting("bulk:2", shared),
        Posting("bulk:3", shared),  # alike postings may share their lines
        Posting(
            "bulk:4",
            [
                debit(partner, seller, 20, kind="transfer"),
                Line(
                    account=person_account(technician.id),
                    points=20,
                    kind="transfer",
                    partner_id=partner.id,
                    person_id=technician.id,
                ),
            ],
        ),
        Posting(
            "bulk:5",
            [
                Line(
                    account=pool_account(partner.id),
                    points=9,
                    kind="earn",
                    partner_id=partner.id,
                    to_pool=True,
                    month="2026-01",
                )
            ],
        ),
    ]
    accounts_seen = [person_account(seller.id), person_account(technician.id)]
    accounts_seen.append(pool_account(partner.id))
    with db.begin_nested() as at_once:
        rows = post_many(db, postings)
        together = ledger_rows(db), [balance_of(db, a) for a in accounts_seen]
        assert check_balances(db) == []
        at_once.rollback()
    for key, lines, _activity in postings:
        post(db, key, lines)
    assert together == (ledger_rows(db), [balance_of(db, a) for a in accounts_seen])
    assert together[1] == [(0, 15), (8, 27), (0, 9)]
    assert [row[:3] for row in rows] == [
        ("bulk:1", None, 0),
        ("bulk:1", None, 1),
        ("bulk:2", None, 0),
        ("bulk:3", None, 0),
        ("bulk:4", None, 0),
        ("bulk:4", None, 1),
        ("bulk:5", None, 0),
    ]


def test_many_postings_with_a_debit_beyond_a_balance_write_nothing(db, accounts):
    partner, seller, technician = accounts
    post(db, "earn:some", [earn(partner, seller, 10)])
    with pytest.raises(InsufficientPoints):
        post_many(
            db,
            [
                Posting("bulk:earn", [earn(partner, technician, 50)]),
                Posting("bulk:redeem", [debit(partner, seller, 6)]),
                Posting("bulk:again", [debit(partner, seller, 6)]),  # 12 of 10 in all
            ],
        )
    assert balance_of(db, person_account(seller.id)) == (0, 10)
    assert balance_of(db, person_account(technician.id)) == (0, 0)
    assert db.scalar(select(func.count(LedgerEntry.id))) == 1
    assert check_balances(db) == []


def test_many_postings_with_a_key_already_used_write_nothing(db, accounts):
    partner, seller, technician = accounts
    post(db, "earn:taken", [earn(partner, seller, 10)])
    with pytest.raises(IntegrityError):
        post_many(
            db,
            [
                Posting("bulk:new", [earn(partner, technician, 50)]),
                Posting("earn:taken", [earn(partner, seller, 10)]),
            ],
        )
    assert balance_of(db, person_account(seller.id)) == (0, 10)
    assert balance_of(db, person_account(technician.id)) == (0, 0)
    assert db.scalar(select(func.count(LedgerEntry.id))) == 1


def test_deferred_postings_move_balances_and_months_once_when_written(db, accounts):
    partner, seller, technician = accounts
    post(db, "earn:first", [earn(partner, seller, 10)])
    deferred = Deferred()
    post_many(db, [Posting("bulk:a", [earn(partner, seller, 5)])], deferred=deferred)
    post_many(
        db,
        [
            Posting("bulk:b", [earn(partner, seller, 7)]),
            Posting("bulk:c", [earn(partner, technician, 3)]),
        ],
        deferred=deferred,
    )
    # A call that fails adds nothing to what is deferred.
    with pytest.raises(IntegrityError):
        post_many(
            db,
            [
                Posting("bulk:d", [earn(partner, technician, 50)]),
                Posting("bulk:a", [earn(partner, seller, 1)]),
            ],
            deferred=deferred,
        )
    # The entries are written; the balances and the people's months wait for `write`.
    assert db.scalar(select(func.count(LedgerEntry.id))) == 4
    assert balance_of(db, person_account(seller.id)) == (0, 10)
    assert check_balances(db) != [] and check_person_months(db) != []
    assert dict(deferred.moves) == {
        (person_account(seller.id), "available"): 12,
        (person_account(technician.id), "available"): 3,
    }
    statements = _statements_of(db, lambda: deferred.write(db))
    assert statements <= 4  # lock/read the rows, one UPDATE, the months' upsert
    assert balance_of(db, person_account(seller.id)) == (0, 22)
    assert balance_of(db, person_account(technician.id)) == (0, 3)
    assert check_balances(db) == [] and check_person_months(db) == []
    deferred.write(db)  # written once: nothing is left to write
    assert balance_of(db, person_account(seller.id)) == (0, 22)


def _statements_of(db, work) -> int:
    from sqlalchemy import event

    count = [0]

    def counted(*_args):
        count[0] += 1

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", counted)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count[0]


@pytest.mark.parametrize("people", [2, 2000])
def test_many_postings_move_balances_in_statements_that_do_not_grow_with_people(
    db, accounts, people
):
    partner, seller, _technician = accounts
    post(db, "earn:first", [earn(partner, seller, 10)])
    owners = [f"test:{number}" for number in range(people)]
    postings = [
        Posting(
            f"bulk:{account}", [Line(account=account, points=3, kind="earn", partner_id=partner.id)]
        )
        for account in owners
    ]
    postings.append(Posting("bulk:seller", [debit(partner, seller, 4)]))
    statements = _statements_of(db, lambda: post_many(db, postings))
    # savepoint, lock/read known rows, insert missing rows, ledger rows, one UPDATE, release
    assert statements <= 8
    assert balance_of(db, owners[-1]) == (0, 3)
    assert balance_of(db, person_account(seller.id)) == (0, 6)
    assert check_balances(db) == []


def test_many_postings_name_the_account_and_bucket_that_would_go_below_zero(db, accounts):
    partner, seller, technician = accounts
    later = datetime.now(UTC) + timedelta(days=14)
    post(db, "earn:pending", [earn(partner, seller, 5, bucket="pending", available_at=later)])
    with pytest.raises(InsufficientPoints) as refused:
        post_many(
            db,
            [
                Posting("bulk:earn", [earn(partner, technician, 50)]),
                Posting(
                    "bulk:expire",
                    [
                        Line(
                            account=person_account(seller.id),
                            points=-6,
                            kind="expire",
                            partner_id=partner.id,
                            person_id=seller.id,
                            bucket="pending",
                        )
                    ],
                ),
            ],
        )
    assert (refused.value.account_key, refused.value.bucket) == (
        person_account(seller.id),
        "pending",
    )
    assert balance_of(db, person_account(seller.id)) == (5, 0)
    assert balance_of(db, person_account(technician.id)) == (0, 0)
    assert check_balances(db) == []


# ---------------------------------------------------------------- cap totals


def test_cap_totals_count_earnings_net_of_reversals_for_whom_they_name(db, world, accounts):
    from channel.rules import Usage
    from tests.builders import make_program

    partner, seller, technician = accounts
    program = make_program(db, partners=[partner])

    def earned(key, points, month, kind="earn"):
        line = earn(partner, seller, points)
        line.kind, line.program_id, line.budget_points, line.month = kind, program.id, points, month
        post(db, key, [line])

    earned("earn:oct", 10, "2026-10")
    earned("earn:nov", 6, "2026-11")
    earned("reverse:nov", -6, "2026-11", kind="reverse")
    earned("earn:nov:2", 4, "2026-11")
    post(db, "redeem:nov", [debit(partner, seller, 3)])  # spending is no earning
    other = world.partner_b.id

    usage = Usage()
    add_caps_totals(
        db,
        {program.id: usage},
        partner_ids={partner.id, other},
        person_ids={seller.id, technician.id},
        month="2026-11",
    )
    assert usage.program_points == 14
    assert usage.partner_points == {partner.id: 14, other: 0}
    assert usage.person_month_points == {(seller.id, "2026-11"): 4, (technician.id, "2026-11"): 0}
    every_month = Usage()
    add_caps_totals(db, {program.id: every_month}, program=False, person_ids={seller.id})
    assert every_month.program_points == 0 and every_month.partner_points == {}
    assert every_month.person_month_points == {
        (seller.id, "2026-10"): 10,
        (seller.id, "2026-11"): 4,
    }
