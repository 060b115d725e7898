"""Tenant isolation: the queries every view starts from, limited to what the actor may see."""

from sqlalchemy import Select, select

from channel.models import PartnerOrganization
from roles.models import Person
from roles.permissions import sees_all_partners


def scoped_partners(actor: Person) -> Select:
    stmt = select(PartnerOrganization)
    if not sees_all_partners(actor.partner_id):
        stmt = stmt.where(PartnerOrganization.id == actor.partner_id)
    return stmt


def scoped_people(actor: Person) -> Select:
    stmt = select(Person)
    if not sees_all_partners(actor.partner_id):
        stmt = stmt.where(Person.partner_id == actor.partner_id)
    return stmt
