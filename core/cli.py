"""`flask db …` (Alembic migrations) and `flask translate …` (gettext catalogs)."""

import subprocess
import sys
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from babel.messages.pofile import read_po, write_po
from flask import current_app
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parent.parent
SOURCE_LANGUAGE = "en"

db_cli = AppGroup("db", help="Apply and write database migrations.")
translate_cli = AppGroup("translate", help="Extract, update and compile translations.")


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision):
    """Bring the database to REVISION (default: the newest)."""
    upgrade_database(current_app.config["DATABASE_URL"], revision)


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision):
    """Step the database back to REVISION."""
    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision_command(message):
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message, autogenerate=True)


@db_cli.command("current")
def current_command():
    """Show the database's revision."""
    command.current(alembic_config(current_app.config["DATABASE_URL"]))


def _pybabel(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def extract_messages(output: Path) -> None:
    """Write every translatable string of the code and templates to the POT file `output`."""
    _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "lazy_pgettext:1c,2",
        "-k",
        "lazy_ngettext:1,2",
        "-k",
        "plural_text:1,2",
        "--no-location",
        "--sort-output",
        "-o",
        str(output),
        ".",
    )


@translate_cli.command("extract")
def extract_command():
    """Collect every translatable string into translations/messages.pot."""
    extract_messages(ROOT / "translations" / "messages.pot")


@translate_cli.command("update")
def update_command():
    """Extract, then merge new strings into every language's catalog."""
    extract_command.callback()
    _pybabel(
        "update", "-i", "translations/messages.pot", "-d", "translations", "--no-fuzzy-matching"
    )
    fill_source_catalog(ROOT / "translations" / SOURCE_LANGUAGE / "LC_MESSAGES" / "messages.po")


def fill_source_catalog(path: Path) -> None:
    """The source language's catalog translates every message to itself, so it is complete too."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=SOURCE_LANGUAGE)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not any(strings):
            message.string = message.id
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100)


@translate_cli.command("init")
@click.argument("language")
def init_command(language):
    """Start a catalog for LANGUAGE."""
    _pybabel("init", "-i", "translations/messages.pot", "-d", "translations", "-l", language)


@translate_cli.command("compile")
def compile_command():
    """Compile every catalog to the .mo files the app reads."""
    click.echo(compile_catalogs(), nl=False)


def compile_catalogs() -> str:
    """Compile every catalog to the .mo files the app reads; returns Babel's statistics."""
    return _pybabel("compile", "-d", "translations", "--statistics").stderr
