"""Who works at a partner, as the claim and pool pages list them."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from roles.models import Person


def active_staff(session: Session, partner_id: int, *, besides: int | None = None) -> list[Person]:
    """A partner's active staff by name (`besides`: leaving that person out)."""
    stmt = select(Person).where(Person.partner_id == partner_id, Person.active.is_(True))
    if besides is not None:
        stmt = stmt.where(Person.id != besides)
    return session.scalars(stmt.order_by(Person.full_name)).all()


def staff_by_id(session: Session, partner_id: int) -> dict[int, Person]:
    """Everyone of a partner, active or not (a pool's history names them), by id."""
    return {
        person.id: person
        for person in session.scalars(select(Person).where(Person.partner_id == partner_id))
    }
