"""What the API reads, as named queries within a token's scope; its routes only call them.

A list is a statement in a stable order (by id) for `page`; a single object is found within
the same scope, so anything outside it reads as missing, exactly like what does not exist.
"""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from channel.api.models import ApiToken
from channel.ledger import LedgerEntry
from channel.models import Product, Program
from channel.partner_models import PartnerOrganization
from channel.purchases import PurchaseLine, Serial, SerialEvent, normal_serial
from channel.reward_offers import RewardOffer
from channel.rewards import Reward
from channel.scoping import scoped_partners, scoped_programs
from roles.models import Person
from roles.scoping import scoped_people


def page(session: Session, stmt: Select, number: int, per_page: int) -> dict:
    """Page `number` of `stmt`'s rows (in its order), with the total it came from."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)).all()
    return {"items": items, "page": number, "per_page": per_page, "total": total}


def partners(token: ApiToken) -> Select:
    """The token's own partner, or every partner for a manufacturer's token."""
    stmt = scoped_partners(token).options(selectinload(PartnerOrganization.tier))
    return stmt.order_by(PartnerOrganization.id)


def partner(session: Session, token: ApiToken, partner_id: int) -> PartnerOrganization | None:
    return session.scalar(scoped_partners(token).where(PartnerOrganization.id == partner_id))


def people(token: ApiToken, partner_id: int | None = None) -> Select:
    """The people the token sees, with their roles; only one partner's with `partner_id`."""
    stmt = scoped_people(token).options(selectinload(Person.role_assignments))
    if partner_id:
        stmt = stmt.where(Person.partner_id == partner_id)
    return stmt.order_by(Person.id)


def person(session: Session, token: ApiToken, person_id: int) -> Person | None:
    return session.scalar(scoped_people(token).where(Person.id == person_id))


def products() -> Select:
    return select(Product).options(selectinload(Product.group)).order_by(Product.id)


def programs(token: ApiToken) -> Select:
    return scoped_programs(token).order_by(Program.id)


def program(session: Session, token: ApiToken, program_id: int) -> Program | None:
    return session.scalar(scoped_programs(token).where(Program.id == program_id))


def rewards_on_offer(country: str | None) -> Select:
    """The active rewards with their offers; only those offered in `country` if one is given
    (a partner's token: its partner's country)."""
    stmt = select(Reward).where(Reward.active.is_(True)).options(selectinload(Reward.offers))
    if country is not None:
        stmt = stmt.where(
            select(RewardOffer.id)
            .where(RewardOffer.reward_id == Reward.id, RewardOffer.country == country)
            .exists()
        )
    return stmt.order_by(Reward.id)


def country_of_partner(session: Session, partner_id: int | None) -> str | None:
    if partner_id is None:
        return None
    return session.scalar(
        select(PartnerOrganization.country).where(PartnerOrganization.id == partner_id)
    )


def ledger_entries(
    token: ApiToken,
    *,
    person_id: int | None = None,
    partner_id: int | None = None,
    program_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Select:
    """Ledger entries, oldest first, by person, partner, program and day (UTC, both included);
    a partner's token sees only its partner's."""
    stmt = select(LedgerEntry)
    if token.partner_id is not None:
        stmt = stmt.where(LedgerEntry.partner_id == token.partner_id)
    for value, column in (
        (person_id, LedgerEntry.person_id),
        (partner_id, LedgerEntry.partner_id),
        (program_id, LedgerEntry.program_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    if since:
        stmt = stmt.where(LedgerEntry.created_at >= datetime.combine(since, time(), UTC))
    if until and until < date.max:
        end = datetime.combine(until, time(), UTC) + timedelta(days=1)
        stmt = stmt.where(LedgerEntry.created_at < end)
    return stmt.order_by(LedgerEntry.id)


def serial(session: Session, token: ApiToken, number: str) -> dict | None:
    """A serial with its holder and history, or None; a partner's token finds only the
    serials its partner or a dealer it supplies holds."""
    holder = aliased(PartnerOrganization)
    stmt = (
        select(Serial, holder)
        .join(holder, holder.id == Serial.holder_id)
        .where(Serial.serial == normal_serial(number))
    )
    if token.partner_id is not None:
        stmt = stmt.where((holder.id == token.partner_id) | (holder.parent_id == token.partner_id))
    found = session.execute(stmt).first()
    if found is None:
        return None
    unit, partner = found
    events = session.execute(
        select(SerialEvent, PurchaseLine.document, PurchaseLine.number)
        .outerjoin(PurchaseLine, PurchaseLine.id == SerialEvent.line_id)
        .where(SerialEvent.serial_id == unit.id)
        .order_by(SerialEvent.happened_on, SerialEvent.id)
    ).all()
    return {
        "serial": unit.serial,
        "sku": unit.sku,
        "state": unit.status,
        "holder": {"id": partner.id, "legal_id": partner.legal_id, "name": partner.name},
        "installed_at": unit.installed_at,
        "history": [
            {
                "status": event.status,
                "partner_id": event.partner_id,
                "happened_on": event.happened_on,
                "document": document,
                "invoice_number": invoice_number,
            }
            for event, document, invoice_number in events
        ],
    }


def dealers(session: Session, partner_id: int) -> set[tuple[str, str]]:
    """(legal id upper-cased, country) of the partners `partner_id` supplies."""
    rows = session.execute(
        select(PartnerOrganization.legal_id, PartnerOrganization.country).where(
            PartnerOrganization.parent_id == partner_id
        )
    )
    return {(legal_id.upper(), country) for legal_id, country in rows}
