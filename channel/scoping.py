"""Tenant isolation for partners and programs: the queries views start from, within what the
actor may see; `connect_scopes` lets `roles.access.requires` load them from a URL."""

from sqlalchemy import Select, select

from channel.models import Program, ProgramStatus, ProgramTarget
from channel.partner_models import PartnerOrganization
from roles.access import load_in_scope
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
        stmt = stmt.where(Program.status != ProgramStatus.DRAFT, Program.id.in_(offered))
    return stmt


def connect_scopes() -> None:
    """`partner_id` and `program_id` in a URL name a partner and a program, in the actor's scope."""
    load_in_scope("partner_id", "partner", PartnerOrganization, scoped_partners)
    load_in_scope("program_id", "program", Program, scoped_programs)
