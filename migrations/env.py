"""Alembic environment: runs migrations against the URL the app or the tests hand it."""

import os

from alembic import context

from core.db import import_models, make_engine

config = context.config
target_metadata = import_models()


def database_url() -> str:
    return config.attributes.get("database_url") or os.environ["DATABASE_URL"]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds a table to alter it ("batch" mode): with foreign keys enforced,
        # dropping the old copy of a referenced table would fail. Off outside any
        # transaction (a PRAGMA inside one is ignored), checked again before commit.
        if connection.in_transaction():
            connection.commit()
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
    if connection.in_transaction():
        connection.commit()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
