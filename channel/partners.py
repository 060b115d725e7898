"""Creating, changing and finding partner organizations."""

from dataclasses import dataclass
from datetime import date

from babel import Locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from channel.partner_models import PartnerKind, PartnerOrganization, PartnerStatus, Tier
from core.errors import InvalidInput
from roles.models import Person


class InvalidPartner(InvalidInput):
    """A partner organization's details are not valid."""


@dataclass
class PartnerDetails:
    name: str
    country: str
    legal_id: str
    kind: str = PartnerKind.DEALER
    tier_id: int | None = None
    parent_id: int | None = None
    status: str = PartnerStatus.ACTIVE
    #: None: not known (tenure then counts from the registration here).
    contract_started_on: date | None = None


def known_countries() -> frozenset[str]:
    return frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())


def _ancestors(session: Session, partner_id: int | None):
    seen = set()
    while partner_id is not None and partner_id not in seen:
        seen.add(partner_id)
        yield partner_id
        partner_id = session.scalar(
            select(PartnerOrganization.parent_id).where(PartnerOrganization.id == partner_id)
        )


def save_partner(
    session: Session, details: PartnerDetails, existing: PartnerOrganization | None = None
) -> PartnerOrganization:
    """Validate every field, then create or update; raises InvalidPartner with all errors."""
    errors: dict[str, str] = {}
    name = " ".join((details.name or "").split())
    if not name:
        errors["name"] = _l("Enter the organization's name.")
    country = (details.country or "").strip().upper()
    if country not in known_countries():
        errors["country"] = _l("Choose a country.")
    legal_id = "".join((details.legal_id or "").split()).upper()
    if not legal_id:
        errors["legal_id"] = _l("Enter the registration or VAT number.")
    elif "country" not in errors:
        clash = session.scalar(
            select(PartnerOrganization).where(
                PartnerOrganization.country == country, PartnerOrganization.legal_id == legal_id
            )
        )
        if clash is not None and (existing is None or clash.id != existing.id):
            errors["legal_id"] = _l(
                "%(name)s is already registered with this number.", name=clash.name
            )
    if details.kind not in list(PartnerKind):
        errors["kind"] = _l("Choose a kind of partner.")
    if details.status not in list(PartnerStatus):
        errors["status"] = _l("Choose a status.")
    if details.tier_id is not None and session.get(Tier, details.tier_id) is None:
        errors["tier_id"] = _l("Choose a tier.")
    if details.parent_id is not None:
        if session.get(PartnerOrganization, details.parent_id) is None:
            errors["parent_id"] = _l("Choose a parent organization.")
        elif existing is not None and existing.id in _ancestors(session, details.parent_id):
            errors["parent_id"] = _l(
                "An organization cannot be its own parent or its dealer's dealer."
            )
    if errors:
        raise InvalidPartner(errors)

    partner = existing or PartnerOrganization()
    partner.name = name
    partner.country = country
    partner.legal_id = legal_id
    partner.kind = details.kind
    partner.tier_id = details.tier_id
    partner.parent_id = details.parent_id
    partner.status = details.status
    partner.contract_started_on = details.contract_started_on
    if existing is None:
        session.add(partner)
    session.flush()
    return partner


def search_partners(
    stmt: Select, *, text: str = "", country: str = "", tier_id: int | None = None, status: str = ""
) -> Select:
    """Narrow a (scoped) partner query by what a channel manager typed or picked."""
    text = " ".join((text or "").split())
    if text:
        pattern = f"%{text.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(PartnerOrganization.name).like(pattern),
                func.lower(PartnerOrganization.legal_id).like(pattern),
            )
        )
    if country:
        stmt = stmt.where(PartnerOrganization.country == country.upper())
    if tier_id:
        stmt = stmt.where(PartnerOrganization.tier_id == tier_id)
    if status:
        stmt = stmt.where(PartnerOrganization.status == status)
    return stmt.order_by(PartnerOrganization.name)


def active_partners(session: Session) -> list[PartnerOrganization]:
    """Active partners by name: those a program may be offered to."""
    return list(
        session.scalars(
            select(PartnerOrganization)
            .where(PartnerOrganization.status == PartnerStatus.ACTIVE)
            .order_by(PartnerOrganization.name)
        )
    )


def partners_by_id(session: Session) -> dict[int, PartnerOrganization]:
    return {p.id: p for p in session.scalars(select(PartnerOrganization))}


def distributors(session: Session) -> list[PartnerOrganization]:
    """Partners a dealer may buy through, by name."""
    return list(
        session.scalars(
            select(PartnerOrganization)
            .where(PartnerOrganization.kind == PartnerKind.DISTRIBUTOR)
            .order_by(PartnerOrganization.name)
        )
    )


def dealers_of(session: Session, scoped: Select, partner: PartnerOrganization):
    """The partners (among `scoped`) that buy through `partner`, by name."""
    return list(
        session.scalars(
            scoped.where(PartnerOrganization.parent_id == partner.id).order_by(
                PartnerOrganization.name
            )
        )
    )


def staff_count(session: Session, partner: PartnerOrganization) -> int:
    return session.scalar(select(func.count(Person.id)).where(Person.partner_id == partner.id))


@dataclass
class PartnerPage:
    """One page of a partner list: its partners, their staff counts and the list's total."""

    partners: list[PartnerOrganization]
    staff_counts: dict[int, int]
    total: int


def partner_page(session: Session, stmt: Select, page: int, size: int) -> PartnerPage:
    """Page `page` (from 1) of `size` partners of the (scoped, searched) query `stmt`."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    partners = list(session.scalars(stmt.limit(size).offset((page - 1) * size)))
    staff_counts = dict(
        session.execute(
            select(Person.partner_id, func.count(Person.id))
            .where(Person.partner_id.in_([p.id for p in partners]))
            .group_by(Person.partner_id)
        ).all()
    )
    return PartnerPage(partners, staff_counts, total)
