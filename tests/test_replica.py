"""DATABASE_REPLICA_URL: dashboards, results and exports read from the replica, writes stay on
the primary; without it every session has the one engine.

The replica here is a second database with different content (no streaming replication is
needed to tell which engine a read went to): each side holds a partner the other lacks.
"""

from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from app import create_app
from channel.partner_models import PartnerOrganization
from core.db import get_engine, get_replica_engine, get_session, reading
from roles.models import Role, SignInSession
from tests.builders import login_as, make_partner, make_person
from tests.conftest import TEST_CONFIG, migrated_database

PRIMARY_ONLY = "Primary Only Heating"
REPLICA_ONLY = "Replica Only Heating"


@pytest.fixture(scope="module")
def replica_app(tmp_path_factory):
    with (
        migrated_database("postgresql", tmp_path_factory) as primary,
        migrated_database("postgresql", tmp_path_factory) as replica,
    ):
        app = create_app({**TEST_CONFIG, "DATABASE_URL": primary, "DATABASE_REPLICA_URL": replica})
        engine = create_engine(replica)
        with Session(engine) as db:
            make_partner(db, name=REPLICA_ONLY)
            db.commit()
        engine.dispose()
        yield app
        app.extensions["partnerlift.engine"].dispose()
        app.extensions["partnerlift.replica_engine"].dispose()


@contextmanager
def _statements(engine):
    """The SQL statements run on `engine` within the block."""
    seen = []

    def record(_connection, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.engine, "before_cursor_execute", record)


def _partner_names(engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(PartnerOrganization.name)))


@pytest.mark.postgresql
def test_dashboards_and_exports_read_the_replica_while_writes_go_to_the_primary(replica_app):
    with replica_app.app_context():
        db = get_session()
        make_partner(db, name=PRIMARY_ONLY)
        manager = make_person(db, None, [Role.CHANNEL_MANAGER])
        db.commit()
        primary, replica = get_engine(), get_replica_engine()
        client = replica_app.test_client()
        login_as(client, manager)  # a sign-in session: a write, on the primary

        page = client.get("/dashboard").get_data(as_text=True)
        with _statements(primary) as on_primary, _statements(replica) as on_replica:
            csv = client.get("/dashboard/export/engagement-partner.csv").get_data(as_text=True)
            xlsx = client.get("/dashboard/export/engagement-partner.xlsx")

        assert REPLICA_ONLY in page and PRIMARY_ONLY not in page
        assert csv.startswith("month,partner_id,partner,") and xlsx.status_code == 200
        assert any("FROM enrollments" in s for s in on_replica)
        assert not any("FROM enrollments" in s for s in on_primary)
        assert _partner_names(primary) == {PRIMARY_ONLY}
        assert _partner_names(replica) == {REPLICA_ONLY}
        with Session(primary) as check:
            assert check.scalar(select(func.count()).select_from(SignInSession)) == 1
        with Session(replica) as check:
            assert check.scalar(select(func.count()).select_from(SignInSession)) == 0


@pytest.mark.postgresql
def test_a_report_reads_the_replica_in_a_session_that_refuses_writes(replica_app):
    with replica_app.test_request_context():
        report = reading()
        assert report is not get_session()
        assert set(report.scalars(select(PartnerOrganization.name))) == {REPLICA_ONLY}
        report.add(PartnerOrganization(name="Written to a report", country="LV", legal_id="X1"))
        with pytest.raises(Exception, match="read-only transaction"):
            report.flush()


def test_without_a_replica_reports_read_with_the_request_session(app, db):
    with app.test_request_context():
        assert get_replica_engine() is get_engine()
        assert reading() is get_session()
