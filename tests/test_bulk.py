"""The bulk writer's ids: reserved for one transaction's rows, never handed out twice; writes
behind."""

import sys

import pytest
from sqlalchemy import func, select, text

from channel.purchases import SerialEvent
from core.bulk import BulkWriter, WritesBehind, insert_new
from core.db import get_session
from roles.permissions import Role
from tests.builders import make_program


def test_ids_drawn_in_bulk_are_new_and_distinct(db):
    table = SerialEvent.__table__
    stored = db.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    for count in (1, 2, 2500):
        ids = BulkWriter(db).next_ids(table, count)
        assert len(ids) == count == len(set(ids)) and min(ids) > stored


def test_ids_that_do_not_follow_on_come_back_one_by_one(committed_postgres_app):
    """Another transaction drawing from the sequence meanwhile leaves gaps: the ids drawn are
    then exactly the ones returned, not the range between the first and the last."""
    with committed_postgres_app.app_context():
        db = get_session()
        db.execute(text("ALTER SEQUENCE serial_events_id_seq INCREMENT BY 3"))
        try:
            ids = BulkWriter(db).next_ids(SerialEvent.__table__, 4)
        finally:
            db.rollback()  # the increment with it
    assert [b - a for a, b in zip(ids, ids[1:], strict=False)] == [3, 3, 3]


def test_writes_behind_pass_the_interpreter_quickly_while_they_run_and_put_it_back(db):
    """On PostgreSQL the writes run on a thread that mostly waits for the database: while any
    run, threads switch every millisecond; the last to end restores the interval. SQLite's
    run inline and change nothing. A failed write still ends the block as it was."""
    before = sys.getswitchinterval()
    behind = db.get_bind().dialect.name == "postgresql"
    with WritesBehind(db) as outer:
        assert sys.getswitchinterval() == (0.001 if behind else before)
        with WritesBehind(db):
            assert sys.getswitchinterval() == (0.001 if behind else before)
        assert sys.getswitchinterval() == (0.001 if behind else before)  # the outer still runs
        outer.run(lambda: None)
    assert sys.getswitchinterval() == before
    with pytest.raises(ZeroDivisionError), WritesBehind(db) as failing:
        failing.run(lambda: 1 / 0)
        failing.wait()
    assert sys.getswitchinterval() == before


def test_collections_pause_while_anyone_is_inside_and_come_back_as_they_were():
    import gc
    import threading

    from core.bulk import collections_paused

    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def other():
        with collections_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with collections_paused():
        assert not gc.isenabled()
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    thread.join(5)
    assert gc.isenabled()
    gc.disable()  # off before: left off
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_rows_inserted_at_once_keep_their_numbers_nulls_and_text_and_skip_keys_taken(db, world):
    """`insert_new` (on PostgreSQL one statement, the whole numbers as the text of an array):
    numbers, NULLs among them, text and flags land as given; a key already held is left out."""
    from messaging.models import TriggerDelivery

    table = TriggerDelivery.__table__
    person = world.people[Role.SELLER]
    program = make_program(db, partners=[world.partner_a])
    rows = [
        {
            "trigger": "points_earned",
            "person_id": person.id,
            "occasion": f"o,{n}\"'{{}}",
            "program_id": program.id if n % 2 else None,
            "held_out": n == 2,
        }
        for n in range(4)
    ]
    written = insert_new(db, table, rows, [table.c.occasion, table.c.program_id])
    assert sorted(written, key=lambda r: r[0]) == sorted(
        [(r["occasion"], r["program_id"]) for r in rows]
    )
    assert insert_new(db, table, rows[:2], [table.c.occasion]) == []
    stored = db.execute(
        select(table.c.occasion, table.c.person_id, table.c.program_id, table.c.held_out)
        .where(table.c.trigger == "points_earned")
        .order_by(table.c.id)
    ).all()
    assert [tuple(r) for r in stored] == [
        (r["occasion"], person.id, r["program_id"], r["held_out"]) for r in rows
    ]
