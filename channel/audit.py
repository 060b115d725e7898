"""The audit log's one write path: who did what to a program, when, and what it was before."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channel.audit_text import AuditNames
from channel.models import AuditAction, AuditEntry, ProductGroup, Program
from channel.partner_models import PartnerOrganization, Tier
from core.db import utcnow
from roles.models import Person


def json_safe(value):
    """Audit values as JSON: Decimals and dates as strings, sets as sorted lists."""
    if isinstance(value, Decimal | datetime | date):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, set | frozenset | tuple | list):
        return sorted(json_safe(v) for v in value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return value


def record(
    session: Session,
    *,
    program: Program,
    actor_id: int | None,
    action: str,
    partner_id: int | None = None,
    field: str | None = None,
    previous=None,
    new=None,
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor_id,
        program_id=program.id,
        partner_id=partner_id,
        action=action,
        field=field,
        previous=json_safe(previous),
        new=json_safe(new),
        program_version=program.version,
    )
    session.add(entry)
    return entry


def program_trail(session: Session, program: Program) -> list[AuditEntry]:
    """Every entry of the program, newest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.program_id == program.id)
            .order_by(AuditEntry.id.desc())
        )
    )


def partner_trail(session: Session, program: Program, partner_id: int) -> list[AuditEntry]:
    """What a partner's management may read of the program's trail, newest first: the entries
    about its own company and the changes to the program itself, none about other partners."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.program_id == program.id,
                (AuditEntry.partner_id == partner_id) | AuditEntry.partner_id.is_(None),
            )
            .order_by(AuditEntry.id.desc())
        )
    )


def changes_after(entries: list[AuditEntry], version: int | None) -> list[AuditEntry]:
    """The changes among `entries` that made a version later than `version` (none without one)."""
    if not version:
        return []
    return [e for e in entries if e.action == AuditAction.CHANGED and e.program_version > version]


def names_for(session: Session, program: Program, entries: list[AuditEntry]) -> AuditNames:
    """The names of the people, partners and tiers the entries mention, for reading them."""
    people, partners, tiers = set(), set(), set()
    for entry in entries:
        for value in (entry.previous, entry.new):
            if entry.action == AuditAction.ENROLMENT and isinstance(value, dict):
                people.update(value.get("joined", []), value.get("left", []))
            elif entry.field == "excluded" and isinstance(value, list):
                people.update(value)
            elif entry.field == "targets" and isinstance(value, dict):
                partners.update(value.get("partners", []))
                tiers.update(value.get("tiers", []))
            elif entry.field == "min_tier_id" and isinstance(value, int):
                tiers.add(value)
    return AuditNames(
        people=_named(session, Person, Person.full_name, people),
        partners=_named(session, PartnerOrganization, PartnerOrganization.name, partners),
        tiers=_named(session, Tier, Tier.name, tiers),
        groups=dict(session.execute(select(ProductGroup.code, ProductGroup.name)).all())
        if any(entry.field == "scheme" for entry in entries)
        else {},
        currency=program.currency,
    )


def _named(session: Session, model, column, ids: set) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())
