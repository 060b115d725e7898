"""A person's data on request: everything kept about them, exported; or erased.

Erasure keeps the person row (the ledger's entries point at it, so balances and the
program's budget still add up) but strips it of everything personal; every package blanks
what it keeps through the `person_erased` signal, in the same transaction.
"""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from roles.models import Person, SignInCode, SignInSession
from roles.signals import person_erased, person_exported

ERASED_PHONE_PREFIX = "+000"


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def rows(objects, *names) -> list[dict]:
    return [{name: _plain(getattr(o, name)) for name in names} for o in objects]


def export_person(session: Session, person: Person) -> dict:
    data = {
        "person": rows(
            [person],
            "id",
            "full_name",
            "phone",
            "email",
            "language",
            "timezone",
            "preferred_channel",
            "active",
            "created_at",
            "last_sign_in_at",
        )[0]
        | {"roles": sorted(role.value for role in person.roles)},
    }
    for _receiver, sections in person_exported.send(None, session=session, person=person):
        data.update(sections)
    return data


def erase_person(session: Session, person: Person, *, upload_folder: str) -> None:
    """Blank everything personal; what stays cannot name the person."""
    person_erased.send(None, session=session, person=person, upload_folder=upload_folder)
    session.execute(delete(SignInCode).where(SignInCode.person_id == person.id))
    session.execute(delete(SignInSession).where(SignInSession.person_id == person.id))
    person.full_name = f"Erased person {person.id}"
    person.phone = f"{ERASED_PHONE_PREFIX}{person.id:09d}"
    person.email = None
    person.password_hash = None
    person.active = False
    session.flush()
