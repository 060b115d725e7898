"""The declarative base, the engine and the request-scoped session.

Operations receive a session and flush; the request or CLI boundary commits. A long read that
outlives its request (a streamed export) takes a `read_session` of its own instead.

With DATABASE_REPLICA_URL set (a PostgreSQL read replica), the pages that only report
(dashboards, results) read through `reading()` and every export through `read_session` on a
second engine bound to the replica, while everything that writes stays on the primary: two
engines and a session bound to each, SQLAlchemy's documented way to split reads from writes.
Without it, `reading()` is the request's own session and every session has the one engine.
"""

import hashlib
import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app, g, has_request_context
from sqlalchemy import DateTime, Index, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


#: The packages whose modules may define tables. `import_models` finds the modules itself, so a
#: new model module needs no list of its own (migrations and their test both read the tables).
MODEL_PACKAGES = ("core", "roles", "channel", "messaging")


def import_models() -> MetaData:
    """Import every module of `MODEL_PACKAGES`, so `Base.metadata` holds every mapped table.

    By package name at run time, so this module still imports none of them."""
    for package_name in MODEL_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            importlib.import_module(module.name)
    return Base.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def index_where_set(name: str, *columns: str, where: str) -> Index:
    """An index holding only the rows whose `where` column is set (a partial index on both
    databases): for columns most rows leave empty, which then cost those rows nothing."""
    condition = text(f"{where} IS NOT NULL")
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)


def make_engine(url: str, **options) -> Engine:
    """The engine for `url`; `options` go to SQLAlchemy's `create_engine` (a pool class…)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **options)
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


#: Marks the connections of `read_only_engine` on SQLite, whose transactions begin DEFERRED.
_READS_ONLY = "partnerlift_reads_only"


def read_only_engine(engine: Engine) -> Engine:
    """`engine`'s pool, for transactions that only read: one consistent snapshot that never
    holds a lock a writer waits for. SQLite: a deferred BEGIN, which in WAL mode reads beside a
    writer (IMMEDIATE would hold the write lock while a client downloads). PostgreSQL: READ
    ONLY, REPEATABLE READ, which refuses a write and sees the database as at its first query."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_READS_ONLY: True})
    return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, open transactions, so SAVEPOINTs and FKs work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds only ASCII; names here are Cyrillic, Latvian, Polish…
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts and survives the app being killed at any moment;
        # only an OS crash or power cut may lose the last commits. FULL would fsync every
        # commit (about 3 ms here), which the outbox worker does twice a message.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(_READS_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front, so two transactions never deadlock
        # upgrading a read lock (SQLITE_BUSY); WAL keeps readers outside unblocked.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_keys(session: Session, *keys: str) -> None:
    """Hold `keys` (any strings naming what a transaction is about to check and write) until
    it ends: another transaction locking one of the same keys waits for this one to commit or
    roll back, and its next statement then sees what this one wrote.

    PostgreSQL: one transaction-scoped advisory lock per key (a 64-bit hash of it; two keys
    sharing a hash only take turns), taken in sorted order so that two transactions locking
    overlapping keys never deadlock. Call it once per transaction, before the checks it
    protects (under READ COMMITTED each later statement reads afresh) and before any row
    lock (a program's, a balance's), so no transaction waits for keys while holding one.

    SQLite: every transaction already opens with BEGIN IMMEDIATE
    (`_make_sqlite_transactional`), which holds the database's one write lock until it
    ends, so transactions already run one at a time; the keys need no lock of their own,
    only the transaction opened now.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    for lock_id in sorted({_lock_id(key) for key in keys}):
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _lock_id(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    replica_url = app.config.get("DATABASE_REPLICA_URL")
    #: The engine reports read from: the replica's, or the primary's when there is none.
    replica = make_engine(replica_url) if replica_url else engine
    app.extensions["partnerlift.engine"] = engine
    app.extensions["partnerlift.replica_engine"] = replica
    app.extensions["partnerlift.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    _watch_writes(app.extensions["partnerlift.sessionmaker"])
    app.extensions["partnerlift.read_sessionmaker"] = sessionmaker(
        bind=read_only_engine(replica), expire_on_commit=False
    )

    @app.teardown_appcontext
    def _close_session(_exc):
        for key in ("db_session", "db_reading"):
            session = g.pop(key, None)
            if session is None:
                continue
            try:
                session.close()
            except DBAPIError:
                # The server went away after the request's work: what it committed stays,
                # what it had open the server rolled back. Its answer stands; the
                # connection goes.
                app.logger.warning("database connection lost while closing a session")
                session.invalidate()


#: On `flask.g`: the request's change is committed (set by `core.views.attempt`) and
#: nothing has been written since, so a connection lost now loses only the answer's page.
CHANGE_SAVED = "change_saved"


def _watch_writes(factory: sessionmaker) -> None:
    """A request's write after its change was committed makes that change no longer the
    whole story: a connection lost during the new write loses it, and the answer must not
    say the request was saved (a sign-in whose credentials were checked and committed, but
    whose browser session was not)."""

    def saved() -> bool:
        return has_request_context() and CHANGE_SAVED in g

    @event.listens_for(factory, "before_flush")
    def _flushing(session, _context, _instances):
        # Asked first: `dirty` looks at every object the session holds.
        if saved() and (session.new or session.dirty or session.deleted):
            g.pop(CHANGE_SAVED)

    @event.listens_for(factory, "do_orm_execute")
    def _executing(state):
        if saved() and (state.is_insert or state.is_update or state.is_delete):
            g.pop(CHANGE_SAVED)


def get_session() -> Session:
    """The session of the current request or CLI command."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["partnerlift.sessionmaker"]()
    return g.db_session


def reading() -> Session:
    """The session a page that only reports reads with (a dashboard, a survey's results): on
    the read replica when DATABASE_REPLICA_URL is set (one read-only snapshot, for the
    request), else the request's own session. Nothing written through it reaches the primary
    (the replica refuses it), so an operation that writes takes `get_session()`."""
    if not has_replica():
        return get_session()
    if "db_reading" not in g:
        g.db_reading = read_sessionmaker()()
    return g.db_reading


def has_replica() -> bool:
    extensions = current_app.extensions
    return extensions["partnerlift.replica_engine"] is not extensions["partnerlift.engine"]


def read_sessionmaker() -> sessionmaker:
    """What makes a `read_session`, taken while the app is at hand: a stream reads after its
    request has ended."""
    return current_app.extensions["partnerlift.read_sessionmaker"]


@contextmanager
def read_session(factory: sessionmaker | None = None) -> Iterator[Session]:
    """A session of its own that only reads, in one snapshot (`read_only_engine`), closed on
    leaving the block however it is left, a client that went away included."""
    session = (factory or read_sessionmaker())()
    try:
        yield session
    finally:
        session.close()


def get_engine() -> Engine:
    return current_app.extensions["partnerlift.engine"]


def get_replica_engine() -> Engine:
    """The engine reports read from: the replica's, or the primary's when there is none."""
    return current_app.extensions["partnerlift.replica_engine"]
