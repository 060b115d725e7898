"""Test fixtures: an app per database (SQLite and PostgreSQL), a rolled-back transaction per test.

Every test that uses `db`, `app` or `client` runs once on each database. PostgreSQL must be
reachable (PARTNERLIFT_TEST_POSTGRES, default the local server): the run fails, not skips,
when it is not. PARTNERLIFT_TEST_DATABASES=sqlite narrows a local run on purpose.
"""

import inspect
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from app import create_app
from core.cli import compile_catalogs, upgrade_database
from core.extensions import limiter
from tests import scheduling

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "PARTNERLIFT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: PARTNERLIFT_SOAK=1 runs the fault tests' long versions (minutes each) instead of the short
#: ones CI runs (seconds each): the same assertions, over more load and more faults.
SOAK = os.environ.get("PARTNERLIFT_SOAK", "") not in ("", "0")
DATABASES = [
    name.strip()
    for name in os.environ.get("PARTNERLIFT_TEST_DATABASES", "sqlite,postgresql").split(",")
]

# Every property test draws the same examples on every run, so a verdict never depends on the
# draw; HYPOTHESIS_PROFILE=explore draws new ones (and remembers failures) while hunting.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    # argon2's cheapest settings keep the suite fast; production uses the config defaults.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    # No night by default, so a test's outcome never depends on the hour it runs; the
    # quiet-hours tests set their own.
    "QUIET_HOURS": "",
    # Tests share one connection (rolled back after each test): one sending thread.
    "MESSAGING_WORKER_THREADS": 1,
    # Nobody held out of trigger messages, so each test knows who gets one; the hold-out
    # tests set their own share.
    "NUDGE_HOLDOUT_PERCENT": 0,
}


#: Fixtures that reach a database: a test using any of them (directly or through another
#: fixture) is marked `db`, one using none is `unit`.
DATABASE_FIXTURES = {
    "database_url",
    "app",
    "db",
    "client",
    "committed_app",
    "committed_postgres_app",
    "postgres_engine",
}
#: Databases of their own where tests commit for real, for races between threads: `slow`.
COMMITTING_FIXTURES = {"committed_app", "committed_postgres_app"}
#: Sweeps over every route, role, form and API operation (minutes on SQLite alone): `slow`.
SWEEP_MODULES = {"test_isolation", "test_forms_fuzz", "test_webhooks_fuzz", "test_openapi"}
#: Modules that break something on purpose: a database restarted, a provider gone, a worker
#: killed mid-send. Marked `fault` and `slow`.
FAULT_MODULES = {
    "test_connection_lost",
    "test_database_restart",
    "test_provider_outage",
    "test_worker_crash",
}
#: Modules that start servers or database clusters of their own (found by what they import).
SERVER_HELPERS = {"tests.servers", "tests.postgres_cluster"}


def _starts_servers(module) -> bool:
    """Whether a test module starts servers or clusters: by its name, or by using the helpers."""
    if module.__name__.endswith("_across_processes"):
        return True
    for value in vars(module).values():
        name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if name in SERVER_HELPERS:
            return True
    return False


def pytest_configure(config):
    """The order `make test`'s processes take the files in (tests/scheduling.py)."""
    config.pluginmanager.register(scheduling, "partnerlift-scheduling")


def pytest_collection_modifyitems(config, items):
    """Mark every test by what it needs (markers registered in pyproject.toml), so
    `make test-quick` can leave out the browser, the servers and the fault injection; a run
    narrowed to SQLite leaves out the PostgreSQL-only races instead of skipping them."""
    servers = {}
    for item in items:
        if "committed_postgres_app" in item.fixturenames:
            item.add_marker(pytest.mark.postgresql)
        module = item.module
        if module.__name__ not in servers:
            servers[module.__name__] = _starts_servers(module)
        if "tests/browser/" in item.path.as_posix():
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        elif module.__name__.rpartition(".")[2] in FAULT_MODULES:
            item.add_marker(pytest.mark.fault)
            item.add_marker(pytest.mark.slow)
        elif servers[module.__name__] or module.__name__.rpartition(".")[2] in SWEEP_MODULES:
            item.add_marker(pytest.mark.slow)
        uses_database = DATABASE_FIXTURES & set(item.fixturenames)
        if uses_database and (
            getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
            or COMMITTING_FIXTURES & set(item.fixturenames)
        ):
            # Many examples each through the app and the database, or threads racing on a
            # database of their own: seconds a test.
            item.add_marker(pytest.mark.slow)
        if uses_database:
            item.add_marker(pytest.mark.db)
        elif not any(next(item.iter_markers(name), None) for name in ("browser", "slow")):
            item.add_marker(pytest.mark.unit)
    if "postgresql" not in DATABASES:
        kept, left_out = [], []
        for item in items:
            (left_out if next(item.iter_markers("postgresql"), None) else kept).append(item)
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = kept


def pytest_sessionstart(session):
    """Compile the catalogs first, so the suite always reads the .po files as they are now.

    Under pytest-xdist the controlling process compiles them before it starts its workers, so
    no worker reads a catalog another is writing."""
    if not hasattr(session.config, "workerinput"):
        compile_catalogs()


@contextmanager
def migrated_database(kind: str, tmp_path_factory):
    """A new, migrated database of `kind` for this run, dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'partnerlift.sqlite3'}"
        upgrade_database(url)
        yield url
        return
    if kind != "postgresql":
        raise ValueError(f"unknown test database {kind!r}")
    name = f"partnerlift_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}. Start it, or set "
            "PARTNERLIFT_TEST_DATABASES=sqlite to run the SQLite half only.",
            pytrace=False,
        )
    base, _, _ = POSTGRES_URL.rpartition("/")
    url = f"{base}/{name}"
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory):
    with migrated_database(request.param, tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    yield app
    app.extensions["partnerlift.engine"].dispose()


@pytest.fixture
def db(app):
    """A session inside a transaction that is rolled back after the test.

    The app's own sessions (one per request, and a streamed export's read session) join the
    same connection through savepoints, so what a request commits is visible to the test and
    vanishes with it.
    """
    engine = app.extensions["partnerlift.engine"]
    connection = engine.connect()
    transaction = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    originals = {
        key: app.extensions[key]
        for key in ("partnerlift.sessionmaker", "partnerlift.read_sessionmaker")
    }
    app.extensions.update(dict.fromkeys(originals, factory))
    limiter.reset()
    session = factory()
    try:
        yield session
    finally:
        session.close()
        app.extensions.update(originals)
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def world(db):
    """Two partners with staff in every role, and the manufacturer's people."""
    from tests.builders import build_world

    return build_world(db)


@pytest.fixture(scope="module")
def committed_postgres_app(tmp_path_factory):
    """`committed_app` on PostgreSQL alone: for races that only it can run (SQLite takes one
    writing transaction at a time, so two can never interleave there). Its tests are marked
    `postgresql` and left out, not skipped, when PARTNERLIFT_TEST_DATABASES names no PostgreSQL."""
    with migrated_database("postgresql", tmp_path_factory) as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        yield app
        app.extensions["partnerlift.engine"].dispose()


@pytest.fixture(scope="module", params=DATABASES)
def committed_app(request, tmp_path_factory):
    """An app on a database of its own where tests commit for real: for concurrency tests."""
    with migrated_database(request.param, tmp_path_factory) as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        yield app
        app.extensions["partnerlift.engine"].dispose()
