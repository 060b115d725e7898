"""The migrations build the schema the models describe, on both databases, and step back cleanly."""

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.cli import alembic_config
from core.db import import_models

ROOT = Path(__file__).resolve().parent.parent


def test_migrated_schema_matches_the_models(app):
    engine = app.extensions["partnerlift.engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, import_models())
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


def test_a_fresh_process_finds_every_table_so_autogenerate_has_nothing_to_add(database_url):
    # A new interpreter, as `alembic revision --autogenerate` runs: only migrations/env.py
    # decides which model modules are imported, not whatever the app happened to load.
    check = (
        "import sys; from alembic import command; from core.cli import alembic_config; "
        "command.check(alembic_config(sys.argv[1]))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", check, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_existing_rewards_are_offered_in_every_partner_country_at_their_price(database_url, app):
    """0040_reward_offers: a reward from before countries stays redeemable where it was."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    config = alembic_config(database_url)
    engine = app.extensions["partnerlift.engine"]
    command.downgrade(config, "0040_reward_offers-1")
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            for n, country in enumerate(("LV", "PL", "LV")):
                connection.execute(
                    text(
                        "INSERT INTO partner_organizations (name, kind, country, legal_id, status,"
                        " created_at) VALUES (:name, 'dealer', :country, :legal, 'active', :now)"
                    ),
                    {"name": f"Migrated {n}", "country": country, "legal": f"M{n}", "now": now},
                )
            connection.execute(
                text(
                    "INSERT INTO rewards (kind, category, name, description, points_price, active,"
                    " created_at) VALUES ('physical', 'goods', 'Old mug', '', 70, :yes, :now)"
                ),
                {"yes": True, "now": now},
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            offers = connection.execute(
                text(
                    "SELECT country, reward_offers.points_price, face_value FROM reward_offers"
                    " JOIN rewards ON rewards.id = reward_offers.reward_id"
                    " WHERE rewards.name = 'Old mug' ORDER BY country"
                )
            ).all()
        assert [tuple(offer) for offer in offers] == [("LV", 70, None), ("PL", 70, None)]
    finally:
        command.upgrade(config, "head")
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM rewards WHERE name = 'Old mug'"))
            connection.execute(
                text("DELETE FROM partner_organizations WHERE name LIKE 'Migrated %'")
            )
