"""Tenant isolation for people: the query views start from, limited to what the actor may see.

Partners and programs are scoped where they live, in `channel.scoping`."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from roles.models import Person
from roles.permissions import sees_all_partners


def scoped_people(actor: Person) -> Select:
    stmt = select(Person)
    if not sees_all_partners(actor.partner_id):
        stmt = stmt.where(Person.partner_id == actor.partner_id)
    return stmt


def staff_of(session: Session, partner_id: int) -> list[Person]:
    """A partner's people by name, with their roles."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.partner_id == partner_id)
            .options(selectinload(Person.role_assignments))
            .order_by(Person.full_name)
        )
    )
