"""`flask privacy export|erase`: a person's data on request, from a terminal."""

import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core.db import get_session

privacy_cli = AppGroup("privacy", help="A person's data on request: export it, or erase it.")


def _person_by_phone(phone: str):
    from roles.models import Person
    from roles.phones import normalize_phone

    try:
        number = normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except ValueError as error:
        raise click.ClickException(str(error.args[0])) from None
    person = get_session().scalar(select(Person).where(Person.phone == number))
    if person is None:
        raise click.ClickException(f"Nobody has the number {number}.")
    return person


@privacy_cli.command("export")
@click.argument("phone")
def privacy_export_command(phone):
    """Print, as JSON, everything PartnerLift keeps about the person with this number."""
    from roles.privacy import export_person

    click.echo(
        json.dumps(export_person(get_session(), _person_by_phone(phone)), indent=2, default=str)
    )


@privacy_cli.command("erase")
@click.argument("phone")
@click.option("--yes", is_flag=True, help="Confirm: this cannot be undone.")
def privacy_erase_command(phone, yes):
    """Erase the person with this number: personal data goes, anonymous ledger entries stay."""
    from roles.privacy import erase_person

    person = _person_by_phone(phone)
    if not yes:
        raise click.ClickException("Add --yes to erase; it cannot be undone.")
    db = get_session()
    erase_person(db, person, upload_folder=current_app.config["UPLOAD_FOLDER"])
    db.commit()
    click.echo(f"erased person {person.id}")
