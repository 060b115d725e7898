"""Tenant isolation: the queries every view starts from, limited to what the actor may see."""

from sqlalchemy import Select, select

from channel.models import PartnerOrganization, Program, ProgramTarget
from roles.models import Person
from roles.permissions import sees_all_partners


def scoped_partners(actor: Person) -> Select:
    stmt = select(PartnerOrganization)
    if not sees_all_partners(actor.partner_id):
        stmt = stmt.where(PartnerOrganization.id == actor.partner_id)
    return stmt


def scoped_programs(actor: Person) -> Select:
    """Every program for the manufacturer's people; for partner staff, those offered to them."""
    stmt = select(Program)
    if not sees_all_partners(actor.partner_id):
        partner = select(PartnerOrganization.tier_id).where(
            PartnerOrganization.id == actor.partner_id
        )
        offered = select(ProgramTarget.program_id).where(
            (ProgramTarget.partner_id == actor.partner_id) | ProgramTarget.tier_id.in_(partner)
        )
        stmt = stmt.where(Program.status != "draft", Program.id.in_(offered))
    return stmt


def scoped_people(actor: Person) -> Select:
    stmt = select(Person)
    if not sees_all_partners(actor.partner_id):
        stmt = stmt.where(Person.partner_id == actor.partner_id)
    return stmt
