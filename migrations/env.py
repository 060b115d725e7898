"""Alembic environment: runs migrations against the URL the app or the tests hand it."""

import os

from alembic import context

import channel.ledger  # noqa: F401  (registers the tables)
import channel.models  # noqa: F401
import channel.rewards  # noqa: F401
import messaging.models  # noqa: F401
import roles.models  # noqa: F401
from core.db import Base, make_engine

config = context.config


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
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


run_migrations_online()
