"""`flask create-user`: add a person (an admin, a channel manager, a partner's staff) from a terminal."""

import json

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from channel.models import PartnerOrganization
from core.db import get_session, utcnow
from roles.auth import make_password_hasher, set_password
from roles.people import InvalidPerson, PersonDetails, Placement, save_person
from roles.permissions import Role


@click.command("create-user")
@with_appcontext
@click.option("--name", required=True, help="Full name.")
@click.option("--phone", required=True, help="Mobile number with country code, e.g. +37120000000.")
@click.option("--email", default=None, help="E-mail; needed to sign in with a password.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="A role to give; repeat for several.",
)
@click.option(
    "--partner",
    "partner_legal_id",
    default=None,
    help="Legal id of the partner; omit for the manufacturer's people.",
)
@click.option("--language", default=None, help="en, lv, pl, ru, he or fa.")
@click.option("--timezone", default=None, help="IANA zone, e.g. Europe/Riga.")
@click.option("--password", is_flag=True, help="Ask for a password (needs --email).")
def create_user_command(name, phone, email, roles, partner_legal_id, language, timezone, password):
    """Create a person who can sign in (by phone code, and by password if one is set)."""
    db = get_session()
    partner = None
    if partner_legal_id:
        partner = db.scalar(
            select(PartnerOrganization).where(
                PartnerOrganization.legal_id == partner_legal_id.upper()
            )
        )
        if partner is None:
            raise click.ClickException(f"no partner organization with legal id {partner_legal_id}")
    secret = None
    if password:
        if not email:
            raise click.ClickException(
                "a password needs --email: managers sign in with e-mail and password"
            )
        secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        person = save_person(
            db,
            PersonDetails(
                full_name=name,
                phone=phone,
                email=email,
                roles=list(roles),
                language=language,
                timezone=timezone,
            ),
            Placement.at(
                partner,
                assignable=Role,
                phone_region=current_app.config["DEFAULT_PHONE_REGION"],
            ),
        )
        if secret is not None:
            set_password(db, person, secret, make_password_hasher(current_app.config), utcnow())
    except InvalidPerson as invalid:
        db.rollback()
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in invalid.errors.items())
        ) from None
    except ValueError as problem:
        db.rollback()
        raise click.ClickException(f"password: {problem.args[0]}") from None
    db.commit()
    click.echo(f"created person {person.id} ({', '.join(sorted(person.roles))})")


privacy_cli = AppGroup("privacy", help="A person's data on request: export it, or erase it.")


def _person_by_phone(phone: str):
    from roles.models import Person
    from roles.people import normalize_phone

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
