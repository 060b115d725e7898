"""The migrations build the schema the models describe, on both databases, and step back cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import channel.api.models  # noqa: F401
import channel.claims  # noqa: F401
import channel.coop  # noqa: F401
import channel.ledger  # noqa: F401
import channel.models  # noqa: F401
import channel.rewards  # noqa: F401
import channel.tiers  # noqa: F401
import messaging.campaigns.models  # noqa: F401
import messaging.models  # noqa: F401
import roles.models  # noqa: F401
from core.cli import alembic_config
from core.db import Base


def test_migrated_schema_matches_the_models(app):
    engine = app.extensions["partnerlift.engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_downgrade_to_empty_and_upgrade_again(database_url, app):
    from alembic import command

    config = alembic_config(database_url)
    engine = app.extensions["partnerlift.engine"]
    command.downgrade(config, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert {"people", "partner_organizations", "outbox_messages"} <= set(
            inspect(connection).get_table_names()
        )
