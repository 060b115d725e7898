"""Liveness and readiness checks, and what a person sees while the database is unreachable."""

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from app import create_app
from core.cli import upgrade_database
from roles.permissions import Role
from tests.builders import login_as
from tests.conftest import POSTGRES_URL, TEST_CONFIG


def newest_migrations() -> list[str]:
    """The heads of the migration scripts as they are in the tree right now."""
    from alembic.script import ScriptDirectory

    from core.cli import alembic_config

    return sorted(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_ready_when_the_database_answers_at_the_newest_migration(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["revision"] == newest_migrations()


def test_not_ready_while_the_schema_lacks_a_migration(tmp_path):
    url = f"sqlite:///{tmp_path}/behind.sqlite3"
    upgrade_database(url, "0019_learning")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "flask db upgrade" in response.json["reason"]
    assert (response.json["current"], response.json["expected"]) == (
        ["0019_learning"],
        newest_migrations(),
    )
    assert app.test_client().get("/healthz").status_code == 200  # alive all the same


@contextmanager
def empty_postgres_database():
    name = f"partnerlift_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_URL.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_not_ready_on_a_postgresql_database_never_migrated():
    with empty_postgres_database() as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        response = app.test_client().get("/readyz")
        app.extensions["partnerlift.engine"].dispose()
    assert response.status_code == 503
    assert response.json["current"] == []


def test_neither_alive_nor_ready_when_the_database_is_unreachable(tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/db.sqlite3"})
    for path in ("/healthz", "/readyz"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        assert response.json["status"] == "unavailable"
    assert app.test_client().get("/readyz").json["reason"] == "database unreachable"


@pytest.fixture
def database_down(app, db):
    """Once the test sets `down["now"]`, statements fail as on a lost server (all of them, or
    all but the sign-in's own when `down["but_sign_in"]`)."""
    down = {"now": False, "but_sign_in": False}

    def refuse(connection, cursor, statement, *args):
        # The test's request sessions work in SAVEPOINTs (tests/conftest.py): those pass.
        bookkeeping = "SAVEPOINT" in statement
        signing_in = down["but_sign_in"] and statement.startswith("SELECT people.")
        if down["now"] and not (bookkeeping or signing_in):
            raise OperationalError(statement, {}, Exception("server closed the connection"))

    engine = app.extensions["partnerlift.engine"]
    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield down
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def test_the_outage_page_speaks_the_browser_language_when_nobody_could_be_loaded(
    client, world, database_down
):
    login_as(client, world.people[Role.TECHNICIAN])
    database_down["now"] = True
    response = client.get("/claims/mine", headers={"Accept-Language": "pl"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert 'lang="pl"' in page and "Chwilowo niedostępne" in page
    assert "Traceback" not in page and "OperationalError" not in page
    database_down["now"] = False
    assert client.get("/claims/mine").status_code == 200


def test_the_outage_page_speaks_the_person_language_once_they_were_loaded(
    client, db, world, database_down
):
    technician = world.people[Role.TECHNICIAN]
    technician.language = "he"
    db.commit()
    login_as(client, technician)
    database_down.update(now=True, but_sign_in=True)
    response = client.get("/claims/mine", headers={"Accept-Language": "pl"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert 'lang="he" dir="rtl"' in page and "לא זמין לרגע" in page
    assert "/sign-out" not in page  # the anonymous layout: no menu that would ask the database


def test_the_api_answers_503_in_its_own_shape_while_the_database_is_down(client, db, database_down):
    from tests.builders import make_api_token

    _, headers = make_api_token(db)
    database_down["now"] = True
    response = client.get("/api/v1/partners", headers=headers)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"


def test_a_connection_lost_after_the_answer_was_made_leaves_the_answer_alone(tmp_path, monkeypatch):
    """The server may go away between a request's commit and the end of the request: the
    session's closing rollback then fails, and must not turn a done request into a 500."""
    import sqlite3

    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    engine = app.extensions["partnerlift.engine"]
    assert app.test_client().get("/healthz").status_code == 200  # connected once already

    def lost(dbapi_connection):
        raise sqlite3.OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(engine.dialect, "do_rollback", lost)
    assert app.test_client().get("/healthz").status_code == 200
