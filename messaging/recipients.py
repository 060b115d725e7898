"""The people a trigger's messages go to, read as plain rows: thousands at once (an import's
sellers) without building an ORM object and its role assignments for each."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bulk import in_values
from roles.models import Person, RoleAssignment
from roles.permissions import Role

#: What the messages of many people read of each: whom, where, in which words.
COLUMNS = (
    Person.id,
    Person.partner_id,
    Person.active,
    Person.full_name,
    Person.phone,
    Person.email,
    Person.language,
    Person.timezone,
    Person.preferred_channel,
)


class Recipient:
    """A person as their messages read them: the `COLUMNS` and their roles, as a `Person`
    has them. Anything else (a template or a WhatsApp variable naming `person.partner`) is
    read from the `Person` itself, loaded then: the same value either way."""

    __slots__ = ("roles", "_session", *(column.key for column in COLUMNS))

    def __init__(self, session: Session, row, roles: frozenset[Role]):
        self._session = session
        self.roles = roles
        for column in COLUMNS:
            setattr(self, column.key, getattr(row, column.key))

    def __getattr__(self, name: str):
        if name.startswith("__"):  # what Python and Jinja probe for (__html__…)
            raise AttributeError(name)
        return getattr(self._session.get(Person, self.id), name)


def recipients(session: Session, person_ids) -> dict[int, Recipient]:
    """The people of `person_ids` as `Recipient`s, in two look-ups however many they are."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    roles: dict[int, set[Role]] = {}
    for person_id, role in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role).where(
            in_values(session, RoleAssignment.person_id, ids)
        )
    ):
        roles.setdefault(person_id, set()).add(Role(role))
    rows = session.execute(select(*COLUMNS).where(in_values(session, Person.id, ids)))
    return {row.id: Recipient(session, row, frozenset(roles.get(row.id, ()))) for row in rows}
