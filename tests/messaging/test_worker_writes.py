"""The worker's own writes on a committed database, as it runs them: the due index walked,
the one-statement lease on PostgreSQL, and outcomes written by `OutcomeWriter` in autocommit."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import sessionmaker

from app import create_app
from core.db import make_engine, utcnow
from messaging.delivery import (
    _CLAIM_AND_LEASE,
    _LEASES,
    OutcomeWriter,
    lease_due,
    record_outcome,
)
from messaging.models import ChannelConsent, OutboxMessage
from messaging.outbox import enqueue_many
from messaging.policy import Policy
from tests.builders import make_partner, make_person
from tests.conftest import DATABASES, TEST_CONFIG, migrated_database
from tests.messaging.leasing import check_a_lease_decides_as_one_by_one, queue

LEASE = timedelta(minutes=2)


@pytest.fixture(scope="module", params=DATABASES)
def committed(request, tmp_path_factory):
    """(app, engine, session factory) on a database of its own whose writes are committed, as
    the worker's are: its thread connections see only what others committed."""
    with migrated_database(request.param, tmp_path_factory) as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        engine = make_engine(url)
        yield app, engine, sessionmaker(bind=engine)
        engine.dispose()
        app.extensions["partnerlift.engine"].dispose()


@pytest.fixture
def outbox(committed):
    """An empty outbox (and no consents) at the start of each test."""
    app, engine, factory = committed
    with factory() as session:
        session.execute(delete(OutboxMessage))
        session.execute(delete(ChannelConsent))
        session.commit()
    return committed


def autocommit(engine):
    """A connection as the worker's threads keep one for their outcomes."""
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def test_a_lease_in_one_statement_decides_every_message_as_a_read_would(outbox):
    """On PostgreSQL the claim and the lease are one statement in autocommit; the messages
    that must wait or fall back have that lease undone and are decided as by `_ready`. On
    SQLite the same call takes the usual way: the outcome is the same."""
    app, engine, factory = outbox
    with app.app_context(), factory() as session, autocommit(engine) as connection:
        check_a_lease_decides_as_one_by_one(
            session, make_partner(session), LEASE, commit=session.commit, autocommit=connection
        )


def test_outcomes_are_committed_when_written_and_read_back_as_the_session_wrote_them(outbox):
    app, engine, factory = outbox
    with app.app_context(), factory() as session:
        person = make_person(session, make_partner(session), timezone="Europe/Riga")
        for n in range(3):
            queue(session, person, f"Message {n}")
        session.commit()
        now = utcnow()
        with autocommit(engine) as connection:
            flights, _ = lease_due(
                session, now=now, policy=Policy(), lease=LEASE, limit=3, autocommit=connection
            )
            sent, retried, given_up = flights
            writer = OutcomeWriter(connection)
            statuses = [
                record_outcome(writer, sent, ("sent", ("SM" + "1" * 32, "queued")), max_attempts=3),
                record_outcome(writer, retried, ("transient", "20429"), max_attempts=3),
                record_outcome(writer, given_up, ("transient", "503"), max_attempts=1),
            ]
            writer.close()
        assert statuses == ["sent", "pending", "failed"]
        # Committed already: another connection sees every outcome.
        with factory() as other:
            rows = {m.id: m for m in other.scalars(select(OutboxMessage))}
            assert rows[sent.id].status == "sent"
            assert rows[sent.id].provider_id == "SM" + "1" * 32
            assert rows[sent.id].provider_status == "queued"
            assert now <= rows[sent.id].sent_at <= utcnow()
            assert rows[sent.id].sent_at.tzinfo is not None
            assert rows[sent.id].next_attempt_at is None
            assert rows[retried.id].status == "pending"
            assert rows[retried.id].last_error == "20429"
            assert rows[retried.id].next_attempt_at > now
            assert rows[given_up.id].status == "failed" and rows[given_up.id].last_error == "503"
            # Written as the columns' types write them: compared in SQL as any other time.
            assert (
                other.scalar(
                    select(func.count()).where(
                        OutboxMessage.sent_at >= now, OutboxMessage.sent_at <= utcnow()
                    )
                )
                == 1
            )


def test_outcomes_are_refused_a_connection_that_would_not_commit_them(committed):
    """PostgreSQL's driver connection holds a lone UPDATE in a transaction unless it is in
    autocommit: the writer refuses it. SQLite's commits a lone UPDATE by itself (`core.db`
    leaves pysqlite's own transactions off): the writer takes it."""
    _, engine, _ = committed
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            with pytest.raises(ValueError, match="autocommit"):
                OutcomeWriter(connection)
        else:
            assert OutcomeWriter(connection).connection is connection


def test_a_lease_walks_the_due_index_however_long_the_backlog(outbox):
    """With thousands pending, the claim reads its few rows from `ix_outbox_messages_due`
    in the queue's order, rather than sorting every pending message at each lease."""
    app, engine, factory = outbox
    with app.app_context(), factory() as session:
        person = make_person(session, make_partner(session), timezone="Europe/Riga")
        rows = [
            {
                "person_id": person.id,
                "channel": "sms",
                "recipient": person.phone,
                "kind": "t",
                "category": "transactional",
                "body": f"Message {n}",
            }
            for n in range(5000)
        ]
        enqueue_many(session, rows, now=utcnow())
        session.commit()
    postgresql = engine.dialect.name == "postgresql"
    statements = [_LEASES[postgresql]] + ([_CLAIM_AND_LEASE] if postgresql else [])
    with engine.connect() as connection:
        if postgresql:
            connection.execute(text("ANALYZE outbox_messages"))
        explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
        for statement in statements:
            compiled = statement.compile(dialect=engine.dialect)
            params = compiled.construct_params({"now": utcnow(), "limit": 10, "until": utcnow()})
            if compiled.positional:
                params = tuple(params[name] for name in compiled.positiontup)
            plan = "\n".join(
                str(row[-1])
                for row in connection.exec_driver_sql(explain + compiled.string, params)
            )
            assert "ix_outbox_messages_due" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_only_messages_with_a_source_are_in_the_source_index_which_lookups_walk(outbox):
    """Migration 0049: the source index holds only messages that have a source (so the new
    row version each outcome writes costs it nothing for the others), and a lookup by source
    still walks it."""
    app, engine, factory = outbox
    postgresql = engine.dialect.name == "postgresql"
    with app.app_context(), factory() as session:
        person = make_person(session, make_partner(session), timezone="Europe/Riga")
        queue(session, person, "Your code: 123456", category="critical")
        session.commit()
    with engine.connect() as connection:
        explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
        if postgresql:
            connection.execute(text("SET enable_seqscan TO off"))  # a tiny table otherwise
        by_source = select(OutboxMessage.id).where(OutboxMessage.source == "campaign:1")
        compiled = by_source.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(
            str(row[-1]) for row in connection.exec_driver_sql(explain + compiled.string)
        )
        assert "ix_outbox_messages_source" in plan, plan
        indexed = connection.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_outbox_messages_source'"
                if postgresql
                else "SELECT sql FROM sqlite_master WHERE name = 'ix_outbox_messages_source'"
            )
        ).scalar()
        assert "source IS NOT NULL" in indexed, indexed
        if postgresql:  # SQLite keeps no count of an index's entries
            connection.execute(text("ANALYZE outbox_messages"))
            entries = connection.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = 'ix_outbox_messages_source'")
            ).scalar()
            assert entries == 0
